"""OIDC bearer tokens (the hospital's identity provider) as an alternative to API keys.

A JWT is accepted when signed by a key of the configured JWKS (asymmetric algorithms only), issued by
``oidc_issuer`` for ``oidc_audience``, and unexpired; its role comes from the ``oidc_roles_claim`` list:
``oidc_admin_role`` → admin, ``oidc_reviewer_role`` → reviewer, ``oidc_reader_role`` → reader (the highest one
granted counts), none → refused (403).
"""

from __future__ import annotations

from typing import Any

import jwt

from app.auth import ROLES, ApiKey

ALGORITHMS = [  # asymmetric only: never "none" or a shared secret (HS*); also for CDS client JWTs
   "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]


class OidcError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class OidcVerifier:
    def __init__(self, issuer: str, jwks_url: str, audience: str, roles_claim: str, admin_role: str,
                 reader_role: str, timeout_s: float, reviewer_role: str = "medevidence-reviewer") -> None:
        self.issuer = issuer
        self.audience = audience
        self.roles_claim = roles_claim
        self.roles = {admin_role: "admin", reviewer_role: "reviewer", reader_role: "reader"}
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=int(max(1, timeout_s)))

    def verify(self, token: str) -> ApiKey:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key
            claims: dict[str, Any] = jwt.decode(token, key, algorithms=ALGORITHMS, audience=self.audience,
                                                issuer=self.issuer, leeway=30,
                                                options={"require": ["iss", "aud", "exp", "sub"]})
        except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
            raise OidcError(401, f"bearer token rejected: {exc}") from exc
        value = claims.get(self.roles_claim) or []
        granted = {self.roles[r] for r in (value if isinstance(value, list) else [value]) if r in self.roles}
        if not granted:
            raise OidcError(403, f"the token's {self.roles_claim!r} claim grants no MedEvidence role")
        role = max(granted, key=ROLES.index)
        subject = str(claims["sub"])
        return ApiKey(key_id=f"oidc:{subject}", name=str(claims.get("preferred_username") or subject), role=role)
