"""``/v1/documents``: add, read and delete documents in the generic format (admin role)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from app.api.deps import require, runtime
from app.api.errors import ApiError
from app.documents import DocumentError, parse_document
from app.runtime import Runtime

router = APIRouter(prefix="/v1/documents", tags=["documents"], dependencies=[Depends(require("admin"))])


def _indexer(request: Request) -> Any:
    indexer = request.app.state.indexer
    if indexer is None:
        raise ApiError(503, "indexing_unavailable", "this server was started without an indexer")
    return indexer


@router.post("", status_code=201)
def add_document(
    body: Annotated[dict[str, Any], Body(description="One document in the generic format (CONTRACT.md)")],
    indexer: Annotated[Any, Depends(_indexer)],
) -> dict[str, Any]:
    try:
        doc = parse_document(body)
    except DocumentError as exc:
        raise ApiError(422, "invalid_document", exc.message, exc.field) from None
    summary = indexer.index_documents([doc], origin="api")
    status = "unchanged" if summary.unchanged else ("updated" if summary.updated else "added")
    return {"id": doc.id, "version": doc.version, "status": status, "chunks": summary.chunks_written}


@router.get("/{doc_id:path}")
def get_document(doc_id: str, rt: Annotated[Runtime, Depends(runtime)]) -> dict[str, Any]:
    doc = rt.manifest.document(doc_id)
    if doc is None:
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}", "id")
    return {**doc.to_json(), "version": doc.version, "text": doc.text}


@router.delete("/{doc_id:path}")
def delete_document(doc_id: str, indexer: Annotated[Any, Depends(_indexer)]) -> dict[str, Any]:
    deleted, _unknown = indexer.delete([doc_id])
    if not deleted:
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}", "id")
    return {"id": doc_id, "deleted": True}
