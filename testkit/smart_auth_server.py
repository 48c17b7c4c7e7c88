"""A small SMART App Launch 2.2 authorization server with its FHIR server, for tests (served on loopback).

``{base}/fhir`` is the FHIR server (``testkit.fhir_server``, requiring the access token this server issues) and
the launch's ``iss``; ``{base}/fhir/.well-known/smart-configuration`` names ``{base}/auth/authorize`` and
``{base}/auth/token``.  The authorize endpoint checks what an EHR checks (client, redirect URI, audience,
launch, state, PKCE S256) and redirects back with a one-time code; the token endpoint checks the
``code_verifier`` against the stored challenge.  Every request is recorded for assertions.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from .fhir_server import FhirData, fhir_app


@dataclass
class AuthServer:
    """The server's state; ``base`` is set once it is served (``iss`` is ``{base}/fhir``)."""

    fhir: FhirData
    client_id: str
    launches: dict[str, str]  # launch id -> patient id
    redirect_uri: str | None = None  # the registered redirect URI (set when the app's address is known)
    base: str = ""
    need_patient_banner: bool = False
    app_context: str | None = None
    deny_with: str | None = None  # answer /authorize with this OAuth error instead of a code
    client_secret: str | None = None  # set: a confidential client, authenticated with HTTP Basic at /token
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def iss(self) -> str:
        return f"{self.base}/fhir"

    @property
    def access_token(self) -> str:
        assert self.fhir.token
        return self.fhir.token

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r["path"].endswith(path))


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def auth_app(server: AuthServer) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        server.requests.append({"path": request.url.path, "query": dict(request.query_params)})
        return await call_next(request)

    @app.get("/fhir/.well-known/smart-configuration")
    def configuration() -> dict[str, Any]:
        return {"authorization_endpoint": f"{server.base}/auth/authorize",
                "token_endpoint": f"{server.base}/auth/token",
                "grant_types_supported": ["authorization_code"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "scopes_supported": ["launch", "openid", "fhirUser", "patient/*.rs"],
                "response_types_supported": ["code"],
                "capabilities": ["launch-ehr", "client-public", "client-confidential-symmetric",
                                 "context-ehr-patient", "permission-v2", "context-banner"]}

    @app.get("/auth/authorize", response_model=None)
    def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != server.client_id or q.get("redirect_uri") != server.redirect_uri:
            return PlainTextResponse("unknown client or redirect_uri", status_code=400)  # never redirect then
        state = q.get("state", "")

        def back(**params: str) -> RedirectResponse:
            return RedirectResponse(f"{server.redirect_uri}?{urlencode({**params, 'state': state})}", status_code=302)

        if server.deny_with:
            return back(error=server.deny_with, error_description="The user declined to authorise the app")
        problems = [name for name, ok in (
            ("response_type", q.get("response_type") == "code"), ("aud", q.get("aud") == server.iss),
            ("launch", q.get("launch") in server.launches), ("state", len(state) >= 22),
            ("code_challenge_method", q.get("code_challenge_method") == "S256"),
            ("code_challenge", len(q.get("code_challenge", "")) == 43),
            ("scope", "launch" in q.get("scope", "").split())) if not ok]
        if problems:
            return back(error="invalid_request", error_description="bad " + ", ".join(problems))
        code = secrets.token_urlsafe(24)
        server.codes[code] = {"challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"],
                              "patient": server.launches[q["launch"]], "scope": q["scope"], "used": False}
        return back(code=code)

    @app.post("/auth/token", response_model=None)
    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}  # x-www-form-urlencoded
        grant = server.codes.get(str(form.get("code", "")))
        if form.get("grant_type") != "authorization_code" or grant is None or grant["used"]:
            return _oauth_error("invalid_grant", "unknown or used code")
        grant["used"] = True
        client_id = form.get("client_id")
        if server.client_secret is not None:
            scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
            pair = base64.b64decode(encoded).decode() if scheme == "Basic" else ""
            user, _, secret = pair.partition(":")
            if unquote_plus(secret) != server.client_secret:
                return _oauth_error("invalid_client", "client authentication failed")
            client_id = unquote_plus(user)
        if client_id != server.client_id or form.get("redirect_uri") != grant["redirect_uri"]:
            return _oauth_error("invalid_client", "client or redirect_uri mismatch")
        if _challenge(str(form.get("code_verifier", ""))) != grant["challenge"]:
            return _oauth_error("invalid_grant", "PKCE verification failed")
        body: dict[str, Any] = {"access_token": server.access_token, "token_type": "Bearer", "expires_in": 3600,
                                "scope": grant["scope"], "patient": grant["patient"],
                                "need_patient_banner": server.need_patient_banner}
        if server.app_context is not None:
            body["appContext"] = server.app_context
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    app.mount("/fhir", fhir_app(server.fhir))
    return app
