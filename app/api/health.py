"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from app.api.deps import runtime
from app.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(rt: Annotated[Runtime, Depends(runtime)]) -> JSONResponse:
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
    status = 200 if ready else 503
    return JSONResponse({"ready": ready, "checks": checks}, status_code=status)
