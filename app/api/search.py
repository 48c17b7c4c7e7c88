"""``POST /v1/search``: hybrid search over the evidence (reader role)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import require
from app.api.errors import ApiError
from app.model import SourceType
from app.retrieval.search import MAX_K, Searcher, SearchRequestError, check_query, parse_filters

router = APIRouter(prefix="/v1", tags=["search"], dependencies=[Depends(require("reader"))])


class SearchFiltersBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "5" is no k, true is no 1

    source_type: list[SourceType] | None = Field(
        default=None, description="Keep only these source types."
    )
    published_from: str | None = Field(default=None, description="ISO date (YYYY, YYYY-MM or YYYY-MM-DD), inclusive.")
    language: Literal["en", "zh"] | None = Field(default=None, description="Language of the evidence.")


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "5" is no k, true is no 1

    query: str = Field(description="The question or keywords, Chinese or English.", min_length=1, max_length=2000)
    k: int = Field(default=10, ge=1, le=MAX_K, description="Number of hits.")
    filters: SearchFiltersBody | None = Field(default=None, description="Pushed down into the index.")


def searcher(request: Request) -> Searcher:
    return request.app.state.searcher


@router.post("/search", response_model=dict[str, Any])
def search(body: SearchBody, engine: Annotated[Searcher, Depends(searcher)]) -> JSONResponse:
    """Hits with per-channel ranks and scores (CONTRACT.md), the linked entities and graph facts."""
    # The result is plain JSON types already: a JSONResponse skips FastAPI's jsonable_encoder walk (1 ms).
    try:
        query, k = check_query(body.query, body.k)
        filters = parse_filters(body.filters.model_dump(exclude_none=True) if body.filters else None)
    except SearchRequestError as exc:
        raise ApiError(422, "invalid_request", exc.message, exc.field) from None
    return JSONResponse(engine.search(query, k, filters).to_json())
