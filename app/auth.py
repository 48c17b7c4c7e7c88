"""API keys with roles, stored hashed (SQLite in the data dir).

A key is shown once at creation; only its SHA-256 is kept.  Roles, each holding the ones before it: ``reader``
(search, ask), ``reviewer`` (also reviews every answer: marks it correct, incorrect or unsafe, resolves flags) and
``admin`` (also documents and indexing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

ROLES = ("reader", "reviewer", "admin")  # each role holds the ones before it
KEY_PREFIX = "mek_"


def holds(role: str | None, needed: str) -> bool:
    """Whether a caller with ``role`` holds ``needed`` (admin ⊇ reviewer ⊇ reader)."""
    return role in ROLES and needed in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS api_keys (key_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
            "role TEXT NOT NULL, digest TEXT NOT NULL UNIQUE, created REAL NOT NULL)"
        )

    def create(self, role: str, name: str = "") -> tuple[ApiKey, str]:
        """Create a key; returns its record and the secret (shown once)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        key_id = secrets.token_hex(4)
        secret = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(24)}"
        self._db.execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?)", (key_id, name or key_id, role, _digest(secret), time.time())
        )
        return ApiKey(key_id, name or key_id, role), secret

    def verify(self, secret: str) -> ApiKey | None:
        if not secret.startswith(KEY_PREFIX):
            return None
        key_id = secret[len(KEY_PREFIX) :].split("_", 1)[0]
        row = self._db.execute("SELECT name, role, digest FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
        if row is None or not hmac.compare_digest(row[2], _digest(secret)):
            return None
        return ApiKey(key_id, row[0], row[1])

    def close(self) -> None:
        self._db.close()
