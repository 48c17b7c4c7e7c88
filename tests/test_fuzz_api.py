"""Schemathesis over the app's OpenAPI schema, on loopback: no server error, and every response that the schema
describes conforms to it.

- Read-only operations run against the starter index (dev mode: no keys, no rate limit; no LLM: extractive
  answers).  The document writes (``POST /v1/documents``, ``DELETE /v1/documents/{doc_id}``) are left out
  there, so the shared index keeps its documents; they run against an app of their own on a tmp data dir.
- Bounded for CI: ``MAX_EXAMPLES`` generated cases per operation (fuzzing phase) plus the schema's examples and
  the coverage phase's boundary cases; a Hypothesis deadline per case; a fixed seed, no example database.
- The schema is the app's own (``create_app(...).openapi()``, loaded at import so pytest can collect one test per
  operation; a fixture checks the served ``/openapi.json`` is the same) and every case is sent to the loopback
  server.  ``schemathesis.pytest.from_fixture`` would load it from the server, but its lazy loader sets
  ``Node._nodeid``, which pytest 9.2 no longer has.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import settings

from app.cli.wiring import serving_indexer
from app.config import Settings
from app.main import create_app
from testkit.http_server import serving

from .conftest import KNOWLEDGE, StarterApp

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 20
DEADLINE = timedelta(seconds=30)  # one case; /v1/ask answers in about a second on two busy cores
WRITES = r"^/v1/documents"


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": 20261202,
        "request-timeout": 60,
        "checks": {"enabled": False, "not_a_server_error": {"enabled": True},
                   "response_schema_conformance": {"enabled": True}},
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    })


def _schema() -> Any:
    app = create_app(Settings(data_dir=Path("/nonexistent-medevidence-schema-only"), dev_mode=True))
    return schemathesis.openapi.from_dict(app.openapi(), config=_config())  # no lifespan: nothing opened


SCHEMA = _schema()


def _served(base: str) -> str:
    served = httpx.get(f"{base}/openapi.json", timeout=30).json()
    assert served == SCHEMA.raw_schema, "the served schema is not the one the cases come from"
    return base


@pytest.fixture(scope="module")
def starter_base(starter_app: StarterApp) -> Iterator[str]:
    with starter_app(dev_mode=True) as app, serving(app) as base:
        yield _served(base)


@pytest.fixture(scope="module")
def writes_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz-writes") / "data"
    settings_ = Settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE, dev_mode=True, onnx_query_encoder=False)
    with serving(create_app(settings_, indexer_factory=serving_indexer)) as base:
        yield _served(base)


@SCHEMA.exclude(path_regex=WRITES, method=["POST", "DELETE"]).parametrize()
@settings(deadline=DEADLINE)
def test_starter_api_has_no_server_errors(case: schemathesis.Case, starter_base: str) -> None:
    case.call_and_validate(base_url=starter_base)


@SCHEMA.include(path_regex=WRITES, method=["POST", "DELETE"]).parametrize()
@settings(deadline=DEADLINE)
def test_document_api_has_no_server_errors(case: schemathesis.Case, writes_base: str) -> None:
    case.call_and_validate(base_url=writes_base)
