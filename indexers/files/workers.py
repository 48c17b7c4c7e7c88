"""Parse files in worker processes, so one file that crashes or hangs its parser never stops an index run.

Each worker is a process of its own (spawned: the indexing process holds threads) that parses one file at a time and
sends back the ``ParsedFile``, or the reason it could not read the file, plus a progress message per page.  The
parent gives each file a deadline: a worker still busy past it is killed and replaced, and the file is reported
(``parser timed out after N s``); a worker that dies (a segfault in a C parser) is reported as a crash and replaced.
Everything else parsed in the run is kept.  Parsing runs beside the indexer's embedding of earlier files: results
stream back as they are ready (``parse_files`` is a generator, parsing ahead while its consumer works).
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from indexers.files.parsed import FileError, ParsedFile, ParseOptions

#: (file, page just parsed, pages in the file): how far a worker is in a paged file.
PageProgress = Callable[[Path, int, int], None]


@dataclass(frozen=True)
class ParseFailure:
    """Why a file was not parsed (the reason is shown as ``FILE: reason``)."""

    reason: str


def _parse_in_worker(path: Path, options: ParseOptions, conn: Connection) -> ParsedFile | ParseFailure:
    from indexers.files.formats import parser_for

    def on_page(page: int, pages: int) -> None:
        conn.send(("page", page, pages))

    try:
        return parser_for(path).parse(path, replace(options, on_page=on_page))
    except FileError as exc:
        return ParseFailure(str(exc))
    except Exception as exc:  # noqa: BLE001 - a parser bug on one file is that file's problem, reported
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return ParseFailure(f"parser error: {type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})")


def _serve(conn: Connection) -> None:
    """A worker's loop: (path, options) in, ("done", result) out, until it gets None."""
    while True:
        job = conn.recv()
        if job is None:
            return
        path, options = job
        conn.send(("done", _parse_in_worker(Path(path), options, conn)))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    path: Path | None = None
    deadline: float = 0.0


class ParsePool:
    """``size`` worker processes; ``parse_files`` hands them files and yields each file's result once."""

    def __init__(self, size: int, timeout_s: float) -> None:
        self.size = max(1, size)
        self.timeout_s = timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child,), daemon=True, name="medevidence-parser")
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._workers.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> int | None:
        """Stop a worker (if it still runs) and forget it; its exit code."""
        if worker.process.is_alive():
            worker.process.join(0.5)  # a worker whose pipe closed is about to be reaped
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        self._workers.remove(worker)
        return worker.process.exitcode

    def close(self) -> None:
        for worker in list(self._workers):
            if worker.process.is_alive() and worker.path is None:
                try:
                    worker.conn.send(None)
                    worker.process.join(2)
                except (BrokenPipeError, OSError):
                    pass
            self._retire(worker)

    def parse_files(
        self, paths: Sequence[Path], options: ParseOptions, on_page: PageProgress | None = None
    ) -> Iterator[tuple[Path, ParsedFile | ParseFailure]]:
        """Each file's ``ParsedFile`` or ``ParseFailure``, in the order they finish."""
        queue = deque(paths)
        while queue or any(w.path is not None for w in self._workers):
            while queue and (len(self._workers) < self.size or any(w.path is None for w in self._workers)):
                worker = next((w for w in self._workers if w.path is None), None) or self._start()
                worker.path = queue.popleft()
                worker.deadline = time.monotonic() + self.timeout_s
                worker.conn.send((str(worker.path), replace(options, on_page=None)))
            yield from self._collect(on_page)

    def _collect(self, on_page: PageProgress | None) -> Iterator[tuple[Path, ParsedFile | ParseFailure]]:
        busy = [w for w in self._workers if w.path is not None]
        next_deadline = min(w.deadline for w in busy)
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                     timeout=max(0.0, next_deadline - time.monotonic()))
        for worker in busy:
            path = worker.path
            assert path is not None
            if worker.conn in ready:
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    message = None
                if message is None:
                    yield path, ParseFailure(f"parser crashed (exit code {self._retire(worker)})")
                elif message[0] == "page":
                    if on_page is not None:
                        on_page(path, message[1], message[2])
                else:
                    worker.path = None
                    yield path, message[1]
            elif worker.process.sentinel in ready:
                yield path, ParseFailure(f"parser crashed (exit code {self._retire(worker)})")
            elif time.monotonic() >= worker.deadline:
                self._retire(worker)
                yield path, ParseFailure(f"parser timed out after {self.timeout_s:g} s")
