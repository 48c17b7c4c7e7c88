"""Incremental, resumable indexing: documents in, every store consistent out.

One step of work is a batch of documents.  For each batch the manifest first records the
intent (with the documents themselves), then the vector store, then the graph are
written, and finally the manifest records the batch as done, clearing the intent in the
same SQLite transaction.  Every store write is idempotent (deterministic point ids,
replace-by-document graph links, delete-by-filter), so a run killed at any point and run
again replays the pending intent and converges to the state of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.config import Settings
from app.drugs.aliases import AliasStore, is_alias_file
from app.drugs.catalog import DrugCatalog
from app.graph_model import DocumentLinks, GraphKnowledge
from app.knowledge import EntityDictionary
from app.model import Chunk, Document, SparseVec
from app.rules import is_rules_file
from app.stores.files import FileStore
from app.stores.graph import GraphStore
from app.stores.manifest import VECTORS_INDEX_KEY, Manifest
from app.stores.vectors import VectorStore
from app.text.analysis import Analyzer
from app.text.embedding import CachedEmbedder
from indexers.chunking import ChunkingConfig, chunk_document
from indexers.files.reader import (
    FILE_ORIGIN_PREFIX,
    FileCounts,
    FileJob,
    FileReading,
    FileSelection,
    id_prefix,
    plan_paths,
    read_files,
)
from indexers.files.workers import PageProgress
from indexers.graph_build import links_for
from indexers.sources.base import Rejected
from indexers.sources.jsonl import read_jsonl
from indexers.sources.registry import detect_source, read_path

Progress = Callable[[int, int], None]  # (documents just written, documents to write)
STARTER_ORIGIN_PREFIX = "knowledge:"
UPLOAD_ORIGIN = "api"  # the origin of documents that arrive through the API
FILE_SOURCE_NAME = "files"  # the summary's name for the hospital files of a run
FILES_PER_WRITE = 4  # parsed files written per step: the next files parse while these are embedded
AVGDL_SAMPLE = 500


@dataclass
class IndexSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    seconds: float = 0.0
    chunks_written: int = 0
    chunks_embedded: int = 0
    chunks_from_cache: int = 0
    recovered: int = 0
    sources: dict[str, dict[str, int]] = field(default_factory=dict)
    rejects: list[str] = field(default_factory=list)
    files: FileCounts | None = None  # hospital files read this run (PDF, Word, HTML, Markdown, text)
    pruned: list[str] = field(default_factory=list)  # documents whose file was deleted (--prune)
    aliases: dict[str, int] | None = None  # hospital alias files loaded: entries added per file (None: none given)
    alias_rejects: list[str] = field(default_factory=list)  # their bad lines, "FILE:LINE: reason" (in ``rejected``)

    def to_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            "chunks_written": self.chunks_written,
            "chunks_embedded": self.chunks_embedded,
            "chunks_from_cache": self.chunks_from_cache,
            "recovered": self.recovered,
            "sources": self.sources,
            "rejects": self.rejects,
            **({"files": self.files.to_json(), "warnings": self.files.warnings} if self.files else {}),
            **({"pruned": self.pruned} if self.pruned else {}),
            **({"aliases": self.aliases} if self.aliases is not None else {}),
        }


@dataclass
class _Source:
    """Documents read from one origin (a knowledge file, a user file or folder)."""

    name: str
    origin: str
    documents: dict[str, Document]
    sync_deletes: bool


@dataclass
class _Prepared:
    """One batch, chunked and vectorised, ready for the stores."""

    batch: list[tuple[Document, str]]
    chunked: list[tuple[Document, str, list[Chunk]]]
    chunks: list[Chunk]
    dense: np.ndarray | None
    sparse: list[SparseVec]
    links: list[DocumentLinks]


class Indexer:
    """Writes documents into the manifest, the vector store and the graph (and the kept files and hospital aliases).

    It takes the stores it writes, opened by its caller (the CLI root and ``create_app``'s indexer factory wire it
    over a ``Runtime``).  ``optimize``: build the vector store's HNSW and sparse indexes at the end of each run, as
    ``medevidence index`` does; a serving process's indexer leaves it to the next ``medevidence index``, because
    the embedded engine's optimisation holds the interpreter for seconds once a segment is past its threshold."""

    def __init__(self, settings: Settings, *, manifest: Manifest, vectors: VectorStore, graph: GraphStore,
                 embedder: CachedEmbedder, analyzer: Analyzer, files: FileStore, aliases: AliasStore,
                 knowledge: Callable[[], GraphKnowledge], optimize: bool = True) -> None:
        self.settings = settings
        self.manifest, self.vectors, self.graph = manifest, vectors, graph
        self.embedder, self.analyzer = embedder, analyzer
        self.files, self.aliases = files, aliases
        self.knowledge = knowledge  # the graph knowledge, read when a run first needs it
        self.optimize = optimize
        self.chunking = ChunkingConfig(
            max_tokens=settings.chunk_max_tokens,
            min_tokens=settings.chunk_min_tokens,
            overlap_tokens=settings.chunk_overlap_tokens,
        )
        self._dictionary: EntityDictionary | None = None
        self._lock = threading.RLock()  # one writer at a time (the API serves requests on threads)

    # -- public ---------------------------------------------------------------------------
    def index_starter_knowledge(self, progress: Progress | None = None) -> IndexSummary:
        docs_dir = self.settings.knowledge_dir / "docs"
        files = sorted(docs_dir.glob("*.jsonl.gz"))
        if not files:
            raise FileNotFoundError(f"no starter knowledge in {docs_dir}")
        summary = IndexSummary()
        sources = [self._read(f, read_jsonl(f), STARTER_ORIGIN_PREFIX + f.name, True, summary) for f in files]
        return self._run(sources, summary, progress)

    def index_paths(
        self,
        paths: Sequence[Path],
        progress: Progress | None = None,
        reading: FileReading | None = None,
        on_page: PageProgress | None = None,
        prune: bool = False,
    ) -> IndexSummary:
        """Index JSONL files, source folders and hospital files (PDF, Word, HTML, Markdown, text; folders of them),
        then load the hospital drug alias files among ``paths`` (app/drugs/aliases.py) against what was indexed.
        Hospital files are parsed in worker processes while earlier ones are embedded and written.  With ``prune``,
        the documents of files deleted from the folders among ``paths`` are removed as well."""
        reading = reading or self.file_reading()
        summary = IndexSummary()
        alias_files = [p for p in paths if is_alias_file(p)]
        paths = [p for p in paths if p not in alias_files]
        plan = plan_paths(paths, reading.selection, lambda folder: detect_source(folder) is not None)
        for rejected in plan.rejects:
            summary.rejected += 1
            summary.rejects.append(str(rejected))
        # A rules file is the whole of its rules: a rule gone from it is deleted (no rule outlives its line).
        sources = [self._read(p, read_path(p), str(p.resolve()), is_rules_file(p.name), summary)
                   for p in plan.sources]
        streamed = self._file_sources(plan.jobs, reading, summary, on_page) if plan.jobs else None

        def prune_deleted_files() -> None:
            summary.pruned = self.prune_files([p for p in paths if p.is_dir()], reading.selection)
            summary.deleted += len(summary.pruned)

        self._run(sources, summary, progress, streamed, prune_deleted_files if prune else None)
        if alias_files:
            self._load_aliases(alias_files, summary)
        return summary

    def index_upload(self, path: Path, name: str, doc_id: str, source_type: str | None) -> IndexSummary:
        """Index one uploaded file (``POST /v1/documents``) as ``doc_id``; its original is kept like any file's."""
        reading = self.file_reading(FileSelection(source_type=source_type))
        summary = IndexSummary()
        job = FileJob(path, doc_id, name, UPLOAD_ORIGIN)
        return self._run([], summary, None, self._file_sources([job], reading, summary, None))

    def _load_aliases(self, files: Sequence[Path], summary: IndexSummary) -> None:
        """Load hospital alias files; each line's drug must name one drug the resolver knows, labels just indexed
        included.  A bad line is reported as ``FILE:LINE: reason`` and counted as rejected."""
        summary.aliases = {}
        catalog = DrugCatalog(self.knowledge(), self.manifest, self.graph, self.aliases)
        for path in files:
            loaded = self.aliases.load(path, catalog.resolver)  # the resolver knows the aliases loaded so far
            summary.aliases[str(path)] = loaded.added
            summary.alias_rejects.extend(loaded.rejected)
            summary.rejected += len(loaded.rejected)

    def file_reading(self, selection: FileSelection | None = None) -> FileReading:
        """How this data dir's settings read hospital files."""
        s = self.settings
        return FileReading(selection or FileSelection(), s.file_max_bytes, s.file_parse_timeout_s, s.parse_workers,
                           s.ocr)

    def prune_files(self, folders: Sequence[Path], selection: FileSelection | None = None) -> list[str]:
        """Delete the documents indexed from files of ``folders`` whose file is gone (hospital files, and the rules
        of a deleted rules file); the ids deleted.

        A file document's id is the folder's id prefix plus the file's relative path, so a folder that moved or
        was copied still prunes right; a file left out by ``--exclude`` but still there is not deleted."""
        selection = selection or FileSelection()
        gone: list[str] = []
        origins = self.manifest.origins()
        for folder in folders:
            prefix = id_prefix(folder, selection)
            gone += [doc_id for doc_id, origin in origins.items()
                     if origin.startswith(FILE_ORIGIN_PREFIX) and doc_id.startswith(prefix)
                     and not (folder / doc_id.removeprefix(prefix)).is_file()]
            under = str(folder.resolve()) + "/"
            gone += [doc_id for doc_id, origin in origins.items()  # the rules of a rules file deleted from it
                     if origin.startswith(under) and is_rules_file(origin) and not Path(origin).is_file()]
        return self.delete(sorted(set(gone)))[0] if gone else []

    def _file_sources(
        self, jobs: Sequence[FileJob], reading: FileReading, summary: IndexSummary, on_page: PageProgress | None
    ) -> Iterator[list[_Source]]:
        """Parsed files as sources, a few at a time, as the workers finish them."""
        summary.files = FileCounts()
        store = self.files
        group: list[_Source] = []
        for job, item in read_files(jobs, reading, store, summary.files, on_page):
            if isinstance(item, Rejected):
                summary.rejected += 1
                summary.rejects.append(str(item))
                continue
            group.append(_Source(FILE_SOURCE_NAME, job.origin, {item.id: item}, False))
            if len(group) >= FILES_PER_WRITE:
                yield group
                group = []
        if group:
            yield group

    def index_documents(self, docs: Sequence[Document], origin: str) -> IndexSummary:
        """Index documents that arrive through the API (no file behind them)."""
        summary = IndexSummary()
        source = _Source(origin, origin, {d.id: d for d in docs}, False)
        return self._run([source], summary, None)

    def delete(self, doc_ids: Sequence[str]) -> tuple[list[str], list[str]]:
        """Remove documents and everything derived from them: (deleted, unknown)."""
        with self._lock:
            return self._delete_locked(doc_ids)

    def _delete_locked(self, doc_ids: Sequence[str]) -> tuple[list[str], list[str]]:
        self.recover()
        known = self.manifest.versions()
        found = [d for d in dict.fromkeys(doc_ids) if d in known]
        unknown = [d for d in dict.fromkeys(doc_ids) if d not in known]
        if found:
            self.manifest.begin_deletes(found)
            self._apply_deletes(found)
            self.manifest.commit([], found)
        return found, unknown

    def recover(self) -> int:
        """Replay work a killed run left pending; returns the number of documents replayed."""
        ops = self.manifest.pending()
        if not ops:
            return 0
        i = 0
        while i < len(ops):
            j = i
            while j < len(ops) and ops[j].op == ops[i].op:
                j += 1
            run = ops[i:j]
            seqs = [op.seq for op in run]
            if run[0].op == "upsert":
                latest = {op.doc_id: (op.document, op.origin or "recovered") for op in run if op.document}
                self._write([(doc, origin) for doc, origin in latest.values()], seqs, replaces=None)
            else:
                ids = list(dict.fromkeys(op.doc_id for op in run))
                self._apply_deletes(ids)
                self.manifest.commit([], ids, done_seqs=seqs)
            i = j
        return len(ops)

    # -- reading and planning -------------------------------------------------------------
    def _read(
        self, path: Path, items: Iterable[Document | Rejected], origin: str, sync: bool, summary: IndexSummary
    ) -> _Source:
        docs: dict[str, Document] = {}
        for item in items:
            if isinstance(item, Rejected):
                summary.rejected += 1
                summary.rejects.append(str(item))
            else:
                docs[item.id] = item
        name = path.name.removesuffix(".gz").removesuffix(".jsonl") if sync else path.name
        return _Source(name, origin, docs, sync)

    def _run(
        self,
        sources: list[_Source],
        summary: IndexSummary,
        progress: Progress | None,
        streamed: Iterator[list[_Source]] | None = None,
        then: Callable[[], None] | None = None,
    ) -> IndexSummary:
        """One indexing run under the writer lock: every path in (the command line, the API's uploads) leaves the
        stores alike.  ``then`` (pruning) runs after the writes; last, with ``optimize``, the vector store builds its
        HNSW and sparse indexes over what the run wrote (the embedded engine has no background optimiser; a no-op when
        nothing new reached its indexing threshold, and on a Qdrant server), timed into ``summary.seconds``."""
        with self._lock:
            self._run_locked(sources, summary, progress, streamed)
            if then is not None:
                then()
            if self.optimize:
                started = time.perf_counter()
                self.vectors.optimize()
                summary.seconds += time.perf_counter() - started
        return summary

    def _run_locked(
        self,
        sources: list[_Source],
        summary: IndexSummary,
        progress: Progress | None,
        streamed: Iterator[list[_Source]] | None,
    ) -> IndexSummary:
        started = time.perf_counter()
        summary.recovered = self.recover()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="graph-writer") as graph_writer:
            # The graph's entities load in the background, ahead of the first batch's links.
            fingerprint = self._graph_knowledge_to_load()
            loading = (graph_writer.submit(self.graph.load_knowledge, self.knowledge())
                       if fingerprint else None)
            self._plan_and_write(sources, summary, progress, graph_writer)
            for group in streamed or ():
                self._plan_and_write(group, summary, progress, graph_writer)
            if loading is not None and fingerprint is not None:
                loading.result()
                self.manifest.set_meta("graph_knowledge", fingerprint)
        self.vectors.flush()
        summary.seconds = time.perf_counter() - started
        return summary

    def _plan_and_write(
        self, sources: list[_Source], summary: IndexSummary, progress: Progress | None, graph_writer: Executor
    ) -> None:
        versions = self.manifest.versions()
        rebuild = self._index_shape_changed(versions)
        todo: list[tuple[Document, str]] = []
        deletes: list[str] = []
        for source in sources:
            counts = {"documents": len(source.documents), "added": 0, "updated": 0, "unchanged": 0, "deleted": 0}
            for doc in source.documents.values():
                known = versions.get(doc.id)
                if known == doc.version and not rebuild:
                    counts["unchanged"] += 1
                    continue
                counts["added" if known is None else "updated"] += 1
                todo.append((doc, source.origin))
            if source.sync_deletes:
                gone = sorted(self.manifest.doc_ids_from(source.origin) - set(source.documents))
                counts["deleted"] = len(gone)
                deletes.extend(gone)
            for key in ("added", "updated", "unchanged", "deleted"):
                setattr(summary, key, getattr(summary, key) + counts[key])
            so_far = summary.sources.get(source.name)
            summary.sources[source.name] = {k: v + so_far.get(k, 0) for k, v in counts.items()} if so_far else counts
        if deletes:
            self.manifest.begin_deletes(deletes)
            graph_writer.submit(self._apply_deletes, deletes).result()
            self.manifest.commit([], deletes)
        if rebuild:  # every stored document goes into the new index, also those no source named this run
            listed = {doc.id for doc, _ in todo} | {d for s in sources for d in s.documents} | set(deletes)
            for doc_id, origin in sorted(self.manifest.origins().items()):
                stored = self.manifest.document(doc_id) if doc_id not in listed else None
                if stored is not None:
                    todo.append((stored, origin))
                    summary.updated += 1
            self.manifest.set_meta("bm25_avgdl", "")  # chunk lengths change with the chunking
        self._ensure_avgdl(todo)
        size = self.settings.index_batch_documents
        known_ids = set(versions)
        embedded_before, cached_before = self.embedder.embedded, self.embedder.cached
        summary.chunks_written += self._write_pipelined(todo, size, known_ids, progress, graph_writer)
        summary.chunks_embedded += self.embedder.embedded - embedded_before
        summary.chunks_from_cache += self.embedder.cached - cached_before
        self.manifest.set_meta(VECTORS_INDEX_KEY, self.settings.index_name())

    def _index_shape_changed(self, versions: dict[str, str]) -> bool:
        """The embedding model or chunking changed since the documents were indexed: the chunk index is named
        by a hash of them, so the new one starts empty and every document must be written into it."""
        recorded = self.manifest.get_meta(VECTORS_INDEX_KEY)
        if recorded is None:  # a data dir indexed before the name was recorded
            return bool(versions) and self.vectors.count() == 0
        return recorded != self.settings.index_name()

    # -- writing --------------------------------------------------------------------------
    def _write(
        self, batch: Sequence[tuple[Document, str]], seqs: Sequence[int], replaces: set[str] | None
    ) -> int:
        """Write one batch to every store, then mark it done in the manifest.

        ``replaces`` names the documents that may have points of another version in the
        vector store (None: any may, as after a crash).  After recovery every stored point
        belongs to a manifest document, so a document new to the manifest has none.
        """
        prepared = self._prepare(batch)
        self._write_vectors(prepared, replaces)
        self.graph.replace_document_links(prepared.links)
        self.manifest.commit(prepared.chunked, [], done_seqs=seqs)
        return len(prepared.chunks)

    def _write_pipelined(
        self,
        todo: Sequence[tuple[Document, str]],
        size: int,
        replaces: set[str],
        progress: Progress | None,
        graph_writer: Executor,
    ) -> int:
        """Write batches in order, like ``_write``; the graph write of one batch (a wait on the graph
        server) overlaps the chunking and vectorising of the next.  A batch is committed to the
        manifest only after its vectors and its graph links are written, so a crash anywhere leaves
        intents that ``recover`` replays."""
        written = 0
        in_flight: tuple[Future[None], _Prepared, list[int]] | None = None
        for start in range(0, len(todo), size):
            prepared = self._prepare(todo[start : start + size])
            if in_flight is not None:
                self._commit_when_linked(*in_flight, progress, len(todo))
            seqs = self.manifest.begin_upserts(prepared.batch)
            self._write_vectors(prepared, replaces)
            in_flight = (graph_writer.submit(self.graph.replace_document_links, prepared.links), prepared, seqs)
            written += len(prepared.chunks)
        if in_flight is not None:
            self._commit_when_linked(*in_flight, progress, len(todo))
        return written

    def _commit_when_linked(
        self, linked: Future[None], prepared: _Prepared, seqs: list[int], progress: Progress | None, total: int
    ) -> None:
        linked.result()  # re-raises a graph error: the batch stays pending for recovery
        self.manifest.commit(prepared.chunked, [], done_seqs=seqs)
        if progress is not None:
            progress(len(prepared.batch), total)

    def _prepare(self, batch: Sequence[tuple[Document, str]]) -> _Prepared:
        """Chunks, vectors and graph links of a batch: everything but the store writes."""
        chunked = [(doc, origin, chunk_document(doc, self.chunking)) for doc, origin in batch]
        chunks = [c for _, _, cs in chunked for c in cs]
        dense = (self.embedder.encode_keyed([c.text_hash for c in chunks], [c.embed_text for c in chunks])
                 if chunks else None)
        dictionary = self._entity_dictionary()
        links = [links_for(doc, dictionary) for doc, _, _ in chunked]
        return _Prepared(list(batch), chunked, chunks, dense, self._sparse(chunks), links)

    def _write_vectors(self, prepared: _Prepared, replaces: set[str] | None) -> None:
        if prepared.chunks and prepared.dense is not None:
            self.vectors.upsert(prepared.chunks, prepared.dense, prepared.sparse)
        for doc, _, _ in prepared.chunked:
            if replaces is None or doc.id in replaces:
                self.vectors.delete_stale_versions(doc.id, doc.version)

    def _apply_deletes(self, doc_ids: Sequence[str]) -> None:
        self.vectors.delete_documents(doc_ids)
        self.graph.delete_documents(doc_ids)

    def _sparse(self, chunks: Sequence[Chunk]) -> list[SparseVec]:
        avgdl = float(self.manifest.get_meta("bm25_avgdl") or 1.0)
        analyzer = self.analyzer
        return [analyzer.document_vector(c.embed_text, avgdl)[0] for c in chunks]

    def _ensure_avgdl(self, todo: Sequence[tuple[Document, str]]) -> None:
        """Fix BM25's average document length once, from a spread sample of the first run."""
        if self.manifest.get_meta("bm25_avgdl") or not todo:
            return
        step = max(1, len(todo) // AVGDL_SAMPLE)
        lengths = [
            len(self.analyzer.tokens(chunk.embed_text))
            for doc, _ in todo[::step]
            for chunk in chunk_document(doc, self.chunking)
        ]
        self.manifest.set_meta("bm25_avgdl", f"{sum(lengths) / max(len(lengths), 1):.3f}")

    def _graph_knowledge_to_load(self) -> str | None:
        """The fingerprint of knowledge/graph when it changed since the graph last loaded it, else None."""
        graph_dir = self.settings.knowledge_dir / "graph"
        digest = hashlib.sha256()
        for path in sorted(graph_dir.glob("*.jsonl.gz")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        fingerprint = digest.hexdigest()[:16]
        return None if self.manifest.get_meta("graph_knowledge") == fingerprint else fingerprint

    def _entity_dictionary(self) -> EntityDictionary:
        if self._dictionary is None:
            self._dictionary = EntityDictionary(self.knowledge())
        return self._dictionary
