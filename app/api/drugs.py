"""``GET /v1/drugs/{name}``, ``GET /v1/coverage``, ``GET /v1/rules`` and ``POST /v1/interactions`` (reader role):
the drug assistant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import require
from app.api.errors import ApiError
from app.drugs.interactions import MAX_DRUGS
from app.drugs.service import DrugRequestError, DrugService, UnknownDrug

router = APIRouter(prefix="/v1", tags=["drugs"], dependencies=[Depends(require("reader"))])


class InteractionsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "5" is no k, true is no 1

    medications: list[str] = Field(min_length=2, max_length=MAX_DRUGS,
                                   description="Medication names: generic, brand, Chinese, DrugBank id or UNII.")


def service(request: Request) -> DrugService:
    return request.app.state.drugs


@router.get("/drugs/{name}")
def drug(name: str, drugs: Annotated[DrugService, Depends(service)]) -> dict[str, Any]:
    """A drug card: ids, names (en, zh, brands), classes, indications, label sections as cited spans."""
    try:
        return drugs.card(name)
    except UnknownDrug as exc:
        raise ApiError(404, "unknown_drug", str(exc), "name") from None
    except DrugRequestError as exc:
        raise ApiError(422, "invalid_request", exc.message, exc.field) from None


@router.get("/coverage")
def coverage(drugs: Annotated[DrugService, Depends(service)]) -> dict[str, Any]:
    """What the indexed knowledge holds: per source (documents, sections, drugs described, label section kinds;
    the hospital's own documents under ``local``) and totals (drugs with label text, with each label section
    kind, with an indication; graded interaction pairs per source; guidelines).  A drug's own coverage is
    part of its card (``GET /v1/drugs/{name}`` → ``coverage``)."""
    return drugs.knowledge_coverage()


@router.get("/rules")
def rules(drugs: Annotated[DrugService, Depends(service)]) -> dict[str, Any]:
    """The hospital's indexed rules (``*.rules.jsonl``): each with its citation, whether it applies today, the drugs
    it binds and any name it could not resolve (with suggestions), so a committee sees what the service applies."""
    return drugs.rules()


@router.post("/interactions")
def interactions(body: InteractionsBody, drugs: Annotated[DrugService, Depends(service)]) -> dict[str, Any]:
    """Every pair of the list: ONC-listed interactions and label passages, cited; unresolved names with
    suggestions.  "No interaction found in the indexed knowledge" is never "safe"."""
    try:
        return drugs.interactions(body.medications)
    except DrugRequestError as exc:
        raise ApiError(422, "invalid_request", exc.message, exc.field) from None
