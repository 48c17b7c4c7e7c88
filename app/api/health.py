"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.answer.generator import GeneratorError
from app.api.deps import ops_access, runtime
from app.runtime import Runtime
from app.stores.manifest import VECTORS_INDEX_KEY

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", response_class=Response, dependencies=[Depends(ops_access)])
def metrics(request: Request) -> Response:
    """Prometheus text format: request latency per route, retrieval latency per channel, answers, LLM time and
    tokens, rate-limited requests, index size, embedding-cache hit ratio."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz")
def readyz(request: Request, rt: Annotated[Runtime, Depends(runtime)]) -> JSONResponse:
    """Ready when every store answers and, with an LLM configured, the LLM server lists its model
    (without it answers still come, extractively, marked degraded — but the service is not as configured)."""
    checks: dict[str, object] = {}
    ready = True
    for name, probe in (
        ("manifest", rt.manifest.stats),
        ("vectors", rt.vectors.count),
        ("graph", rt.graph.counts),
    ):
        try:
            checks[name] = {"ok": True, "detail": probe()}
        except Exception as exc:  # a failing store makes the service not ready, with the reason
            ready = False
            checks[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    built_for = rt.manifest.get_meta(VECTORS_INDEX_KEY)
    if built_for not in (None, rt.settings.index_name()):  # the model or chunking changed: reindex first
        ready = False
        checks["index"] = {"ok": False, "detail": f"documents were indexed into {built_for}, the settings name "
                           f"{rt.settings.index_name()}: run `medevidence index` to rebuild"}
    else:
        checks["index"] = {"ok": True, "detail": rt.settings.index_name()}
    recovery = request.app.state.recovery
    checks["recovery"] = {"ok": recovery.ready, "detail": recovery.reason() if recovery.pending else "nothing pending"}
    ready = ready and recovery.ready
    generator = request.app.state.asker.generator
    try:
        reachable = generator.ready()
        detail = {"mode": generator.mode, "model": generator.model_id() if reachable else None}
    except GeneratorError as exc:
        reachable, detail = False, {"mode": generator.mode, "error": str(exc)}
    if not reachable:
        detail["fallback"] = "extractive answers (degraded)"
    checks["model"] = {"ok": reachable, "detail": detail}
    ready = ready and reachable
    status = 200 if ready else 503
    return JSONResponse({"ready": ready, "checks": checks}, status_code=status)


@router.get("/openapi.json", include_in_schema=False, dependencies=[Depends(ops_access)])
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False, dependencies=[Depends(ops_access)])
def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="MedEvidence API")
