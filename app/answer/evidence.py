"""The numbered evidence an answer may cite: the passages retrieval gave it, as ``[n]``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.model import Chunk, GuidelineNote
from app.retrieval.fusion import FusedHit, study_design

# Study designs stated in an abstract's metadata, as an evidence level a clinician reads.
_EVIDENCE_LEVELS = {
    "systematic_review": "systematic review / meta-analysis",
    "rct": "randomised controlled trial",
    "cohort": "cohort study",
    "case_control": "case-control study",
    "case_report": "case report",
}
_SOURCE_LEVELS = {
    "label": "regulatory drug label",
    "guideline": "guideline / reference text",
    "interaction": "interaction table",
    "local_rule": "hospital local rule",
    "evidence": "study abstract",
    "other": "other source",
}


@dataclass(frozen=True)
class Evidence:
    """One passage given to the answerer as block ``[n]`` (1-based)."""

    n: int
    chunk: Chunk
    score: float
    channels: dict[str, dict[str, float] | None]
    study_design: str | None = None
    similarity: float | None = None  # the search's cosine of question and passage (the relevance floor)
    guideline: GuidelineNote | None = None  # a practice guideline's developer, year, grades, caveat

    @property
    def evidence_level(self) -> str:
        if self.guideline is not None:
            g = self.guideline
            who = f"clinical practice guideline ({g.developer}{', ' + str(g.year) if g.year else ''})"
            return f"{who}; recommendation graded {' / '.join(g.grades)}" if g.grades else who
        if self.study_design in _EVIDENCE_LEVELS:
            return _EVIDENCE_LEVELS[self.study_design]
        return _SOURCE_LEVELS.get(self.chunk.source_type, self.chunk.source_type)

    def dense_score(self) -> float | None:
        dense = self.channels.get("dense")
        return None if dense is None else float(dense["score"])

    def to_json(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "n": self.n,
            **c.payload(),
            "score": round(self.score, 6),
            "channels": self.channels,
            "evidence_level": self.evidence_level,
            "study_design": self.study_design,
            "similarity": None if self.similarity is None else round(self.similarity, 6),
            "guideline": self.guideline.to_json() if self.guideline else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evidence:
        return cls(
            n=int(data["n"]),
            chunk=Chunk.from_payload(data),
            score=float(data["score"]),
            channels=data.get("channels") or {},
            study_design=data.get("study_design"),
            similarity=data.get("similarity"),
            guideline=_guideline_from_json(data.get("guideline")),
        )


def _guideline_from_json(data: Any) -> GuidelineNote | None:
    if not isinstance(data, dict):
        return None
    year = data.get("year")
    return GuidelineNote(str(data.get("developer") or ""), year if isinstance(year, int) else None,
                         tuple(str(g) for g in data.get("grades") or ()), data.get("caveat"))


def number_evidence(hits: Sequence[FusedHit]) -> list[Evidence]:
    """Hits in rank order as evidence [1]..[k]."""
    out = []
    for n, hit in enumerate(hits, 1):
        channels: dict[str, dict[str, float] | None] = {
            name: {"rank": float(r.rank), "score": float(r.score)} for name, r in hit.channels.items()
        }
        out.append(Evidence(n, hit.chunk, hit.score, channels, study_design(hit.chunk), hit.similarity,
                            hit.guideline))
    return out


CITATION_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*)\]")


def parse_citations(text: str) -> list[int]:
    """Every ``[n]`` / ``[n, m]`` number in ``text``, in order, without repeats."""
    numbers: list[int] = []
    for match in CITATION_MARKER.finditer(text):
        for part in re.split(r"[,，、;]", match.group(1)):
            value = int(part.strip())
            if value not in numbers:
                numbers.append(value)
    return numbers
