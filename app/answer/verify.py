"""Verification: every claim checked against the passages it cites; only supported claims stay.

For a claim ``c`` citing evidence blocks ``E`` (blocks that were not given are dropped first):

* for each sentence ``s`` of ``e`` (the six sharing most terms with the claim):
  **lexical(c, s)** — the share of the claim's content terms (BM25 analyzer: stop words out,
  plural-stemmed; a Chinese claim is matched through its English rendering: linked drug and disease
  names and glossary words) found in ``s``, its neighbouring sentences, or ``e``'s title and section;
  **semantic(c, s)** — cosine similarity (all-MiniLM-L6-v2) between the claim and ``s``;
* **support(c, e) = max over s of w · lexical + (1 − w) · semantic**, ``w = support_lexical_weight``;
  the best ``s`` is the claim's *supporting span* in ``e``.

A claim is supported when, for at least one cited passage, ``support ≥ support_threshold`` **and**
hard checks pass: every number the claim states (doses, percentages) appears in that passage; the
claim does not contradict its supporting sentence (negation — "not", "contraindicated", "avoid",
不/禁用… — or direction — increase vs decrease — differs, or it calls safe what the sentence calls a
harm or risk); and it adds no strong qualifier ("safe", "always", "first-line", "effective"…) that
the passage does not use.  Unsupported claims leave the
answer and stay in ``claims`` with ``supported: false`` and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.answer.claims import RawClaim
from app.answer.evidence import Evidence
from app.text.sentences import item_spans

Embed = Callable[[list[str]], np.ndarray]
MAX_SENTENCES_PER_PASSAGE = 6
Tokens = Callable[[str], list[str]]

_NUMBER = re.compile(r"(?<![A-Za-z])\d+(?:[.,]\d+)?")
_NEGATION = re.compile(
    r"\b(not|no|never|none|without|cannot|can't|don't|doesn't|isn't|aren't|shouldn't|mustn't|avoid(?:ed|s)?"
    r"|contraindicat\w*|unsafe|prohibit\w*)\b|不|没有|无|禁用|禁忌|避免|勿",
    re.IGNORECASE,
)
_SAFE = re.compile(r"\b(safe(?:ly)?|harmless|well[- ]tolerated|no (?:known )?risk|risk[- ]free)\b|安全|无害",
                   re.IGNORECASE)
_HARM = re.compile(
    r"\b(harm\w*|risk\w*|danger\w*|toxic\w*|fatal\w*|death|hazard\w*|injur\w*|adverse|contraindicat\w*|avoid\w*"
    r"|warning|bleed\w*|damage\w*)\b|危险|风险|毒性|禁忌|禁用|出血",
    re.IGNORECASE,
)
# Words that make a claim stronger than its evidence unless the cited passage says them too.
_QUALIFIERS = re.compile(
    r"\b(safe(?:ly)?|harmless|effective(?:ly)?|cures?|cured|completely|always|never|guarantee[sd]?|proven"
    r"|first[- ]line|preferred|best|recommended|no risk)\b",
    re.IGNORECASE,
)
_UP = re.compile(
    r"\b(increase[sd]?|increasing|rais(?:e|es|ed|ing)|elevat\w+|higher|greater|potentiat\w+|enhanc\w+|more)\b"
    r"|增加|升高|增强|提高",
    re.IGNORECASE,
)
_DOWN = re.compile(
    r"\b(decrease[sd]?|decreasing|reduc\w+|lower(?:s|ed|ing)?|less|diminish\w*|weaken\w*|fewer)\b"
    r"|减少|降低|减弱|下降",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Support:
    """How well one cited passage supports a claim, and the sentence that does."""

    n: int
    score: float
    lexical: float
    semantic: float
    start: int  # the supporting sentence, as offsets into the passage's document
    end: int
    numbers_ok: bool
    contradiction: bool

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "score": round(self.score, 4), "lexical": round(self.lexical, 4),
                "semantic": round(self.semantic, 4), "start": self.start, "end": self.end,
                "numbers_ok": self.numbers_ok, "contradiction": self.contradiction}


@dataclass
class CheckedClaim:
    text: str
    citations: list[int]  # valid (given) citations
    dropped_citations: list[int]  # numbers of evidence that was not given
    supported: bool
    reason: str | None = None
    support: list[Support] = field(default_factory=list)  # one per cited passage
    supporting: list[Support] = field(default_factory=list)  # the passages that pass every check

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "citations": self.citations, "supported": self.supported,
                "reason": self.reason, "dropped_citations": self.dropped_citations,
                "support": [s.to_json() for s in self.support]}


def polarity(text: str) -> tuple[bool, int]:
    """(negated, direction): an odd number of negation cues, and +1 up / −1 down / 0."""
    negated = len(_NEGATION.findall(text)) % 2 == 1
    up, down = bool(_UP.search(text)), bool(_DOWN.search(text))
    return negated, (1 if up and not down else -1 if down and not up else 0)


# A section heading glued to a label sentence ("4 CONTRAINDICATIONS Warfarin sodium is contraindicated in…")
# is not part of what the sentence says: its "contraindications" is no negation of the sentence.
_HEADING_PREFIX = re.compile(r"^\s*(?:\d+(?:\.\d+)*\s+)?[A-Z][A-Z ,&/-]{3,}\s+(?=[A-Z][a-z])")


def contradicts(claim: str, sentence: str) -> bool:
    """Negation or direction flipped, or safety asserted where the sentence speaks of harm."""
    sentence = _HEADING_PREFIX.sub("", sentence)
    claim_neg, claim_dir = polarity(claim)
    sent_neg, sent_dir = polarity(sentence)
    if claim_neg != sent_neg:
        return True
    if _SAFE.search(claim) and _HARM.search(sentence) and not _SAFE.search(sentence):
        return True
    return claim_dir != 0 and sent_dir != 0 and claim_dir != sent_dir


def unstated_qualifiers(claim: str, passage: str) -> list[str]:
    """Strong words of the claim ("safe", "always", "first-line") that the passage does not use."""
    said = {m.group(0).lower() for m in _QUALIFIERS.finditer(passage)}
    return sorted({m.group(0).lower() for m in _QUALIFIERS.finditer(claim)} - said)


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


class Verifier:
    """Checks claims against cited evidence with the support score above (thread-safe, stateless)."""

    def __init__(self, embed: Embed, tokens: Tokens, threshold: float, lexical_weight: float,
                 to_english: Callable[[str], str] | None = None) -> None:
        self.embed = embed
        self.tokens = tokens
        self.threshold = threshold
        self.lexical_weight = lexical_weight
        self.to_english = to_english or (lambda text: text)

    def check(self, claims: Sequence[RawClaim], evidence: Sequence[Evidence]) -> list[CheckedClaim]:
        by_n = {ev.n: ev for ev in evidence}
        checked: list[CheckedClaim] = []
        sentences: dict[int, list[tuple[int, int, str]]] = {}
        for raw in claims:
            valid = [n for n in raw.cited if n in by_n]
            dropped = [n for n in raw.cited if n not in by_n]
            item = CheckedClaim(raw.text, valid, dropped, supported=False)
            if not raw.cited:
                item.reason = "uncited"
            elif not valid:
                item.reason = "cites only evidence that was not given"
            for n in valid:
                if n not in sentences:
                    sentences[n] = self._sentences(by_n[n])
            checked.append(item)
        todo = [c for c in checked if c.citations]
        if not todo:
            return checked
        matched = {id(c): self.to_english(c.text) for c in todo}
        terms = {id(c): set(self.tokens(matched[id(c)])) for c in todo}
        sentence_terms = {n: [set(self.tokens(s[2])) for s in sentences[n]] for n in sentences}
        # Semantic similarity is computed for the sentences that share the most terms with the claim.
        shortlist = {(id(c), n): _shortlist(terms[id(c)], sentence_terms[n]) for c in todo for n in c.citations}
        texts = [matched[id(c)] for c in todo] + [sentences[n][i][2] for (_, n), idx in shortlist.items() for i in idx]
        vectors = self.embed(texts)
        claim_vecs = {id(c): vectors[i] for i, c in enumerate(todo)}
        sentence_vecs: dict[int, dict[int, np.ndarray]] = {n: {} for n in sentences}
        offset = len(todo)
        for (_, n), idx in shortlist.items():
            for i in idx:
                sentence_vecs[n][i] = vectors[offset]
                offset += 1
        for claim in todo:
            numbers = numbers_in(claim.text)
            for n in claim.citations:
                ev = by_n[n]
                claim_terms = terms[id(claim)]
                context = set(self.tokens(f"{ev.chunk.title} {ev.chunk.section}"))
                best, lexical, semantic, score = -1, 0.0, 0.0, -1.0
                for i in shortlist[(id(claim), n)]:
                    window = set().union(context, *sentence_terms[n][max(0, i - 1) : i + 2])
                    cov = len(claim_terms & window) / len(claim_terms) if claim_terms else 0.0
                    sim = max(0.0, float(sentence_vecs[n][i] @ claim_vecs[id(claim)]))
                    value = self.lexical_weight * cov + (1 - self.lexical_weight) * sim
                    if value > score:
                        best, lexical, semantic, score = i, cov, sim, value
                start, end, sentence = sentences[n][best]
                claim.support.append(Support(
                    n=n, score=score, lexical=lexical, semantic=semantic,
                    start=ev.chunk.start + start, end=ev.chunk.start + end,
                    numbers_ok=numbers <= numbers_in(ev.chunk.text),
                    contradiction=contradicts(claim.text, sentence) or bool(unstated_qualifiers(claim.text,
                                                                                               ev.chunk.text)),
                ))
            passing = [s for s in claim.support if s.score >= self.threshold and s.numbers_ok and not s.contradiction]
            claim.supporting = passing
            claim.supported = bool(passing)
            if passing:
                claim.citations = [s.n for s in passing]
            else:
                claim.reason = _why_not(claim.support, self.threshold)
        return checked

    @staticmethod
    def _sentences(ev: Evidence) -> list[tuple[int, int, str]]:
        text = ev.chunk.text
        spans = item_spans(text) or []  # a label's bulleted list: each item is a sentence
        return [(s.start, s.end, text[s.start : s.end]) for s in spans] or [(0, len(text), text)]


def _shortlist(claim_terms: set[str], sentence_terms: Sequence[set[str]]) -> list[int]:
    """The passage sentences sharing the most terms with the claim (reading order breaks ties)."""
    order = sorted(range(len(sentence_terms)), key=lambda i: -len(claim_terms & sentence_terms[i]))
    return order[:MAX_SENTENCES_PER_PASSAGE]


def _why_not(support: Sequence[Support], threshold: float) -> str:
    if any(s.contradiction for s in support if s.score >= threshold):
        return "contradicts the cited evidence or overstates it"
    if any(not s.numbers_ok for s in support if s.score >= threshold):
        return "states a number the cited evidence does not"
    best = max((s.score for s in support), default=0.0)
    return f"not supported by the cited evidence (support {best:.2f} < {threshold:.2f})"
