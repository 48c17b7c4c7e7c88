"""A CDS Hooks 2.0 request, checked field by field (a bad field is a 400 naming it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.errors import FieldError

MAX_ID_CHARS = 200


class CdsRequestError(FieldError):
    """A CDS Hooks request field that is missing or malformed."""


@dataclass(frozen=True)
class CdsRequest:
    hook: str
    hook_instance: str
    fhir_server: str | None
    access_token: str | None
    context: dict[str, Any]
    prefetch: dict[str, Any]  # key -> resource (a key the client did not send is absent; null stays None)

    @property
    def patient_id(self) -> str:
        return str(self.context["patientId"])

    @property
    def user_id(self) -> str | None:
        value = self.context.get("userId")
        return value if isinstance(value, str) else None


def _string(value: Any, field: str, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS:
        raise CdsRequestError(field, f"must be a non-empty string of at most {MAX_ID_CHARS} characters")
    return value


def parse_request(body: Any, hooks: tuple[str, ...]) -> CdsRequest:
    if not isinstance(body, dict):
        raise CdsRequestError("body", "must be a JSON object")
    hook = _string(body.get("hook"), "hook")
    if hook not in hooks:
        raise CdsRequestError("hook", f"this service answers {' and '.join(hooks)}, not {hook!r}")
    hook_instance = str(_string(body.get("hookInstance"), "hookInstance"))
    fhir_server = _string(body.get("fhirServer"), "fhirServer", required=False)
    if fhir_server is not None and not fhir_server.startswith(("https://", "http://")):
        raise CdsRequestError("fhirServer", "must be an http(s) URL")
    token = None
    auth = body.get("fhirAuthorization")
    if auth is not None:
        if not isinstance(auth, dict):
            raise CdsRequestError("fhirAuthorization", "must be an object")
        token = _string(auth.get("access_token"), "fhirAuthorization.access_token")
        if str(auth.get("token_type", "")).lower() != "bearer":
            raise CdsRequestError("fhirAuthorization.token_type", "must be Bearer")
        if fhir_server is None:
            raise CdsRequestError("fhirServer", "is required with fhirAuthorization")
    context = body.get("context")
    if not isinstance(context, dict):
        raise CdsRequestError("context", "must be an object")
    _string(context.get("patientId"), "context.patientId")
    _string(context.get("userId"), "context.userId", required=False)
    if hook in ("order-sign", "order-select"):
        orders = context.get("draftOrders")
        if not isinstance(orders, dict) or orders.get("resourceType") != "Bundle":
            raise CdsRequestError("context.draftOrders", "must be a FHIR Bundle of the draft orders")
    if hook == "order-select":
        selections = context.get("selections")
        if not isinstance(selections, list) or not selections or not all(isinstance(s, str) for s in selections):
            raise CdsRequestError("context.selections", "must be a non-empty array of order references")
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise CdsRequestError("prefetch", "must be an object")
    return CdsRequest(hook, hook_instance, fhir_server, token, context, dict(prefetch or {}))
