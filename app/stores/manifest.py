"""The index manifest (SQLite in the data dir): document id -> version -> chunk ids.

It is also the intent log that makes indexing resumable: a batch is written to
``pending`` (with the full documents) before any store is touched, and removed in the
same transaction that records the batch as done.  A run that finds pending work after a
crash replays it; every store write is idempotent, so the replay converges.
"""

from __future__ import annotations

import json
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model import Chunk, Document, Page, Section

VECTORS_INDEX_KEY = "vectors_index"  # meta: the chunk index (settings.index_name()) the documents were written to

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, version TEXT NOT NULL, title TEXT NOT NULL, source_type TEXT NOT NULL,
    origin TEXT NOT NULL, chunk_count INTEGER NOT NULL, body BLOB NOT NULL, indexed_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS documents_origin ON documents(origin);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, version TEXT NOT NULL, ordinal INTEGER NOT NULL,
    text_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, op TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    origin TEXT, body BLOB);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def encode_document(doc: Document) -> bytes:
    data = {
        "id": doc.id,
        "title": doc.title,
        "source_type": doc.source_type,
        "text": doc.text,
        "sections": [[s.heading, s.start, s.end] for s in doc.sections],
        "url": doc.url,
        "published": doc.published,
        "language": doc.language,
        "metadata": doc.metadata,
    }
    if doc.pages:
        data["pages"] = [p.compact() for p in doc.pages]
    return zlib.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"), 1)


def decode_document(blob: bytes) -> Document:
    data = json.loads(zlib.decompress(blob).decode("utf-8"))
    return Document(
        id=data["id"],
        title=data["title"],
        source_type=data["source_type"],
        text=data["text"],
        sections=tuple(Section(h, s, e) for h, s, e in data["sections"]),
        url=data["url"],
        published=data["published"],
        language=data["language"],
        metadata=data["metadata"],
        pages=tuple(Page.from_json(p) for p in data.get("pages") or ()),
    )


@dataclass(frozen=True)
class PendingOp:
    seq: int
    doc_id: str
    op: str
    origin: str | None
    document: Document | None


class Manifest:
    """SQLite-backed record of what is indexed, plus the resumable intent log."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._blobs: dict[tuple[str, str], bytes] = {}

    # -- reads ----------------------------------------------------------------------------
    def versions(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT doc_id, version FROM documents"))

    def versions_of(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The indexed version of each of ``doc_ids`` that is indexed."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        # Parameterised: the placeholders are generated, the ids are bound.
        return dict(self._db.execute(f"SELECT doc_id, version FROM documents WHERE doc_id IN ({marks})",
                                     tuple(doc_ids)))

    def origins(self) -> dict[str, str]:
        """Every document id with the origin (source file or API) it was indexed from."""
        return dict(self._db.execute("SELECT doc_id, origin FROM documents"))

    def doc_ids_from(self, origin: str) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT doc_id FROM documents WHERE origin = ?", (origin,))}

    def document(self, doc_id: str) -> Document | None:
        row = self._db.execute("SELECT body FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return decode_document(row[0]) if row else None

    def documents_of_type(self, source_type: str) -> list[Document]:
        rows = self._db.execute("SELECT body FROM documents WHERE source_type = ? ORDER BY doc_id", (source_type,))
        return [decode_document(r[0]) for r in rows]

    def iter_documents(self) -> Iterator[Document]:
        """Every stored document version, in id order (decoded one at a time)."""
        for row in self._db.execute("SELECT body FROM documents ORDER BY doc_id"):
            yield decode_document(row[0])

    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> set[str]:
        if doc_ids is None:
            return {r[0] for r in self._db.execute("SELECT chunk_id FROM chunks")}
        out: set[str] = set()
        for start in range(0, len(doc_ids), 500):
            part = list(doc_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            out.update(r[0] for r in self._db.execute(f"SELECT chunk_id FROM chunks WHERE doc_id IN ({marks})", part))
        return out

    def counts(self) -> dict[str, int]:
        docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        pending = self._db.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
        return {"documents": docs, "chunks": chunks, "pending": pending}

    def counts_by_source_type(self) -> dict[str, int]:
        rows = self._db.execute("SELECT source_type, COUNT(*) FROM documents GROUP BY source_type")
        return dict(rows)

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def index_version(self) -> str:
        """Changes whenever any document is added, replaced or removed."""
        return self.get_meta("index_version") or "0"

    def qualified_version(self, index_name: str) -> str:
        """``<index name>@<generation>``: what shapes the index and how often it changed (answers carry it)."""
        return f"{index_name}@{self.index_version()}"

    # -- intent log -----------------------------------------------------------------------
    def pending(self) -> list[PendingOp]:
        rows = self._db.execute("SELECT seq, doc_id, op, origin, body FROM pending ORDER BY seq").fetchall()
        return [
            PendingOp(seq, doc_id, op, origin, decode_document(body) if body else None)
            for seq, doc_id, op, origin, body in rows
        ]

    def begin_upserts(self, docs: Iterable[tuple[Document, str]]) -> list[int]:
        """Record the intent to write these documents; returns the intent rows' ids."""
        seqs: list[int] = []
        with self._transaction():
            for doc, origin in docs:
                cursor = self._db.execute(
                    "INSERT INTO pending (doc_id, op, origin, body) VALUES (?, 'upsert', ?, ?)",
                    (doc.id, origin, self._encoded(doc, keep=True)),
                )
                seqs.append(int(cursor.lastrowid or 0))
        return seqs

    def _encoded(self, doc: Document, keep: bool = False) -> bytes:
        """The stored form of ``doc``, encoded once between its intent row and its commit."""
        key = (doc.id, doc.version)
        blob = self._blobs.get(key) if keep else self._blobs.pop(key, None)
        if blob is None:
            blob = encode_document(doc)
            if keep:
                self._blobs[key] = blob
        return blob

    def begin_deletes(self, doc_ids: Iterable[str]) -> None:
        with self._transaction():
            self._db.executemany(
                "INSERT INTO pending (doc_id, op, origin, body) VALUES (?, 'delete', NULL, NULL)",
                [(d,) for d in doc_ids],
            )

    def commit(
        self,
        upserts: Sequence[tuple[Document, str, Sequence[Chunk]]],
        deletes: Sequence[str],
        done_seqs: Sequence[int] | None = None,
    ) -> None:
        """Record finished work and clear its intent rows, atomically."""
        now = time.time()
        with self._transaction():
            for doc, origin, chunks in upserts:
                self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc.id,))
                self._db.execute(
                    "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc.id, doc.version, doc.title, doc.source_type, origin, len(chunks), self._encoded(doc), now),
                )
                self._db.executemany(
                    "INSERT INTO chunks VALUES (?, ?, ?, ?, ?)",
                    [(c.chunk_id, c.doc_id, c.version, c.ordinal, c.text_hash) for c in chunks],
                )
            for doc_id in deletes:
                self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            touched = [doc.id for doc, _, _ in upserts] + list(deletes)
            if done_seqs is not None:
                self._db.executemany("DELETE FROM pending WHERE seq = ?", [(s,) for s in done_seqs])
            else:
                self._db.executemany("DELETE FROM pending WHERE doc_id = ?", [(d,) for d in touched])
            if touched:
                previous = int(self.get_meta("index_version") or "0")
                self.set_meta("index_version", str(previous + 1))

    def _transaction(self) -> _Tx:
        return _Tx(self._db)

    def close(self) -> None:
        self._db.close()

    def stats(self) -> dict[str, Any]:
        return {**self.counts(), "index_version": self.index_version()}


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
