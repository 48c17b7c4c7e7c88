"""``medevidence index PATH…`` for hospital files: which files, under which ids, read into Documents.

- A folder is walked (hidden files and folders skipped); ``--glob`` selects and ``--exclude`` leaves out files by
  their path relative to the folder (or their name).  A file the parsers do not read is reported, not guessed at.
- A document's id is stable: ``--id-prefix`` (default: the folder's name and "/") plus the file's path relative to
  the folder, so indexing a changed file replaces that document, and ``--prune`` can tell a deleted one.
- Cheap checks (empty, over-size) happen before a worker is asked; the worker pool parses the rest
  (``indexers.files.workers``); the original file is kept in the data dir (``app.stores.files``) and named by the
  document, whose pages, sections and title come from ``indexers.files.document``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.documents import MAX_ID_LENGTH, DocumentError, normalise_date
from app.model import Document
from app.rules import is_rules_file
from app.stores.files import FileStore
from indexers.files.document import FileIdentity, to_document
from indexers.files.formats import is_document_file, unsupported
from indexers.files.parsed import ParsedFile, ParseOptions
from indexers.files.workers import PageProgress, ParseFailure, ParsePool
from indexers.sources.base import Rejected
from indexers.sources.jsonl import is_jsonl

FILE_ORIGIN_PREFIX = "file:"
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")  # read by indexers.sources.jsonl, named when a file is neither


@dataclass(frozen=True)
class FileSelection:
    """Which files of a folder to index and how to name and type their documents."""

    glob: tuple[str, ...] = ()  # empty: every file
    exclude: tuple[str, ...] = ()
    id_prefix: str | None = None  # None: "<folder name>/"
    source_type: str | None = None  # None: "label" for a file whose title says it is a drug label, else "other"


@dataclass(frozen=True)
class FileReading:
    """How to read files: limits, OCR, workers (from the settings) and what to select."""

    selection: FileSelection = FileSelection()
    max_bytes: int = 200 * 1024 * 1024
    timeout_s: float = 300.0
    workers: int = 2
    ocr: bool = True


@dataclass(frozen=True)
class FileJob:
    """One file to index as one document."""

    path: Path
    doc_id: str
    name: str  # the path relative to the indexed folder: what the document and its kept file are called
    origin: str  # where the manifest says the document came from: "file:<absolute path>", or "api"


def _job(path: Path, doc_id: str, name: str) -> FileJob:
    return FileJob(path, doc_id, name, FILE_ORIGIN_PREFIX + str(path.resolve()))


@dataclass
class PathPlan:
    """What ``medevidence index`` does with the paths it was given."""

    sources: list[Path] = field(default_factory=list)  # JSONL files and source folders (indexers.sources)
    jobs: list[FileJob] = field(default_factory=list)  # hospital files
    rejects: list[Rejected] = field(default_factory=list)


@dataclass
class FileCounts:
    """What reading files did, for the index summary."""

    files: int = 0
    pages: int = 0
    ocr_pages: int = 0
    skipped_pages: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"files": self.files, "pages": self.pages, "ocr_pages": self.ocr_pages,
                "skipped_pages": self.skipped_pages}


def _selected(relative: str, selection: FileSelection) -> bool:
    name = relative.rsplit("/", 1)[-1]
    if selection.glob and not any(fnmatch.fnmatch(relative, g) or fnmatch.fnmatch(name, g) for g in selection.glob):
        return False
    return not any(fnmatch.fnmatch(relative, x) or fnmatch.fnmatch(name, x) for x in selection.exclude)


def id_prefix(folder: Path, selection: FileSelection) -> str:
    """What the ids of a folder's documents begin with."""
    return selection.id_prefix if selection.id_prefix is not None else f"{folder.resolve().name}/"


def _walk(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        yield path


def plan_paths(paths: Sequence[Path], selection: FileSelection, is_source_folder: Callable[[Path], bool]) -> PathPlan:
    """Split the command's paths into source files/folders and hospital files (``is_source_folder``: a folder laid
    out as a known source, which ``indexers.sources.registry`` reads whole)."""
    plan = PathPlan()
    for path in paths:
        if path.is_file():
            if is_jsonl(path):
                plan.sources.append(path)
            elif is_document_file(path):
                name = path.name
                plan.jobs.append(_job(path, id_prefix(path.parent, selection) + name, name))
            else:
                plan.rejects.append(Rejected(str(path), 0, unsupported(path, JSONL_SUFFIXES)))
        elif path.is_dir():
            if is_source_folder(path):
                plan.sources.append(path)
                continue
            jsonl_found, found = False, 0
            for file in _walk(path):
                relative = file.relative_to(path).as_posix()
                if not _selected(relative, selection):
                    continue
                found += 1
                if is_rules_file(file.name):  # each rules file is a source of its own (the whole of its rules)
                    plan.sources.append(file)
                elif is_jsonl(file):
                    jsonl_found = True
                elif is_document_file(file):
                    plan.jobs.append(_job(file, id_prefix(path, selection) + relative, relative))
                else:
                    plan.rejects.append(Rejected(str(file), 0, unsupported(file, JSONL_SUFFIXES)))
            if jsonl_found:
                plan.sources.append(path)
            if not found:
                plan.rejects.append(Rejected(str(path), 0, "folder is no known source layout and holds no file to "
                                                           "index (.jsonl, .jsonl.gz or a document file)"))
        else:
            plan.rejects.append(Rejected(str(path), 0, "no such file or folder"))
    return plan


def _precheck(job: FileJob, max_bytes: int) -> str | None:
    try:
        size = job.path.stat().st_size
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    if size == 0:
        return "empty file"
    if size > max_bytes:
        return f"file is larger than the limit ({_size(size)} > {_size(max_bytes)})"
    return None


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1_000_000 else f"{count} bytes"


def _published(parsed: ParsedFile) -> ParsedFile:
    try:
        parsed.published = normalise_date(parsed.published)
    except DocumentError:
        parsed.published = None
    return parsed


def read_files(
    jobs: Sequence[FileJob],
    reading: FileReading,
    store: FileStore,
    counts: FileCounts,
    on_page: PageProgress | None = None,
) -> Iterator[tuple[FileJob, Document | Rejected]]:
    """Each job's Document (its original kept in ``store``) or the reason it was skipped, as parsing finishes."""
    by_path: dict[Path, FileJob] = {}
    todo: list[Path] = []
    for job in jobs:
        problem = _precheck(job, reading.max_bytes)
        if problem is not None:
            yield job, Rejected(str(job.path), 0, problem)
        else:
            by_path[job.path] = job
            todo.append(job.path)
    if not todo:
        return
    with ParsePool(min(reading.workers, len(todo)), reading.timeout_s) as pool:
        for path, result in pool.parse_files(todo, ParseOptions(ocr=reading.ocr), on_page):
            job = by_path[path]
            if isinstance(result, ParseFailure):
                yield job, Rejected(str(path), 0, result.reason)
                continue
            yield job, _document(job, _published(result), reading, store, counts)


def _document(
    job: FileJob, parsed: ParsedFile, reading: FileReading, store: FileStore, counts: FileCounts
) -> Document | Rejected:
    for page, reason in parsed.skipped_pages:
        counts.warnings.append(f"{job.path}: page {page}: {reason}")
    if len(job.doc_id) > MAX_ID_LENGTH:
        return Rejected(str(job.path), 0, f"document id {job.doc_id[:40]!r}… is longer than {MAX_ID_LENGTH} "
                                          "characters: a shorter --id-prefix or path")
    try:
        doc = to_document(parsed, FileIdentity(job.doc_id, job.name, reading.selection.source_type))
    except ValueError as exc:
        skipped = f" ({len(parsed.skipped_pages)} page(s) without a text layer)" if parsed.skipped_pages else ""
        return Rejected(str(job.path), 0, f"{exc}{skipped}")
    try:
        stored = store.put(job.path, job.name)
    except OSError as exc:
        return Rejected(str(job.path), 0, f"cannot keep the original file: {exc.strerror or exc}")
    doc = replace(doc, metadata={**doc.metadata, "file": stored.to_json()})
    counts.files += 1
    counts.pages += parsed.page_count or 0
    counts.ocr_pages += sum(1 for p in doc.pages if p.ocr)
    counts.skipped_pages += len(parsed.skipped_pages)
    return doc
