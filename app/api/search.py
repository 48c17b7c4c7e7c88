"""``POST /v1/search``: hybrid search over the evidence (reader role)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from app.api.deps import require
from app.api.errors import ApiError
from app.requests import SearchBody
from app.retrieval.search import Searcher, SearchRequestError

router = APIRouter(prefix="/v1", tags=["search"], dependencies=[Depends(require("reader"))])


def searcher(request: Request) -> Searcher:
    return request.app.state.searcher


@router.post("/search", response_model=dict[str, Any])
def search(body: SearchBody, engine: Annotated[Searcher, Depends(searcher)]) -> JSONResponse:
    """Hits with per-channel ranks and scores (CONTRACT.md), the linked entities and graph facts."""
    # The result is plain JSON types already: a JSONResponse skips FastAPI's jsonable_encoder walk (1 ms).
    try:
        query, k, filters = body.checked()
    except SearchRequestError as exc:
        raise ApiError(422, "invalid_request", exc.message, exc.field) from None
    return JSONResponse(engine.search(query, k, filters).to_json())
