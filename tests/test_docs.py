"""The documents stay true to the code: every setting is in docs/CONTRACT.md, and every file the map of the house
(docs/architecture.md) or the contract names exists."""

from __future__ import annotations

import re
from pathlib import Path

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_PATH = re.compile(r"`((?:app|indexers|benchmarks|testkit|tests|\.ci)/[\w./-]+)`")


def test_every_setting_is_in_the_contract() -> None:
    contract = (DOCS / "CONTRACT.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`MEDEVIDENCE_{name.upper()}`" not in contract]
    assert not missing


def test_every_file_the_docs_name_exists() -> None:
    for doc in ("architecture.md", "CONTRACT.md"):
        named = set(_PATH.findall((DOCS / doc).read_text(encoding="utf-8")))
        assert named, doc
        gone = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists())
        assert not gone, f"{doc} names {gone}"
