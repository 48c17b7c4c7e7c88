"""``/v1/documents``: add (the generic format, or a PDF/Word/HTML/Markdown/text file), read and delete documents
(admin role), and open a document's original file at its cited page (reader role)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.api.deps import require, runtime
from app.api.errors import ApiError
from app.documents import MAX_ID_LENGTH, DocumentError, parse_document
from app.model import SOURCE_TYPES
from app.runtime import Runtime
from app.stores.files import MEDIA_TYPES, StoredFile

router = APIRouter(prefix="/v1/documents", tags=["documents"], dependencies=[Depends(require("admin"))])
files_router = APIRouter(prefix="/v1/documents", tags=["documents"], dependencies=[Depends(require("reader"))])

#: A page the service sends back as it was uploaded must not run in the service's origin.
_SANDBOX = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "description": "One document in the generic format "
                                                                             "(CONTRACT.md)"}},
            "multipart/form-data": {"schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary",
                             "description": "a .pdf, .docx, .html, .htm, .md or .txt file"},
                    "id": {"type": "string", "description": "the document id (default: upload/<file name>)"},
                    "source_type": {"type": "string", "enum": list(SOURCE_TYPES)},
                },
            }},
        },
    }
}


def _indexer(request: Request) -> Any:
    indexer = request.app.state.indexer
    if indexer is None:
        raise ApiError(503, "indexing_unavailable", "this server was started without an indexer")
    return indexer


def _status(summary: Any) -> str:
    return "unchanged" if summary.unchanged else ("updated" if summary.updated else "added")


@router.post("", status_code=201, openapi_extra=_UPLOAD_SCHEMA)
async def add_document(request: Request, indexer: Annotated[Any, Depends(_indexer)]) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _add_file(request, indexer)
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # RecursionError: JSON nested too deep
        body = None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "the body must be one JSON object (a document in the generic "
                                               "format) or a multipart/form-data upload with a 'file' part", "body")
    try:
        doc = parse_document(body)
    except DocumentError as exc:
        raise ApiError(422, "invalid_document", exc.message, exc.field) from None
    summary = await run_in_threadpool(indexer.index_documents, [doc], "api")
    return {"id": doc.id, "version": doc.version, "status": _status(summary), "chunks": summary.chunks_written}


def _form_text(form: Any, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(422, "invalid_document", "must be a text field", name)
    return value.strip() or None


async def _add_file(request: Request, indexer: Any) -> dict[str, Any]:
    limit = request.app.state.settings.file_max_bytes  # a declared length past it is refused by ServingMiddleware
    form = await request.form(max_files=1, max_fields=8)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ApiError(422, "invalid_document", "a file part named 'file' with a file name is required", "file")
        name = Path(upload.filename.replace("\\", "/")).name
        suffix = Path(name).suffix.lower()
        if suffix not in MEDIA_TYPES:
            raise ApiError(415, "unsupported_file", f"unsupported file type {suffix or '(no suffix)'}: expected "
                                                    f"{', '.join(MEDIA_TYPES)}", "file")
        doc_id = _form_text(form, "id") or f"upload/{name}"
        if len(doc_id) > MAX_ID_LENGTH:
            raise ApiError(422, "invalid_document", f"is longer than {MAX_ID_LENGTH} characters", "id")
        source_type = _form_text(form, "source_type")  # None: a label when its title says so, else other
        if source_type is not None and source_type not in SOURCE_TYPES:
            raise ApiError(422, "invalid_document", f"must be one of {', '.join(SOURCE_TYPES)}", "source_type")
        with tempfile.TemporaryDirectory(prefix="medevidence-upload-") as folder:
            path = Path(folder) / f"upload{suffix}"
            size = 0
            with path.open("wb") as out:
                while block := await upload.read(1 << 20):
                    size += len(block)
                    if size > limit:
                        raise ApiError(413, "file_too_large", f"the file is larger than the limit ({limit} bytes)",
                                       "file")
                    out.write(block)
            summary = await run_in_threadpool(indexer.index_upload, path, name, doc_id, source_type)
    finally:
        await form.close()
    if summary.rejected:
        reason = summary.rejects[0].split(":0: ", 1)[-1]
        raise ApiError(422, "unreadable_file", reason, "file")
    doc = request.app.state.runtime.manifest.document(doc_id)
    return {
        "id": doc_id, "version": doc.version if doc else None, "status": _status(summary),
        "chunks": summary.chunks_written, "pages": doc.metadata.get("page_count") if doc else None,
        "warnings": [w.split(": ", 1)[-1] for w in summary.files.warnings] if summary.files else [],
    }


@files_router.get("/{doc_id:path}/file")
def get_document_file(doc_id: str, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    """The original file of an indexed document (open a PDF at the cited page with ``#page=N``)."""
    doc = rt.manifest.document(doc_id)
    if doc is None:
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}", "id")
    stored = StoredFile.from_json(doc.metadata.get("file"))
    if stored is None:
        raise ApiError(404, "no_file", f"document {doc_id!r} was not indexed from a file", "id")
    path = rt.files.open_path(stored)
    if path is None:
        raise ApiError(410, "file_missing", f"the original file of {doc_id!r} is no longer in the data dir", "id")
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    if not stored.media_type.startswith("application/pdf"):
        headers["Content-Security-Policy"] = _SANDBOX
    disposition = "attachment" if stored.media_type.startswith("application/vnd") else "inline"
    return FileResponse(path, media_type=stored.media_type, filename=stored.name, headers=headers,
                        content_disposition_type=disposition)


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
