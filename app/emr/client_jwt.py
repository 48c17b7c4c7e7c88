"""Trusting CDS clients: the signed JWT a CDS client (the EHR) sends with every CDS Hooks call.

Accepted only when all hold:

- ``Authorization: Bearer <JWT>`` is present and the JWT's issuer (``iss``) is configured
  (``MEDEVIDENCE_CDS_JWT_ISSUERS``: iss → that client's JWKS URL);
- it is signed with an asymmetric algorithm by a key of that JWKS (by ``kid``; a JWKS with one signing
  key may omit it).  A ``jku`` header is never followed: keys come only from the configured URL;
- ``aud`` is the URL of the service called (or a configured audience); ``iss``, ``exp``, ``iat`` and
  ``jti`` are present (the 2.0 claims; ``sub`` is not one of them) and ``exp`` is in the future;
- its ``jti`` was not seen before from that issuer (replay), remembered until it expires.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt

from app.auth_oidc import ALGORITHMS

LEEWAY_S = 30


class CdsAuthError(Exception):
    """The caller is not a trusted CDS client; the message says why (it names no secret)."""


class CdsClientVerifier:
    def __init__(self, issuers: dict[str, str], audiences: list[str], timeout_s: float) -> None:
        self._issuers = dict(issuers)
        self._audiences = list(audiences)
        self._timeout_s = timeout_s
        self._jwks: dict[str, jwt.PyJWKClient] = {}
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def verify(self, authorization: str | None, service_urls: list[str]) -> str:
        """The verified issuer of the caller's JWT, or ``CdsAuthError``."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise CdsAuthError("send Authorization: Bearer <JWT signed by the CDS client>")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise CdsAuthError(f"the bearer token is not a JWT ({exc})") from exc
        if header.get("alg") not in ALGORITHMS:
            raise CdsAuthError(f"JWT algorithm {header.get('alg')!r} is not accepted (use ES384 or RS384)")
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or issuer not in self._issuers:
            raise CdsAuthError("the JWT issuer (iss) is not a configured CDS client")
        key = self._signing_key(issuer, token, header)
        try:
            verified: dict[str, Any] = jwt.decode(
                token, key, algorithms=ALGORITHMS, audience=[*service_urls, *self._audiences], issuer=issuer,
                leeway=LEEWAY_S, options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except jwt.PyJWTError as exc:
            raise CdsAuthError(f"JWT rejected: {exc}") from exc
        self._remember(issuer, str(verified["jti"]), float(verified["exp"]))
        return issuer

    def _signing_key(self, issuer: str, token: str, header: dict[str, Any]) -> Any:
        with self._lock:
            client = self._jwks.get(issuer)
            if client is None:
                client = jwt.PyJWKClient(self._issuers[issuer], cache_keys=True, lifespan=300,
                                         timeout=int(max(1, self._timeout_s)))
                self._jwks[issuer] = client
        try:
            if header.get("kid"):
                return client.get_signing_key(header["kid"]).key
            keys = client.get_signing_keys()
            if len(keys) != 1:
                raise CdsAuthError("the JWT has no kid and the client's JWKS has more than one signing key")
            return keys[0].key
        except jwt.PyJWKClientError as exc:
            raise CdsAuthError(f"no usable key in the CDS client's JWKS ({exc})") from exc

    def _remember(self, issuer: str, jti: str, exp: float) -> None:
        now = time.time()
        with self._lock:
            for seen, until in list(self._seen.items()):
                if until + LEEWAY_S < now:
                    del self._seen[seen]
            if (issuer, jti) in self._seen:
                raise CdsAuthError("JWT rejected: this jti was already used (replay)")
            self._seen[(issuer, jti)] = exp
