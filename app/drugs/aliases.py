"""Hospital drug aliases (local brand names, Chinese trade names, formulary codes).

A JSONL file, one ``{"alias": "波立维", "drug": "clopidogrel"}`` per line (``drug``: any name or id the
resolver already knows), is loaded by ``medevidence index FILE``: every line is checked, a bad line is
reported as ``FILE:LINE: reason`` and skipped, the rest is stored (SQLite in the data dir).  Loading the
same file again replaces what that file gave before.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from app.drugs.names import DrugNameResolver
from app.knowledge import normalize_name
from app.text.validity import text_problem

ALIAS_KEYS = frozenset({"alias", "drug", "note"})


def is_alias_file(path: Path) -> bool:
    """Whether a .jsonl file holds aliases (its first object has ``alias`` and ``drug``), not documents."""
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    with path.open("rb") as fh:
        for raw in fh:
            if raw.strip():
                try:  # a file that is no UTF-8 JSON is no alias file: the document reader reports its line
                    first = json.loads(raw.decode("utf-8-sig"))
                except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                    return False
                return isinstance(first, dict) and {"alias", "drug"} <= set(first) and set(first) <= ALIAS_KEYS
    return False


@dataclass(frozen=True)
class AliasLoad:
    added: int
    rejected: list[str]  # "FILE:LINE: reason"


class AliasStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS aliases (key TEXT PRIMARY KEY, alias TEXT NOT NULL, "
                         "drug_id TEXT NOT NULL, origin TEXT NOT NULL, line INTEGER NOT NULL, added_at REAL NOT NULL)")

    def all(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT alias, drug_id FROM aliases"))

    def version(self) -> str:
        row = self._db.execute("SELECT COUNT(*), COALESCE(MAX(added_at), 0) FROM aliases").fetchone()
        return f"{row[0]}:{row[1]}"

    def load(self, path: Path, resolver: DrugNameResolver) -> AliasLoad:
        rows: list[tuple[str, str, str, str, int, float]] = []
        rejected: list[str] = []
        now = time.time()
        with path.open("rb") as fh:
            for number, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                reason = None
                try:
                    item = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
                except UnicodeDecodeError as exc:
                    rejected.append(f"{path}:{number}: not valid UTF-8 (byte {exc.start})")
                    continue
                except json.JSONDecodeError as exc:
                    rejected.append(f"{path}:{number}: not JSON: {exc.msg}")
                    continue
                except RecursionError:
                    rejected.append(f"{path}:{number}: not JSON: nested too deep")
                    continue
                if not isinstance(item, dict):
                    reason = "must be a JSON object"
                elif unknown := sorted(set(item) - ALIAS_KEYS):
                    reason = f"{unknown[0]}: unknown field"
                elif not isinstance(item.get("alias"), str) or not normalize_name(item["alias"]):
                    reason = "alias: must be a non-empty string"
                elif not isinstance(item.get("drug"), str) or not item["drug"].strip():
                    reason = "drug: must be a non-empty string"
                elif problem := next((f"{k}: {p}" for k in ("alias", "drug") if (p := text_problem(item[k]))), None):
                    reason = problem
                if reason is None:
                    target = resolver.resolve(item["drug"])
                    if len(target.drug_ids) != 1:
                        hint = f"; did you mean {', '.join(target.suggestions)}" if target.suggestions else ""
                        reason = f"drug: {item['drug']!r} does not name exactly one known drug{hint}"
                    else:
                        rows.append((normalize_name(item["alias"]), item["alias"].strip(), target.drug_ids[0],
                                     str(path.resolve()), number, now))
                if reason is not None:
                    rejected.append(f"{path}:{number}: {reason}")
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM aliases WHERE origin = ?", (str(path.resolve()),))
            self._db.executemany("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?, ?, ?)", rows)
        return AliasLoad(len(rows), rejected)

    def close(self) -> None:
        self._db.close()
