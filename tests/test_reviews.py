"""Clinician review: the reviewer role (keys, OIDC), the review store's rules and history, the unsafe notes on later
answers, the API's permissions and errors, the EMR panel's review route, and the export a benchmark reads.

Fast: the role, the store (SQLite in a temporary dir), the export command.  Slow: the API and the notes, over the
starter index with a real app (TestClient) and real keys."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from app.answer.claims import render_claim
from app.auth import ROLES, KeyStore, holds
from app.auth_oidc import OidcVerifier
from app.cli import build_parser, main
from app.cli.output import print_answer
from app.config import Settings
from app.runtime import Runtime
from app.stores.reviews import (
    ReviewConflict,
    ReviewError,
    ReviewForbidden,
    ReviewNotFound,
    ReviewStore,
    answer_snapshot,
    evaluation_rows,
)
from app.stores.traces import TraceStore, default_url
from benchmarks.reviewed import evaluate, load_reviewed, retrieval_rows
from testkit.jwks_server import serving_jwks, signed_token

from .conftest import StarterApp

# -- the role ------------------------------------------------------------------------------------------


def test_reviewer_sits_between_reader_and_admin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ROLES == ("reader", "reviewer", "admin")
    assert holds("admin", "reviewer") and holds("reviewer", "reviewer") and holds("reviewer", "reader")
    assert not holds("reader", "reviewer") and not holds("reviewer", "admin") and not holds(None, "reader")
    assert build_parser().parse_args(["keys", "create", "--role", "reviewer"]).role == "reviewer"
    assert main(["keys", "create", "--role", "reviewer", "--name", "dr-review", "--data-dir", str(tmp_path)]) == 0
    secret = capsys.readouterr().out.strip()
    keys = KeyStore(Settings(data_dir=tmp_path).keys_path)
    try:
        found = keys.verify(secret)
        assert found is not None and found.role == "reviewer" and found.name == "dr-review"
    finally:
        keys.close()
    with pytest.raises(ValueError, match="role must be one of reader, reviewer, admin"):
        KeyStore(tmp_path / "other.sqlite").create("editor")


def test_oidc_reviewer_role_claim() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = "https://idp.example/realms/wards"
    with serving_jwks(key.public_key(), "idp-1", "RS256") as jwks_url:
        verifier = OidcVerifier(issuer, jwks_url, "medevidence", "roles", "medevidence-admin", "medevidence-reader",
                                5.0, "ward-reviewers")
        role = {tuple(roles): verifier.verify(signed_token(key, issuer, "u1", roles)).role
                for roles in (["ward-reviewers"], ["medevidence-reader", "ward-reviewers"],
                              ["ward-reviewers", "medevidence-admin"], ["medevidence-reader"])}
    assert role == {("ward-reviewers",): "reviewer", ("medevidence-reader", "ward-reviewers"): "reviewer",
                    ("ward-reviewers", "medevidence-admin"): "admin", ("medevidence-reader",): "reader"}


# -- the store -----------------------------------------------------------------------------------------

def _trace(answer_id: str, doc: str = "label:warfarin", version: str = "v1", start: int = 100, end: int = 180,
           question: str = "What are the contraindications of warfarin?", caller: str | None = "reader-1"
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    citation = {"n": 1, "doc_id": doc, "version": version, "start": start, "end": end, "quote": "x" * (end - start),
                "chunk_id": f"{doc}#{version}#0", "title": "Warfarin label", "section": "Contraindications"}
    response = {"answer_id": answer_id, "conversation_id": "c-" + answer_id, "mode": "extractive",
                "model": "extractive", "settings_hash": "h", "index_version": "chunks@1", "prompt_version": "p",
                "abstained": False, "answer": "Warfarin is contraindicated in pregnancy [1].",
                "citations": [citation]}
    evidence = [{"n": 1, "doc_id": doc, "version": version, "start": 0, "end": 400, "chunk_id": f"{doc}#{version}#0",
                 "text": "...", "title": "Warfarin label", "section": "Contraindications"}]
    trace = {"question": question, "standalone_question": question, "caller": caller, "evidence": evidence}
    return response, trace


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[TraceStore, ReviewStore]]:
    url = default_url(tmp_path)
    traces, reviews = TraceStore(url), ReviewStore(url)
    yield traces, reviews
    reviews.close()
    traces.close()


def _snapshot(traces: TraceStore, answer_id: str, **kw: Any) -> dict[str, Any]:
    traces.save(*_trace(answer_id, **kw))
    trace = traces.get(answer_id)
    assert trace is not None
    return answer_snapshot(trace)


def test_store_rules_history_and_resolution(stores: tuple[TraceStore, ReviewStore]) -> None:
    traces, store = stores
    answer = _snapshot(traces, "a1")
    correct = store.create(_snapshot(traces, "a0"), "rev-1", "Dr One", "correct", "")
    assert correct["status"] == "resolved" and correct["outcome"] == "confirmed"  # nothing to act on
    flag = store.create(answer, "rev-1", "Dr One", "unsafe", "omits the bleeding risk")
    assert flag["status"] == "open" and flag["revision"] == 1 and flag["answer"]["question"].startswith("What")
    assert [h["action"] for h in flag["history"]] == ["created"]
    with pytest.raises(ReviewConflict) as twice:
        store.create(answer, "rev-1", "Dr One", "incorrect", "again")
    assert twice.value.field == "answer_id"
    with pytest.raises(ReviewForbidden) as other:
        store.revise(flag["review_id"], "rev-2", "Dr Two", "correct", "")
    assert other.value.status == 403 and other.value.field == "review_id"
    with pytest.raises(ReviewNotFound):
        store.revise("nope", "rev-1", "Dr One", "correct", "")
    with pytest.raises(ReviewError) as no_reason:
        store.create(_snapshot(traces, "a2"), "rev-1", "Dr One", "incorrect", "  ")
    assert no_reason.value.field == "reason"
    revised = store.revise(flag["review_id"], "rev-1", "Dr One", "unsafe", "omits the bleeding risk in the elderly")
    assert revised["revision"] == 2 and revised["reason"].endswith("elderly")
    assert [(h["revision"], h["action"], h["reason"]) for h in revised["history"]] == [
        (1, "created", "omits the bleeding risk"), (2, "revised", "omits the bleeding risk in the elderly")]
    second = store.create(answer, "rev-2", "Dr Two", "incorrect", "cites the wrong section")
    assert [r["reviewer"] for r in store.of_answer("a1")] == ["rev-1", "rev-2"]
    resolved = store.resolve(flag["review_id"], "rev-2", "Dr Two", "label owner informed", "confirmed")
    assert resolved["status"] == "resolved" and resolved["resolved_by_name"] == "Dr Two"
    assert resolved["history"][-1]["action"] == "resolved"
    with pytest.raises(ReviewConflict):
        store.resolve(flag["review_id"], "rev-2", "Dr Two", "again")
    with pytest.raises(ReviewError) as bad_outcome:
        store.resolve(second["review_id"], "rev-1", "Dr One", "x", "ignored")
    assert bad_outcome.value.field == "outcome"
    reopened = store.revise(flag["review_id"], "rev-1", "Dr One", "unsafe", "still omits it")
    assert reopened["status"] == "open" and reopened["resolution"] is None  # a new verdict is a new assessment
    open_ones, total = store.listing(status="open")
    assert total == 2 and {r["review_id"] for r in open_ones} == {flag["review_id"], second["review_id"]}
    page, total = store.listing(limit=1, offset=1)
    assert total == 3 and len(page) == 1
    assert store.listing(verdict="correct")[1] == 1 and store.listing(reviewer="rev-2")[1] == 1


def test_unsafe_notes_match_the_same_evidence_only(stores: tuple[TraceStore, ReviewStore]) -> None:
    traces, store = stores
    flag = store.create(_snapshot(traces, "a1"), "rev-1", "Dr One", "unsafe", "misses the pregnancy warning")
    store.create(_snapshot(traces, "a2", doc="label:aspirin"), "rev-1", "Dr One", "incorrect", "not unsafe")
    cite = {"n": 2, "doc_id": "label:warfarin", "version": "v1", "start": 150, "end": 220, "chunk_id": "x"}
    notes = store.notes_for([cite])
    assert [(n["review_id"], n["note"], n["reviewer"], n["answer_id"]) for n in notes] == [
        (flag["review_id"], "misses the pregnancy warning", "Dr One", "a1")]
    assert notes[0]["evidence"] == [{"n": 2, "doc_id": "label:warfarin", "version": "v1", "start": 100, "end": 180}]
    assert store.notes_for([{**cite, "start": 180, "end": 240}]) == []  # adjacent, not overlapping
    assert store.notes_for([{**cite, "version": "v2"}]) == []  # another version of the document
    assert store.notes_for([{**cite, "doc_id": "label:aspirin"}]) == []  # flagged incorrect, not unsafe
    assert store.notes_for([]) == []
    store.resolve(flag["review_id"], "rev-2", "Dr Two", "label section re-indexed", "confirmed")
    assert len(store.notes_for([cite])) == 1  # a confirmed flag still warns
    store.revise(flag["review_id"], "rev-1", "Dr One", "unsafe", "misses the pregnancy warning")
    store.resolve(flag["review_id"], "rev-2", "Dr Two", "the answer was right", "dismissed")
    assert store.notes_for([cite]) == []  # a dismissed one does not


def test_export_command_writes_an_evaluation_set_a_benchmark_reads(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    url = default_url(data)
    traces, store = TraceStore(url), ReviewStore(url)
    try:
        answer = _snapshot(traces, "a1")
        flagged = store.create(answer, "rev-1", "Dr One", "unsafe", "misses the bleeding risk")
        store.create(answer, "rev-2", "Dr Two", "correct", "")
        store.create(_snapshot(traces, "a2", question="Warfarin dose?", doc="label:w2"), "rev-2", "Dr Two",
                     "correct", "fine")
    finally:
        store.close()
        traces.close()
    out = tmp_path / "set" / "reviews.jsonl"
    assert main(["reviews", "export", "--jsonl", "--out", str(out), "--data-dir", str(data)]) == 0
    assert "exported 2 reviewed question(s) (3 review(s))" in capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    first = rows[0]
    assert first["id"] == "a1" and first["query"] == "What are the contraindications of warfarin?"
    assert first["verdict"] == "unsafe" and first["reason"] == "misses the bleeding risk"  # the most severe
    assert [r["verdict"] for r in first["reviews"]] == ["unsafe", "correct"]
    assert first["reviews"][0]["review_id"] == flagged["review_id"] and first["gold"] == []
    assert first["citations"][0]["doc_id"] == "label:warfarin" and first["evidence_ids"] == ["label:warfarin#v1#0"]
    assert rows[1]["verdict"] == "correct" and rows[1]["gold"] == ["label:w2"]
    assert main(["reviews", "export", "--jsonl", "--status", "open", "--data-dir", str(data)]) == 0
    only_open = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in only_open] == ["a1"] and len(only_open[0]["reviews"]) == 1
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reviews", "export"])  # --jsonl is the format, named

    items = load_reviewed(out)  # the benchmark's reading of the set
    assert [(i.id, i.verdict) for i in items] == [("a1", "unsafe"), ("a2", "correct")]
    assert retrieval_rows(items) == [{"id": "a2", "query": "Warfarin dose?", "gold": ["label:w2"]}]
    same = {"citations": items[0].citations, "answer": "x", "review_notes": [{"note": "n"}]}
    report = evaluate(items, lambda q: same if q.startswith("What") else {"citations": [], "abstained": True})
    assert report["summary"]["unsafe"] == {"questions": 1, "still_cites_reviewed_evidence": 1.0, "abstained": 0.0,
                                           "note_shown_when_citing": 1.0}
    assert report["summary"]["correct"]["still_cites_reviewed_evidence"] == 0.0
    assert evaluation_rows([]) == []
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "q", "verdict": "maybe"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1: verdict"):
        load_reviewed(bad)


# -- the API over the starter index (slow) -----------------------------------------------------------------

QUESTION = "What are the contraindications of warfarin?"


@pytest.fixture(scope="module")
def service(starter_runtime: Runtime, starter_app: StarterApp) -> Iterator[tuple[TestClient, dict[str, str]]]:
    keys = starter_runtime.keys
    secrets = {"reader": keys.create("reader", "reader-a")[1], "other": keys.create("reader", "reader-b")[1],
               "rev1": keys.create("reviewer", "Dr Rev One")[1], "rev2": keys.create("reviewer", "Dr Rev Two")[1],
               "admin": keys.create("admin", "admin")[1]}
    with starter_app(rate_limit_per_minute=0) as app, TestClient(app) as client:
        yield client, secrets


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _ask(client: TestClient, secret: str, question: str = QUESTION) -> dict[str, Any]:
    response = client.post("/v1/ask", json={"question": question}, headers=bearer(secret))
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_who_may_review_and_who_may_not(service: tuple[TestClient, dict[str, str]]) -> None:
    client, secrets = service
    assert client.get("/v1/me", headers=bearer(secrets["reader"])).json()["can_review"] is False
    me = client.get("/v1/me", headers=bearer(secrets["rev1"])).json()
    assert me["role"] == "reviewer" and me["can_review"] is True and me["name"] == "Dr Rev One"
    answer = _ask(client, secrets["reader"], "What is the maximum daily dose of acetaminophen?")
    answer_id = answer["answer_id"]
    body = {"verdict": "incorrect", "reason": "the pediatric dose is missing"}
    by_reader = client.post(f"/v1/answers/{answer_id}/reviews", json=body, headers=bearer(secrets["reader"]))
    assert by_reader.status_code == 403 and by_reader.json()["error"]["field"] == "Authorization"
    assert client.post(f"/v1/answers/{answer_id}/reviews", json=body).status_code == 401
    created = client.post(f"/v1/answers/{answer_id}/reviews", json=body, headers=bearer(secrets["rev1"]))
    assert created.status_code == 201
    review = created.json()
    assert review["reviewer_name"] == "Dr Rev One" and review["status"] == "open"
    assert review["answer"]["question"] == "What is the maximum daily dose of acetaminophen?"
    # the reviewer read another's answer to review it: audited
    reads = client.app.state.audit.trace_reads_of(answer_id)  # type: ignore[attr-defined]
    assert [r["action"] for r in reads] == ["review"]
    assert reads[0]["owner"] is not None and reads[0]["reader"] != reads[0]["owner"]
    # another reviewer cannot edit it, nor can the asker; its author can
    path = f"/v1/reviews/{review['review_id']}/revisions"
    other = client.post(path, json={"verdict": "correct"}, headers=bearer(secrets["rev2"]))
    assert other.status_code == 403 and other.json()["error"]["field"] == "review_id"
    assert "Dr Rev One" in other.json()["error"]["message"]
    assert client.post(path, json={"verdict": "correct"}, headers=bearer(secrets["reader"])).status_code == 403
    own = client.post(path, json={"verdict": "unsafe", "reason": "no pediatric dose: an overdose risk"},
                      headers=bearer(secrets["rev1"]))
    assert own.status_code == 200 and own.json()["revision"] == 2
    again = client.post(f"/v1/answers/{answer_id}/reviews", json=body, headers=bearer(secrets["rev1"]))
    assert again.status_code == 409 and again.json()["error"]["field"] == "answer_id"
    # the asker reads the reviews of its own answer; another reader gets the 404 of an unknown answer
    mine = client.get(f"/v1/answers/{answer_id}/reviews", headers=bearer(secrets["reader"]))
    assert mine.status_code == 200 and [r["revision"] for r in mine.json()["reviews"]] == [2]
    assert [h["action"] for h in mine.json()["reviews"][0]["history"]] == ["created", "revised"]
    assert client.get(f"/v1/answers/{answer_id}/reviews", headers=bearer(secrets["other"])).status_code == 404
    assert client.get(f"/v1/reviews/{review['review_id']}", headers=bearer(secrets["reader"])).status_code == 200
    assert client.get(f"/v1/reviews/{review['review_id']}", headers=bearer(secrets["other"])).status_code == 404
    assert client.get("/v1/reviews", headers=bearer(secrets["reader"])).status_code == 403
    # a reviewer reads the trace itself too (audited)
    assert client.get(f"/v1/answers/{answer_id}", headers=bearer(secrets["rev2"])).status_code == 200
    # the queue; a second reviewer resolves the flag
    queue = client.get("/v1/reviews?status=open&verdict=unsafe", headers=bearer(secrets["rev2"])).json()
    assert review["review_id"] in {r["review_id"] for r in queue["reviews"]} and queue["total"] >= 1
    listed = next(r for r in queue["reviews"] if r["review_id"] == review["review_id"])
    assert listed["answer"]["evidence"] and listed["answer"]["evidence"][0]["text"]
    resolve = f"/v1/reviews/{review['review_id']}/resolve"
    assert client.post(resolve, json={"note": "ok"}, headers=bearer(secrets["reader"])).status_code == 403
    done = client.post(resolve, json={"note": "pediatric section added to the label set", "outcome": "confirmed"},
                       headers=bearer(secrets["rev2"]))
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert done.json()["resolved_by_name"] == "Dr Rev Two"
    twice = client.post(resolve, json={"note": "again"}, headers=bearer(secrets["rev2"]))
    assert twice.status_code == 409 and twice.json()["error"]["field"] == "review_id"
    resolved = client.get("/v1/reviews?status=resolved", headers=bearer(secrets["admin"])).json()
    assert review["review_id"] in {r["review_id"] for r in resolved["reviews"]}
    actions = {r["action"] for r in client.app.state.audit.trace_reads_of(answer_id)}  # type: ignore[attr-defined]
    assert {"review", "read", "review_list"} <= actions


@pytest.mark.parametrize(("body", "field"), [
    ({"verdict": "dangerous", "reason": "x"}, "verdict"),
    ({"verdict": "unsafe"}, "reason"),
    ({"verdict": "unsafe", "reason": "   "}, "reason"),
    ({"verdict": "correct", "extra": 1}, "extra"),
    ({"verdict": "correct", "reason": 5}, "reason"),
    ({"verdict": "correct", "corrected_text": "Warfarin is safe for everyone."}, "corrected_text"),
    ({"verdict": "correct", "corrected_text": "x" * 8001}, "corrected_text"),
])
def test_bad_review_input_names_the_field(service: tuple[TestClient, dict[str, str]], body: dict[str, Any],
                                          field: str) -> None:
    client, secrets = service
    answer_id = _ask(client, secrets["reader"])["answer_id"]
    response = client.post(f"/v1/answers/{answer_id}/reviews", json=body, headers=bearer(secrets["rev1"]))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    missing = client.post(f"/v1/answers/{'0' * 32}/reviews", json={"verdict": "correct"},
                          headers=bearer(secrets["rev1"]))
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "answer_id"
    assert client.get("/v1/reviews?status=closed", headers=bearer(secrets["rev1"])).json()["error"]["field"] == \
        "status"


def test_a_corrected_text_keeps_the_citation_rules(service: tuple[TestClient, dict[str, str]]) -> None:
    client, secrets = service
    answer = _ask(client, secrets["reader"])
    assert answer["citations"], answer
    first = answer["citations"][0]
    path = f"/v1/answers/{answer['answer_id']}/reviews"
    uncited = client.post(path, json={"verdict": "incorrect", "reason": "r", "corrected_text": first["quote"]},
                          headers=bearer(secrets["rev2"]))
    assert uncited.status_code == 422 and "cites no evidence" in uncited.json()["error"]["message"]
    elsewhere = client.post(path, json={"verdict": "incorrect", "reason": "r",
                                        "corrected_text": "Warfarin sodium is contraindicated in pregnancy [99]."},
                            headers=bearer(secrets["rev2"]))
    assert elsewhere.status_code == 422 and "[99]" in elsewhere.json()["error"]["message"]
    wrong = f"Warfarin cures headaches in every patient [{first['n']}]."
    unsupported = client.post(path, json={"verdict": "incorrect", "reason": "r", "corrected_text": wrong},
                              headers=bearer(secrets["rev2"]))
    assert unsupported.status_code == 422
    assert "not supported" in unsupported.json()["error"]["message"]
    claim = next(c for c in answer["claims"] if c["supported"])  # a sentence the verifier holds to its passage
    text = render_claim(claim["text"], claim["citations"])
    good = client.post(path, json={"verdict": "incorrect", "reason": "should quote the label", "corrected_text": text},
                       headers=bearer(secrets["rev2"]))
    assert good.status_code == 201, good.text
    corrected = good.json()["corrected"]
    assert corrected["text"] == text and corrected["citations"]
    for c in corrected["citations"]:  # verbatim in the indexed version
        document = client.app.state.runtime.manifest.document(c["doc_id"])  # type: ignore[attr-defined]
        assert document.version == c["version"] and document.text[c["start"]:c["end"]] == c["quote"]


def test_an_unsafe_flag_shows_on_the_next_answer_on_that_evidence(service: tuple[TestClient, dict[str, str]],
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    client, secrets = service
    question = "What are the side effects of atorvastatin?"
    first = _ask(client, secrets["reader"], question)
    assert first["citations"] and first["review_notes"] == []
    note = "Does not mention rhabdomyolysis; check the full label before advising."
    flagged = client.post(f"/v1/answers/{first['answer_id']}/reviews", json={"verdict": "unsafe", "reason": note},
                          headers=bearer(secrets["rev1"]))
    assert flagged.status_code == 201
    t0 = time.perf_counter()
    later = _ask(client, secrets["other"], question)  # another clinician, the same question
    assert [(n["note"], n["reviewer"], n["answer_id"], n["verdict"]) for n in later["review_notes"]] == [
        (note, "Dr Rev One", first["answer_id"], "unsafe")]
    assert later["review_notes"][0]["evidence"][0]["n"] in {c["n"] for c in later["citations"]}
    print(json.dumps({"answer_with_note_ms": round((time.perf_counter() - t0) * 1000)}))
    stored = client.get(f"/v1/answers/{later['answer_id']}", headers=bearer(secrets["other"])).json()
    assert stored["response"]["review_notes"][0]["note"] == note  # the trace keeps what was shown
    print_answer(later)  # the CLI says the flag before the answer
    printed = capsys.readouterr().out
    n = later["review_notes"][0]["evidence"][0]["n"]
    assert "WARNING: reviewer Dr Rev One marked an earlier answer citing " in printed and note in printed
    assert f"[{n}]" in printed.split("WARNING:")[1].split(" UNSAFE ")[0]
    assert printed.index("WARNING:") < printed.index(later["answer"].split(" [")[0][:40])
    with client.stream("POST", "/v1/ask", json={"question": question, "stream": True},
                       headers=bearer(secrets["reader"])) as stream:
        text = "".join(stream.iter_text())
    events = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("event: ")]
    assert events.index("citations") < events.index("review_notes") < events.index("done")
    unrelated = _ask(client, secrets["reader"], "What is the starting dose of metformin?")
    assert unrelated["review_notes"] == []
    # dismissed: the note is gone
    client.post(f"/v1/reviews/{flagged.json()['review_id']}/resolve",
                json={"note": "the label's adverse reactions are quoted", "outcome": "dismissed"},
                headers=bearer(secrets["rev2"]))
    assert _ask(client, secrets["reader"], question)["review_notes"] == []


def test_export_of_real_reviews_is_read_by_the_benchmark(service: tuple[TestClient, dict[str, str]],
                                                         starter_runtime: Runtime, tmp_path: Path) -> None:
    client, secrets = service
    answer = _ask(client, secrets["reader"], "What is the starting dose of metformin?")
    assert answer["citations"], answer
    assert client.post(f"/v1/answers/{answer['answer_id']}/reviews", json={"verdict": "correct"},
                       headers=bearer(secrets["admin"])).status_code == 201
    out = tmp_path / "reviews.jsonl"
    data_dir = str(starter_runtime.settings.data_dir)
    assert main(["reviews", "export", "--jsonl", "--out", str(out), "--data-dir", data_dir]) == 0
    items = load_reviewed(out)
    assert answer["answer_id"] in {i.id for i in items}
    mine = [i for i in items if i.id == answer["answer_id"]]
    asker = client.app.state.asker  # type: ignore[attr-defined]
    from app.answer.ask import AskRequest

    report = evaluate(mine, lambda q: asker.ask(AskRequest(q)))
    assert report["summary"]["correct"]["still_cites_reviewed_evidence"] == 1.0  # the same answer again


def test_the_panel_reviews_in_dev_mode_demo_only(starter_app: StarterApp) -> None:
    for dev_mode, expected in ((True, 200), (False, 403)):
        with starter_app(dev_mode=dev_mode, emr_demo=True) as app, TestClient(app) as client:
            session = client.get("/emr/demo", follow_redirects=False).headers["location"].split("session=")[1]
            header = {"X-MedEvidence-Panel": session}
            assert client.get("/emr/api/context", headers=header).json()["can_review"] is dev_mode
            answer = client.post("/emr/api/ask", json={"question": "Can these be taken together?"},
                                 headers=header).json()
            path = f"/emr/api/answers/{answer['answer_id']}/reviews"
            first = client.post(path, json={"verdict": "unsafe", "reason": "misses the INR check"}, headers=header)
            assert first.status_code == expected, first.text
            if not dev_mode:
                assert first.json()["error"]["field"] == "X-MedEvidence-Panel"
                continue
            assert first.json()["reviewer_name"] == "EMR demo (dev mode)" and first.json()["revision"] == 1
            second = client.post(path, json={"verdict": "incorrect", "reason": "misses the INR check"},
                                 headers=header)
            assert second.json()["revision"] == 2  # the panel's second call revises its review
            elsewhere = client.post(f"/emr/api/answers/{'0' * 32}/reviews", json={"verdict": "correct"},
                                    headers=header)
            assert elsewhere.status_code == 404 and elsewhere.json()["error"]["field"] == "answer_id"
