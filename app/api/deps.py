"""Request dependencies: the runtime and the caller's role (API key or OIDC token), rate-limited per caller."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from fastapi import Request

from app.api.errors import ApiError
from app.api.ratelimit import RateLimiter
from app.auth import KEY_PREFIX, ApiKey, KeyStore, holds
from app.auth_oidc import OidcError, OidcVerifier
from app.runtime import Runtime

DEV_KEY = ApiKey(key_id="dev", name="dev-mode", role="admin")


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _authenticate(request: Request) -> ApiKey:
    if request.app.state.settings.dev_mode:
        return DEV_KEY
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <API key or OIDC token>", "Authorization")
    oidc: OidcVerifier | None = request.app.state.oidc
    if not secret.startswith(KEY_PREFIX) and oidc is not None:
        try:
            return oidc.verify(secret)
        except OidcError as exc:
            raise ApiError(exc.status, "unauthorized" if exc.status == 401 else "forbidden", str(exc),
                           "Authorization") from None
    keys: KeyStore = request.app.state.keys
    key = keys.verify(secret)
    if key is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key", "Authorization")
    return key


def rate_limit(request: Request, caller: str, limiter: RateLimiter | None = None) -> None:
    limiter = limiter or request.app.state.rate_limiter
    wait = limiter.acquire(caller)
    if wait is not None:
        request.app.state.metrics.rate_limited.inc()
        raise ApiError(429, "rate_limited", f"too many requests; retry in {wait} s", None,
                       headers={"Retry-After": str(wait)})


def require(role: str) -> Callable[[Request], ApiKey]:
    """A dependency that admits callers holding ``role`` (admin ⊇ reviewer ⊇ reader), within their rate limit."""

    def check(request: Request) -> ApiKey:
        recovery = getattr(request.app.state, "recovery", None)
        if recovery is not None and not recovery.ready:
            raise ApiError(503, "recovering", recovery.reason(), None, headers={"Retry-After": "5"})
        try:
            key = _authenticate(request)
        except ApiError:
            if not request.app.state.settings.dev_mode:  # no key, or a wrong one: limited per client address
                rate_limit(request, f"client:{_client_address(request)}", request.app.state.anonymous_limiter)
            raise
        if not holds(key.role, role):
            raise ApiError(403, "forbidden", f"this needs an {role} key" if role == "admin" else
                           f"this needs a {role} key (or token)", "Authorization")
        if not request.app.state.settings.dev_mode:
            rate_limit(request, f"key:{key.key_id}")
        request.state.caller = key.key_id
        request.state.caller_name = key.name
        request.state.role = key.role
        return key

    return check


def _client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def ops_access(request: Request) -> None:
    """/metrics, /docs and /openapi.json: open, or for the role and the networks the settings name (dev mode:
    open)."""
    settings = request.app.state.settings
    if settings.dev_mode:
        return
    if settings.ops_networks:
        try:
            address = ipaddress.ip_address(_client_address(request))
        except ValueError:
            address = None
        if address is None or not any(address in ipaddress.ip_network(n, strict=False) for n in settings.ops_networks):
            raise ApiError(403, "forbidden", "not served to this network (MEDEVIDENCE_OPS_NETWORKS)", None)
    if settings.ops_access != "open":
        require(settings.ops_access)(request)
