"""A JWK Set served on loopback (a CDS client's or an identity provider's public signing key), for JWT tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from fastapi import FastAPI

from .http_server import serving


@contextmanager
def serving_jwks(public_key: Any, kid: str, alg: str) -> Iterator[str]:
    """Yields the JWKS URL; ``alg`` picks the key family (ES* elliptic curve, RS* RSA)."""
    family = jwt.algorithms.ECAlgorithm if alg.startswith("ES") else jwt.algorithms.RSAAlgorithm
    jwk = family.to_jwk(public_key, as_dict=True)
    app = FastAPI()

    @app.get("/jwks.json")
    def keys() -> dict[str, Any]:
        return {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": alg}]}

    with serving(app) as base:
        yield f"{base}/jwks.json"


def signed_token(key: Any, issuer: str, subject: str, roles: list[str], aud: str = "medevidence",
                 kid: str = "idp-1", **claims: Any) -> str:
    """An RS256 OIDC access token from the test identity provider, valid for five minutes."""
    now = int(time.time())
    payload = {"iss": issuer, "aud": aud, "sub": subject, "iat": now, "exp": now + 300, "roles": roles, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})
