"""Verification: every claim checked against the passages it cites; only supported claims stay.

For a claim ``c`` citing evidence blocks ``E`` (blocks that were not given are dropped first):

* for each sentence ``s`` of ``e`` (the six sharing most terms with the claim):
  **lexical(c, s)** — the share of the claim's content terms (BM25 analyzer: stop words out,
  plural-stemmed; a Chinese claim is matched through its English rendering — linked drug and disease
  names and glossary words — unless every passage it cites is Chinese) found in ``s``, its neighbouring
  sentences, or — for the names the claim gives only — ``e``'s title and section;
  **semantic(c, s)** — cosine similarity (all-MiniLM-L6-v2) between the claim and ``s``;
* **support(c, e) = max over s of w · lexical + (1 − w) · semantic**, ``w = support_lexical_weight``;
  the best ``s`` is the claim's *supporting span* in ``e``, and the checks below are made against it.  (Letting any
  sentence above the threshold that does not contradict the claim support it was tried on real model output: it
  kept "yes, the cytokines reflect the inflammation" against an abstract's statement of its aim.)

A claim is supported when, for at least one cited passage, ``support ≥ support_threshold`` **and**
hard checks pass: every number the claim states (doses, percentages) appears in that passage; the
claim does not contradict its supporting sentence (polarity — a sentence that forbids, "contraindicated",
"avoid", 禁用…, or negates, "not", 不…, an odd number of times, but not both, is negative — or the claim states
a direction — increase or decrease — the sentence does not, or it calls safe what the sentence calls a
harm or risk); and it adds no strong qualifier ("safe", "always", "first-line", "effective"…) that
the passage does not use.  A claim whose matched terms are only the names of the drugs and diseases it names is
not checked at all (``UNCHECKABLE``): with an encoder that cannot read Chinese, that is what is left of a Chinese
claim whose words are outside the glossary, and any passage about the drug matches it — "华法林是口服抗凝药，而胺碘酮是
强心苷类药物" (amiodarone called a cardiac glycoside) was kept as "warfarin, amiodarone".  Unsupported claims leave
the answer and stay in ``claims`` with ``supported: false`` and the reason.
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
UNCHECKABLE = "cannot be checked: beyond the names it gives, the verifier can read nothing it says"
MAX_SENTENCES_PER_PASSAGE = 6
Tokens = Callable[[str], list[str]]

_NUMBER = re.compile(r"(?<![A-Za-z])\d+(?:[.,]\d+)?")
# Grammatical negation ("not", 不) flips what a sentence says; words that forbid ("contraindicated", "avoid", 禁用)
# say a negative thing themselves.  A sentence is negative when it forbids or when it negates an odd number of
# times, not both: "is not contraindicated" is positive, and a label that says "contraindicated" twice
# ("4 CONTRAINDICATIONS Warfarin is contraindicated in: Pregnancy Warfarin is contraindicated in women who…")
# is as negative as a claim that says it once.
_NEGATION = re.compile(
    r"\b(not|no|never|none|without|cannot|can't|don't|doesn't|isn't|aren't|shouldn't|mustn't)\b"
    r"|不(?!良|全|适|足|耐受|规则|孕|宁)|没有|无(?!菌|机|力|尿)|勿",  # 不良反应, 肾功能不全, 无菌… are words
    re.IGNORECASE,
)
_FORBIDS = re.compile(r"\b(avoid(?:ed|s)?|contraindicat\w*|unsafe|prohibit\w*)\b|禁用|禁忌|避免", re.IGNORECASE)
# Saying a drug may be used ("can be taken with", 可以使用) asserts it is safe to: the same check as "safe".
_SAFE = re.compile(r"\b(safe(?:ly)?|harmless|well[- ]tolerated|no (?:known )?risk|risk[- ]free"
                   r"|(?:can|may) (?:safely )?be (?:used|taken|given|combined|co-?administered)|is allowed)\b"
                   r"|安全|无害|可以(?:一起|同时|合并)?(?:使用|服用|用|合用)|能(?:一起|同时)?(?:使用|服用|用|合用)",
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
    """(negative, direction): it forbids, or negates an odd number of times (not both); +1 up / −1 down / 0."""
    negated = (len(_NEGATION.findall(text)) % 2 == 1) != bool(_FORBIDS.search(text))
    up, down = bool(_UP.search(text)), bool(_DOWN.search(text))
    return negated, (1 if up and not down else -1 if down and not up else 0)


# A section heading glued to a label sentence ("4 CONTRAINDICATIONS Warfarin sodium is contraindicated in…")
# is not part of what the sentence says: its "contraindications" is no negation of the sentence.
_HEADING_PREFIX = re.compile(r"^\s*(?:\d+(?:\.\d+)*\s+)?[A-Z][A-Z ,&/-]{3,}\s+(?=[A-Z][a-z])")


def contradicts(claim: str, sentence: str) -> bool:
    """Negation flipped, a direction the sentence does not state, or safety asserted where it speaks of harm."""
    sentence = _HEADING_PREFIX.sub("", sentence)
    claim_neg, claim_dir = polarity(claim)
    sent_neg, sent_dir = polarity(sentence)
    if claim_neg != sent_neg:
        return True
    if _SAFE.search(claim) and _HARM.search(sentence) and not _SAFE.search(sentence):
        return True
    # A claim that says something rises or falls needs a sentence that says so (an abstract's aim, "to investigate
    # the changes in IL-4", does not support "IL-4 was lower").
    return claim_dir != 0 and claim_dir != sent_dir


def unstated_qualifiers(claim: str, passage: str) -> list[str]:
    """Strong words of the claim ("safe", "always", "first-line") that the passage does not use."""
    said = {m.group(0).lower() for m in _QUALIFIERS.finditer(passage)}
    return sorted({m.group(0).lower() for m in _QUALIFIERS.finditer(claim)} - said)


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


_UNITS = {
    "mg": "mg", "milligram": "mg", "milligrams": "mg", "毫克": "mg", "g": "g", "gram": "g", "grams": "g", "克": "g",
    "mcg": "mcg", "µg": "mcg", "μg": "mcg", "microgram": "mcg", "micrograms": "mcg", "微克": "mcg",
    "kg": "kg", "千克": "kg", "公斤": "kg", "ml": "ml", "milliliter": "ml", "milliliters": "ml", "毫升": "ml",
    "l": "l", "%": "%", "iu": "iu", "units": "units", "unit": "units", "单位": "units", "mmol": "mmol",
    "meq": "meq", "hour": "h", "hours": "h", "hr": "h", "hrs": "h", "h": "h", "小时": "h", "day": "d", "days": "d",
    "天": "d", "日": "d", "week": "wk", "weeks": "wk", "周": "wk", "month": "mo", "months": "mo", "个月": "mo",
    "year": "y", "years": "y", "岁": "y", "年": "y", "times": "x", "次": "x",
}
_NUMBER_RUN = re.compile(
    r"(?<![A-Za-z\d.])(\d+(?:[.,]\d+)?(?:\s*(?:to|or|and|-|–|~|～|至|或|到)\s*\d+(?:[.,]\d+)?)*)\s*"
    r"(milligrams?|micrograms?|milliliters?|grams?|mg|mcg|µg|μg|kg|ml|iu|units?|mmol|meq|hours?|hrs?|days?|weeks?"
    r"|months?|years?|times|毫克|微克|千克|公斤|毫升|单位|小时|个月|克|天|日|周|岁|年|次|%|g|l|h)(?![A-Za-z])",
    re.IGNORECASE)


def quantities_in(text: str) -> set[tuple[str, str]]:
    """(number, unit) pairs: "2 to 5 mg" is 2 mg and 5 mg; "3克" is 3 g."""
    pairs: set[tuple[str, str]] = set()
    for match in _NUMBER_RUN.finditer(text):
        unit = _UNITS.get(match.group(2).lower(), "")
        for number in _NUMBER.findall(match.group(1)):
            pairs.add((number.replace(",", ""), unit))
    return pairs


def numbers_stated(claim: str, passage: str) -> bool:
    """Every number of the claim is in the passage, and every amount (number with a unit) with that unit."""
    return numbers_in(claim) <= numbers_in(passage) and quantities_in(claim) <= quantities_in(passage)


class Verifier:
    """Checks claims against cited evidence with the support score above (thread-safe, stateless)."""

    def __init__(self, embed: Embed, tokens: Tokens, threshold: float, lexical_weight: float,
                 to_english: Callable[[str], str] | None = None, names: Callable[[str], set[str]] | None = None,
                 require_more_than_names: bool = False) -> None:
        """``names``: the terms of the drug and disease names a claim gives.  A passage's title and section count
        toward a claim's lexical overlap only for those (the title says what the passage is about, not what it
        says: an abstract's chunk is titled with its first sentence).  ``require_more_than_names``: a claim that is
        nothing but names once matched is dropped unchecked (``UNCHECKABLE``)."""
        self.embed = embed
        self.tokens = tokens
        self.threshold = threshold
        self.lexical_weight = lexical_weight
        self.to_english = to_english or (lambda text: text)
        self.names = names
        self.require_more_than_names = require_more_than_names

    def check(self, claims: Sequence[RawClaim], evidence: Sequence[Evidence]) -> list[CheckedClaim]:
        by_n = {ev.n: ev for ev in evidence}
        checked: list[CheckedClaim] = []
        sentences: dict[int, list[tuple[int, int, str]]] = {}
        matched: dict[int, str] = {}  # the claim as matched against the evidence (its English rendering)
        terms: dict[int, set[str]] = {}
        named: dict[int, set[str]] = {}  # the terms of the names it gives (all its terms without ``names``)
        for raw in claims:
            valid = [n for n in raw.cited if n in by_n]
            dropped = [n for n in raw.cited if n not in by_n]
            item = CheckedClaim(raw.text, valid, dropped, supported=False)
            checked.append(item)
            if not raw.cited:
                item.reason = "uncited"
                continue
            if not valid:
                item.reason = "cites only evidence that was not given"
                continue
            key = id(item)
            # a claim citing only Chinese passages (a hospital's 说明书) is matched as written, in their language
            in_chinese = all(by_n[n].chunk.language == "zh" for n in valid)
            matched[key] = raw.text if in_chinese else self.to_english(raw.text)
            terms[key] = set(self.tokens(matched[key]))
            named[key] = self.names(raw.text) if self.names is not None else terms[key]
            if self.require_more_than_names and self.names is not None and not terms[key] - named[key]:
                item.reason = UNCHECKABLE
                item.citations = []
                continue
            for n in valid:
                if n not in sentences:
                    sentences[n] = self._sentences(by_n[n])
        todo = [c for c in checked if c.citations]
        if not todo:
            return checked
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
            for n in claim.citations:
                ev = by_n[n]
                claim_terms = terms[id(claim)]
                context = set(self.tokens(f"{ev.chunk.title} {ev.chunk.section}")) & named[id(claim)]
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
                    numbers_ok=numbers_stated(claim.text, ev.chunk.text),
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
