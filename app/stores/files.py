"""The original files of indexed documents, kept content-addressed in the data dir.

A citation of a hospital PDF names its page; the clinician who reads it must be able to open that page of the very
file that was indexed.  The indexer puts each file here under its sha256 (``files/ab/cdef…``) and records the hash,
name, media type and size in the document's ``metadata.file``; ``GET /v1/documents/{id}/file`` serves it back.  A
blob is written to a temporary name and renamed, so a killed run never leaves half a file under a hash, and a
file indexed twice is stored once.  Blobs are never rewritten, and one no document names any more stays: an
answer's trace may cite the version it held.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".markdown": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredFile:
    """What a document records of its original file (``metadata.file``)."""

    sha256: str
    name: str
    media_type: str
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "name": self.name, "media_type": self.media_type, "bytes": self.bytes}

    @classmethod
    def from_json(cls, data: Any) -> StoredFile | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(str(data["sha256"]), str(data["name"]), str(data["media_type"]), int(data["bytes"]))
        except (KeyError, TypeError, ValueError):
            return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


class FileStore:
    """Content-addressed blobs under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, source: Path, name: str | None = None) -> StoredFile:
        """Keep a copy of ``source`` (once per content) and say what was kept."""
        sha = sha256_of(source)
        target = self.path_of(sha)
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                    shutil.copyfileobj(src, out, _CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        name = name or source.name
        media_type = MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
        return StoredFile(sha, name, media_type, target.stat().st_size)

    def open_path(self, stored: StoredFile) -> Path | None:
        """The kept file, or None when it is missing or no longer has the recorded content's size."""
        path = self.path_of(stored.sha256)
        return path if path.is_file() and path.stat().st_size == stored.bytes else None
