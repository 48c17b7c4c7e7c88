"""The graph's entity → document links, held in memory for one index generation.

The graph channel asks, for every drug question, which documents are the labels of or mention
the linked entities.  Over Bolt that is one read transaction whose cost grows with the rows
(a common drug is named by hundreds of documents): 6-25 ms on a quiet 2-core machine over the
starter knowledge, and several times that while a local LLM shares the cores.  The links are
small (the starter graph has ~25k), so a server reads them whole once per index generation and
answers from memory.

Never stale: a snapshot answers only for the generation it was read under (checked before and
after the read); after any change to the index the caller goes back to the graph until a
reload, started in the background, has caught up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.stores.graph import GraphReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkSnapshot:
    """All linked documents (sorted by doc id) and, per entity, the positions of its documents."""

    generation: str
    rows: tuple[dict[str, Any], ...]
    by_entity: dict[str, tuple[int, ...]]

    @classmethod
    def build(cls, generation: str, rows: Sequence[dict[str, Any]]) -> LinkSnapshot:
        ordered = tuple(sorted(rows, key=lambda r: r["doc_id"]))
        by_entity: dict[str, list[int]] = {}
        for position, row in enumerate(ordered):
            for entity in {*row["described"], *row["mentions"]}:
                by_entity.setdefault(entity, []).append(position)
        return cls(generation, ordered, {e: tuple(p) for e, p in by_entity.items()})

    def documents_for(self, entity_ids: Sequence[str]) -> list[dict[str, Any]]:
        """What ``GraphReader.documents_for`` returns for these entities, from memory."""
        wanted = set(entity_ids)
        positions = sorted({p for e in wanted for p in self.by_entity.get(e, ())})
        out = []
        for position in positions:
            row = self.rows[position]
            out.append({"doc_id": row["doc_id"], "source_type": row["source_type"],
                        "described": [e for e in row["described"] if e in wanted],
                        "mentions": [e for e in row["mentions"] if e in wanted]})
        return out


class LinkMemory:
    """The current ``LinkSnapshot``, reloaded in the background when the index generation moves on.

    ``documents_for`` returns None when memory cannot answer for ``generation`` (the caller asks
    the graph).  A reload starts at most once at a time, and not sooner after the last one than
    ``pause_factor`` times its duration, so a stream of small writes costs a bounded share of the CPU.
    """

    def __init__(self, graph: GraphReader, generation: Callable[[], str], pause_factor: float = 5.0) -> None:
        self._graph = graph
        self._generation = generation
        self._pause_factor = pause_factor
        self._snapshot: LinkSnapshot | None = None
        self._loading = threading.Lock()
        self._loader: threading.Thread | None = None
        self._next_load_at = 0.0
        self._enabled = False
        self._closed = False
        self._reloads = 0

    @property
    def snapshot(self) -> LinkSnapshot | None:
        return self._snapshot

    def enable(self) -> bool:
        """Read the links now and keep them current from here on; True when a snapshot is held."""
        self._enabled = True
        with self._loading:
            return self._load()

    def documents_for(self, entity_ids: Sequence[str], generation: str) -> list[dict[str, Any]] | None:
        snapshot = self._snapshot
        if snapshot is not None and snapshot.generation == generation:
            return snapshot.documents_for(entity_ids)
        if self._enabled and not self._closed and time.monotonic() >= self._next_load_at:
            self._reload_in_background()
        return None

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a background reload under way, if any."""
        loader = self._loader
        if loader is not None:
            loader.join(timeout)

    @property
    def reloads_started(self) -> int:
        return self._reloads

    def close(self) -> None:
        """Stop reloading and wait for a reload under way (it reads from the graph, which closes next)."""
        self._closed = True
        self.wait()

    def _reload_in_background(self) -> None:
        if not self._loading.acquire(blocking=False):
            return
        def run() -> None:
            try:
                self._load()
            except Exception:  # noqa: BLE001 - the graph answers directly until a reload succeeds
                log.warning("reading the graph's document links failed; searches ask the graph", exc_info=True)
            finally:
                self._loading.release()
        self._reloads += 1
        self._loader = threading.Thread(target=run, name="graph-links", daemon=True)
        self._loader.start()

    def _load(self) -> bool:
        """Read the links under one generation; keep them only if the generation held (caller holds the lock)."""
        if self._closed:
            return False
        started = time.monotonic()
        generation = self._generation()
        rows = self._graph.all_document_links()
        held = self._generation() == generation
        if held:
            self._snapshot = LinkSnapshot.build(generation, rows)
        elapsed = time.monotonic() - started
        self._next_load_at = time.monotonic() + self._pause_factor * elapsed
        log.info("graph links: %d documents read in %.2f s for generation %s%s", len(rows), elapsed, generation,
                 "" if held else " (changed during the read; not kept)")
        return held
