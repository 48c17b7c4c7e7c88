"""Shared fixtures: settings on a temporary data dir, the real knowledge folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from app.cli.wiring import open_indexer
from app.compose import open_searcher
from app.config import Settings
from app.main import create_app
from app.retrieval.search import Searcher
from app.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def payload_storage_types(shard_dir: Path) -> set[str]:
    """The payload storage of each live segment of a qdrant-edge shard, as the engine wrote it."""
    return {json.loads(p.read_text(encoding="utf-8"))["config"]["payload_storage_type"]["type"]
            for p in (shard_dir / "segments").glob("*/segment.json")}


#: Fixtures that index the whole starter knowledge (about 40 s once per session): a test that uses any of them is slow.
STARTER_FIXTURES = frozenset({"starter_runtime", "starter_searcher", "starter_app"})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow every test that needs the indexed starter knowledge, so the fast tier (``-m "not slow"``) never
    waits for it, whether or not its module says so."""
    for item in items:
        if STARTER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", knowledge_dir=KNOWLEDGE)


@pytest.fixture(scope="session")
def starter_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The whole starter knowledge indexed once per test session (embedded stores, from the shipped cache).

    Tests that add documents delete them again; nothing else writes to it."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("starter") / "data", knowledge_dir=KNOWLEDGE)
    with Runtime.open(settings) as rt:
        open_indexer(rt).index_starter_knowledge()
        rt.vectors.optimize()  # as `medevidence index` leaves it
        yield rt


@pytest.fixture(scope="session")
def starter_searcher(starter_runtime: Runtime) -> Iterator[Searcher]:
    engine = open_searcher(starter_runtime)
    yield engine
    engine.close()


StarterApp = Callable[..., AbstractContextManager[FastAPI]]


@pytest.fixture(scope="session")
def starter_app(starter_runtime: Runtime) -> StarterApp:
    """``with starter_app(dev_mode=True, ...) as app``: the service over the indexed starter knowledge, under its
    settings with these overrides (authentication, limits, the answer model: what no store depends on), through
    ``Runtime.reconfigured``; ``indexer_factory`` as ``create_app`` takes it.  Keys made with
    ``starter_runtime.keys`` are the app's keys."""

    @contextmanager
    def build(indexer_factory: Callable[[Runtime], Any] | None = None, **overrides: Any) -> Iterator[FastAPI]:
        served = starter_runtime.reconfigured(**overrides)
        try:
            yield create_app(served.settings, runtime=served, indexer_factory=indexer_factory)
        finally:
            served.close()

    return build


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium for the page tests (testkit/browser_support.py)."""
    from testkit.browser_support import chromium

    with chromium() as launched:
        yield launched
