"""One contract for the answer traces and the CDS audit, run on every database they support: SQLite (the
embedded default) and a real PostgreSQL server started for the tests (``MEDEVIDENCE_REQUIRE_POSTGRES=1``: a
missing PostgreSQL fails instead of skipping)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.stores.audit import AuditStore
from app.stores.traces import TraceStore
from app.stores.traces import answers as answers_table
from testkit.postgres_server import postgres_url


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str | None]:
    try:
        with postgres_url() as url:
            yield url
    except (FileNotFoundError, OSError) as exc:
        if os.environ.get("MEDEVIDENCE_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"no PostgreSQL here: {exc}")
        yield None


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'traces.sqlite'}"
        return
    server = request.getfixturevalue("pg_server")
    database = f"t{time.time_ns()}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    try:
        yield server.rsplit("/", 1)[0] + f"/{database}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{database}" WITH (FORCE)'))
        admin.dispose()


def answer(answer_id: str, conversation: str = "c1", question: str = "q") -> tuple[dict[str, Any], dict[str, Any]]:
    response = {"answer_id": answer_id, "conversation_id": conversation, "mode": "extractive", "model": "extractive",
                "settings_hash": "h", "index_version": "chunks_x@1", "prompt_version": "answer-v1",
                "abstained": False, "answer": f"answer to {question}", "citations": [{"n": 1, "quote": "华法林"}]}
    trace = {"question": question, "standalone_question": question, "entities": [{"id": "DB00682"}],
             "caller": "key1", "request_id": "r1"}
    return response, trace


def test_traces_round_trip_conversations_and_retention(url: str) -> None:
    store = TraceStore(url)
    try:
        for i in range(8):
            store.save(*answer(f"a{i}", question=f"question {i}"))
            time.sleep(0.002)  # distinct creation times
        store.save(*answer("other", conversation="c2"))
        got = store.get("a3")
        assert got is not None and got["question"] == "question 3" and got["caller"] == "key1"
        assert got["response"]["citations"][0]["quote"] == "华法林"  # JSON and non-ASCII survive
        assert store.get("missing") is None
        turns = store.conversation("c1", "key1", limit=3)
        assert [t["question"] for t in turns] == ["question 5", "question 6", "question 7"]  # last 3, oldest first
        assert turns[0]["entities"] == [{"id": "DB00682"}]
        assert store.conversation("c1", "key2") == []  # another caller's turns are not its conversation
        assert store.owner_of("a3") == (True, "key1") and store.owner_of("missing") == (False, None)
        assert store.conversation_owner("c1") == (True, "key1")
        assert store.conversation_owner("nope") == (False, None)
        assert store.purge(datetime.now(UTC) - timedelta(days=1)) == 0
        assert store.purge(datetime.now(UTC) + timedelta(seconds=1)) == 9
        assert store.get("a3") is None
        with pytest.raises(sa.exc.IntegrityError):  # an answer id is written once
            store.save(*answer("dup"))
            store.save(*answer("dup"))
    finally:
        store.close()


def test_a_table_from_before_owners_gains_the_caller_column(url: str) -> None:
    """Answers stored before callers were recorded keep working: the column is added, their owner is None."""
    old = sa.MetaData()
    sa.Table("answers", old, *(sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                                for c in answers_table.columns if c.name != "caller"))
    engine = sa.create_engine(url)
    old.create_all(engine)
    response, trace = answer("legacy")
    row = {"answer_id": "legacy", "created_at": datetime.now(UTC), "conversation_id": "c9", "question": "q",
           "standalone_question": "q", "mode": "extractive", "model": "m", "settings_hash": "h",
           "index_version": "i", "prompt_version": "p", "abstained": False, "response": response, "trace": trace}
    with engine.begin() as conn:
        conn.execute(old.tables["answers"].insert().values(**row))
    engine.dispose()
    store = TraceStore(url)
    try:
        assert store.owner_of("legacy") == (True, None)
        store.save(*answer("fresh", conversation="c9"))
        assert store.owner_of("fresh") == (True, "key1")
    finally:
        store.close()


def test_audit_calls_cards_feedback_and_retention(url: str) -> None:
    audit = AuditStore(url)
    try:
        call = {"hook_instance": "h1", "service_id": "svc", "hook": "order-sign", "client": "https://ehr",
                "patient": "p:abc", "user": "u:def", "fhir_fetches": 2, "duration_ms": 12.5,
                "detail": {"checked": [{"drug_id": "DB00682"}]}}
        cards = [{"uuid": "card-1", "indicator": "critical", "summary": "A + B", "detail": "…"},
                 {"uuid": "card-2", "indicator": "info", "summary": "not checked"}]
        audit.record_call(call, cards)
        audit.record_call(call, [])  # a client may retry one hook instance
        assert audit.known_cards("svc", ["card-1", "card-2", "card-x"]) == {"card-1", "card-2"}
        assert audit.known_cards("another", ["card-1"]) == set()
        item = {"card": "card-1", "outcome": "overridden", "outcomeTimestamp": "2026-12-02T10:00:00Z",
                "overrideReason": {"reason": {"code": "will-monitor", "system": "s", "display": "d"}}}
        audit.record_feedback("svc", "https://ehr", [item, {**item, "outcome": "accepted", "overrideReason": None,
                                                            "acceptedSuggestions": [{"id": "s1"}]}])
        rows = audit.feedback_of("card-1")
        assert [r["outcome"] for r in rows] == ["overridden", "accepted"]
        assert rows[0]["override_reason"]["reason"]["code"] == "will-monitor"
        assert rows[1]["accepted_suggestions"] == [{"id": "s1"}]
        calls = audit.calls()
        assert len(calls) == 2 and calls[0]["patient"] == "p:abc" and calls[0]["detail"]["checked"]
        audit.record_trace_read("admin-key", "key1", "a1", "read")
        audit.record_trace_read("admin-key", None, "a1", "replay")
        reads = audit.trace_reads_of("a1")
        assert [(r["reader"], r["owner"], r["action"]) for r in reads] == [("admin-key", "key1", "read"),
                                                                            ("admin-key", None, "replay")]
        removed = audit.purge(datetime.now(UTC) + timedelta(seconds=1))
        assert removed == {"cds_feedback": 2, "cds_cards": 2, "cds_calls": 2, "trace_reads": 2}
        assert audit.calls() == [] and audit.known_cards("svc", ["card-1"]) == set()
    finally:
        audit.close()


def test_reviews_round_trip_beside_the_traces(url: str) -> None:
    """The review store (app/stores/reviews.py) in the same database: history, resolution, the unsafe-note lookup."""
    from app.stores.reviews import ReviewForbidden, ReviewStore, answer_snapshot

    traces, reviews = TraceStore(url), ReviewStore(url)
    try:
        response, trace = answer("r1")
        response["citations"] = [{"n": 1, "doc_id": "d", "version": "v", "start": 5, "end": 20, "quote": "华法林",
                                  "chunk_id": "d#v#0"}]
        traces.save(response, {**trace, "evidence": []})
        stored = traces.get("r1")
        assert stored is not None
        flag = reviews.create(answer_snapshot(stored), "rev-1", "Dr One", "unsafe", "出血风险未提及")
        with pytest.raises(ReviewForbidden):
            reviews.revise(flag["review_id"], "rev-2", "Dr Two", "correct", "")
        reviews.revise(flag["review_id"], "rev-1", "Dr One", "unsafe", "出血风险未提及 (bleeding)")
        done = reviews.resolve(flag["review_id"], "rev-2", "Dr Two", "confirmed by pharmacy")
        assert [h["action"] for h in done["history"]] == ["created", "revised", "resolved"]
        notes = reviews.notes_for([{"n": 3, "doc_id": "d", "version": "v", "start": 10, "end": 30}])
        assert [(n["note"], n["evidence"][0]["n"]) for n in notes] == [("出血风险未提及 (bleeding)", 3)]
        assert reviews.listing(status="resolved")[1] == 1 and reviews.export()[0]["answer"]["question"] == "q"
    finally:
        reviews.close()
        traces.close()
