"""The EMR side panel: SMART App Launch (``/emr/launch``, ``/emr/callback``), the page, its demo and its API.

The API under ``/emr/api`` is authorised by a panel session (header ``X-MedEvidence-Panel``), not by an
API key: the EHR's launch is the clinician's authorisation.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.errors import ApiError
from app.api.reviews import ReviewBody, create_review, reviews_store, revise_as
from app.emr.panel_service import MAX_QUESTION_CHARS, EmrPanel, PanelError
from app.emr.panel_sessions import HEADER, PanelSession
from app.emr.smart_launch import SmartLaunchError, normalize_issuer

ASSETS = Path(__file__).resolve().parent.parent / "emr" / "panel"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
router = APIRouter(prefix="/emr")


class PanelAskBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "5" is no k, true is no 1

    question: str = Field(description="The clinical question; the patient's medications are added as context.",
                          min_length=1, max_length=MAX_QUESTION_CHARS)


def emr_panel(request: Request) -> EmrPanel:
    return request.app.state.emr_panel


def panel_session(request: Request,
                  x_medevidence_panel: Annotated[str | None, Header(include_in_schema=False)] = None) -> PanelSession:
    try:
        return emr_panel(request).session(x_medevidence_panel)
    except PanelError as exc:
        raise ApiError(exc.status, exc.code, exc.message, exc.field) from None


def csp(panel: EmrPanel) -> str:
    """The clinician page's policy; the panel may also be framed by the EHRs allowed to launch it."""
    origins = sorted({f"{p.scheme}://{p.netloc}" for p in map(urlsplit, map(normalize_issuer,
                                                                          panel.settings.smart_issuers))
                      if p.scheme in ("http", "https") and p.netloc})
    ancestors = " ".join(["'self'", *origins])
    return ("default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
            f"frame-ancestors {ancestors}")


def _failure(request: Request, exc: SmartLaunchError | PanelError, title: str) -> Response:
    """A failed launch, as a page for a browser (it arrived by navigation) or as the JSON error shape."""
    if "text/html" not in request.headers.get("accept", ""):
        raise ApiError(exc.status, exc.code, exc.message, exc.field)
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            '<link rel="stylesheet" href="/emr/assets/panel.css"></head><body><main class="failure">'
            f'<h1>{html.escape(title)}</h1><p role="alert">{html.escape(exc.message)}</p>'
            f'<p class="meta">Error code: {html.escape(exc.code)}</p></main></body></html>')
    return HTMLResponse(body, status_code=exc.status,
                        headers={**NO_STORE, "Content-Security-Policy": csp(emr_panel(request))})


@router.get("/launch", include_in_schema=False, response_model=None)
def launch(request: Request, iss: str | None = None, launch: str | None = None) -> Response:
    """SMART EHR launch: to the EHR's authorization endpoint (PKCE S256, state)."""
    try:
        url = emr_panel(request).launcher.begin(iss, launch, str(request.base_url))
    except SmartLaunchError as exc:
        return _failure(request, exc, "The MedEvidence panel could not be launched")
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


@router.get("/callback", include_in_schema=False, response_model=None)
def callback(request: Request, code: str | None = None, state: str | None = None, error: str | None = None,
             error_description: str | None = None) -> Response:
    """The EHR's redirect back: the code traded for a token held here; the page gets an opaque session id."""
    try:
        session = emr_panel(request).callback(code, state, error, error_description)
    except SmartLaunchError as exc:
        return _failure(request, exc, "The EHR did not authorise the MedEvidence panel")
    return RedirectResponse(f"/emr/panel#session={session.id}", status_code=302, headers=NO_STORE)


@router.get("/panel", include_in_schema=False)
def page(request: Request) -> FileResponse:
    return FileResponse(ASSETS / "panel.html", media_type="text/html; charset=utf-8",
                        headers={**NO_STORE, "Content-Security-Policy": csp(emr_panel(request))})


@router.get("/demo", include_in_schema=False)
def demo(panel: Annotated[EmrPanel, Depends(emr_panel)]) -> RedirectResponse:
    """A session on the synthetic demo patient (only with MEDEVIDENCE_EMR_DEMO=1 or in dev mode)."""
    if not panel.demo_enabled:
        raise ApiError(404, "not_found", "the EMR panel demo is off (MEDEVIDENCE_EMR_DEMO=1 turns it on)")
    return RedirectResponse(f"/emr/panel#session={panel.demo_session().id}", status_code=302, headers=NO_STORE)


@router.get("/api/context", tags=["emr"])
def context(panel: Annotated[EmrPanel, Depends(emr_panel)], session: Annotated[PanelSession, Depends(panel_session)],
            response: Response) -> dict[str, Any]:
    """The patient's medications, what each resolved to, cited interaction alerts, what was not checked."""
    response.headers.update(NO_STORE)
    try:
        return panel.service.context(session)
    except PanelError as exc:
        raise ApiError(exc.status, exc.code, exc.message, exc.field) from None


@router.post("/api/ask", tags=["emr"])
def ask(body: PanelAskBody, panel: Annotated[EmrPanel, Depends(emr_panel)],
        session: Annotated[PanelSession, Depends(panel_session)], response: Response) -> dict[str, Any]:
    """A grounded answer (the ``POST /v1/ask`` shape) with the patient's medications as context."""
    response.headers.update(NO_STORE)
    try:
        return panel.service.ask(session, body.question)
    except PanelError as exc:
        raise ApiError(exc.status, exc.code, exc.message, exc.field) from None


@router.post("/api/answers/{answer_id}/reviews", tags=["emr"])
def review(answer_id: str, body: ReviewBody, request: Request, session: Annotated[PanelSession, Depends(panel_session)],
           response: Response) -> dict[str, Any]:
    """The session's reviewer marks an answer asked in this session (``POST /v1/answers/{id}/reviews``' body); a
    second call revises that review.  A session without a reviewer identity (a launch whose verified id_token names
    no fhirUser listed in MEDEVIDENCE_EMR_REVIEWERS, or none at all): 403."""
    response.headers.update(NO_STORE)
    if session.reviewer is None:
        raise ApiError(403, "forbidden", "this panel session's user is not a panel reviewer (the EHR user's fhirUser "
                       "is not in MEDEVIDENCE_EMR_REVIEWERS, or the launch did not say who the user is): review "
                       "answers on the clinician page with a reviewer key", HEADER)
    if answer_id not in session.answer_ids:
        raise ApiError(404, "not_found", f"no answer {answer_id!r} in this panel session", "answer_id")
    caller, name = session.reviewer
    mine = reviews_store(request).find(caller, answer_id)
    if mine is None:
        return create_review(request, answer_id, body, caller, name, audit_read=False)
    return revise_as(request, mine, body, caller, name)
