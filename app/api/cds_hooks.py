"""CDS Hooks 2.0: ``GET /cds-services`` (discovery), ``POST /cds-services/{id}``, ``POST /cds-services/{id}/feedback``.

Discovery is public (the spec's); calls and feedback need the CDS client's signed JWT (``app.emr.client_jwt``),
except in dev mode.  A bad request is a 400 naming the field; an untrusted caller a 401.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from app.api.errors import ApiError
from app.emr.cds_request import CdsRequestError
from app.emr.cds_service import CdsHooksService, PrefetchUnavailable, UnknownService
from app.emr.client_jwt import CdsAuthError
from app.emr.fhir_medications import FhirInputError

router = APIRouter(tags=["cds-hooks"])


def public_base(request: Request) -> str:
    configured = request.app.state.settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")


def _service(request: Request) -> CdsHooksService:
    return request.app.state.cds


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > request.app.state.settings.max_request_bytes:
        raise ApiError(413, "too_large", "the request body is too large", "body")
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "invalid_json", "the request body is not JSON", "body") from None


def _client(request: Request, audiences: list[str]) -> str:
    if request.app.state.settings.dev_mode:
        return "dev-mode"
    try:
        return request.app.state.cds_verifier.verify(request.headers.get("authorization"), audiences)
    except CdsAuthError as exc:
        raise ApiError(401, "unauthorized", str(exc), "Authorization") from None


@router.get("/cds-services")
def discovery() -> dict[str, Any]:
    """The services this CDS service offers, with their hooks and prefetch templates."""
    return CdsHooksService.discovery()


@router.post("/cds-services/{service_id}")
async def call_service(service_id: str, request: Request) -> dict[str, Any]:
    """Cards for one hook call (the CDS Hooks request body: hook, hookInstance, context, prefetch…)."""
    base = public_base(request)
    url = f"{base}/cds-services/{service_id}"
    client = await run_in_threadpool(_client, request, [url])
    body = await _body(request)
    service = _service(request)
    try:
        return await run_in_threadpool(service.call, service_id, body, client, f"{base}/emr/launch")
    except UnknownService:
        raise ApiError(404, "unknown_service", f"no CDS service {service_id!r}", "id") from None
    except (CdsRequestError, FhirInputError) as exc:
        raise ApiError(400, "invalid_request", exc.message, exc.field) from None
    except PrefetchUnavailable as exc:
        raise ApiError(412, "prefetch_unavailable", str(exc), "prefetch") from None


@router.post("/cds-services/{service_id}/feedback")
async def feedback(service_id: str, request: Request) -> dict[str, Any]:
    """Records whether the clinician accepted or overrode each card (and why) in the audit store."""
    url = f"{public_base(request)}/cds-services/{service_id}"
    client = await run_in_threadpool(_client, request, [url, f"{url}/feedback"])
    body = await _body(request)
    try:
        recorded = await run_in_threadpool(_service(request).feedback, service_id, body, client)
    except UnknownService:
        raise ApiError(404, "unknown_service", f"no CDS service {service_id!r}", "id") from None
    except CdsRequestError as exc:
        raise ApiError(400, "invalid_request", exc.message, exc.field) from None
    return {"recorded": recorded}
