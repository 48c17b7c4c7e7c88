"""The clinician page at ``/`` (its assets under ``/assets``): no build step, no external request."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

ASSETS = Path(__file__).resolve().parent.parent / "web"
router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(ASSETS / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; "
                                 "img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'"})
