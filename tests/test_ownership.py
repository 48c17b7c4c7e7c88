"""Answers are private to their caller: traces, replays and conversations, with API keys and OIDC subjects.

A real app over the starter index (TestClient), three API keys (readers A and B, an admin) and OIDC tokens of two
subjects from a JWKS server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from app.runtime import Runtime
from testkit.jwks_server import serving_jwks, signed_token

from .conftest import StarterApp

pytestmark = pytest.mark.slow

ISSUER = "https://idp.hospital.example/realms/wards"
QUESTION = "Patient John Smith MRN 123456: what is the maximum daily dose of acetaminophen?"


@pytest.fixture(scope="module")
def idp_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def service(starter_runtime: Runtime, starter_app: StarterApp, idp_key: Any
            ) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with serving_jwks(idp_key.public_key(), "idp-1", "RS256") as jwks_url:
        keys = starter_runtime.keys
        secrets = {"a": keys.create("reader", "reader-a")[1], "b": keys.create("reader", "reader-b")[1],
                   "admin": keys.create("admin", "admin")[1]}
        with starter_app(oidc_issuer=ISSUER, oidc_jwks_url=jwks_url, rate_limit_per_minute=0) as app, \
                TestClient(app) as client:
            yield client, secrets


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def oidc(key: Any, subject: str, role: str = "medevidence-reader") -> dict[str, str]:
    return bearer(signed_token(key, ISSUER, subject, [role]))


def ask(client: TestClient, headers: dict[str, str], question: str = QUESTION, **body: Any) -> Any:
    return client.post("/v1/ask", json={"question": question, **body}, headers=headers)


def test_another_reader_cannot_read_or_replay_an_answer(service: tuple[TestClient, dict[str, str]]) -> None:
    client, secrets = service
    answer = ask(client, bearer(secrets["a"]))
    assert answer.status_code == 200
    answer_id = answer.json()["answer_id"]
    own = client.get(f"/v1/answers/{answer_id}", headers=bearer(secrets["a"]))
    assert own.status_code == 200 and own.json()["question"] == QUESTION
    for path, method in ((f"/v1/answers/{answer_id}", "GET"), (f"/v1/answers/{answer_id}/replay", "POST")):
        other = client.request(method, path, headers=bearer(secrets["b"]))
        missing = client.request(method, path.replace(answer_id, "0" * 32), headers=bearer(secrets["b"]))
        assert other.status_code == missing.status_code == 404  # the same answer as for an unknown id
        assert other.json()["error"]["field"] == "answer_id"
        assert QUESTION not in other.text and "123456" not in other.text
    assert client.post(f"/v1/answers/{answer_id}/replay", headers=bearer(secrets["a"])).json()["same_answer"]


def test_an_admin_reads_every_answer_and_each_read_is_audited(service: tuple[TestClient, dict[str, str]]) -> None:
    client, secrets = service
    answer_id = ask(client, bearer(secrets["a"])).json()["answer_id"]
    audit = client.app.state.audit  # type: ignore[attr-defined]
    assert audit.trace_reads_of(answer_id) == []
    client.get(f"/v1/answers/{answer_id}", headers=bearer(secrets["a"]))  # the owner's own read: not audited
    assert audit.trace_reads_of(answer_id) == []
    read = client.get(f"/v1/answers/{answer_id}", headers=bearer(secrets["admin"]))
    replay = client.post(f"/v1/answers/{answer_id}/replay", headers=bearer(secrets["admin"]))
    assert read.status_code == 200 and replay.status_code == 200
    owner = read.json()["caller"]
    reads = audit.trace_reads_of(answer_id)
    assert [(r["owner"], r["action"]) for r in reads] == [(owner, "read"), (owner, "replay")]
    assert reads[0]["reader"] != owner


def test_a_conversation_is_continued_only_by_its_owner(service: tuple[TestClient, dict[str, str]]) -> None:
    client, secrets = service
    first = ask(client, bearer(secrets["a"]), "What are the contraindications of warfarin?",
                conversation_id="ward-7-conversation")
    assert first.status_code == 200
    stolen = ask(client, bearer(secrets["b"]), "and its dose?", conversation_id="ward-7-conversation")
    assert stolen.status_code == 404 and stolen.json()["error"]["field"] == "conversation_id"
    streamed = client.post("/v1/ask", json={"question": "and its dose?", "conversation_id": "ward-7-conversation",
                                            "stream": True}, headers=bearer(secrets["b"]))
    assert streamed.status_code == 404  # refused before any event is sent
    follow = ask(client, bearer(secrets["a"]), "and its dose?", conversation_id="ward-7-conversation")
    assert follow.status_code == 200
    trace = client.get(f"/v1/answers/{follow.json()['answer_id']}", headers=bearer(secrets["a"])).json()
    assert "warfarin" in trace["standalone_question"].lower()  # A's own context
    fresh = ask(client, bearer(secrets["b"]), "What is warfarin?", conversation_id="b-own-conversation")
    assert fresh.status_code == 200  # a new id is anyone's to begin


def test_oidc_subjects_are_owners_too(service: tuple[TestClient, dict[str, str]], idp_key: Any) -> None:
    client, _ = service
    house, wilson = oidc(idp_key, "dr-house"), oidc(idp_key, "dr-wilson")
    answer_id = ask(client, house).json()["answer_id"]
    assert client.get(f"/v1/answers/{answer_id}", headers=house).json()["caller"] == "oidc:dr-house"
    assert client.get(f"/v1/answers/{answer_id}", headers=wilson).status_code == 404
    assert client.post(f"/v1/answers/{answer_id}/replay", headers=wilson).status_code == 404
    chief = oidc(idp_key, "dr-cuddy", "medevidence-admin")
    assert client.get(f"/v1/answers/{answer_id}", headers=chief).status_code == 200
    assert client.app.state.audit.trace_reads_of(answer_id)[0]["reader"] == "oidc:dr-cuddy"  # type: ignore[attr-defined]
