"""Request dependencies: the runtime and the caller's role."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from app.api.errors import ApiError
from app.auth import ApiKey, KeyStore
from app.runtime import Runtime

DEV_KEY = ApiKey(key_id="dev", name="dev-mode", role="admin")


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def require(role: str) -> Callable[[Request], ApiKey]:
    """A dependency that admits callers holding ``role`` (admin holds every role)."""

    def check(request: Request) -> ApiKey:
        if request.app.state.settings.dev_mode:
            return DEV_KEY
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret:
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <API key>", "Authorization")
        keys: KeyStore = request.app.state.keys
        key = keys.verify(secret.strip())
        if key is None:
            raise ApiError(401, "unauthorized", "unknown or revoked API key", "Authorization")
        if role == "admin" and key.role != "admin":
            raise ApiError(403, "forbidden", "this needs an admin key", "Authorization")
        return key

    return check
