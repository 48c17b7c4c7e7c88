"""The clinician page at ``/`` and the reviewers' queue at ``/review`` (their assets under ``/assets``): no build
step, no external request."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

ASSETS = Path(__file__).resolve().parent.parent / "web"
router = APIRouter(include_in_schema=False)


CSP = ("default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'self'")


@router.get("/")
def index() -> FileResponse:
    return FileResponse(ASSETS / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": CSP})


@router.get("/review")
def review() -> FileResponse:
    """The reviewers' queue: flagged answers with their evidence (the data comes from ``GET /v1/reviews``, which
    needs a reviewer key)."""
    return FileResponse(ASSETS / "review.html", media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": CSP})
