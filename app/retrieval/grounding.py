"""Focus-grounded evidence: for a question about a drug, only passages about that drug are evidence.

A search ranks passages by how well they match the words of a question; "maximum daily dose of
acetaminophen" then matches another drug's "maximum daily dose" sentence as well as acetaminophen's.
For a question that names a drug (``QuestionFocus``), the evidence an answer may cite is narrowed here:

- **own documents**: the labels of the focus drugs (the graph's ``DESCRIBED_BY``), and for an interaction
  question the interaction tables of the focus drugs, are searched on their own with the question and the
  aspect's words; passages under a heading of the asked aspect come first (dose → Dosage and
  Administration, breastfeeding → Lactation / Nursing Mothers…);
- **passages that name the drug** (any of its names, brands, Chinese names) in other documents (abstracts,
  reference pages) follow; a passage of *another drug's label* is not about the focus drug even when it names
  it, and neither is an interaction table, except for an interaction question;
- a hospital's **local rule** (``source_type: local_rule``) that names the focus drug (both drugs of a pair) is
  placed first: the institution's own policy on exactly what was asked;
- everything else is **related**: shown apart by a client, never cited.

Two-drug questions keep both drugs (passages naming both first).  A question that names no drug or class
is left as the search ranked it.

When the knowledge cannot answer about the focus, the answer says exactly why (``ScopedAbstention``):

- ``unknown_name``: the question names something no drug and no indexed passage names ("zorvastin"), or
  asks how a drug interacts with such a thing ("Can I take metamucil with ciprofloxacin?");
- ``no_label``: the drug is known (its names, its card) but no label of it is indexed and no other passage
  (an abstract, a reference page) names it; when such passages exist they are the evidence, and if nothing in
  them answers, the answer says the same (``Grounding.fallback``): "Aripiprazole: a new risk factor for
  pathological gambling?" is answered from the abstract that names it, "Is amoxicillin safe in pregnancy?" from
  nothing but the words "The indexed knowledge has no label for amoxicillin.";
- ``pair_not_addressed``: a question about two drugs together (an interaction) where no passage names both;
- ``aspect_not_addressed``: its labels are indexed but none of their passages, nor any other passage about it,
  speaks of the aspect (``Aspect.terms``); the answer lists the sections its labels do hold.  For an aspect
  other sources may answer too ("how does Valium work?"), the same words are the fallback when nothing does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.model import LOCAL_RULE
from app.retrieval.aspects import Aspect
from app.retrieval.fusion import FusedHit
from app.retrieval.question import QuestionFocus, names_in

MAX_RELATED = 5
MAX_LOCAL_RULES = 2  # local-rule passages placed first in an answer's evidence
MAX_HOLDINGS = 12


@dataclass(frozen=True)
class ScopedAbstention:
    """Why the knowledge cannot answer this question about its subject, and what it does hold."""

    case: str  # unknown_name | no_label | pair_not_addressed | aspect_not_addressed
    subject: str
    aspect: Aspect
    holdings: tuple[str, ...] = ()  # the labels' sections, or the documents that mention the subject
    card: bool = True  # the subject is a drug of the graph, with a drug card

    def message(self, language: str = "en") -> str:
        if language == "zh":
            return self._message_zh()
        if self.case == "unknown_name":
            return f"The indexed knowledge has no drug or document that names {self.subject}."
        if self.case == "no_label":
            text = f"The indexed knowledge has no label for {self.subject}."
            held = "its drug card and " if self.card else ""
            if self.holdings:
                text += (f" It holds {held}other documents that mention it, shown as related passages, "
                         f"not as an answer: {'; '.join(self.holdings)}.")
            elif self.card:
                text += " It holds its drug card (names, classes, listed interactions) only."
            return text
        if self.case == "pair_not_addressed":
            text = f"No indexed passage speaks of {self.subject} together."
            if self.holdings:
                text += f" Passages about each of them are shown as related: {'; '.join(self.holdings)}."
            return text
        text = f"The indexed labels of {self.subject} do not address {self.aspect.label}."
        if self.holdings:
            text += f" They hold these sections: {', '.join(self.holdings)}."
        return text

    def _message_zh(self) -> str:
        if self.case == "unknown_name":
            return f"现有索引知识中没有任何药物或文献提到{self.subject}。"
        if self.case == "no_label":
            text = f"现有索引知识中没有{self.subject}的药品说明书。"
            if self.holdings:
                text += ("仅有其药物卡片及提到它的其他文献（作为相关段落列出，不作为答案）："
                         f"{'；'.join(self.holdings)}。")
            return text
        if self.case == "pair_not_addressed":
            return f"现有索引文献中没有同时提到{self.subject}的段落。"
        text = f"已索引的{self.subject}说明书未涉及{self.aspect.label_zh}。"
        if self.holdings:
            text += f"说明书包含以下章节：{'、'.join(self.holdings)}。"
        return text

    def to_json(self, language: str = "en") -> dict[str, Any]:
        return {"case": self.case, "subject": self.subject, "aspect": self.aspect.name,
                "holdings": list(self.holdings), "message": self.message(language)}


@dataclass
class Grounding:
    focus: QuestionFocus
    hits: list[FusedHit]  # the evidence an answer may cite
    related: list[FusedHit] = field(default_factory=list)  # shown apart, never cited
    own_documents: frozenset[str] = frozenset()
    abstention: ScopedAbstention | None = None
    # Said instead of the generic abstention when the evidence (passages of other documents that name the
    # drug) turns out not to answer: the drug has no label here.
    fallback: ScopedAbstention | None = None

    def from_own_label(self) -> bool:
        """The evidence holds a passage of the asked drug's own label under a heading of the asked aspect: the
        question is answerable here however far its words are from the passage's (a Chinese question against a
        Chinese 说明书 that the English embedding model reads poorly)."""
        aspect = self.focus.aspect
        return aspect.label_aspect and any(
            h.chunk.doc_id in self.own_documents and h.chunk.source_type == "label"
            and aspect.section_matches(h.chunk.section) for h in self.hits)


@dataclass(frozen=True)
class OwnDocuments:
    """The focus drugs' own documents, as the stores know them."""

    labels: dict[str, list[str]]  # drug id -> its label document ids
    tables: dict[str, list[str]]  # drug id -> its interaction-table document ids
    outline: Callable[[str], tuple[str, tuple[str, ...]] | None]  # doc id -> (title, section headings)


def passage_text(hit: FusedHit) -> str:
    c = hit.chunk
    return f"{c.title}\n{c.section}\n{c.text}"


def is_about(hit: FusedHit, focus: QuestionFocus, own: frozenset[str]) -> bool:
    """Whether a passage is about the question's subject (see the module docstring)."""
    if hit.chunk.doc_id in own:
        return True
    names = focus.subject_names()
    if hit.chunk.source_type in ("label", "interaction"):
        # Another drug's label is about that drug, and an interaction table states interactions only: either
        # speaks to an interaction question that names one drug ("what not to take with lithium"), to nothing
        # else.  Of a pair, a third drug's label speaks of the third drug ("Atomoxetine did not affect the
        # binding of warfarin, acetylsalicylic acid…"): the pair's own labels and tables are its evidence.
        return focus.aspect.name == "interaction" and len(focus.subjects()) < 2 and names_in(passage_text(hit),
                                                                                             names)
    return names_in(passage_text(hit), names)


def names_every_subject(hit: FusedHit, focus: QuestionFocus) -> bool:
    text = passage_text(hit)
    return all(names_in(text, names) for names in focus.subjects())


def answers_aspect(hit: FusedHit, aspect: Aspect) -> bool:
    """Whether a passage speaks of the aspect: under a heading of it, or in its words."""
    return aspect.section_matches(hit.chunk.section) or aspect.mentioned_in(f"{hit.chunk.section}\n{hit.chunk.text}")


def ground(focus: QuestionFocus, hits: Sequence[FusedHit], own_hits: Sequence[FusedHit], own: OwnDocuments,
           k: int) -> Grounding:
    """The evidence for ``focus`` from the search's ``hits`` and the passages found within the focus drugs'
    own documents (``own_hits``, best first), at most ``k``; or the scoped abstention."""
    if not focus.names_a_subject:
        if focus.unknown_names:
            subject = ", ".join(f"'{n}'" for n in focus.unknown_names)
            return Grounding(focus, [], list(hits)[:MAX_RELATED],
                             abstention=ScopedAbstention("unknown_name", subject, focus.aspect))
        return Grounding(focus, list(hits)[:k])
    if focus.unknown_names and focus.aspect.name == "interaction" and len(focus.drugs) + len(focus.classes) < 2:
        # "Can I take metamucil with ciprofloxacin?": the other half of the pair is unknown here.
        subject = ", ".join(f"'{n}'" for n in focus.unknown_names)
        return Grounding(focus, [], list(hits)[:MAX_RELATED],
                         abstention=ScopedAbstention("unknown_name", subject, focus.aspect))
    labels = frozenset(d for ids in own.labels.values() for d in ids)
    tables = frozenset(d for ids in own.tables.values() for d in ids)
    own_ids = labels | (tables if focus.aspect.name == "interaction" else frozenset())
    aspect = focus.aspect
    about: list[FusedHit] = []
    others: list[FusedHit] = []
    for h in hits:
        (about if is_about(h, focus, own_ids) else others).append(h)
    related = others[:MAX_RELATED]
    subject = focus.display_name()
    if not own_ids and not about:
        both = len(focus.subjects()) >= 2 and any(names_every_subject(h, focus) for h in about)
        if not (aspect.name == "interaction" and both):
            holdings = tuple(dict.fromkeys(h.chunk.title for h in hits if names_in(passage_text(h),
                                                                                      focus.subject_names())))
            return Grounding(focus, [], related + [h for h in about if h not in related][:MAX_RELATED],
                             own_ids, ScopedAbstention("no_label", subject, aspect, holdings[:3], bool(focus.drugs)))
    own_found = [h for h in own_hits if h.chunk.doc_id in own_ids]
    if aspect.name == "interaction" and len(focus.subjects()) >= 2 and not any(
            names_every_subject(h, focus) for h in (*about, *own_found)):
        holdings = tuple(dict.fromkeys(h.chunk.title for h in (*own_found, *about)))[:3]
        shown = [*related, *(h for h in (*own_found, *about) if h not in related)][: 2 * MAX_RELATED]
        return Grounding(focus, [], shown, own_ids, ScopedAbstention("pair_not_addressed", subject, aspect, holdings))
    if labels and aspect.label_aspect and aspect.name != "interaction":
        addressed = any(answers_aspect(h, aspect) for h in (*own_found, *about))
        if not addressed:
            return Grounding(focus, [], related, own_ids,
                             ScopedAbstention("aspect_not_addressed", subject, aspect, _sections(labels, own)))
    ordered = _order(focus, about, own_found, aspect, k)
    fallback = None
    if not labels:
        holdings = tuple(dict.fromkeys(h.chunk.title for h in about))[:3]
        fallback = ScopedAbstention("no_label", subject, aspect, holdings, bool(focus.drugs))
    elif focus.drugs and not aspect.label_aspect and aspect.name not in ("interaction", "information"):
        # "How does Valium work?" and its labels hold Indications only: if nothing answers, say what they hold.
        fallback = ScopedAbstention("aspect_not_addressed", subject, aspect, _sections(labels, own))
    return Grounding(focus, ordered[:k], related, own_ids, fallback=fallback)


def _order(focus: QuestionFocus, about: Sequence[FusedHit], own_found: Sequence[FusedHit], aspect: Aspect,
           k: int) -> list[FusedHit]:
    """The hospital's local rules about the focus first (at most ``MAX_LOCAL_RULES``), then up to half of the places
    for the own passages that answer the aspect (under its heading first), then
    (for several drugs) passages naming them all, then the search's passages about the focus, then the
    rest of the own passages."""
    seen: set[str] = set()
    out: list[FusedHit] = []

    def take(items: Sequence[FusedHit], limit: int | None = None) -> None:
        for h in items:
            if limit is not None and len(out) >= limit:
                return
            if h.chunk.chunk_id not in seen:
                seen.add(h.chunk.chunk_id)
                out.append(h)

    # The hospital's own rules about the focus (naming every drug of a pair) come first: the local policy a
    # clinician must see, beside the labels that follow.
    take([h for h in about if h.chunk.source_type == LOCAL_RULE and names_every_subject(h, focus)], MAX_LOCAL_RULES)
    answering = [h for h in own_found if aspect.section_matches(h.chunk.section)]
    answering += [h for h in own_found if answers_aspect(h, aspect) and h not in answering]
    take(answering, len(out) + max(1, k // 2))
    if len(focus.subjects()) >= 2:
        take([h for h in (*about, *own_found) if names_every_subject(h, focus)])
    take(about)
    take(answering)
    take(own_found)
    return out


def _sections(labels: frozenset[str], own: OwnDocuments) -> tuple[str, ...]:
    headings: list[str] = []
    for doc_id in sorted(labels):
        outline = own.outline(doc_id)
        if outline is not None:
            headings.extend(outline[1])
    return tuple(dict.fromkeys(headings))[:MAX_HOLDINGS]
