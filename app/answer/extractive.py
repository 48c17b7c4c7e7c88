"""The extractive answerer: the evidence sentences most relevant to the question, each cited.

The default generator when no LLM is configured, and the fallback when the LLM fails.  Every
sentence is a verbatim sentence of a retrieved passage, followed by its block number ``[n]``.

Sentence score = 0.6 · cosine(question, sentence) + 0.4 · (share of the question's content terms the
sentence or its section heading contains), + 0.05 when it names a drug/disease the question links.
The 24 sentences with the best lexical part are embedded and scored in full.  Sentences are picked
greedily by maximal marginal relevance (λ = 0.75), skipping near-duplicates (cosine > 0.92 or term
overlap > 0.8 with a picked one), until ``extractive_max_sentences`` or the floor
(``MIN_SENTENCE_SCORE``, and 80 % of the best sentence's score).  Sentences that look like
instructions or carry reference marks are never quoted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.answer.evidence import CITATION_MARKER
from app.answer.generator import GenerationEvent, GenerationRequest, GeneratorError
from app.answer.prompt import is_instruction_like
from app.text.sentences import sentence_spans

MIN_SENTENCE_SCORE = 0.35
RELATIVE_FLOOR = 0.8  # and at least this share of the best sentence's score
MMR_LAMBDA = 0.75
MIN_WORDS, MAX_WORDS = 4, 90
EXTRACTIVE_ID = "extractive-mmr-v1"
SHORTLIST = 24


@dataclass(frozen=True)
class Candidate:
    n: int
    text: str
    terms: frozenset[str]
    score: float


class ExtractiveGenerator:
    mode: Literal["llm", "extractive"] = "extractive"

    def __init__(self, embed: Callable[[list[str]], np.ndarray], tokens: Callable[[str], list[str]],
                 max_sentences: int, to_english: Callable[[str], str] | None = None) -> None:
        self.embed = embed
        self.tokens = tokens
        self.max_sentences = max_sentences
        self.to_english = to_english or (lambda text: text)

    def model_id(self) -> str:
        return EXTRACTIVE_ID

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        return None

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        raise GeneratorError("the extractive answerer does not write free text")

    def generate(self, request: GenerationRequest) -> Iterator[GenerationEvent]:
        for n, sentence in self.select(request):
            yield GenerationEvent("answer", f"{sentence} [{n}]\n")

    def select(self, request: GenerationRequest) -> list[tuple[int, str]]:
        """(block number, verbatim sentence) pairs, best first."""
        texts: list[tuple[int, str, str]] = []
        for ev in request.evidence:
            chunk_text = ev.chunk.text
            for span in sentence_spans(chunk_text):
                sentence = chunk_text[span.start : span.end]
                words = len(sentence.split()) if not _mostly_han(sentence) else len(sentence) // 2
                if not MIN_WORDS <= words <= MAX_WORDS or is_instruction_like(sentence):
                    continue
                if CITATION_MARKER.search(sentence):
                    continue
                texts.append((ev.n, sentence, ev.chunk.section))
        if not texts:
            return []
        question = self.to_english(request.question)
        q_terms = set(self.tokens(question))
        names = {name.lower() for name in request.entities}
        lexical: list[tuple[float, int, str, frozenset[str]]] = []
        for n, sentence, section in texts:
            terms = frozenset(self.tokens(sentence))
            context = terms | set(self.tokens(section))
            coverage = len(q_terms & context) / len(q_terms) if q_terms else 0.0
            bonus = 0.05 if any(name in sentence.lower() for name in names) else 0.0
            lexical.append((0.4 * coverage + bonus, n, sentence, terms))
        # Only the lexically best sentences are embedded (the dense part needs the model).
        lexical.sort(key=lambda item: -item[0])
        shortlist = lexical[:SHORTLIST]
        vectors = self.embed([question] + [item[2] for item in shortlist])
        q_vec, s_vecs = vectors[0], vectors[1:]
        sims = s_vecs @ q_vec
        candidates = [Candidate(n, sentence, terms, part + 0.6 * float(sim))
                      for (part, n, sentence, terms), sim in zip(shortlist, sims, strict=True)]
        floor = max(MIN_SENTENCE_SCORE, RELATIVE_FLOOR * max(c.score for c in candidates))
        picked: list[int] = []
        while len(picked) < self.max_sentences:
            best, best_value = -1, -1.0
            for i, cand in enumerate(candidates):
                if i in picked or cand.score < floor:
                    continue
                redundancy = max((float(s_vecs[i] @ s_vecs[j]) for j in picked), default=0.0)
                if redundancy > 0.92 or any(_overlap(cand.terms, candidates[j].terms) > 0.8 for j in picked):
                    continue
                value = MMR_LAMBDA * cand.score - (1 - MMR_LAMBDA) * redundancy
                if value > best_value:
                    best, best_value = i, value
            if best < 0:
                break
            picked.append(best)
        return [(candidates[i].n, candidates[i].text) for i in picked]


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))


def _mostly_han(text: str) -> bool:
    han = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return han > len(text) / 3
