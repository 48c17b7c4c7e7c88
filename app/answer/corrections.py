"""A reviewer's corrected answer, held to the rules every answer keeps: each sentence cites evidence, is verified
against the passages it cites, and its citations are verbatim spans of the document versions indexed today.

The corrected text cites the reviewed answer's own evidence by its numbers (``[1]``, ``[2]``…, as the answer did).
It goes through the same parts as a generated answer and a replay (``Asker.replay``): ``parse_answer`` (claims and
their marks, ``claims.py``), the ``Verifier`` (``verify.py``), ``drop_stale`` (a passage whose document changed or
was removed supports nothing, ``citations.py``) and ``build_citations`` (the quotes cut once from the passages).
Unlike an answer, where an unsupported sentence is dropped, a correction with one is refused, naming the sentence
and why: a reviewer's text is stored as written or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.answer.citations import build_citations, drop_stale, stale_passages
from app.answer.claims import parse_answer
from app.answer.evidence import Evidence
from app.answer.verify import Verifier

MAX_CORRECTION_CHARS = 8000


class CorrectionError(ValueError):
    """A corrected text that breaks a citation rule; the message names the sentence."""


def check_correction(text: str, evidence_json: Sequence[dict[str, Any]], verifier: Verifier,
                     versions: Mapping[str, str]) -> dict[str, Any]:
    """``{"text", "claims", "citations"}`` of a corrected answer whose every sentence is supported by the reviewed
    answer's evidence (``evidence_json``: the trace's ``evidence``); ``versions``: doc id → the version indexed
    today.  Raises ``CorrectionError``."""
    if len(text) > MAX_CORRECTION_CHARS:
        raise CorrectionError(f"longer than {MAX_CORRECTION_CHARS} characters")
    evidence = [Evidence.from_json(item) for item in evidence_json]
    if not evidence:
        raise CorrectionError("the reviewed answer was given no evidence, so a corrected text has nothing to cite; "
                              "say what is wrong in the reason")
    parsed = parse_answer(text)
    if not parsed.claims:
        raise CorrectionError("no sentence found")
    numbers = f"[1]-[{len(evidence)}]"
    for dropped in parsed.dropped:
        marks = "".join(f"[{n}]" for n in dropped.numbers)
        raise CorrectionError(f"the marks {marks} belong to no sentence ({dropped.reason}); put each mark in or "
                              "right after the sentence it supports")
    for i, raw in enumerate(parsed.claims, 1):
        if not raw.cited:
            raise CorrectionError(f"sentence {i} ({_quote(raw.text)}) cites no evidence: end it with the number of "
                                  f"the passage that states it, {numbers}")
    checked = verifier.check(parsed.claims, evidence)
    drop_stale(checked, stale_passages(evidence, versions))
    for i, claim in enumerate(checked, 1):
        if claim.dropped_citations:
            missing = ", ".join(f"[{n}]" for n in claim.dropped_citations)
            raise CorrectionError(f"sentence {i} ({_quote(claim.text)}) cites {missing}: the answer's evidence is "
                                  f"{numbers}")
        if not claim.supported:
            raise CorrectionError(f"sentence {i} ({_quote(claim.text)}) is not supported by the passages it cites: "
                                  f"{claim.reason}")
    citations = build_citations(checked, evidence)
    return {"text": text.strip(),
            "claims": [c.to_json() for c in checked],
            "citations": [c.to_json() for c in citations]}


def _quote(text: str, limit: int = 80) -> str:
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"
