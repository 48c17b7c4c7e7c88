"""The import-layer check (``.ci/import_layers.py``, run by ``make lint``): the house keeps its rules, and the
check finds each kind of breach in a tree made to break them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / ".ci" / "import_layers.py"


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True, timeout=60)


def test_the_house_keeps_its_import_rules() -> None:
    result = _run(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_each_kind_of_breach_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "app/__init__.py": "",
        "app/runtime.py": "",
        "app/stores/__init__.py": "",
        "app/stores/vectors.py": "import os\n\nfrom app.stores import open as opener\n",
        "app/stores/open.py": "from app.stores.vectors import thing\n",
        "app/stores/graph.py": "def f():\n    from app.retrieval.search import Searcher\n",
        "app/retrieval/__init__.py": "",
        "app/retrieval/search.py": "from indexers.pipeline import Indexer\n",
        "app/cli/__init__.py": "from indexers.pipeline import Indexer\n",
        "indexers/__init__.py": "",
        "indexers/pipeline.py": "from typing import TYPE_CHECKING\nfrom app.runtime import Runtime\n"
                                "if TYPE_CHECKING:\n    from app.main import create_app\n",
        "benchmarks/__init__.py": "",
        "benchmarks/run.py": "from tests.http_server import serving\n",
        "tests/__init__.py": "",
        "tests/http_server.py": "",
    })
    result = _run(root)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "app/retrieval/search.py:1: imports indexers.pipeline: app never imports indexers (only the CLI root " \
           "does)" in lines
    assert not any(line.startswith("app/cli/") for line in lines)  # the CLI root wires the indexer in
    assert any(line.startswith("app/stores/graph.py:2: imports app.retrieval.search: stores never") for line in lines)
    assert any(line.startswith("indexers/pipeline.py:2: imports app.runtime: indexers never") for line in lines)
    assert not any("app.main" in line for line in lines)  # an import for type checking only is no breach
    assert any(line.startswith("benchmarks/run.py:1: imports tests.http_server") for line in lines)
    assert "app/stores/open.py:0: import circle app.stores.open -> app.stores.vectors -> app.stores.open" in lines
    assert len(lines) == 5, lines
