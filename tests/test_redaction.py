"""Minimum necessary in what is stored: identifiers out of stored questions, traces and logs, answers unchanged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.answer.ask import AskRequest
from app.answer.factory import close_asker
from app.compose import open_asker
from app.observability.logs import RedactingFilter
from app.retrieval.search import Searcher
from app.runtime import Runtime
from app.text.redaction import redact

QUESTION = "Patient John Smith MRN 123456, DOB 1950-03-02, phone 13812345678: maximum daily dose of acetaminophen?"


@pytest.mark.parametrize(("text", "kinds"), [
    ("Patient John Smith MRN 123456", ["name", "mrn"]),
    ("患者张三，身份证号 110101199003071234，电话 13812345678", ["name", "national_id", "phone"]),
    ("pt. Jane Doe, jane.doe@example.org, +1 555 123 4567", ["name", "email", "phone"]),
    ("call (555) 123-4567; SSN 123-45-6789; passport: E12345678", ["phone", "national_id", "national_id"]),
    ("病历号：ZY2024001 出生日期 1990年3月7日", ["mrn", "dob"]),
    ("date of birth March 3, 1950; Mr. Brown", ["dob", "name"]),
])
def test_what_it_catches(text: str, kinds: list[str]) -> None:
    out = redact(text)
    assert [k for k in kinds if f"[REDACTED:{k}]" in out] == kinds, out
    assert not any(ch.isdigit() for ch in out.replace("[REDACTED", "")) or "REDACTED" in out


@pytest.mark.parametrize("text", [
    "What is the maximum daily dose of acetaminophen? 4000 mg per day",
    "INR 2.5, blood pressure 120/80 mmHg, creatinine clearance 30 mL/min, since 2019",
    "Does warfarin interact with aspirin in patients over 65?",
    "华法林和阿司匹林合用的出血风险",
    "John Smith asks about metformin",  # a name not introduced as a patient's: documented as not caught
])
def test_what_it_leaves(text: str) -> None:
    assert redact(text) == text


def test_log_messages_are_redacted() -> None:
    record = logging.LogRecord("medevidence", logging.INFO, __file__, 1, "question from %s", (QUESTION,), None)
    RedactingFilter(redact).filter(record)
    assert "John Smith" not in record.getMessage() and "123456" not in record.getMessage()
    assert "acetaminophen" in record.getMessage()


@pytest.mark.slow
def test_traces_keep_no_identifier_and_the_answer_is_unchanged(starter_searcher: Searcher,
                                                               starter_runtime: Runtime, tmp_path: Path) -> None:
    plain_rt = starter_runtime.reconfigured(traces_url=f"sqlite:///{tmp_path}/plain.db")
    redacting_rt = starter_runtime.reconfigured(traces_url=f"sqlite:///{tmp_path}/redacting.db",
                                                redact_identifiers=True)
    plain = open_asker(plain_rt, starter_searcher)
    redacting = open_asker(redacting_rt, starter_searcher)
    try:
        kept = plain.ask(AskRequest(QUESTION))
        answered = redacting.ask(AskRequest(QUESTION))
        trace = redacting.traces.get(answered["answer_id"])
        raw = plain.traces.get(kept["answer_id"])
    finally:
        close_asker(plain)
        close_asker(redacting)
        plain_rt.close()
        redacting_rt.close()
    assert answered["answer"] == kept["answer"] and answered["citations"] == kept["citations"]
    assert trace is not None and raw is not None and "John Smith" in raw["question"]
    stored = str(trace)
    for identifier in ("John Smith", "123456", "1950-03-02", "13812345678"):
        assert identifier not in stored, identifier
    assert "acetaminophen" in trace["question"] and "[REDACTED:mrn]" in trace["question"]
