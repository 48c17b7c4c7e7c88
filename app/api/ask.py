"""``POST /v1/ask`` (JSON or SSE) and ``GET /v1/answers/{answer_id}`` (reader role).

An answer and its conversation belong to the caller that asked (API key id or ``oidc:<subject>``): another reader
gets 404 for its trace, its replay and its conversation id, exactly as for an id that does not exist.  An admin
or a reviewer (who reviews every answer: ``app/api/reviews.py``) reads every trace; each such read or replay of
another caller's trace is recorded in the audit store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from app.answer.ask import Asker, AskRequest
from app.api.deps import require
from app.api.errors import ApiError
from app.auth import holds
from app.requests import AskBody
from app.retrieval.search import SearchRequestError
from app.stores.audit import AuditStore

router = APIRouter(prefix="/v1", tags=["answers"], dependencies=[Depends(require("reader"))])


def asker(request: Request) -> Asker:
    return request.app.state.asker


def _sse(events: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[str]:
    try:
        for name, data in events:
            yield f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
    except Exception as exc:  # noqa: BLE001 - the stream is open: report the failure as an event
        body = {"error": {"code": "answer_failed", "message": f"{type(exc).__name__}: {exc}", "field": None}}
        yield f"event: error\ndata: {json.dumps(body)}\n\n"


@router.post("/ask", response_model=None)
def ask(
    body: AskBody, request: Request, engine: Annotated[Asker, Depends(asker)]
) -> dict[str, Any] | StreamingResponse:
    """A grounded answer: every claim cites verbatim spans of the evidence, or an honest abstention."""
    try:
        question, filters = body.checked()
    except SearchRequestError as exc:
        raise ApiError(422, "invalid_request", exc.message, exc.field) from None
    caller = getattr(request.state, "caller", None)
    if body.conversation_id and not engine.may_continue(body.conversation_id, caller):
        raise ApiError(404, "not_found", f"no conversation {body.conversation_id!r}", "conversation_id")
    ask_request = AskRequest(question, body.k, filters, body.conversation_id, body.include_reasoning, caller=caller)
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(_sse(engine.stream(ask_request)), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return engine.ask(ask_request)


def _readable(request: Request, engine: Asker, answer_id: str, action: str) -> None:
    """404 unless the caller owns the answer or is a reviewer or an admin; their read of another's answer is
    audited."""
    exists, owner = engine.traces.owner_of(answer_id)
    caller = getattr(request.state, "caller", None)
    if not exists or (owner != caller and not holds(getattr(request.state, "role", None), "reviewer")):
        raise ApiError(404, "not_found", f"no answer {answer_id!r}", "answer_id")
    if owner != caller:
        audit: AuditStore = request.app.state.audit
        audit.record_trace_read(str(caller), owner, answer_id, action)


@router.get("/answers/{answer_id}")
def get_answer(answer_id: str, request: Request, engine: Annotated[Asker, Depends(asker)]) -> dict[str, Any]:
    """The full trace of an answer: inputs, settings, candidates with channel scores, prompt, raw output."""
    _readable(request, engine, answer_id, "read")
    trace = engine.traces.get(answer_id)
    if trace is None:  # removed (retention) in between
        raise ApiError(404, "not_found", f"no answer {answer_id!r}", "answer_id")
    return trace


@router.post("/answers/{answer_id}/replay")
def replay_answer(answer_id: str, request: Request, engine: Annotated[Asker, Depends(asker)]) -> dict[str, Any]:
    """Re-verify a stored answer from its trace against today's documents (``same_answer``: still holds)."""
    _readable(request, engine, answer_id, "replay")
    replayed = engine.replay(answer_id)
    if replayed is None:
        raise ApiError(404, "not_found", f"no answer {answer_id!r}", "answer_id")
    return replayed
