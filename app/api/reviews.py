"""Clinician review of answers (reviewer role): verdicts, corrected texts, the flagged-answer list, resolution.

* ``POST /v1/answers/{answer_id}/reviews`` — a reviewer marks any stored answer ``correct``, ``incorrect`` or
  ``unsafe`` with a reason, optionally with a corrected text that cites the answer's evidence ([n]) under the
  answer rules (``app/answer/corrections.py``).  A reviewer who did not ask the answer reads it for the review:
  audited (``trace_reads``, action ``review``).
* ``POST /v1/reviews/{review_id}/revisions`` — its author's new revision (history kept); anyone else: 403.
* ``POST /v1/reviews/{review_id}/resolve`` — any reviewer closes an open flag (``confirmed`` or ``dismissed``).
* ``GET /v1/reviews`` — the reviewers' work list (``status``, ``verdict``, ``reviewer``, paging), each review with
  the answer and evidence it judged; ``GET /v1/reviews/{review_id}``.
* ``GET /v1/answers/{answer_id}/reviews`` — the reviews of one answer: for reviewers, and read-only for the caller
  that asked it (who never writes one: a reader key is refused every review route).
* ``GET /v1/me`` — who the credential is and what it may do (the pages show review controls by it).

Reviews live in ``app/stores/reviews.py``; an answer whose cited evidence carries an unsafe flag shows the note
(``review_notes`` of the answer object, ``Asker.review_notes``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from app.answer.ask import Asker
from app.answer.corrections import MAX_CORRECTION_CHARS, CorrectionError, check_correction
from app.api.deps import require
from app.api.errors import ApiError
from app.auth import holds
from app.stores.audit import AuditStore
from app.stores.reviews import ReviewError, ReviewStore, answer_snapshot

MAX_REASON_CHARS = 4000
router = APIRouter(prefix="/v1", tags=["reviews"])
_reader = [Depends(require("reader"))]
_reviewer = [Depends(require("reviewer"))]


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    verdict: Literal["correct", "incorrect", "unsafe"] = Field(description="The reviewer's judgement of the answer.")
    reason: str = Field(default="", max_length=MAX_REASON_CHARS,
                        description="Why (required for incorrect and unsafe): shown as the note on later answers.")
    corrected_text: str | None = Field(
        default=None, max_length=MAX_CORRECTION_CHARS,
        description="What the answer should have said: every sentence cites the answer's evidence as [n] and is "
                    "verified like an answer's.")


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    note: str = Field(min_length=1, max_length=MAX_REASON_CHARS, description="What was done about the flag.")
    outcome: Literal["confirmed", "dismissed"] = Field(
        default="confirmed", description="confirmed: the flag stands (later answers on its evidence keep showing an "
                                         "unsafe note); dismissed: the answer was fine after all.")


def reviews_store(request: Request) -> ReviewStore:
    return request.app.state.reviews


def _who(request: Request) -> tuple[str, str]:
    caller = str(getattr(request.state, "caller", None))
    return caller, str(getattr(request.state, "caller_name", None) or caller)


def _refused(exc: ReviewError) -> ApiError:
    code = {403: "forbidden", 404: "not_found", 409: "conflict"}.get(exc.status, "invalid_request")
    return ApiError(exc.status if exc.status != 400 else 422, code, exc.message, exc.field)


def _checked(body: ReviewBody, trace: dict[str, Any], engine: Asker) -> dict[str, Any] | None:
    """The corrected text with its verified citations (None without one); 422 naming ``corrected_text``."""
    if body.verdict != "correct" and not body.reason.strip():
        raise ApiError(422, "invalid_request", f"an {body.verdict} verdict needs a reason", "reason")
    if body.corrected_text is None or not body.corrected_text.strip():
        return None
    evidence = trace.get("evidence") or []
    versions = engine.searcher.current_versions([e["doc_id"] for e in evidence])
    try:
        return check_correction(body.corrected_text, evidence, engine.verifier, versions)
    except CorrectionError as exc:
        raise ApiError(422, "invalid_request", str(exc), "corrected_text") from None


def create_review(request: Request, answer_id: str, body: ReviewBody, reviewer: str, reviewer_name: str,
                  audit_read: bool = True) -> dict[str, Any]:
    """A new review of a stored answer by ``reviewer`` (the API's and the EMR panel's route)."""
    engine: Asker = request.app.state.asker
    store = reviews_store(request)
    trace = engine.traces.get(answer_id)
    if trace is None:
        raise ApiError(404, "not_found", f"no answer {answer_id!r}", "answer_id")
    mine = store.find(reviewer, answer_id)
    if mine is not None:
        raise ApiError(409, "conflict", f"you have already reviewed this answer (review {mine}); revise that "
                       f"review with POST /v1/reviews/{mine}/revisions", "answer_id")
    corrected = _checked(body, trace, engine)
    if audit_read and trace.get("caller") != reviewer:
        audit: AuditStore = request.app.state.audit
        audit.record_trace_read(reviewer, trace.get("caller"), answer_id, "review")
    try:
        return store.create(answer_snapshot(trace), reviewer, reviewer_name, body.verdict, body.reason, corrected)
    except ReviewError as exc:
        raise _refused(exc) from None


@router.get("/me", dependencies=_reader)
def me(request: Request) -> dict[str, Any]:
    """The caller: id, name, role, and whether it may review answers."""
    caller, name = _who(request)
    role = getattr(request.state, "role", None)
    return {"caller": caller, "name": name, "role": role, "can_review": holds(role, "reviewer"),
            "dev_mode": bool(request.app.state.settings.dev_mode)}


@router.post("/answers/{answer_id}/reviews", status_code=201, dependencies=_reviewer)
def review_answer(answer_id: str, body: ReviewBody, request: Request) -> dict[str, Any]:
    """Mark an answer correct, incorrect or unsafe, with a reason and optionally a cited corrected text."""
    caller, name = _who(request)
    return create_review(request, answer_id, body, caller, name)


@router.get("/answers/{answer_id}/reviews", dependencies=_reader)
def reviews_of_answer(answer_id: str, request: Request) -> dict[str, Any]:
    """The reviews of an answer, each with its history: reviewers, and the caller that asked it (read-only)."""
    engine: Asker = request.app.state.asker
    caller, _ = _who(request)
    exists, owner = engine.traces.owner_of(answer_id)
    if not holds(getattr(request.state, "role", None), "reviewer"):
        if not exists or owner != caller:  # another's answer: as if it did not exist
            raise ApiError(404, "not_found", f"no answer {answer_id!r}", "answer_id")
        return {"answer_id": answer_id, "reviews": reviews_store(request).of_answer(answer_id)}
    found = reviews_store(request).of_answer(answer_id)
    if not exists and not found:
        raise ApiError(404, "not_found", f"no answer {answer_id!r}", "answer_id")
    asker = owner if exists else found[0]["answer"].get("asker")  # the trace may be gone (retention)
    if asker != caller:
        request.app.state.audit.record_trace_read(caller, asker, answer_id, "review_read")
    return {"answer_id": answer_id, "reviews": found}


@router.get("/reviews", dependencies=_reviewer)
def list_reviews(
    request: Request,
    status: Annotated[Literal["open", "resolved"] | None, Query(description="open flags or resolved ones")] = None,
    verdict: Annotated[Literal["correct", "incorrect", "unsafe"] | None, Query()] = None,
    reviewer: Annotated[str | None, Query(max_length=200, description="a reviewer's caller id")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Reviews, newest change first, each with the answer and evidence it judged (reads audited)."""
    found, total = reviews_store(request).listing(status, verdict, reviewer, limit, offset)
    caller, _ = _who(request)
    reads = list({(r["answer"].get("asker"), r["answer_id"]) for r in found if r["answer"].get("asker") != caller})
    request.app.state.audit.record_trace_reads(caller, reads, "review_list")
    return {"reviews": found, "total": total, "limit": limit, "offset": offset,
            "filters": {"status": status, "verdict": verdict, "reviewer": reviewer}}


def _review(request: Request, review_id: str) -> dict[str, Any]:
    found = reviews_store(request).get(review_id)
    if found is None:
        raise ApiError(404, "not_found", f"no review {review_id!r}", "review_id")
    return found


@router.get("/reviews/{review_id}", dependencies=_reader)
def get_review(review_id: str, request: Request) -> dict[str, Any]:
    """One review with its history: reviewers, and the caller that asked the answer (read-only)."""
    caller, _ = _who(request)
    found = _review(request, review_id)
    asker = found["answer"].get("asker")
    if not holds(getattr(request.state, "role", None), "reviewer"):
        if asker is None or asker != caller:
            raise ApiError(404, "not_found", f"no review {review_id!r}", "review_id")
    elif asker != caller:
        request.app.state.audit.record_trace_read(caller, asker, found["answer_id"], "review_read")
    return found


@router.post("/reviews/{review_id}/revisions", dependencies=_reviewer)
def revise_review(review_id: str, body: ReviewBody, request: Request) -> dict[str, Any]:
    """A new revision of one's own review (verdict, reason, corrected text); the earlier ones stay in its history."""
    caller, name = _who(request)
    return revise_as(request, review_id, body, caller, name)


def revise_as(request: Request, review_id: str, body: ReviewBody, caller: str, name: str) -> dict[str, Any]:
    """``caller``'s revision of review ``review_id`` (the API's and the EMR panel's route); 403 for another's."""
    current = _review(request, review_id)
    if current["reviewer"] != caller:
        raise ApiError(403, "forbidden", f"review {review_id} is {current['reviewer_name']}'s: only its author "
                       "revises it; add your own review of the answer instead", "review_id")
    engine: Asker = request.app.state.asker
    trace = engine.traces.get(current["answer_id"]) or current["answer"]  # the snapshot keeps the evidence
    corrected = _checked(body, trace, engine)
    try:
        return reviews_store(request).revise(review_id, caller, name, body.verdict, body.reason, corrected)
    except ReviewError as exc:
        raise _refused(exc) from None


@router.post("/reviews/{review_id}/resolve", dependencies=_reviewer)
def resolve_review(review_id: str, body: ResolveBody, request: Request) -> dict[str, Any]:
    """Close an open flag with a note: ``confirmed`` (it stands) or ``dismissed``."""
    caller, name = _who(request)
    try:
        return reviews_store(request).resolve(review_id, caller, name, body.note, body.outcome)
    except ReviewError as exc:
        raise _refused(exc) from None
