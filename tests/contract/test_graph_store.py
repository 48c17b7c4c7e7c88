"""One contract for every ``GraphStore``: embedded ArcadeDB (always) and Neo4j 5 (``-m servers``).

The Neo4j run uses ``MEDEVIDENCE_NEO4J_URI`` / ``_USER`` / ``_PASSWORD`` / ``_DATABASE`` and
rewrites that database's Drug/Disease/DrugClass/Document nodes: point it at a scratch database.
The JVM starts once per session (session-scoped store); each test starts from the same state.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.graph_model import (
    ClassMember,
    DiseaseRecord,
    DocumentLinks,
    DrugClassRecord,
    DrugRecord,
    GraphKnowledge,
    Indication,
    Interaction,
)
from app.retrieval.graph_links import LinkMemory, LinkSnapshot
from app.stores.graph import GraphReader, GraphStore, GraphStoreError, GraphWriter
from app.stores.open import open_graph_store

ROOT = Path(__file__).resolve().parents[2]
NASTY = "O'Brien\"}) DETACH DELETE n // `x` $y \\"
WARF, SIMV, ATOR, AMIO, QUOTE = "DB00682", "DB00641", "DB01076", "DB01118", "drug:o-brien"
KNOWLEDGE = GraphKnowledge(
    drugs=(
        DrugRecord(WARF, "Warfarin", ("warfarin",), ("华法林",), ("coumadin",), WARF, "5Q7ZVV76EI", ("set-w",)),
        DrugRecord(SIMV, "Simvastatin", ("simvastatin", "synvinolin"), ("辛伐他汀",), ("zocor",), SIMV),
        DrugRecord(ATOR, "Atorvastatin", ("atorvastatin",), (), (), ATOR),
        DrugRecord(AMIO, "Amiodarone", ("amiodarone",), ("胺碘达隆",), (), AMIO),
        DrugRecord(QUOTE, NASTY, (NASTY.lower(),)),
    ),
    diseases=(
        DiseaseRecord("DOID:9352", "type 2 diabetes mellitus", (), ("2型糖尿病",), "E11", "DOID:9352"),
        DiseaseRecord("ICD10:I10", "Essential (primary) hypertension", (), ("特发性高血压",), "I10"),
    ),
    classes=(DrugClassRecord("class:statins", "Statins"),),
    class_members=(ClassMember(SIMV, "class:statins", "ONC non-interruptive"),
                   ClassMember(ATOR, "class:statins", "ONC non-interruptive")),
    indications=(Indication(ATOR, "ICD10:I10", "TREATS"), Indication(SIMV, "DOID:9352", "PALLIATES")),
    interactions=(Interaction(SIMV, AMIO, "high", "ONC high-priority", "Phansalkar 2012"),
                  Interaction(WARF, ATOR, "low", "ONC non-interruptive", "Phansalkar 2013")),
)
LOADED = {"Drug": 5, "Disease": 2, "DrugClass": 1, "MEMBER_OF": 2, "TREATS": 1, "PALLIATES": 1,
          "INTERACTS_WITH": 2}
NEO4J = os.environ.get("MEDEVIDENCE_NEO4J_URI")


IMPLEMENTATIONS = [pytest.param("arcadedb", marks=pytest.mark.slow)]
if NEO4J:
    IMPLEMENTATIONS.append(pytest.param("neo4j", marks=pytest.mark.servers))


@pytest.fixture(scope="session", params=IMPLEMENTATIONS)
def opened(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[GraphStore, Settings]]:
    if request.param == "neo4j":
        settings = Settings()
    else:
        settings = Settings(data_dir=tmp_path_factory.mktemp("graph-contract"), neo4j_uri=None)
    store = open_graph_store(settings)
    yield store, settings
    store.close()


@pytest.fixture
def graph(opened: tuple[GraphStore, Settings]) -> GraphStore:
    """The session's store, reset to the fixture knowledge and no documents."""
    store = opened[0]
    store.ensure_schema()
    store.load_knowledge(KNOWLEDGE)
    store.delete_documents(list(store.document_versions()))
    return store


def _edges(store: GraphStore) -> dict[str, int]:
    return {k: v for k, v in store.counts().items() if k in ("Document", "DESCRIBED_BY", "MENTIONS")}


# -- the writer's contract (GraphWriter: what the indexer writes) ---------------------------------------------------
def test_schema_and_load_are_idempotent(graph: GraphStore) -> None:
    graph.ensure_schema()
    first = graph.counts()
    assert {k: first[k] for k in LOADED} == LOADED
    graph.load_knowledge(KNOWLEDGE)
    assert graph.counts() == first


def test_load_converges_to_the_knowledge(graph: GraphStore) -> None:
    smaller = GraphKnowledge(drugs=KNOWLEDGE.drugs[:4], diseases=KNOWLEDGE.diseases, classes=KNOWLEDGE.classes,
                             class_members=KNOWLEDGE.class_members[:1], indications=KNOWLEDGE.indications,
                             interactions=KNOWLEDGE.interactions)
    graph.load_knowledge(smaller)
    counts = graph.counts()
    assert (counts["Drug"], counts["MEMBER_OF"]) == (4, 1)
    assert graph.labels_of([QUOTE]) == {} and graph.interactions_between([QUOTE, WARF]) == []
    graph.load_knowledge(KNOWLEDGE)
    assert (graph.counts()["Drug"], graph.counts()["MEMBER_OF"]) == (5, 2)


def test_replace_document_links(graph: GraphStore) -> None:
    graph.replace_document_links([
        DocumentLinks("doc:1", "v1", "Atorvastatin label", "label", (ATOR,), (WARF, "DOID:9352", "DB99999")),
        DocumentLinks("doc:2", "v1", "Simvastatin", "evidence", (), (SIMV, SIMV)),
    ])
    assert _edges(graph) == {"Document": 2, "DESCRIBED_BY": 1, "MENTIONS": 3}  # unknown ids are no edges
    assert graph.document_links("doc:1") == DocumentLinks(
        "doc:1", "v1", "Atorvastatin label", "label", (ATOR,), (WARF, "DOID:9352"))
    changed = [DocumentLinks("doc:1", "v2", "Atorvastatin label (2)", "label", (), ("ICD10:I10",))]
    for _ in range(2):  # running it again (after a crash) converges to the same graph
        graph.replace_document_links(changed)
        assert _edges(graph) == {"Document": 2, "DESCRIBED_BY": 0, "MENTIONS": 2}
        assert graph.document_links("doc:1") == DocumentLinks(
            "doc:1", "v2", "Atorvastatin label (2)", "label", (), ("ICD10:I10",))
        assert graph.document_versions() == {"doc:1": "v2", "doc:2": "v1"}
    assert graph.document_links("doc:2") == DocumentLinks("doc:2", "v1", "Simvastatin", "evidence", (), (SIMV,))
    assert {k: graph.counts()[k] for k in LOADED} == LOADED  # entities untouched


def test_delete_documents(graph: GraphStore) -> None:
    graph.replace_document_links([DocumentLinks("doc:1", "v1", "a", "label", (ATOR,), (WARF,)),
                                  DocumentLinks("doc:2", "v1", "b", "label", (SIMV,), (SIMV,))])
    graph.delete_documents(["doc:1", "doc:unknown"])
    assert graph.document_versions() == {"doc:2": "v1"}
    assert graph.document_links("doc:1") is None
    assert _edges(graph) == {"Document": 1, "DESCRIBED_BY": 1, "MENTIONS": 1}
    assert graph.counts()["Drug"] == 5


def test_parameters_are_values_not_code(graph: GraphStore) -> None:
    assert graph.documents_for([NASTY, 'x"}) MATCH (n) DETACH DELETE n //']) == []
    assert graph.labels_of(['x"}) MATCH (n) DETACH DELETE n //']) == {}
    doc_id = "doc:'\"}) DETACH DELETE d //"
    graph.replace_document_links([DocumentLinks(doc_id, "v'1", NASTY, "other", (QUOTE,), (QUOTE,))])
    assert graph.document_versions() == {doc_id: "v'1"}
    assert graph.document_links(doc_id) == DocumentLinks(doc_id, "v'1", NASTY, "other", (QUOTE,), (QUOTE,))
    graph.delete_documents([doc_id])
    assert graph.counts()["Drug"] == 5 and graph.document_versions() == {}


# -- the reader's contract (GraphReader: what retrieval, the drug assistant and the checks read) --------------------
def test_the_store_is_a_writer_and_a_reader_and_nothing_else(graph: GraphStore) -> None:
    assert isinstance(graph, GraphWriter) and isinstance(graph, GraphReader)
    writes = {n for n in vars(GraphWriter) if not n.startswith("_")}
    reads = {n for n in vars(GraphReader) if not n.startswith("_")}
    assert not writes & reads
    public = {n for n in dir(type(graph)) if not n.startswith("_") and callable(getattr(type(graph), n))}
    assert public == writes | reads | {"close"}, public - writes - reads


def test_documents_for_entities(graph: GraphStore) -> None:
    graph.replace_document_links([
        DocumentLinks("doc:1", "v1", "Atorvastatin label", "label", (ATOR,), (WARF, "DOID:9352")),
        DocumentLinks("doc:2", "v1", "Simvastatin", "evidence", (), (SIMV, WARF)),
        DocumentLinks("doc:3", "v1", "Unrelated", "guideline", (), ()),
    ])
    assert graph.documents_for([]) == []
    assert graph.documents_for([ATOR, WARF, "DOID:9352", "DB99999"]) == [
        {"doc_id": "doc:1", "source_type": "label", "described": [ATOR], "mentions": sorted([WARF, "DOID:9352"])},
        {"doc_id": "doc:2", "source_type": "evidence", "described": [], "mentions": [WARF]},
    ]
    assert [d["doc_id"] for d in graph.documents_for([SIMV])] == ["doc:2"]
    assert graph.documents_for(["x' OR 1=1 //"]) == []
    assert graph.labels_of([ATOR, WARF, SIMV]) == {ATOR: ["doc:1"]}
    assert graph.labels_of(["x' OR 1=1 //"]) == {}
    assert graph.all_document_links() == [
        {"doc_id": "doc:1", "source_type": "label", "described": [ATOR], "mentions": sorted([WARF, "DOID:9352"])},
        {"doc_id": "doc:2", "source_type": "evidence", "described": [], "mentions": sorted([SIMV, WARF])},
    ]
    snapshot = LinkSnapshot.build("g1", graph.all_document_links())
    for ids in ([ATOR], [WARF], [SIMV, WARF], [ATOR, WARF, "DOID:9352", "DB99999"], ["DB99999"], []):
        assert snapshot.documents_for(ids) == graph.documents_for(ids), ids



def test_link_memory_answers_for_its_generation_only_and_follows_changes(graph: GraphStore) -> None:
    generation = ["g1"]
    memory = LinkMemory(graph, lambda: generation[0], pause_factor=0.0)
    graph.replace_document_links([DocumentLinks("doc:1", "v1", "Atorvastatin label", "label", (ATOR,), (WARF,))])
    assert memory.documents_for([ATOR], "g1") is None and memory.reloads_started == 0  # not enabled: no reads
    assert memory.enable()
    assert memory.documents_for([ATOR, WARF], "g1") == graph.documents_for([ATOR, WARF])

    graph.replace_document_links([DocumentLinks("doc:2", "v1", "Simvastatin", "evidence", (), (SIMV, WARF))])
    generation[0] = "g2"
    assert memory.documents_for([WARF], "g2") is None  # the graph answers until the reload has caught up
    memory.wait(60)
    assert memory.reloads_started == 1
    assert [d["doc_id"] for d in memory.documents_for([WARF], "g2") or []] == ["doc:1", "doc:2"]
    assert memory.documents_for([WARF], "g2") == graph.documents_for([WARF])
    assert memory.documents_for([WARF], "g1") is None  # an old generation is never answered from memory

    memory.close()
    started = memory.reloads_started
    generation[0] = "g3"
    assert memory.documents_for([WARF], "g3") is None and memory.reloads_started == started  # closed: no reads


def test_link_memory_keeps_no_read_the_generation_moved_under(graph: GraphStore) -> None:
    graph.replace_document_links([DocumentLinks("doc:1", "v1", "Atorvastatin label", "label", (ATOR,), ())])
    calls = iter(range(1000))
    memory = LinkMemory(graph, lambda: f"g{next(calls)}")  # a write lands during every read
    assert not memory.enable() and memory.snapshot is None
    paused = LinkMemory(graph, lambda: "g1", pause_factor=1e6)
    assert paused.enable()
    assert paused.documents_for([ATOR], "g2") is None and paused.reloads_started == 0  # paused after a read


def test_interactions_between(graph: GraphStore) -> None:
    rows = graph.interactions_between([WARF, SIMV, ATOR, AMIO])
    assert [(r["drug_a"], r["drug_b"], r["severity"], r["source"]) for r in rows] == [
        (SIMV, AMIO, "high", "ONC high-priority"), (WARF, ATOR, "low", "ONC non-interruptive")]
    assert rows[0]["name_a"] == "Simvastatin" and rows[0]["citation"] == "Phansalkar 2012"
    assert graph.interactions_between([AMIO, SIMV]) == rows[:1]  # either order
    assert graph.interactions_between([WARF, SIMV]) == []


# -- embedded only: a second process, persistence, clean shutdown -----------------------------------
def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_second_process_is_refused(opened: tuple[GraphStore, Settings]) -> None:
    store, settings = opened
    if settings.neo4j_uri:
        pytest.skip("a server is shared on purpose")
    done = _python(f"""
        from pathlib import Path
        from app.config import Settings
        from app.stores.open import open_graph_store
        open_graph_store(Settings(data_dir=Path({str(settings.data_dir)!r}), neo4j_uri=None))
    """, timeout=60)
    assert done.returncode != 0
    assert "GraphStoreLocked" in done.stderr and "is in use by process" in done.stderr
    assert store.counts()["Drug"] == 5  # untouched


@pytest.mark.slow
def test_jvm_leaves_pythons_collector_alone(opened: tuple[GraphStore, Settings]) -> None:
    """JPype's collector hook (a malloc walk and ``System.gc()`` after Python collections) is taken out
    when the embedded graph starts: it stalled searches by 40-70 ms (``unhook_jpype_gc``)."""
    store, settings = opened
    if settings.neo4j_uri:
        pytest.skip("no JVM in this process")
    import gc

    import _jpype

    assert _jpype._collect not in gc.callbacks
    assert store.counts()["Drug"] == 5  # the store works without it


@pytest.mark.slow
def test_persistence_across_processes_and_clean_exit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = _python(f"""
        from pathlib import Path
        from app.config import Settings
        from app.graph_model import DocumentLinks, DrugRecord, GraphKnowledge
        from app.stores.open import open_graph_store
        settings = Settings(data_dir=Path({str(data)!r}), neo4j_uri=None)
        store = open_graph_store(settings)
        store.ensure_schema()
        store.load_knowledge(GraphKnowledge(drugs=(DrugRecord("D1", "Warfarin"),)))
        store.replace_document_links([DocumentLinks("doc:1", "v1", "t", "label", ("D1",), ("D1",))])
        store.close()
        store = open_graph_store(settings)  # reopened in the same process, then left open at exit
        print(store.counts()["Drug"], store.document_versions())
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1 {'doc:1': 'v1'}"
    reopened = open_graph_store(Settings(data_dir=data, neo4j_uri=None))  # another process, this one
    try:
        assert reopened.document_links("doc:1") == DocumentLinks("doc:1", "v1", "t", "label", ("D1",), ("D1",))
        reopened.delete_documents(["doc:1"])
    finally:
        reopened.close()
    again = open_graph_store(Settings(data_dir=data, neo4j_uri=None))
    try:
        assert again.document_versions() == {} and again.counts()["Drug"] == 1
    finally:
        again.close()


@pytest.mark.slow
def test_a_store_started_by_another_thread_lets_the_process_exit(tmp_path: Path) -> None:
    """A Python thread that starts the JVM stays attached as a non-daemon Java thread, and JPype's
    DestroyJavaVM at exit waited for it for ever (a test's uvicorn thread hung pytest's exit)."""
    data = tmp_path / "data"
    done = _python(f"""
        import threading
        from pathlib import Path
        from app.config import Settings
        from app.graph_model import DocumentLinks, DrugRecord, GraphKnowledge
        from app.stores.open import open_graph_store
        def start():
            store = open_graph_store(Settings(data_dir=Path({str(data)!r}), neo4j_uri=None))
            store.ensure_schema()
            store.load_knowledge(GraphKnowledge(drugs=(DrugRecord("D1", "Warfarin"),)))
            store.replace_document_links([DocumentLinks("doc:1", "v1", "t", "label", ("D1",), ())])
        worker = threading.Thread(target=start, daemon=True)  # as uvicorn's thread in testkit/http_server.py
        worker.start()
        worker.join()
        print("left open")
    """, timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "left open"
    reopened = open_graph_store(Settings(data_dir=data, neo4j_uri=None))  # stopped cleanly by the exit hook
    try:
        assert reopened.document_versions() == {"doc:1": "v1"}
    finally:
        reopened.close()


@pytest.mark.slow
def test_server_connection_over_bolt(opened: tuple[GraphStore, Settings], graph: GraphStore) -> None:
    """The Neo4j code path (connect, check the database) against the Bolt server at hand."""
    store, settings = opened
    uri = getattr(store, "uri", "")
    user = settings.neo4j_user if settings.neo4j_uri else "root"
    server = Settings(neo4j_uri=uri, neo4j_user=user, neo4j_password=settings.neo4j_password,
                      neo4j_database=settings.neo4j_database)
    other = open_graph_store(server)
    try:
        assert other.counts() == store.counts() and other.labels_of([WARF]) == store.labels_of([WARF])
    finally:
        other.close()
    assert store.counts()["Drug"] == 5  # closing the second connection leaves the store alone
    with pytest.raises(GraphStoreError, match="cannot use Neo4j"):
        open_graph_store(server.model_copy(update={"neo4j_password": "wrong-password"}))


def test_neo4j_errors_are_clear() -> None:
    with pytest.raises(GraphStoreError, match="cannot use Neo4j at bolt://127.0.0.1:9"):
        open_graph_store(Settings(neo4j_uri="bolt://127.0.0.1:9"))
