"""One ASGI middleware around every request: request id, body size limit, security headers, latency metrics and
the access log line.  Pure ASGI, so server-sent events stream through untouched."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from app.observability.logs import REQUEST_ID
from app.observability.metrics import Metrics

Scope = dict[str, Any]
Message = dict[str, Any]
log = logging.getLogger("medevidence.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
    b"cross-origin-resource-policy": b"same-origin",
}


def _too_large(limit: int) -> bytes:
    return json.dumps({"error": {"code": "too_large", "message": f"the request body exceeds {limit} bytes",
                                 "field": "body"}}).encode()


UPLOAD_PATH = "/v1/documents"  # POST multipart/form-data: a document file (app/api/documents.py)
UPLOAD_OVERHEAD = 64 * 1024  # the multipart envelope around the file


class ServingMiddleware:
    def __init__(self, app: Any, metrics: Metrics, max_body_bytes: int, hsts: bool, max_upload_bytes: int = 0) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes
        self.max_upload = max(max_upload_bytes + UPLOAD_OVERHEAD, max_body_bytes)
        self.headers = dict(SECURITY_HEADERS)
        if hsts:
            self.headers[b"strict-transport-security"] = b"max-age=31536000; includeSubDomains"

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        state = {"status": 500, "started": False, "bytes": 0, "rejected": False}
        upload = (scope["method"] == "POST" and scope["path"].rstrip("/") == UPLOAD_PATH
                  and headers.get(b"content-type", b"").startswith(b"multipart/form-data"))
        limit = self.max_upload if upload else self.max_body  # a file upload has its own limit (file_max_bytes)

        async def send_wrapped(message: Message) -> None:
            if state["rejected"]:
                return  # the 413 is already out; whatever the app makes of the cut body is dropped
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers.items() if k not in present]
                if scope["path"].startswith(("/v1/", "/emr/api/", "/cds-services")) and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode()), *extra]
            await send(message)

        async def receive_limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["bytes"] += len(message.get("body", b""))
                if state["bytes"] > limit and not state["started"]:
                    await self._reject(send_wrapped, limit)
                    state["rejected"] = True
                    return {"type": "http.disconnect"}  # the app stops reading; nothing of the body is used
            return message

        try:
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > limit:
                await self._reject(send_wrapped, limit)
            else:
                try:
                    await self.app(scope, receive_limited, send_wrapped)
                except Exception:
                    if not state["rejected"]:
                        raise
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(state["status"])).observe(elapsed)
            client = scope.get("client")
            log.info("%s %s %s", scope["method"], scope["path"], state["status"], extra={
                "method": scope["method"], "path": scope["path"], "route": route, "status": state["status"],
                "duration_ms": round(elapsed * 1000, 1), "client": client[0] if client else None})
            REQUEST_ID.reset(token)

    async def _reject(self, send: Any, limit: int) -> None:
        body = _too_large(limit)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
