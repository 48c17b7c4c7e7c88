"""SMART App Launch 2.2, EHR launch: the protocol side of the EMR panel (no web framework here).

1. The EHR opens ``/emr/launch?iss=…&launch=…``.  ``iss`` must be one of ``settings.smart_issuers``
   (exact match once a trailing "/" is stripped); any other is refused before anything is fetched.
2. ``{iss}/.well-known/smart-configuration`` names the authorization and token endpoints and must offer
   PKCE ``S256`` (the only method SMART 2.x allows).
3. The browser goes to the authorization endpoint with ``response_type=code``, ``client_id``,
   ``redirect_uri``, ``launch``, ``scope``, ``state``, ``aud=iss``, ``code_challenge`` and
   ``code_challenge_method=S256``.  What the callback needs (issuer, verifier, endpoints) waits here,
   keyed by ``state``: one use, ten minutes.
4. The callback trades the code for a token (form POST; HTTP Basic when a client secret is configured,
   else ``client_id`` in the form) and checks the answer: a ``Bearer`` ``access_token`` and a ``patient``.
5. An ``id_token`` in the answer (scopes ``openid fhirUser``) names the user: verified as OpenID Connect requires
   (``app/emr/id_token.py``) against the smart-configuration's ``issuer`` (else the launch's ``iss``) and the keys
   at its ``jwks_uri``; a token that fails is refused (502 ``id_token``).  Without an ``id_token`` (or when the EHR
   publishes no ``jwks_uri`` to check one with) the user is unknown: the panel works, nobody reviews in it.

Errors carry an HTTP status (400: the request; 502: the EHR's servers) and never the access token nor the id_token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx

from app.config import Settings
from app.emr.expiring import ExpiringStore
from app.emr.id_token import EhrKeys, EhrUser, IdTokenError, verify_id_token
from app.errors import ServiceError

PENDING_SECONDS = 600
MAX_PENDING = 2000
MAX_PARAM_CHARS = 2048
MAX_ID_TOKEN_CHARS = 16_384
log = logging.getLogger("medevidence.emr")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class SmartLaunchError(ServiceError):
    """A launch or callback that cannot go on; ``status`` is the HTTP status to answer with."""


def code_verifier() -> str:
    """A PKCE verifier: 43 characters of the unreserved alphabet (256 random bits)."""
    return secrets.token_urlsafe(32)


def s256(verifier: str) -> str:
    """The S256 code challenge: BASE64URL(SHA256(verifier)) without padding (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def normalize_issuer(iss: str) -> str:
    return iss.strip().rstrip("/")


def allowed_issuer(iss: str, allowed: list[str]) -> str | None:
    """``iss`` without its trailing "/" when it is exactly one of ``allowed`` (also compared without it)."""
    candidate = normalize_issuer(iss)
    return candidate if candidate and candidate in {normalize_issuer(a) for a in allowed} else None


def basic_auth(client_id: str, secret: str) -> str:
    """HTTP Basic for a client (RFC 6749 §2.3.1: id and secret form-urlencoded before base64)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` appended to whatever query it already has."""
    base, _, fragment = url.partition("#")
    joined = base + ("&" if "?" in base else "?") + urlencode(params)
    return joined + (f"#{fragment}" if fragment else "")


@dataclass(frozen=True)
class SmartEndpoints:
    authorization: str
    token: str
    issuer: str | None = None  # the OpenID Connect issuer an id_token must name (None: the launch's iss)
    jwks_uri: str | None = None  # the keys that sign id_tokens (None: an id_token cannot be checked)


@dataclass(frozen=True)
class PendingLaunch:
    state: str
    iss: str
    redirect_uri: str
    verifier: str = field(repr=False)
    token_endpoint: str
    created: float
    oidc_issuer: str | None = None
    jwks_uri: str | None = None


@dataclass(frozen=True)
class TokenGrant:
    """What a successful launch yields: the FHIR server, the token for it and the launch context."""

    iss: str
    access_token: str = field(repr=False)
    patient: str = field(repr=False)
    scope: str
    expires_in: int | None
    need_patient_banner: bool
    app_context: str | None
    smart_style_url: str | None
    fhir_context: list[dict[str, Any]]
    user: EhrUser | None = None  # from a verified id_token; None: the launch did not say who the user is


class PendingLaunches:
    """Launches waiting for their callback, keyed by ``state``: each taken once, expiring after ten minutes."""

    def __init__(self, ttl_s: float = PENDING_SECONDS, capacity: int = MAX_PENDING) -> None:
        self.ttl_s = ttl_s
        self._store: ExpiringStore[PendingLaunch] = ExpiringStore(capacity)

    def add(self, launch: PendingLaunch) -> None:
        self._store.put(launch.state, launch, launch.created + self.ttl_s)

    def take(self, state: str) -> PendingLaunch | None:
        """The launch for ``state`` (removed: a state works once); None when unknown, used or expired."""
        return self._store.take(state)

    def __len__(self) -> int:
        return len(self._store)


def _endpoint(config: dict[str, Any], key: str, iss: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise SmartLaunchError(502, "smart_configuration", f"the EHR's smart-configuration has no usable {key}")
    if iss.startswith("https://") and not value.startswith("https://"):
        raise SmartLaunchError(502, "smart_configuration", f"the EHR's {key} is not https")
    return value


class SmartLauncher:
    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.pending = PendingLaunches()
        self._transport = transport  # tests may route in-process; production: real HTTP
        self.keys = EhrKeys(self._client)  # the EHRs' id_token signing keys, cached per issuer

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=self.settings.fhir_timeout_s, follow_redirects=False, transport=self._transport)

    def discover(self, iss: str) -> SmartEndpoints:
        """The authorization and token endpoints from ``{iss}/.well-known/smart-configuration``."""
        try:
            with self._client() as http:
                response = http.get(f"{iss}/.well-known/smart-configuration", headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SmartLaunchError(502, "smart_configuration", "the EHR's smart-configuration could not be read "
                                   f"({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise SmartLaunchError(502, "smart_configuration",
                                   f"the EHR's smart-configuration answered HTTP {response.status_code}")
        try:
            config = response.json()
        except ValueError:
            config = None
        if not isinstance(config, dict):
            raise SmartLaunchError(502, "smart_configuration", "the EHR's smart-configuration is not a JSON object")
        methods = config.get("code_challenge_methods_supported")
        if not isinstance(methods, list) or "S256" not in methods:
            raise SmartLaunchError(502, "smart_configuration",
                                   "the EHR's authorization server does not offer PKCE S256 (SMART 2.x requires it)")
        issuer = config.get("issuer")
        return SmartEndpoints(_endpoint(config, "authorization_endpoint", iss),
                              _endpoint(config, "token_endpoint", iss),
                              issuer if isinstance(issuer, str) and issuer else None,
                              _endpoint(config, "jwks_uri", iss) if config.get("jwks_uri") is not None else None)

    def begin(self, iss: str | None, launch: str | None, base_url: str) -> str:
        """The authorization URL to send the browser to.  ``base_url``: where this request arrived."""
        if not iss or len(iss) > MAX_PARAM_CHARS:
            raise SmartLaunchError(400, "invalid_launch", "the EHR launch must give iss (its FHIR server URL)", "iss")
        if not launch or len(launch) > MAX_PARAM_CHARS:
            raise SmartLaunchError(400, "invalid_launch", "the EHR launch must give its launch parameter", "launch")
        issuer = allowed_issuer(iss, self.settings.smart_issuers)
        if issuer is None:
            raise SmartLaunchError(400, "issuer_not_allowed", "this FHIR server (iss) may not launch the MedEvidence "
                                   "panel; an administrator can add it to MEDEVIDENCE_SMART_ISSUERS", "iss")
        endpoints = self.discover(issuer)
        redirect_uri = f"{(self.settings.public_base_url or base_url).rstrip('/')}/emr/callback"
        verifier = code_verifier()
        state = secrets.token_urlsafe(32)
        self.pending.add(PendingLaunch(state, issuer, redirect_uri, verifier, endpoints.token, time.monotonic(),
                                       endpoints.issuer, endpoints.jwks_uri))
        return with_query(endpoints.authorization, {
            "response_type": "code", "client_id": self.settings.smart_client_id, "redirect_uri": redirect_uri,
            "launch": launch, "scope": self.settings.smart_scopes, "state": state, "aud": issuer,
            "code_challenge": s256(verifier), "code_challenge_method": "S256",
        })

    def complete(self, code: str | None, state: str | None, error: str | None = None,
                 error_description: str | None = None) -> TokenGrant:
        """The callback: the state checked (and spent), the code traded for a token, the token response checked."""
        pending = self.pending.take(state) if state else None
        if error:
            detail = f": {error_description[:300]}" if error_description else ""
            raise SmartLaunchError(400, "authorization_failed",
                                   f"the EHR's authorization server answered {error[:100]}{detail}", "error")
        if pending is None:
            raise SmartLaunchError(400, "invalid_state", "unknown, expired or already used state: launch the panel "
                                   "from the EHR again", "state")
        if not code or len(code) > MAX_PARAM_CHARS:
            raise SmartLaunchError(400, "invalid_callback", "the callback carries no authorization code", "code")
        return self._exchange(pending, code)

    def _exchange(self, pending: PendingLaunch, code: str) -> TokenGrant:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": pending.redirect_uri,
                "code_verifier": pending.verifier}
        headers = {"Accept": "application/json"}
        if self.settings.smart_client_secret:  # a confidential client: HTTP Basic (client_secret_basic)
            headers["Authorization"] = basic_auth(self.settings.smart_client_id, self.settings.smart_client_secret)
        else:
            form["client_id"] = self.settings.smart_client_id
        try:
            with self._client() as http:
                response = http.post(pending.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise SmartLaunchError(502, "token_exchange", "the EHR's token endpoint could not be reached "
                                   f"({type(exc).__name__})") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            reason = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
            raise SmartLaunchError(502, "token_exchange", f"the EHR's token endpoint refused the code (HTTP "
                                   f"{response.status_code}{', ' + reason[:100] if reason else ''})")
        if not isinstance(body, dict):
            raise SmartLaunchError(502, "token_exchange", "the EHR's token response is not a JSON object")
        grant = token_grant(pending.iss, body)
        return replace(grant, user=self._user(pending, body.get("id_token"), grant.access_token))

    def _user(self, pending: PendingLaunch, id_token: Any, access_token: str) -> EhrUser | None:
        """The user named by the response's verified ``id_token``; None without one (or without keys to check it)."""
        if id_token is None:
            return None
        if not isinstance(id_token, str) or not id_token or len(id_token) > MAX_ID_TOKEN_CHARS:
            raise SmartLaunchError(502, "id_token", "the EHR's id_token is not a JWT")
        if pending.jwks_uri is None:
            log.warning("EMR panel launch from %s: an id_token came but the smart-configuration names no jwks_uri "
                        "to verify it with; the user stays unknown (no reviews in the panel)", pending.iss)
            return None
        try:
            return verify_id_token(id_token, self.keys, pending.oidc_issuer or pending.iss, pending.jwks_uri,
                                   self.settings.smart_client_id, access_token)
        except IdTokenError as exc:
            raise SmartLaunchError(502, "id_token", f"the EHR's id_token was refused: {exc}") from None


def token_grant(iss: str, body: dict[str, Any]) -> TokenGrant:
    """A checked token response: a Bearer ``access_token`` and a ``patient`` (this panel is patient-scoped)."""
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise SmartLaunchError(502, "token_response", "the token response has no access_token")
    if not isinstance(body.get("token_type"), str) or body["token_type"].lower() != "bearer":
        raise SmartLaunchError(502, "token_response", "the token response's token_type is not Bearer")
    patient = body.get("patient")
    if not isinstance(patient, str) or not _FHIR_ID.match(patient):
        raise SmartLaunchError(502, "token_response", "the token response names no patient (a FHIR id); the panel "
                               "needs a patient context (launch scope)")
    expires_in = body.get("expires_in")
    app_context = body.get("appContext")
    style = body.get("smart_style_url")
    fhir_context = body.get("fhirContext")
    return TokenGrant(
        iss=iss, access_token=token, patient=patient,
        scope=body["scope"] if isinstance(body.get("scope"), str) else "",
        expires_in=expires_in if isinstance(expires_in, int) and expires_in > 0 else None,
        need_patient_banner=body.get("need_patient_banner") is True,
        app_context=app_context if isinstance(app_context, str) else
        json.dumps(app_context) if isinstance(app_context, dict) else None,
        smart_style_url=style if isinstance(style, str) and urlsplit(style).scheme == "https" else None,
        fhir_context=[c for c in fhir_context if isinstance(c, dict)] if isinstance(fhir_context, list) else [],
    )
