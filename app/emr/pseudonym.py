"""Patient and user identifiers as keyed hashes: what the audit store, logs and traces hold instead.

An HMAC-SHA256 under a per-installation secret (``data_dir/pseudonym.key``, created once, mode 0600).
A plain hash of a medical record number could be reversed by hashing every possible number; without
the key it cannot.  The same identifier always maps to the same pseudonym, so an audit can follow one
patient's CDS calls without ever storing who the patient is.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(key) < 32:
            raise ValueError(f"{path}: the pseudonym key must be at least 32 bytes (64 hex characters)")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key.hex().encode("ascii"))
    finally:
        os.close(fd)
    return key


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_file(cls, path: Path) -> Pseudonymizer:
        return cls(load_or_create_key(path))

    def _hash(self, kind: str, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        digest = hmac.new(self._key, f"{kind}\x00{value.strip()}".encode(), hashlib.sha256).hexdigest()
        return f"{kind[0]}:{digest[:32]}"

    def patient(self, patient_id: str | None) -> str | None:
        """``"Patient/123"`` and ``"123"`` are the same patient; None stays None."""
        return self._hash("patient", patient_id.strip().removeprefix("Patient/") if patient_id else None)

    def user(self, user_id: str | None) -> str | None:
        return self._hash("user", user_id)
