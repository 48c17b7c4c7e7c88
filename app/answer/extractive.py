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

For a question about a drug (``GenerationRequest.focus``) the answer is written for a reader:

- a label's bullet list is cut into its items (whole items, never a run of "•" fragments);
- no sentence about another drug is quoted (``about.off_focus``), and a passage outside the drug's own
  documents gives only sentences that name it;
- the sentence that answers the asked aspect leads: + ``ASPECT_SECTION_BONUS`` under a heading of the
  aspect (Dosage and Administration for a dose question), + ``ASPECT_TERM_BONUS`` when it uses the aspect's
  words, + ``DOSE_NUMBER_BONUS`` for a dose question's sentence with an amount and unit, + ``OWN_BONUS``
  from the drug's own label;
- a sentence of the hospital's own rule (``source_type: local_rule``) that passes the same filters leads the
  answer when it is relevant at all (``MIN_SENTENCE_SCORE``): the local policy on what was asked is said first;
- at most ``extractive_max_sentences`` sentences and about ``MAX_ANSWER_CHARS`` characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.answer.about import DrugsNamed, off_focus
from app.answer.evidence import CITATION_MARKER, Evidence
from app.answer.generator import GenerationEvent, GenerationRequest, GeneratorError
from app.answer.prompt import is_instruction_like
from app.model import LOCAL_RULE
from app.retrieval.aspects import FOOD_PARTNER, FOOD_TERMS
from app.retrieval.question import QuestionFocus, names_in, without_names
from app.text.sentences import LIST_BULLET, item_spans

MIN_SENTENCE_SCORE = 0.35
RELATIVE_FLOOR = 0.8  # and at least this share of the best sentence's score
MMR_LAMBDA = 0.75
MIN_WORDS, MAX_WORDS = 4, 90
EXTRACTIVE_ID = "extractive-mmr-v1"
SHORTLIST = 24
FOCUSED_SHORTLIST = 12  # a question about a drug: its aspect bonuses already rank the sentences
MAX_LOCAL_RULES = 2  # its sentences always reach the shortlist
ASPECT_SECTION_BONUS = 0.15
ASPECT_TERM_BONUS = 0.1
DOSE_NUMBER_BONUS = 0.1
OWN_BONUS = 0.05
MAX_ANSWER_CHARS = 900
# A list's lead-in that needs its items to be a sentence: it ends on a word that asks for more.
_LEAD_IN_OPEN = re.compile(r"\b(?:if|you|take|taking|have|has|with|for|to|of|are|is|or|and|the|a|an|use|using"
                           r"|occur|include|including|such as|whether)\s*$", re.I)
# Sentences that point elsewhere instead of stating something: "See … below", "… are described in Table 1",
# a lead-in ending with a colon.
_CROSS_REFERENCE = re.compile(r"^(?:see|refer to)\b|\bdescribed (?:in|below)\b|\b(?:in|see) table \d+\b|[:：]\s*$",
                              re.I)
_NUMBERING = re.compile(r"^(?:\(\s*[\d.,\s]+\)\s*|\d+(?:\.\d+)+\s+|\(\d+\)\s*"
                        r"|\d+(?:\.\d+)*\s+[A-Z][A-Z ,&/-]{3,}\s+(?=[A-Z][a-z]))+")
_DOSE_NUMBER = re.compile(r"\d+(?:\.\d+)?\s*(?:mg|mcg|µg|g|grams?|milligrams?|mL|units?|tablets?|capsules?)\b", re.I)


@dataclass(frozen=True)
class Candidate:
    n: int
    text: str
    terms: frozenset[str]
    score: float  # ranks the sentences
    answers_aspect: bool = False  # from the focus drug's own label, under the asked aspect's heading, in its words
    gate: float | None = None  # decides whether it is relevant at all (the question as asked); None: ``score``

    @property
    def relevance(self) -> float:
        return self.score if self.gate is None else self.gate


class ExtractiveGenerator:
    mode: Literal["llm", "extractive"] = "extractive"

    def __init__(self, embed: Callable[[list[str]], np.ndarray], tokens: Callable[[str], list[str]],
                 max_sentences: int, to_english: Callable[[str], str] | None = None,
                 drugs_named: DrugsNamed | None = None) -> None:
        self.embed = embed
        self.tokens = tokens
        self.max_sentences = max_sentences
        self.to_english = to_english or (lambda text: text)
        self.drugs_named: DrugsNamed = drugs_named or (lambda text: set())

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
        focus = request.focus
        food_question = bool(focus.drugs) and focus.aspect.name == "interaction" and FOOD_PARTNER.search(
            request.question) is not None
        pair_question = len(focus.subjects()) >= 2 and focus.aspect.name == "interaction"
        texts: list[tuple[int, str, str, float, bool, bool]] = []
        for ev in request.evidence:
            for sentence in _sentences(ev.chunk.text):
                words = len(sentence.split()) if not _mostly_han(sentence) else len(sentence) // 2
                if not MIN_WORDS <= words <= MAX_WORDS or is_instruction_like(sentence):
                    continue
                if CITATION_MARKER.search(sentence):
                    continue
                if focus.names_a_subject and not self._about(sentence, ev, focus, request.own_documents):
                    continue
                if focus.drugs and focus.aspect.label_aspect and not _speaks_of_aspect(sentence, ev, focus):
                    continue
                if food_question and not FOOD_TERMS.search(sentence):
                    continue
                if pair_question and not all(names_in(f"{ev.chunk.title}\n{ev.chunk.section}\n{sentence}", names)
                                             for names in focus.subjects()):
                    continue  # "Does X interact with Y?": a sentence about X and Y together
                texts.append((ev.n, sentence, ev.chunk.section,
                              _aspect_bonus(sentence, ev, focus, request.own_documents),
                              _answers_aspect(sentence, ev, focus, request.own_documents),
                              ev.chunk.doc_id in request.own_documents))
        if not texts:
            return []
        question = self.to_english(request.question)
        q_terms = set(self.tokens(question))
        # A Chinese passage (a hospital's 说明书) is matched against the question as asked, not its English
        # rendering: their words and the encoder's reading of them are only comparable in one language.
        as_asked = request.question if question != request.question else ""
        zh_terms = set(self.tokens(as_asked)) or q_terms
        names = {name.lower() for name in request.entities}
        # In the one drug's own label every sentence is about it: how a sentence names it (generic or brand)
        # says nothing about whether it answers, so there the drug's names neither count nor earn a bonus.
        one_drug = focus.asks_one_drugs_label
        name_terms = {t for n in focus.drug_name_forms() for t in self.tokens(n)} if one_drug else set()
        own_terms = (q_terms - name_terms) or q_terms
        # (ranking part, gate part, n, sentence, terms, answers the aspect, from the one drug's own label)
        lexical: list[tuple[float, float, int, str, frozenset[str], bool, bool]] = []
        for n, sentence, section, aspect_bonus, answers, own in texts:
            terms = frozenset(self.tokens(sentence))
            context = terms | set(self.tokens(section))
            asked = zh_terms if _mostly_han(sentence) else q_terms
            coverage = len(asked & context) / len(asked) if asked else 0.0
            bonus = 0.05 if any(name in sentence.lower() for name in names) else 0.0
            gate = 0.4 * coverage + bonus + aspect_bonus
            unnamed_label = own and one_drug
            if unnamed_label:
                unnamed_terms = ((asked - name_terms) or asked) if asked is zh_terms else own_terms
                coverage = len(unnamed_terms & context) / len(unnamed_terms) if unnamed_terms else 0.0
                bonus = 0.0
            lexical.append((0.4 * coverage + bonus + aspect_bonus, gate, n, sentence, terms, answers, unnamed_label))
        # Only the lexically best sentences are embedded (the dense part needs the model).
        lexical.sort(key=lambda item: -item[0])
        shortlist = lexical[: FOCUSED_SHORTLIST if focus.names_a_subject else SHORTLIST]
        rules = {ev.n for ev in request.evidence if ev.chunk.source_type == LOCAL_RULE}
        shortlist += [item for item in lexical if item[2] in rules and item not in shortlist][:MAX_LOCAL_RULES]
        unnamed = _without_names(question, focus.drug_name_forms()) if one_drug else ""
        queries = list(dict.fromkeys(q for q in (question, unnamed, as_asked) if q))  # each encoded once
        vectors = self.embed(queries + [item[3] for item in shortlist])
        q_vecs = dict(zip(queries, vectors, strict=False))
        s_vecs = vectors[len(queries):]
        candidates = []
        for i, (part, gate, n, sentence, terms, answers, unnamed_label) in enumerate(shortlist):
            han = _mostly_han(sentence) and bool(as_asked)
            q_vec = q_vecs[as_asked if han else question]
            own_vec = q_vecs[as_asked if han else (unnamed or question)]  # without the drug's name, for its label
            relevance = gate + 0.6 * float(s_vecs[i] @ q_vec)
            if unnamed_label and (unnamed or han):  # ranked without the drug's name; relevant or not as asked
                candidates.append(Candidate(n, sentence, terms, part + 0.6 * float(s_vecs[i] @ own_vec), answers,
                                            relevance))
            else:
                candidates.append(Candidate(n, sentence, terms, relevance, answers))
        floor = max(MIN_SENTENCE_SCORE, RELATIVE_FLOOR * max(c.relevance for c in candidates))
        # The hospital's own rule on what was asked comes first (it passed the same focus and aspect filters);
        # then the lead answers the asked aspect from the drug's own label when such a sentence is in reach.
        local = [i for i, c in enumerate(candidates) if c.n in rules and c.relevance >= MIN_SENTENCE_SCORE]
        picked: list[int] = [max(local, key=lambda i: candidates[i].score)] if local else []
        leads = [i for i, c in enumerate(candidates)
                 if c.answers_aspect and c.relevance >= MIN_SENTENCE_SCORE and i not in picked]
        picked += [max(leads, key=lambda i: candidates[i].score)] if leads else []
        length = sum(len(candidates[i].text) for i in picked)
        while len(picked) < self.max_sentences and length < MAX_ANSWER_CHARS:
            best, best_value = -1, -1.0
            for i, cand in enumerate(candidates):
                if i in picked or cand.relevance < floor:
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
            length += len(candidates[best].text)
        return [(candidates[i].n, candidates[i].text) for i in picked]


    def _about(self, sentence: str, ev: Evidence, focus: QuestionFocus, own: frozenset[str]) -> bool:
        """A sentence about the question's subject: from its own documents and not about another drug, or
        naming it (see about.py)."""
        if ev.chunk.doc_id not in own and not names_in(sentence, focus.subject_names()):
            return False
        return off_focus(sentence, focus, self.drugs_named, [ev], own) is None


def _sentences(text: str) -> list[str]:
    """A passage's sentences, each verbatim: a bulleted list cut into its items (``item_spans``), section
    numbers ("( 5.6 )", "7.1", "4 CONTRAINDICATIONS") trimmed from the start, questions and cross-references
    left out (they answer nothing).  The items of a list whose lead-in does not end its sentence ("… may
    occur if you take • more than 6 caplets") are fragments: the first is kept with its lead-in (one span),
    the others are left out.  A lead-in that a heading, not a list, follows is a fragment too, left out."""
    out: list[str] = []
    spans = item_spans(text)
    lead_open = False
    for i, span in enumerate(spans):
        piece = text[span.start : span.end]
        bulleted = i > 0 and LIST_BULLET.search(text, spans[i - 1].end, span.start) is not None
        if not bulleted:
            lead_open = _LEAD_IN_OPEN.search(piece) is not None and i + 1 < len(spans) and (
                LIST_BULLET.search(text, span.end, spans[i + 1].start) is not None)
            if lead_open:
                out.append(text[span.start : spans[i + 1].end])  # the lead-in with its first item
                continue
            if _LEAD_IN_OPEN.search(piece):
                continue  # a lead-in left open by a heading, not a list ("… are indicated for" / "Erosive …")
            out.append(piece)
        elif not lead_open:
            out.append(piece)
    out = [_trim_numbering(s) for s in out]
    return [s for s in out if s and not s.rstrip().endswith(("?", "？")) and not _CROSS_REFERENCE.search(s)]


def _without_names(question: str, names: Sequence[str]) -> str:
    """The question without the drug's names, when it named one and at least two words are left; else ""."""
    out = without_names(question, names)
    return out if out != " ".join(question.split()) and len(out.split()) >= 2 else ""


def _trim_numbering(sentence: str) -> str:
    return _NUMBERING.sub("", sentence)


def _speaks_of_aspect(sentence: str, ev: Evidence, focus: QuestionFocus) -> bool:
    """For a question that a label answers (dose, side effects…): the sentence is under a heading of the asked
    aspect or uses its words; a side-effects question is not answered by an interactions sentence."""
    return focus.aspect.section_matches(ev.chunk.section) or focus.aspect.mentioned_in(sentence)


def _answers_aspect(sentence: str, ev: Evidence, focus: QuestionFocus, own: frozenset[str]) -> bool:
    if not focus.aspects or not focus.drugs or ev.chunk.doc_id not in own or not focus.aspect.label_aspect:
        return False
    return focus.aspect.section_matches(ev.chunk.section) and focus.aspect.mentioned_in(sentence)


def _aspect_bonus(sentence: str, ev: Evidence, focus: QuestionFocus, own: frozenset[str]) -> float:
    if not focus.aspects or not focus.names_a_subject:
        return 0.0
    aspect = focus.aspect
    bonus = ASPECT_SECTION_BONUS if aspect.section_matches(ev.chunk.section) else 0.0
    if aspect.mentioned_in(sentence):
        bonus += ASPECT_TERM_BONUS
    if aspect.name in ("dose", "max_dose", "overdose") and _DOSE_NUMBER.search(sentence):
        bonus += DOSE_NUMBER_BONUS
    if ev.chunk.doc_id in own:
        bonus += OWN_BONUS
    return bonus


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))


def _mostly_han(text: str) -> bool:
    han = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return han > len(text) / 3
