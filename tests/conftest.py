"""Shared fixtures: settings on a temporary data dir, the real knowledge folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.retrieval.search import Searcher
from app.runtime import Runtime
from indexers.pipeline import Indexer

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def payload_storage_types(shard_dir: Path) -> set[str]:
    """The payload storage of each live segment of a qdrant-edge shard, as the engine wrote it."""
    return {json.loads(p.read_text(encoding="utf-8"))["config"]["payload_storage_type"]["type"]
            for p in (shard_dir / "segments").glob("*/segment.json")}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", knowledge_dir=KNOWLEDGE)


@pytest.fixture(scope="session")
def starter_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The whole starter knowledge indexed once per test session (embedded stores, from the shipped cache).

    Tests that add documents delete them again; nothing else writes to it."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("starter") / "data", knowledge_dir=KNOWLEDGE)
    with Runtime.open(settings) as rt:
        Indexer(rt).index_starter_knowledge()
        rt.vectors.optimize()  # as `medevidence index` leaves it
        yield rt


@pytest.fixture(scope="session")
def starter_searcher(starter_runtime: Runtime) -> Iterator[Searcher]:
    engine = Searcher(starter_runtime)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium for the page tests (tests/browser_support.py)."""
    from tests.browser_support import chromium

    with chromium() as launched:
        yield launched
