"""One contract for every VectorStore: qdrant-edge, qdrant-client local mode, a real server.

The server variant runs when MEDEVIDENCE_QDRANT_URL is set (MEDEVIDENCE_QDRANT_API_KEY
optional) and is marked ``servers``.  Vectors are tiny (DIM = 8) and built here, so every
expected ranking can be worked out by hand.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import qdrant_client
from qdrant_client import QdrantClient

from app.config import Settings
from app.model import Chunk, SearchFilters, SparseVec
from app.stores.open import open_vector_store
from app.stores.vectors import SCROLL_PAGE, VectorStore, parse_published
from app.stores.vectors_client import QdrantClientVectorStore
from app.stores.vectors_edge import EdgeVectorStore, stored_payload_memory
from tests.conftest import payload_storage_types

DIM = 8
REPO = Path(__file__).resolve().parents[2]
SERVER_URL = os.environ.get("MEDEVIDENCE_QDRANT_URL")
NO_SPARSE = SparseVec((), ())


def axis(*weights: float) -> np.ndarray:
    """A DIM-d vector whose first components are ``weights``."""
    vec = np.zeros(DIM, dtype=np.float32)
    vec[: len(weights)] = weights
    return vec


def sparse(**terms: float) -> SparseVec:
    """A sparse vector from ``t<index>=weight`` keyword arguments."""
    items = sorted((int(name[1:]), weight) for name, weight in terms.items())
    return SparseVec(tuple(i for i, _ in items), tuple(w for _, w in items))


def make_chunk(
    doc_id: str,
    ordinal: int = 0,
    version: str = "v1",
    source_type: str = "label",
    language: str = "en",
    published: str | None = "2010-01-01",
) -> Chunk:
    text = f"text of {doc_id} {version} {ordinal}"
    return Chunk(
        doc_id=doc_id,
        version=version,
        ordinal=ordinal,
        section="Dosage",
        start=ordinal * 100,
        end=ordinal * 100 + len(text),
        text=text,
        title=f"Title {doc_id}",
        source_type=source_type,
        url=f"https://example.org/{doc_id}",
        published=published,
        language=language,
    )


def put(store: VectorStore, rows: Sequence[tuple[Chunk, np.ndarray, SparseVec]]) -> None:
    store.upsert([r[0] for r in rows], np.stack([r[1] for r in rows]), [r[2] for r in rows])


def ids(results: Sequence[object]) -> list[str]:
    return [r.chunk.chunk_id for r in results]  # type: ignore[attr-defined]


# -- backends ------------------------------------------------------------------------------


class Backend:
    """Opens stores of one kind on storage that outlives each store (for reopen tests)."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind = kind
        self.root = root
        self.prefix = f"contract_{uuid.uuid4().hex[:8]}_"

    def open(self, name: str = "chunks") -> VectorStore:
        if self.kind == "edge":
            return EdgeVectorStore(self.root / "qdrant-edge", name)
        if self.kind == "local":
            return QdrantClientVectorStore(QdrantClient(path=str(self.root / "local")), name)
        client = QdrantClient(url=SERVER_URL, api_key=os.environ.get("MEDEVIDENCE_QDRANT_API_KEY"))
        return QdrantClientVectorStore(client, self.prefix + name)

    def cleanup(self) -> None:
        if self.kind != "server":
            return
        client = QdrantClient(url=SERVER_URL, api_key=os.environ.get("MEDEVIDENCE_QDRANT_API_KEY"))
        for description in client.get_collections().collections:
            if description.name.startswith(self.prefix):
                client.delete_collection(description.name)
        client.close()


BACKENDS = [
    pytest.param("edge", id="edge"),
    pytest.param("local", id="qdrant-client-local"),
    pytest.param(
        "server",
        id="qdrant-server",
        marks=[
            pytest.mark.servers,
            pytest.mark.skipif(not SERVER_URL, reason="MEDEVIDENCE_QDRANT_URL is not set"),
        ],
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b = Backend(request.param, tmp_path)
    yield b
    b.cleanup()


@pytest.fixture
def store(backend: Backend) -> Iterator[VectorStore]:
    s = backend.open()
    s.ensure(DIM)
    yield s
    s.close()


# -- writes and reads ----------------------------------------------------------------------


def test_upsert_count_get(store: VectorStore) -> None:
    chunks = [make_chunk("a", 0), make_chunk("a", 1, published=None), make_chunk("b", 0, language="zh")]
    put(store, [(c, axis(1, i), sparse(t1=1.0)) for i, c in enumerate(chunks)])
    assert store.count() == 3
    got = store.get_chunks([chunks[2].chunk_id, "nope#v1#0", chunks[0].chunk_id, chunks[1].chunk_id])
    assert got == [chunks[2], chunks[0], chunks[1]]
    assert store.get_chunks([]) == []


def test_reupsert_is_idempotent_and_overwrites(store: VectorStore) -> None:
    chunks = [make_chunk("a", i) for i in range(3)]
    put(store, [(c, axis(1, i), sparse(t1=1.0)) for i, c in enumerate(chunks)])
    # Same chunks again, with the vectors of chunk 0 and 2 swapped.
    put(store, [(c, axis(1, 2 - i), sparse(t1=1.0)) for i, c in enumerate(chunks)])
    assert store.count() == 3
    assert store.chunk_ids() == {c.chunk_id for c in chunks}
    assert ids(store.search_dense(axis(1, 0), 1, None)) == [chunks[2].chunk_id]


def test_upsert_rejects_mismatched_inputs(store: VectorStore) -> None:
    chunk = make_chunk("a")
    with pytest.raises(ValueError):
        store.upsert([chunk], np.stack([axis(1), axis(0, 1)]), [NO_SPARSE])
    with pytest.raises(ValueError):
        store.upsert([chunk], axis(1), [NO_SPARSE])
    assert store.count() == 0


def test_delete_documents(store: VectorStore) -> None:
    rows = [(make_chunk(d, i), axis(1, i), sparse(t1=1.0)) for d in "abc" for i in range(2)]
    put(store, rows)
    store.delete_documents([])
    assert store.count() == 6
    store.delete_documents(["a", "c", "unknown"])
    assert store.chunk_ids() == {make_chunk("b", i).chunk_id for i in range(2)}
    assert store.count() == 2


def test_delete_stale_versions(store: VectorStore) -> None:
    old = [make_chunk("a", i, version="v1") for i in range(3)]
    new = [make_chunk("a", i, version="v2") for i in range(2)]
    other = [make_chunk("b", 0, version="v1")]
    put(store, [(c, axis(1, i), sparse(t1=1.0)) for i, c in enumerate(old + new + other)])
    store.delete_stale_versions("a", "v2")
    assert store.chunk_ids(["a"]) == {c.chunk_id for c in new}
    assert store.chunk_ids(["b"]) == {c.chunk_id for c in other}
    assert store.count() == 3


def test_chunk_ids_selection_and_paging(store: VectorStore) -> None:
    n = SCROLL_PAGE + 30
    chunks = [make_chunk(f"d{i % 7}", i) for i in range(n)]
    store.upsert(chunks, np.tile(axis(1, 1), (n, 1)), [NO_SPARSE] * n)
    assert store.chunk_ids() == {c.chunk_id for c in chunks}
    assert store.chunk_ids(["d3", "d5"]) == {c.chunk_id for c in chunks if c.doc_id in ("d3", "d5")}
    assert store.chunk_ids([]) == set()
    assert store.chunk_ids(["missing"]) == set()


# -- search ----------------------------------------------------------------------------------


def test_dense_search_ranks_by_cosine(store: VectorStore) -> None:
    # Angles from the query grow with t; magnitudes vary wildly and must not matter.
    ts = [0.0, 0.2, 0.5, 1.0, 3.0]
    scales = [0.1, 50.0, 1.0, 20.0, 5.0]
    chunks = [make_chunk("a", i) for i in range(len(ts))]
    put(store, [(c, s * axis(1, t), NO_SPARSE) for c, t, s in zip(chunks, ts, scales, strict=True)])
    results = store.search_dense(axis(2), 3, None)
    assert ids(results) == [c.chunk_id for c in chunks[:3]]
    assert results[0].score == pytest.approx(1.0, abs=1e-5)
    assert results[0].score > results[1].score > results[2].score


def test_sparse_search_applies_idf(store: VectorStore) -> None:
    common = [make_chunk("common", i) for i in range(8)]
    heavy = make_chunk("heavy")  # the common term with the highest tf weight
    rare = make_chunk("rare")
    empty = make_chunk("empty")
    rows = [(c, axis(1), sparse(t101=1.0, t7=0.5)) for c in common]
    rows += [(heavy, axis(1), sparse(t101=1.5)), (rare, axis(1), sparse(t4294967000=1.0))]
    rows.append((empty, axis(1), NO_SPARSE))
    put(store, rows)
    # Without IDF "heavy" (1.5) would beat "rare" (1.0); IDF makes the rare term win.
    results = store.search_sparse(sparse(t101=1.0, t4294967000=1.0), 3, None)
    assert ids(results)[:2] == [rare.chunk_id, heavy.chunk_id]
    assert results[0].score > results[1].score
    matched = ids(store.search_sparse(sparse(t101=1.0), 50, None))
    assert set(matched) == {c.chunk_id for c in [*common, heavy]}
    assert store.search_sparse(sparse(t999=1.0), 5, None) == []
    assert store.search_sparse(NO_SPARSE, 5, None) == []


FilterCase = tuple[SearchFilters, Callable[[Chunk], bool]]


@pytest.fixture
def filter_corpus(store: VectorStore) -> VectorStore:
    """20 chunks close to the query, plus a few far ones matching each filter."""
    near = [make_chunk("near", i) for i in range(20)]
    far = [make_chunk("guide", i, source_type="guideline") for i in range(4)]
    far += [make_chunk("zh", i, language="zh") for i in range(4)]
    far += [make_chunk("recent", i, published="2022-06-01") for i in range(4)]
    far.append(make_chunk("undated", 0, published=None))
    rows = [(c, axis(1, 0.01 * i), sparse(t1=2.0)) for i, c in enumerate(near)]
    rows += [(c, axis(0.05, 1, 0.01 * i), sparse(t1=0.5)) for i, c in enumerate(far)]
    put(store, rows)
    return store


FILTER_CASES: dict[str, FilterCase] = {
    "source_type": (
        SearchFilters(source_type=("guideline", "other")),
        lambda c: c.source_type == "guideline",
    ),
    "language": (SearchFilters(language="zh"), lambda c: c.language == "zh"),
    "published_from": (SearchFilters(published_from="2022-06-01"), lambda c: c.doc_id == "recent"),
    "doc_ids": (SearchFilters(doc_ids=("guide", "not-indexed")), lambda c: c.doc_id == "guide"),
}


@pytest.mark.parametrize("case", list(FILTER_CASES))
@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_filters_are_pushed_down(filter_corpus: VectorStore, case: str, mode: str) -> None:
    filters, matches = FILTER_CASES[case]
    store = filter_corpus

    def search(f: SearchFilters | None, k: int) -> list[Chunk]:
        found = store.search_dense(axis(1), k, f) if mode == "dense" else store.search_sparse(sparse(t1=1.0), k, f)
        return [r.chunk for r in found]

    unfiltered = search(None, 3)
    assert len(unfiltered) == 3 and not any(matches(c) for c in unfiltered)
    filtered = search(filters, 3)
    assert len(filtered) == 3 and all(matches(c) for c in filtered)
    everything = search(filters, 50)
    assert len(everything) == 4 and all(matches(c) for c in everything)


def test_combined_filters_and_date_bounds(filter_corpus: VectorStore) -> None:
    store = filter_corpus
    both = SearchFilters(source_type=("guideline",), language="en", published_from="2009")
    assert {c.chunk.doc_id for c in store.search_dense(axis(1), 50, both)} == {"guide"}
    assert store.search_dense(axis(1), 50, SearchFilters(source_type=("guideline",), language="zh")) == []
    after = SearchFilters(published_from="2022-06-02")
    assert store.search_sparse(sparse(t1=1.0), 50, after) == []
    with pytest.raises(ValueError):
        store.search_dense(axis(1), 3, SearchFilters(published_from="last spring"))


# -- lifecycle -------------------------------------------------------------------------------


def test_persists_across_close_and_reopen(backend: Backend) -> None:
    first = backend.open()
    first.ensure(DIM)
    chunks = [make_chunk("a", i) for i in range(3)]
    put(first, [(c, axis(1, i), sparse(t1=1.0)) for i, c in enumerate(chunks)])
    assert isinstance(first.optimize(), bool)
    assert ids(first.search_dense(axis(1, 2), 1, None)) == [chunks[2].chunk_id]
    first.close()
    with pytest.raises(RuntimeError):
        first.count()

    second = backend.open()
    try:
        assert second.count() == 3
        assert second.get_chunks([chunks[1].chunk_id]) == [chunks[1]]
        assert ids(second.search_dense(axis(1, 2), 1, None)) == [chunks[2].chunk_id]
        second.ensure(DIM)  # idempotent on an existing index
        assert second.count() == 3
        with pytest.raises(ValueError):
            second.ensure(DIM + 1)
    finally:
        second.close()


def test_absent_index_reads_empty_and_refuses_writes(backend: Backend) -> None:
    fresh = backend.open("never_created")
    try:
        assert fresh.count() == 0
        assert fresh.chunk_ids() == set()
        assert fresh.get_chunks(["a#v1#0"]) == []
        assert fresh.search_dense(axis(1), 3, None) == []
        assert fresh.search_sparse(sparse(t1=1.0), 3, None) == []
        with pytest.raises(RuntimeError):
            put(fresh, [(make_chunk("a"), axis(1), NO_SPARSE)])
    finally:
        fresh.close()


KILL_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import numpy as np
    from app.model import Chunk, SparseVec
    kind, root, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    if kind == "edge":
        from app.stores.vectors_edge import EdgeVectorStore
        store = EdgeVectorStore(root / "qdrant-edge", "chunks")
    else:
        from qdrant_client import QdrantClient
        from app.stores.vectors_client import QdrantClientVectorStore
        store = QdrantClientVectorStore(QdrantClient(path=str(root / "local")), "chunks")
    store.ensure(8)
    chunks = [Chunk(doc_id=f"k{i}", version="v1", ordinal=0, section="s", start=0, end=4,
                    text=f"t{i}", title="T", source_type="label") for i in range(n)]
    dense = np.zeros((n, 8), dtype=np.float32)
    dense[:, 0] = 1.0
    dense[:, 1] = np.arange(n, dtype=np.float32)
    store.upsert(chunks, dense, [SparseVec((i,), (1.0,)) for i in range(n)])
    print("upserted", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["edge", "local"])
def test_upsert_survives_sigkill(kind: str, tmp_path: Path) -> None:
    n = 600
    proc = subprocess.run(
        [sys.executable, "-c", KILL_CHILD, kind, str(tmp_path), str(n)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "upserted" in proc.stdout
    reopened = Backend(kind, tmp_path).open()
    try:
        assert reopened.count() == n
        assert reopened.chunk_ids() == {f"k{i}#v1#0" for i in range(n)}
        assert [c.text for c in reopened.get_chunks([f"k{n - 1}#v1#0"])] == [f"t{n - 1}"]
        assert ids(reopened.search_sparse(sparse(t7=1.0), 3, None)) == ["k7#v1#0"]
    finally:
        reopened.close()


# -- helpers and factory -------------------------------------------------------------------


def test_parse_published() -> None:
    day = int(datetime(2021, 5, 3, tzinfo=UTC).timestamp())
    assert parse_published("2021-05-03") == day
    assert parse_published("2021-05-03T10:00:00Z") == day + 36000
    assert parse_published("2021-05-03T10:00:00") == day + 36000
    assert parse_published("2021") == int(datetime(2021, 1, 1, tzinfo=UTC).timestamp())
    assert parse_published("2021-05") == int(datetime(2021, 5, 1, tzinfo=UTC).timestamp())
    assert parse_published("May 2021") is None
    assert parse_published(None) is None


def test_open_vector_store_picks_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path, qdrant_url=None)
    edge = open_vector_store(settings)
    try:
        assert isinstance(edge, EdgeVectorStore)
        assert edge.shard_dir == tmp_path / "qdrant-edge" / settings.index_name()
        edge.ensure(DIM)
        assert (edge.shard_dir / "edge_config.json").exists()
    finally:
        edge.close()

    made: list[dict[str, object]] = []

    class FakeClient:  # stands in for a server connection
        def __init__(self, **kwargs: object) -> None:
            made.append(kwargs)

    monkeypatch.setattr(qdrant_client, "QdrantClient", FakeClient)
    remote = Settings(data_dir=tmp_path, qdrant_url="http://qdrant:6333", qdrant_api_key="k", qdrant_shards=2)
    server = open_vector_store(remote)
    assert isinstance(server, QdrantClientVectorStore)
    assert made == [{"url": "http://qdrant:6333", "api_key": "k"}]
    assert (server.collection, server.shards, server.replication_factor) == (settings.index_name(), 2, 1)


def test_edge_payload_placement_follows_the_setting(tmp_path: Path) -> None:
    """A shard written with payloads on disk and reopened with ``payload_in_ram`` keeps its data,
    records the new placement at once and moves its segments at the next optimisation."""
    root = tmp_path / "qdrant-edge"
    cold = EdgeVectorStore(root, "chunks", payload_in_ram=False)
    cold.ensure(DIM)
    rows = [(make_chunk(f"d{i}"), axis(1.0, float(i)), sparse(**{f"t{i}": 1.0})) for i in range(40)]
    put(cold, rows)
    cold.optimize()
    cold.close()
    assert stored_payload_memory(root / "chunks") == "cold"
    assert payload_storage_types(root / "chunks") == {"mmap"}

    warm = EdgeVectorStore(root, "chunks", payload_in_ram=True)
    try:
        assert stored_payload_memory(root / "chunks") == "cached"
        assert warm.optimize() is True
        assert warm.count() == 40
    finally:
        warm.close()
    reopened = EdgeVectorStore(root, "chunks")
    try:
        assert payload_storage_types(root / "chunks") == {"in_ram_mmap"}
        assert ids(reopened.search_sparse(sparse(t7=1.0), 3, None)) == ["d7#v1#0"]
        assert [c.text for c in reopened.get_chunks(["d3#v1#0"])] == ["text of d3 v1 0"]
        assert reopened.optimize() is False  # nothing left to move
    finally:
        reopened.close()


def test_stored_payload_memory_reads_old_and_new_configs(tmp_path: Path) -> None:
    assert stored_payload_memory(tmp_path) is None
    (tmp_path / "edge_config.json").write_text('{"on_disk_payload": true}', encoding="utf-8")
    assert stored_payload_memory(tmp_path) == "cold"
    (tmp_path / "edge_config.json").write_text('{"on_disk_payload": false}', encoding="utf-8")
    assert stored_payload_memory(tmp_path) == "cached"
    (tmp_path / "edge_config.json").write_text('{"payload_memory": "Cached"}', encoding="utf-8")
    assert stored_payload_memory(tmp_path) == "cached"
    (tmp_path / "edge_config.json").write_text("[", encoding="utf-8")
    assert stored_payload_memory(tmp_path) is None
