"""One error shape for every failure: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import logging
import re
import sys

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from neo4j.exceptions import DatabaseUnavailable, DriverError, ServiceUnavailable, SessionExpired
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import ServiceError
from app.stores.graph import GraphStoreError

log = logging.getLogger("medevidence")
#: What both vector stores raise once closed (``_check_open`` in app/stores/vectors_edge.py and vectors_client.py).
_VECTOR_STORE_CLOSED = re.compile(r"^vector store .+ is closed$")


class ApiError(ServiceError):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, code, message, field)
        self.headers = headers


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": field}}


def unavailable_store(exc: BaseException) -> str | None:
    """The store a failure says is out of reach ("graph" or "vectors"), or None for any other error."""
    if isinstance(exc, GraphStoreError | ServiceUnavailable | SessionExpired | DatabaseUnavailable) \
            or type(exc) is DriverError:  # a bare DriverError is the driver's "Driver closed"
        return "graph"
    if isinstance(exc, RuntimeError) and _VECTOR_STORE_CLOSED.match(str(exc)):
        return "vectors"
    qdrant = sys.modules.get("qdrant_client.http.exceptions")  # loaded with a Qdrant server's store only
    if qdrant is not None and (isinstance(exc, qdrant.ResponseHandlingException)  # unreachable, timed out
                               or (isinstance(exc, qdrant.UnexpectedResponse) and exc.status_code >= 500)):
        return "vectors"
    return None


def install_error_handlers(app: FastAPI) -> None:
    async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
        store = unavailable_store(exc)
        if store is None:
            raise exc  # not a store outage: the server error it always was
        log.warning("the %s store is unavailable: %s: %s", store, type(exc).__name__, exc)
        return JSONResponse(error_body("store_unavailable", f"the {store} store is unavailable; retry later"),
                            status_code=503, headers={"Retry-After": "5"})

    failures: list[type[Exception]] = [DriverError, DatabaseUnavailable, RuntimeError]  # GraphStoreError included
    settings = getattr(app.state, "settings", None)
    if settings is not None and settings.qdrant_url:
        from qdrant_client.http.exceptions import ApiException

        failures.append(ApiException)
    for failure in failures:
        app.add_exception_handler(failure, _store_unavailable)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {**({"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}), **(exc.headers or {})}
        return JSONResponse(error_body(exc.code, exc.message, exc.field), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ())]
        if first.get("type") == "json_invalid":  # its loc holds a character offset, not a field
            loc = ["body"]
        elif loc and loc[0] in ("body", "query", "path", "header"):  # where it was, not what it was
            loc = loc[1:]
        return JSONResponse(
            error_body("invalid_request", str(first.get("msg")), ".".join(loc) or None), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
        field = "body" if exc.status_code == 400 else None  # a body that could not be parsed at all
        return JSONResponse(error_body(code, str(exc.detail), field), status_code=exc.status_code)
