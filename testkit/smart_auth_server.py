"""A small SMART App Launch 2.2 authorization server with its FHIR server, for tests (served on loopback).

``{base}/fhir`` is the FHIR server (``testkit.fhir_server``, requiring the access token this server issues) and
the launch's ``iss``; ``{base}/fhir/.well-known/smart-configuration`` names ``{base}/auth/authorize`` and
``{base}/auth/token``.  The authorize endpoint checks what an EHR checks (client, redirect URI, audience,
launch, state, PKCE S256) and redirects back with a one-time code; the token endpoint checks the
``code_verifier`` against the stored challenge.  Every request is recorded for assertions.

OpenID Connect: with ``user`` set (the logged-in user's claims: ``sub``, ``fhirUser``, names) and ``openid`` in the
granted scope, the token response carries an ``id_token`` signed (RS256, ``kid``) by the server's generated key,
whose public half is served at ``{base}/auth/jwks.json`` (the smart-configuration's ``jwks_uri``; ``issuer`` is
``{base}/auth``).  ``id_token_hook`` lets a test alter the claims or replace the token (a forged one, say);
``rotate_key`` starts signing with a new key the JWK Set serves from then on.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
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
    user: dict[str, Any] | None = None  # the logged-in user's claims; set: an id_token when openid was granted
    # (claims, signer) -> the id_token sent; default: the claims signed by the current key
    id_token_hook: Callable[[dict[str, Any], Callable[[dict[str, Any]], str]], str] | None = None
    publish_issuer: bool = True  # False: the smart-configuration names no issuer (id_tokens then name iss)
    publish_jwks: bool = True  # False: no jwks_uri in the smart-configuration
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    keys: list[tuple[str, Any]] = field(default_factory=list)  # (kid, private key), the newest signing

    @property
    def iss(self) -> str:
        return f"{self.base}/fhir"

    @property
    def oidc_issuer(self) -> str:
        return f"{self.base}/auth" if self.publish_issuer else self.iss

    def rotate_key(self) -> str:
        """A new RSA signing key (its kid returned); the JWK Set serves it beside the earlier ones."""
        kid = f"ehr-{len(self.keys) + 1}"
        self.keys.append((kid, rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        return kid

    def claims(self, **extra: Any) -> dict[str, Any]:
        """The id_token claims this server issues for ``user`` now (valid five minutes), with ``extra``."""
        now = int(time.time())
        return {"iss": self.oidc_issuer, "aud": self.client_id, "iat": now, "exp": now + 300, **(self.user or {}),
                **extra}

    def sign(self, claims: dict[str, Any], alg: str = "RS256") -> str:
        if not self.keys:
            self.rotate_key()
        kid, key = self.keys[-1]
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})

    def jwks(self) -> dict[str, Any]:
        if not self.keys:
            self.rotate_key()
        return {"keys": [{**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid,
                          "use": "sig", "alg": "RS256"} for kid, key in self.keys]}

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
        oidc = {**({"issuer": server.oidc_issuer} if server.publish_issuer else {}),
                **({"jwks_uri": f"{server.base}/auth/jwks.json"} if server.publish_jwks else {})}
        return {**oidc, "authorization_endpoint": f"{server.base}/auth/authorize",
                "token_endpoint": f"{server.base}/auth/token",
                "grant_types_supported": ["authorization_code"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "scopes_supported": ["launch", "openid", "fhirUser", "patient/*.rs"],
                "response_types_supported": ["code"],
                "capabilities": ["launch-ehr", "client-public", "client-confidential-symmetric",
                                 "context-ehr-patient", "permission-v2", "context-banner", "sso-openid-connect"]}

    @app.get("/auth/jwks.json")
    def jwks() -> dict[str, Any]:
        return server.jwks()

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
        if server.user is not None and "openid" in grant["scope"].split():
            claims = server.claims()
            body["id_token"] = (server.id_token_hook(claims, server.sign) if server.id_token_hook
                                else server.sign(claims))
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    app.mount("/fhir", fhir_app(server.fhir))
    return app
