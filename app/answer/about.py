"""Whether a sentence of an answer is about the question's subject, not only supported by its passage.

A label's interactions section says "Aspirin may increase the risk of bleeding"; the sentence is verbatim,
and supported, but under "What is the maximum dose of warfarin?" it is about another drug.  For a question
about drugs (``QuestionFocus``), a claim is *off focus* when it names another drug and none of the focus
drugs (by any of their names) — unless the question asks about interactions, where the other drug is the
point — or when it rests only on a passage outside the focus drugs' own documents without naming them.
Used by the extractive answerer to choose sentences and by the answer path on every claim, from any
generator.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from app.answer.evidence import Evidence
from app.retrieval.question import QuestionFocus, names_in

DrugsNamed = Callable[[str], set[str]]  # text -> ids of the drugs it names

OFF_FOCUS = "about another drug than the one asked about"
UNNAMED = "rests on a passage outside the asked drug's own documents that does not name it"


def off_focus(text: str, focus: QuestionFocus, drugs_named: DrugsNamed, passages: Sequence[Evidence] = (),
              own_documents: Collection[str] = ()) -> str | None:
    """Why ``text`` (a claim, or a sentence of ``passages``) is not about ``focus``; None when it is, or when
    the question names no drug."""
    if not focus.drugs:
        return None
    names = focus.subject_names()
    named_here = names_in(text, names)
    if not named_here and focus.aspects and focus.aspect.name != "interaction":
        focus_ids = {d.id for d in focus.drugs}
        others = drugs_named(text) - focus_ids
        if others and not focus_ids & drugs_named(text):
            return OFF_FOCUS
    outside = passages and not named_here and all(p.chunk.doc_id not in own_documents for p in passages)
    if outside and not any(names_in(f"{p.chunk.title}\n{p.chunk.section}", names) for p in passages):
        return UNNAMED
    return None
