"""SMART App Launch 2.2 (EHR launch) end to end: MedEvidence, a loopback authorization server with its FHIR
server (``testkit.smart_auth_server``), and a real HTTP client following the browser's redirects across them.

The panel's data comes from the real starter runtime: every citation is checked against the stored document.
The launch's OpenID Connect id_token (who the user is; whether they review in the panel) is signed by the test
EHR's generated key and checked against its JWK Set; forged, expired or misdirected ones are refused.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from pydantic import ValidationError

from app.config import Settings
from app.emr.id_token import EhrKeys, EhrUser, IdTokenError, display_name, reviewer_for, token_hash
from app.emr.panel_sessions import HEADER
from app.emr.smart_launch import (
    PendingLaunch,
    PendingLaunches,
    SmartLauncher,
    SmartLaunchError,
    allowed_issuer,
    basic_auth,
    s256,
)
from app.runtime import Runtime
from testkit.fhir_server import FhirData
from testkit.http_server import serving
from testkit.smart_auth_server import AuthServer, auth_app

from .conftest import StarterApp

pytestmark = pytest.mark.slow
PATIENT = "pt-71c4e9"
LAUNCH = "launch-5f2a"
CLIENT_ID = "medevidence-test"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
REVIEWER = {"sub": "u-7f3a", "fhirUser": "Practitioner/dr-rev", "name": "Dr Rhea Reviewer"}  # synthetic users
NURSE = {"sub": "u-2b9c", "fhirUser": "Practitioner/nurse-1", "given_name": "Nia", "family_name": "Nurse"}


def _request(rid: str, text: str, status: str = "active", patient: str = PATIENT, **extra: Any) -> dict[str, Any]:
    body = {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
            "subject": {"reference": f"Patient/{patient}"}, **extra}
    if text:
        body["medicationCodeableConcept"] = {"text": text, "coding": [{"system": RXNORM, "display": text}]}
    return body


RESOURCES = [
    {"resourceType": "Patient", "id": PATIENT, "name": [{"given": ["Alex"], "family": "Example"}],
     "gender": "female", "birthDate": "1950-01-01"},  # synthetic
    _request("mr-simva", "simvastatin 40 MG Oral Tablet"),
    _request("mr-clari", "", medicationReference={"reference": "Medication/med-clari"}),
    {"resourceType": "Medication", "id": "med-clari",
     "code": {"coding": [{"system": RXNORM, "display": "clarithromycin 500 MG Oral Tablet"}]}},
    {"resourceType": "MedicationStatement", "id": "ms-warf", "status": "active",
     "subject": {"reference": f"Patient/{PATIENT}"},
     "medicationCodeableConcept": {"text": "warfarin sodium 5 MG Oral Tablet"}},
    _request("mr-stopped", "amiodarone 200 MG Oral Tablet", status="stopped"),
    _request("mr-other", "fluconazole 150 MG Oral Tablet", patient="someone-else"),
]


@dataclass
class Site:
    base: str
    app: FastAPI
    auth: AuthServer


@pytest.fixture(scope="module")
def site(starter_app: StarterApp) -> Iterator[Site]:
    auth = AuthServer(FhirData(RESOURCES, token="at-" + "9d3c" * 8), CLIENT_ID, {LAUNCH: PATIENT})
    with serving(auth_app(auth)) as auth_base:
        auth.base = auth_base
        with starter_app(smart_issuers=[auth.iss + "/"], smart_client_id=CLIENT_ID, dev_mode=False,
                         emr_demo=False, emr_reviewers=[REVIEWER["fhirUser"]]) as app, serving(app) as base:
            auth.redirect_uri = f"{base}/emr/callback"
            yield Site(base, app, auth)


@dataclass
class Trip:
    """What the browser saw: every response on the way, and the panel session the trip ended with."""

    responses: list[httpx.Response]
    session: str | None

    @property
    def last(self) -> httpx.Response:
        return self.responses[-1]

    def seen(self) -> str:
        return "\n".join(f"{r.url}\n{r.headers.get('location', '')}\n{r.text}" for r in self.responses)


def browse(url: str, rewrite: Any = None, headers: dict[str, str] | None = None) -> Trip:
    """GET ``url`` and follow redirects one by one (``rewrite`` may alter each next URL, as an attacker would)."""
    responses: list[httpx.Response] = []
    session = None
    with httpx.Client(timeout=120, headers=headers) as client:
        for _ in range(8):
            response = client.get(url)
            responses.append(response)
            location = response.headers.get("location")
            if response.status_code not in (301, 302, 303, 307, 308) or location is None:
                break
            url = urljoin(url, location)
            if "#session=" in url:
                session = url.split("#session=", 1)[1]
            if rewrite is not None:
                url = rewrite(url)
    return Trip(responses, session)


def launch(site: Site, **kw: Any) -> Trip:
    return browse(f"{site.base}/emr/launch?iss={site.auth.iss}&launch={LAUNCH}", **kw)


def _verbatim(rt: Runtime, citation: dict[str, Any]) -> bool:
    doc = rt.manifest.document(citation["doc_id"])
    return (doc is not None and doc.version == citation["version"] and bool(citation["quote"])
            and doc.text[citation["start"]:citation["end"]] == citation["quote"])


def _context(site: Site, session: str | None) -> httpx.Response:
    return httpx.get(f"{site.base}/emr/api/context", headers={HEADER: session or ""}, timeout=120)


# -- pure protocol pieces ------------------------------------------------------------------------------
def test_pkce_s256_matches_rfc7636_and_issuers_match_exactly() -> None:
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    allowed = ["https://ehr.example/fhir/"]
    assert allowed_issuer("https://ehr.example/fhir", allowed) == "https://ehr.example/fhir"
    assert allowed_issuer("https://ehr.example/fhir/", allowed) == "https://ehr.example/fhir"
    for other in ("https://ehr.example/fhirx", "https://ehr.example/fhir/x", "https://ehr.example.evil/fhir",
                  "http://ehr.example/fhir", "https://EHR.example/fhir", ""):
        assert allowed_issuer(other, allowed) is None, other
    assert basic_auth("a b", "p:w") == "Basic YStiOnAlM0F3"  # RFC 6749 2.3.1: form-encoded, then base64


def test_pending_launches_are_one_time_and_expire() -> None:
    pending = PendingLaunches(ttl_s=0.2)
    for state in ("s1", "s2"):
        pending.add(PendingLaunch(state, "https://ehr.example/fhir", "https://me/emr/callback", "v", "https://t",
                                  time.monotonic()))
    assert pending.take("s1") is not None
    assert pending.take("s1") is None
    time.sleep(0.3)
    assert pending.take("s2") is None


# -- the launch, end to end ------------------------------------------------------------------------------
def test_launch_lists_medications_with_cited_interactions(site: Site, starter_runtime: Runtime) -> None:
    fhir_before = len(site.auth.fhir.requests)
    trip = launch(site)
    statuses = [r.status_code for r in trip.responses]
    assert statuses == [302, 302, 302, 200], statuses
    authorize = urlsplit(trip.responses[0].headers["location"])
    q = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{site.auth.base}/auth/authorize"
    assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID and q["launch"] == LAUNCH
    assert q["aud"] == site.auth.iss and q["redirect_uri"] == f"{site.base}/emr/callback"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43 and len(q["state"]) >= 43
    assert q["scope"] == site.app.state.settings.smart_scopes
    assert trip.responses[2].headers["location"].startswith("/emr/panel#session=") and trip.session
    assert "default-src 'self'" in trip.last.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {site.auth.base}" in trip.last.headers["content-security-policy"]

    response = _context(site, trip.session)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    ctx = response.json()
    names = {m["label"]: [d["name"] for d in m["drugs"]] for m in ctx["medications"]}
    assert names == {"simvastatin 40 MG Oral Tablet": ["Simvastatin"],
                     "clarithromycin 500 MG Oral Tablet": ["Clarithromycin"],
                     "warfarin sodium 5 MG Oral Tablet": ["Warfarin"]}, names  # not stopped, not another patient's
    assert {m["role"] for m in ctx["medications"]} == {"prescribed", "reported"}
    assert all(m["status"] == "active" for m in ctx["medications"]) and ctx["unresolved"] == []
    assert ctx["banner"] is None  # the token did not ask for one
    first = ctx["interactions"][0]
    assert {first["a"], first["b"]} == {"Simvastatin", "Clarithromycin"}
    assert first["severity"] == "high" and first["indicator"] == "critical"
    ranks = [{"critical": 0, "warning": 1, "info": 2}[a["indicator"]] for a in ctx["interactions"]]
    assert ranks == sorted(ranks) and "warning" in {a["indicator"] for a in ctx["interactions"]}
    quoted = [c for a in ctx["interactions"] for c in a["citations"] if "quote" in c]
    assert any(c["doc_id"].startswith("onc-high:") for c in first["citations"])
    assert quoted and all(_verbatim(starter_runtime, c) for c in quoted)

    fhir = site.auth.fhir.requests[fhir_before:]
    assert fhir and all(r["authorization"] == f"Bearer {site.auth.access_token}" for r in fhir)
    assert not any(r["path"].endswith(f"/Patient/{PATIENT}") for r in fhir)  # no banner asked: no Patient read
    token = site.auth.access_token
    assert token not in trip.seen() and token not in response.text


def test_banner_and_cds_app_context(site: Site) -> None:
    site.auth.need_patient_banner = True
    site.auth.app_context = json.dumps({"drugs": ["DB00641", "DB01211"]})
    try:
        trip = launch(site)
    finally:
        site.auth.need_patient_banner = False
        site.auth.app_context = None
    ctx = _context(site, trip.session).json()
    assert ctx["banner"] == {"name": "Alex Example", "synthetic": False, "birth_date": "1950-01-01",
                             "gender": "female"}
    focused = [a for a in ctx["interactions"] if a["focus"]]
    assert [{a["a"], a["b"]} for a in focused] == [{"Simvastatin", "Clarithromycin"}]


def test_ask_in_context_keeps_the_patient_out(site: Site, starter_runtime: Runtime,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    trip = launch(site)
    response = httpx.post(f"{site.base}/emr/api/ask", headers={HEADER: trip.session or ""}, timeout=300,
                          json={"question": "Can simvastatin be taken together with clarithromycin?"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert {"answer_id", "mode", "abstained", "answer", "claims", "citations", "model"} <= set(answer)
    assert answer["abstained"] or answer["citations"]
    assert all(_verbatim(starter_runtime, c) for c in answer["citations"])
    trace = site.app.state.asker.traces.get(answer["answer_id"])
    assert trace["question"].endswith("(current medications: Simvastatin, Clarithromycin, Warfarin)")
    assert PATIENT not in json.dumps(trace) and PATIENT not in response.text
    assert site.auth.access_token not in response.text
    # every logger, httpx's included: its INFO line would name each FHIR search URL (create_app quiets it)
    messages = [r.getMessage() for r in caplog.records]
    assert any("EMR panel" in m for m in messages) and not any(PATIENT in m for m in messages)


def test_confidential_client_authenticates_with_http_basic(site: Site) -> None:
    settings = site.app.state.settings.model_copy(update={"smart_client_secret": "s3cret: with spaces"})
    launcher = SmartLauncher(settings)
    url = launcher.begin(site.auth.iss, LAUNCH, "http://unused.example")
    assert url.startswith(site.auth.base)
    site.auth.client_secret = "s3cret: with spaces"
    site.auth.redirect_uri, registered = "http://unused.example/emr/callback", site.auth.redirect_uri
    try:
        back = httpx.get(url)
        q = {k: v[0] for k, v in parse_qs(urlsplit(back.headers["location"]).query).items()}
        grant = launcher.complete(q["code"], q["state"])
        with pytest.raises(SmartLaunchError) as refused:  # the code is spent
            launcher.complete(q["code"], q["state"])
    finally:
        site.auth.client_secret = None
        site.auth.redirect_uri = registered
    assert grant.patient == PATIENT and grant.access_token == site.auth.access_token and grant.iss == site.auth.iss
    assert refused.value.status == 400 and PATIENT not in repr(grant) and grant.access_token not in repr(grant)


# -- refusals --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("iss", ["http://127.0.0.1:9/fhir", "{auth}/fhir/evil", "{auth}/fhirx", "{auth}"])
def test_issuer_not_allowed_is_refused_before_any_request(site: Site, iss: str) -> None:
    before = len(site.auth.requests)
    response = httpx.get(f"{site.base}/emr/launch", params={"iss": iss.format(auth=site.auth.base), "launch": LAUNCH})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "issuer_not_allowed" and response.json()["error"]["field"] == "iss"
    page = httpx.get(f"{site.base}/emr/launch", params={"iss": iss.format(auth=site.auth.base), "launch": LAUNCH},
                     headers={"Accept": "text/html"})
    assert page.status_code == 400 and "may not launch" in page.text and page.headers["content-type"].startswith(
        "text/html")
    assert len(site.auth.requests) == before


def test_launch_without_launch_parameter_is_refused(site: Site) -> None:
    response = httpx.get(f"{site.base}/emr/launch", params={"iss": site.auth.iss})
    assert response.status_code == 400 and response.json()["error"]["field"] == "launch"


def test_unknown_or_reused_state_is_refused(site: Site) -> None:
    callbacks: list[str] = []

    def hold(url: str) -> str:
        if "/emr/callback" in url:
            callbacks.append(url)
        return url

    first = launch(site, rewrite=hold)
    assert first.session and len(callbacks) == 1
    again = httpx.get(callbacks[0])
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_state"
    forged = httpx.get(f"{site.base}/emr/callback", params={"code": "x", "state": "not-a-state"})
    assert forged.status_code == 400 and forged.json()["error"]["field"] == "state"
    missing = httpx.get(f"{site.base}/emr/callback", params={"code": "x"})
    assert missing.status_code == 400


def test_pkce_verifier_mismatch_is_refused(site: Site) -> None:
    def swap_challenge(url: str) -> str:  # an attacker's challenge: the code is bound to a verifier we lack
        return url.replace("code_challenge=", f"code_challenge={s256('attacker-verifier-' + 'x' * 30)}&ignored=", 1) \
            if "/auth/authorize" in url else url

    trip = launch(site, rewrite=swap_challenge)
    assert trip.session is None
    assert trip.last.status_code == 502
    error = trip.last.json()["error"]
    assert error["code"] == "token_exchange" and "refused" in error["message"] and "invalid_grant" in error["message"]


def test_authorization_server_error_is_shown(site: Site) -> None:
    site.auth.deny_with = "access_denied"
    try:
        trip = launch(site)
        page = launch(site, headers={"Accept": "text/html"})
    finally:
        site.auth.deny_with = None
    assert trip.session is None and trip.last.status_code == 400
    assert "access_denied" in trip.last.json()["error"]["message"]
    assert page.last.status_code == 400 and "access_denied" in page.last.text
    assert "declined to authorise" in page.last.text


def test_missing_or_forged_session_is_401(site: Site) -> None:
    assert _context(site, None).status_code == 401
    forged = _context(site, "A" * 43)
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "unauthorized"
    ask = httpx.post(f"{site.base}/emr/api/ask", headers={HEADER: "A" * 43}, json={"question": "warfarin?"})
    assert ask.status_code == 401


def test_demo_is_off_unless_enabled(site: Site) -> None:
    assert httpx.get(f"{site.base}/emr/demo").status_code == 404


# -- who the user is: the id_token -------------------------------------------------------------------------------
@contextmanager
def ehr(site: Site, **state: Any) -> Iterator[None]:
    """The test EHR with these fields set (``user``, ``id_token_hook``, ``publish_issuer``…) for the block."""
    saved = {name: getattr(site.auth, name) for name in state}
    for name, value in state.items():
        setattr(site.auth, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(site.auth, name, value)


def _ask(site: Site, session: str | None) -> dict[str, Any]:
    response = httpx.post(f"{site.base}/emr/api/ask", headers={HEADER: session or ""}, timeout=300,
                          json={"question": "Can simvastatin be taken together with clarithromycin?"})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _review(site: Site, session: str | None, answer_id: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{site.base}/emr/api/answers/{answer_id}/reviews", headers={HEADER: session or ""},
                      json=body, timeout=120)


def test_a_listed_ehr_user_reviews_in_the_panel(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    issued: list[str] = []

    def keep(claims: dict[str, Any], sign: Callable[[dict[str, Any]], str]) -> str:
        issued.append(sign(claims))
        return issued[-1]

    absolute = {**REVIEWER, "fhirUser": f"{site.auth.iss}/Practitioner/dr-rev"}  # the server base is stripped
    with ehr(site, user=absolute, id_token_hook=keep):
        trip = launch(site)
    assert trip.session and issued
    assert _context(site, trip.session).json()["can_review"] is True
    answer = _ask(site, trip.session)
    body = {"verdict": "incorrect", "reason": "the CYP3A4 mechanism is not stated"}
    first = _review(site, trip.session, answer["answer_id"], body)
    assert first.status_code == 200, first.text
    review = first.json()
    expected = f"emr:{site.auth.iss}#Practitioner/dr-rev"
    assert review["reviewer"] == expected and review["reviewer_name"] == "Dr Rhea Reviewer"
    assert review["revision"] == 1 and review["status"] == "open"
    stored = site.app.state.reviews.get(review["review_id"])
    assert stored["reviewer"] == expected and stored["answer"]["question"].startswith("Can simvastatin")
    again = _review(site, trip.session, answer["answer_id"], {"verdict": "correct", "reason": "on reflection"})
    assert again.status_code == 200 and again.json()["revision"] == 2  # the session's second call revises it

    # the relative fhirUser in a later launch is the same reviewer; answers of another session are not its to review
    with ehr(site, user=REVIEWER, id_token_hook=keep):
        later = launch(site)
    assert later.session and later.session != trip.session
    elsewhere = _review(site, later.session, answer["answer_id"], body)
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["field"] == "answer_id"
    mine = _review(site, later.session, _ask(site, later.session)["answer_id"], {"verdict": "correct"})
    assert mine.status_code == 200 and mine.json()["reviewer"] == expected

    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "reviewer emr:" in messages
    for token in issued:  # the id_token is never shown nor logged
        assert token not in trip.seen() and token not in later.seen() and token not in messages


@pytest.mark.parametrize("user", [NURSE, None, {"sub": "u-5e1d"}], ids=["unlisted", "no-id-token", "no-fhirUser"])
def test_other_users_use_the_panel_but_cannot_review(site: Site, user: dict[str, Any] | None) -> None:
    with ehr(site, user=user):
        trip = launch(site)
    assert trip.session, trip.seen()
    ctx = _context(site, trip.session).json()
    assert ctx["can_review"] is False and ctx["medications"]
    answer = _ask(site, trip.session)
    refused = _review(site, trip.session, answer["answer_id"], {"verdict": "correct"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden" and refused.json()["error"]["field"] == HEADER


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered(claims: dict[str, Any], sign: Callable[[dict[str, Any]], str]) -> str:
    header, _, signature = sign(claims).split(".")
    return ".".join([header, _b64({**claims, "fhirUser": REVIEWER["fhirUser"]}), signature])


def _stranger(claims: dict[str, Any], _sign: Callable[[dict[str, Any]], str]) -> str:
    return jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
                      headers={"kid": "ehr-1"})  # the published kid, another key


def _unknown_kid(claims: dict[str, Any], _sign: Callable[[dict[str, Any]], str]) -> str:
    return jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "elsewhere"})


def _with(**changes: Any) -> Callable[[dict[str, Any], Callable[[dict[str, Any]], str]], str]:
    return lambda claims, sign: sign({k: v for k, v in {**claims, **changes}.items() if v is not None})


NOW = int(time.time())
FORGED: dict[str, tuple[Callable[[dict[str, Any], Callable[[dict[str, Any]], str]], str], str]] = {
    "tampered": (_tampered, "InvalidSignatureError"),
    "other-key": (_stranger, "InvalidSignatureError"),
    "unknown-kid": (_unknown_kid, "no key 'elsewhere'"),
    "expired": (_with(iat=NOW - 4000, exp=NOW - 3600), "ExpiredSignatureError"),
    "issued-later": (_with(iat=NOW + 3600, exp=NOW + 7200), "ImmatureSignatureError"),
    "wrong-aud": (_with(aud="another-app"), "InvalidAudienceError"),
    "wrong-issuer": (_with(iss="https://idp.evil.example"), "InvalidIssuerError"),
    "fhir-base-issuer": (lambda c, sign: sign({**c, "iss": c["iss"].removesuffix("/auth") + "/fhir"}),
                         "InvalidIssuerError"),  # the configuration names its issuer: nothing else counts
    "other-azp": (_with(azp="another-app"), "azp"),
    "no-sub": (_with(sub=None), "MissingRequiredClaimError"),
    "at-hash": (_with(at_hash="AAAAAAAAAAAAAAAAAAAAAA"), "at_hash"),
    "alg-none": (lambda c, _s: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(c)}.", "'none' is not accepted"),
    "hs256": (lambda c, _s: jwt.encode(c, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256",
                                       headers={"kid": "ehr-1"}), "'HS256' is not accepted"),
    "not-a-jwt": (lambda c, _s: "not-a-jwt", "not a signed JWT"),
}


@pytest.mark.parametrize("case", sorted(FORGED))
def test_a_bad_id_token_is_refused(site: Site, case: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    make, reason = FORGED[case]
    sent: list[str] = []

    def hook(claims: dict[str, Any], sign: Callable[[dict[str, Any]], str]) -> str:
        sent.append(make(claims, sign))
        return sent[-1]

    with ehr(site, user=REVIEWER, id_token_hook=hook):
        trip = launch(site)
        page = launch(site, headers={"Accept": "text/html"})
    assert trip.session is None and page.session is None and len(sent) == 2
    assert trip.last.status_code == 502, trip.seen()
    error = trip.last.json()["error"]
    assert error["code"] == "id_token" and "id_token was refused" in error["message"] and reason in error["message"]
    assert page.last.status_code == 502 and "id_token" in page.last.text
    messages = "\n".join(r.getMessage() for r in caplog.records)
    for token in sent:
        assert token not in trip.seen() and token not in page.seen() and token not in messages


def test_rotated_keys_and_an_issuer_the_configuration_omits(site: Site) -> None:
    with ehr(site, user=REVIEWER):
        assert launch(site).session  # the keys are cached now
        site.auth.rotate_key()  # a kid the cache does not know: the JWK Set is read again
        rotated = launch(site)
        assert rotated.session, rotated.seen()
        assert _context(site, rotated.session).json()["can_review"] is True
        with ehr(site, publish_issuer=False):  # no issuer in the configuration: the launch's iss is the issuer
            fallback = launch(site)
            assert fallback.session, fallback.seen()
            assert _context(site, fallback.session).json()["can_review"] is True
        with ehr(site, publish_jwks=False):  # nothing to check an id_token with: the user stays unknown
            unchecked = launch(site)
            assert unchecked.session, unchecked.seen()
            assert _context(site, unchecked.session).json()["can_review"] is False


# -- the id_token pieces, without the launch --------------------------------------------------------------------
def test_reviewer_matching_forms_and_ids() -> None:
    base = "https://ehr.example/fhir"
    listed = ["Practitioner/123", "https://other.example/fhir/PractitionerRole/9"]

    def user(fhir_user: str | None, name: str | None = "Dr A") -> EhrUser:
        return EhrUser("https://ehr.example/auth", "s-1", fhir_user, name)

    same = ("emr:https://ehr.example/fhir#Practitioner/123", "Dr A")
    assert reviewer_for(user("Practitioner/123"), base, listed) == same
    assert reviewer_for(user(f"{base}/Practitioner/123"), base, listed) == same
    assert reviewer_for(user("Practitioner/123", None), base, listed) == (same[0], "Practitioner/123")
    assert reviewer_for(user("https://other.example/fhir/Practitioner/123"), base, listed) is None  # another server
    assert reviewer_for(user("https://other.example/fhir/PractitionerRole/9"), base, listed) == (
        "emr:https://other.example/fhir/PractitionerRole/9", "Dr A")
    for nobody in ("Practitioner/1234", "Patient/123", "practitioner/123", f"{base}x/Practitioner/123", None):
        assert reviewer_for(user(nobody), base, listed) is None, nobody
    assert reviewer_for(None, base, listed) is None
    assert reviewer_for(user("Practitioner/123"), base, []) is None
    assert display_name({"given_name": "Nia", "family_name": "Nurse"}) == "Nia Nurse"
    assert display_name({"name": " ", "preferred_username": "nnurse"}) == "nnurse" and display_name({}) is None
    # OpenID Connect Core 3.1.3.6's example: the access token and its at_hash
    assert token_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "RS256") == "77QmUPtjPfzWtF2AnpK9RQ"


def test_reviewers_setting_takes_references_not_a_wildcard() -> None:
    ok = Settings(emr_reviewers=["Practitioner/123", "https://ehr.example/fhir/PractitionerRole/a-9/"])
    assert ok.emr_reviewers == ["Practitioner/123", "https://ehr.example/fhir/PractitionerRole/a-9"]
    for bad in ("*", "123", "Practitioner", "practitioner/1", "Practitioner/1/_history/2", "ftp://x/Practitioner/1"):
        with pytest.raises(ValidationError, match="emr_reviewers"):
            Settings(emr_reviewers=[bad])


def test_keys_need_a_usable_signing_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    served = {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "hs"}, {**public, "use": "enc", "kid": "enc"},
                       {**public, "kid": "p256"}]}
    fetched: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(200, json=served)

    keys = EhrKeys(lambda: httpx.Client(transport=httpx.MockTransport(handler)), refresh_min_s=3600)
    assert keys.signing_key("https://i", "https://i/jwks", "p256", "ES256") is not None
    assert keys.signing_key("https://i", "https://i/jwks", None, "ES256") is not None  # the only ES256 key
    for kid, alg in (("hs", "ES256"), ("enc", "ES256"), ("p256", "ES384"), ("p256", "RS256"), ("new", "ES256"),
                     ("new", "ES256")):
        with pytest.raises(IdTokenError):
            keys.signing_key("https://i", "https://i/jwks", kid, alg)
    # cached; each kid without a fitting key read the set again once (hs, enc, p256, new), not twice in refresh_min_s
    assert len(fetched) == 5
