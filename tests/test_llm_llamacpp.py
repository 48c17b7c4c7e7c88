"""Integration: grounded answers through a real OpenAI-compatible server (llama.cpp + SmolLM2-135M).

A 135M model writes poor answers; the point is that whatever it writes, nothing unsupported reaches the
final answer and every citation is a verbatim span — or the service abstains honestly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.answer.ask import ABSTENTION, Asker, AskRequest
from app.answer.factory import close_asker
from app.answer.llm import OpenAICompatibleGenerator
from app.compose import open_asker
from app.retrieval.search import Searcher
from app.runtime import Runtime
from testkit.llama_server import REQUIRED_ENV, llama_server, unavailable_reason

from .answer_support import assert_grounded
from .conftest import ROOT

pytestmark = pytest.mark.slow
WARFARIN_LABEL = "openfda:5a5b5e3a-6556-a542-e063-6294a90a6d3f"
QUESTIONS = [
    "What are the contraindications of warfarin?",
    "华法林和阿司匹林合用的出血风险",
    "What are the side effects of atorvastatin?",
    "Does amiodarone interact with warfarin?",
    "How is hypertension treated?",
]


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get(REQUIRED_ENV) == "1":
            pytest.fail(f"{REQUIRED_ENV}=1 but {reason}")
        pytest.skip(reason)
    with llama_server(tmp_path_factory.mktemp("llama") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def llm_asker(llm_url: str, starter_searcher: Searcher, starter_runtime: Runtime) -> Iterator[Asker]:
    settings = starter_runtime.settings.model_copy(
        update={"llm_url": llm_url, "llm_max_tokens": 160, "llm_timeout_s": 120.0, "llm_total_timeout_s": 300.0})
    asker = open_asker(starter_runtime, starter_searcher, generator=OpenAICompatibleGenerator(settings))
    yield asker
    close_asker(asker)


@pytest.mark.parametrize("question", QUESTIONS)
def test_llm_answers_are_grounded_or_abstain(question: str, llm_asker: Asker) -> None:
    answer = llm_asker.ask(AskRequest(question, k=3))
    assert answer["mode"] == "llm" and not answer["degraded"], answer
    assert answer["model"] == "smollm2-135m-instruct"
    assert_grounded(answer, llm_asker.searcher)
    if answer["abstained"]:
        language = "zh" if question.startswith("华") else "en"
        assert answer["answer"] == ABSTENTION[language]
    trace = llm_asker.traces.get(answer["answer_id"])
    assert trace is not None and trace["raw_output"] is not None and trace["prompt"][0]["role"] == "system"


def test_llm_streaming_keeps_citations(llm_asker: Asker) -> None:
    events = list(llm_asker.stream(AskRequest("What are the contraindications of warfarin?", k=3)))
    done = events[-1][1]
    assert [n for n, _ in events][-2:] == ["citations", "done"] and done["mode"] == "llm"
    assert "".join(d["text"] for n, d in events if n == "delta").strip() == done["answer"]
    assert events[-2][1]["citations"] == done["citations"]
    assert_grounded(done, llm_asker.searcher)


def test_cli_ask_with_llm_url(llm_url: str, tmp_path: Path, starter_runtime: Runtime) -> None:
    """The Done-when call: `MEDEVIDENCE_LLM_URL=… medevidence ask … --json` gives mode "llm" or an honest abstention."""
    doc = starter_runtime.manifest.document(WARFARIN_LABEL)
    assert doc is not None
    source = tmp_path / "warfarin.jsonl"
    source.write_text(json.dumps(doc.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
    data_dir = str(tmp_path / "data")
    cli = [sys.executable, "-m", "app.cli"]
    env = {**os.environ, "MEDEVIDENCE_LLM_URL": llm_url, "MEDEVIDENCE_LLM_MAX_TOKENS": "160",
           "MEDEVIDENCE_ANSWER_EVIDENCE_K": "3",  # the same generous timeouts as the other tests: a busy 2-core CI
           "MEDEVIDENCE_LLM_TIMEOUT_S": "120", "MEDEVIDENCE_LLM_TOTAL_TIMEOUT_S": "300"}
    indexed = subprocess.run([*cli, "index", str(source), "--data-dir", data_dir], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
    assert indexed.returncode == 0, indexed.stderr
    asked = subprocess.run([*cli, "ask", "What are the contraindications of warfarin?", "--json", "--data-dir",
                            data_dir], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["mode"] == "llm" and not answer["degraded"]
    assert answer["abstained"] or answer["citations"]
    for c in answer["citations"]:
        assert doc.text[c["start"] : c["end"]] == c["quote"] and c["version"] == doc.version
