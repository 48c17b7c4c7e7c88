"""A small FHIR R4 server for tests (served on loopback with ``testkit.http_server.serving``).

It holds resources in memory and answers what the EMR integration reads: instance reads, and
``MedicationRequest`` / ``MedicationStatement`` searches by patient and status with
``_include=…:medication``, paged through ``next`` links.  With a ``token`` it refuses any request that
does not carry ``Authorization: Bearer <token>``.  Every request is recorded for assertions.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

FHIR_JSON = "application/fhir+json"


class FhirData:
    def __init__(self, resources: list[dict[str, Any]], token: str | None = None, page_size: int = 50) -> None:
        self.resources = {f"{r['resourceType']}/{r['id']}": r for r in resources}
        self.token = token
        self.page_size = page_size
        self.requests: list[dict[str, Any]] = []


def _bundle(base: str, matches: list[dict[str, Any]], included: list[dict[str, Any]], url: str,
            page: int, size: int) -> dict[str, Any]:
    chunk = matches[page * size:(page + 1) * size]
    entries = [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
               for r in chunk]
    refs = {r.get("medicationReference", {}).get("reference") for r in chunk}
    entries += [{"fullUrl": f"{base}/Medication/{m['id']}", "resource": m, "search": {"mode": "include"}}
                for m in included if f"Medication/{m['id']}" in refs]
    links = [{"relation": "self", "url": url}]
    if (page + 1) * size < len(matches):
        sep = "&" if "?" in url else "?"
        links.append({"relation": "next", "url": f"{url.split('&_page=')[0]}{sep}_page={page + 1}"})
    return {"resourceType": "Bundle", "type": "searchset", "total": len(matches), "link": links, "entry": entries}


def fhir_app(data: FhirData) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def authorize(request: Request, call_next: Any) -> Any:
        data.requests.append({"path": request.url.path, "query": str(request.url.query),
                              "authorization": request.headers.get("authorization")})
        if data.token and request.headers.get("authorization") != f"Bearer {data.token}":
            return JSONResponse({"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "login", "diagnostics": "bearer token required"}]}, status_code=401)
        return await call_next(request)

    @app.get("/{kind}/{resource_id}")
    def read(kind: str, resource_id: str) -> JSONResponse:
        resource = data.resources.get(f"{kind}/{resource_id}")
        if resource is None:
            return JSONResponse({"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "not-found"}]}, status_code=404, media_type=FHIR_JSON)
        return JSONResponse(resource, media_type=FHIR_JSON)

    @app.get("/{kind}")
    def search(kind: str, request: Request) -> JSONResponse:
        params = request.query_params
        patient = params.get("patient", "").removeprefix("Patient/")
        statuses = set(params.get("status", "").split(",")) - {""}
        matches = [r for r in data.resources.values() if r["resourceType"] == kind
                   and (not patient or r.get("subject", {}).get("reference") == f"Patient/{patient}")
                   and (not statuses or r.get("status") in statuses)]
        included = [r for r in data.resources.values() if r["resourceType"] == "Medication"] \
            if params.get("_include", "").endswith(":medication") else []
        base = str(request.base_url).rstrip("/")
        return JSONResponse(_bundle(base, matches, included, str(request.url), int(params.get("_page", 0)),
                                    data.page_size), media_type=FHIR_JSON)

    return app
