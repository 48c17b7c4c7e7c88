"""Query focus (pure): section intents asked for, the document title a question names, the re-ranking."""

from __future__ import annotations

import pytest

from app.model import Chunk
from app.retrieval.focus import apply_focus, named_title, query_focus
from app.retrieval.fusion import FusedHit


def hit(doc: str, title: str, section: str, score: float) -> FusedHit:
    chunk = Chunk(doc_id=doc, version="v1", ordinal=0, section=section, start=0, end=4, text="text", title=title,
                  source_type="guideline")
    return FusedHit(chunk, score)


@pytest.mark.parametrize(("texts", "intents"), [
    (["What are the contraindications of warfarin?"], ["contraindications"]),
    (["华法林 禁忌"], ["contraindications"]),
    (["阿托伐他汀的不良反应有哪些？"], ["adverse_reactions"]),
    (["What are the side effects of atorvastatin?"], ["adverse_reactions"]),
    (["Can clopidogrel be taken with omeprazole?"], ["interactions"]),
    (["What are the symptoms of Liddle syndrome ?"], ["symptoms"]),
    (["Is Leigh syndrome inherited ?"], ["inheritance"]),
    (["How many people are affected by Leigh syndrome ?"], ["frequency"]),
    (["What is (are) Hiccups ?"], ["information"]),  # the overview, as nothing more specific is asked
    (["What is the outlook for Binswanger's Disease ?"], ["outlook"]),
    (["warfarin INR"], []),
])
def test_intents_asked(texts: list[str], intents: list[str]) -> None:
    assert [i.name for i in query_focus(texts).intents] == intents


def test_content_words_leave_out_cues_and_stop_words() -> None:
    focus = query_focus(["What are the symptoms of Charcot-Marie-Tooth disease type 1A ?"])
    assert focus.content == {"charcot", "marie", "tooth", "disease", "type", "1a"}


def test_the_longest_named_title_wins_and_titles_compare_by_words() -> None:
    focus = query_focus(["What are the symptoms of Charcot-Marie-Tooth disease type 1A ?"])
    titles = ["Charcot-Marie-Tooth disease", "Charcot-Marie-Tooth disease type 1A", "Charcot-Marie-Tooth type 1B"]
    assert named_title(focus, titles) == ("charcot", "marie", "tooth", "disease", "type", "1a")
    assert named_title(query_focus(["Is paramyotonia congenita inherited ?"]), ["Paramyotonia Congenita"]) == (
        "paramyotonia", "congenita")


def test_a_title_must_be_most_of_what_the_question_is_about() -> None:
    """"Pain" is named, but it is one word of three the question is about: no document is named."""
    focus = query_focus(["pain after warfarin in elderly patients"])
    assert named_title(focus, ["Pain", "Elderly"]) is None
    assert named_title(query_focus(["What causes pain ?"]), ["Pain", "Chronic Pain"]) == ("pain",)
    assert named_title(focus, ["Warfarin Sodium Tablets"]) is None  # not named whole


def test_apply_focus_scales_and_reorders() -> None:
    hits = [
        hit("gard:1", "Liddle syndrome", "Information", 0.040),
        hit("ghr:1", "liddle syndrome", "Symptoms", 0.036),
        hit("ghr:2", "Liddle-like syndrome", "Symptoms", 0.039),
        hit("x", "Hypertension", "Treatment", 0.041),
    ]
    focus = query_focus(["What are the symptoms of Liddle syndrome ?"])
    ranked = apply_focus(hits, focus, section_weight=0.2, title_weight=0.3)
    # another syndrome's Symptoms section is not what the question asks for: no section bonus
    assert [h.chunk.doc_id for h in ranked] == ["ghr:1", "gard:1", "x", "ghr:2"]
    assert [h.focus for h in ranked] == pytest.approx([1.5, 1.3, 1.0, 1.0])
    assert ranked[0].score == pytest.approx(0.036 * 1.5)


def test_the_asked_section_counts_in_the_labels_of_the_named_drugs() -> None:
    hits = [hit("label:other", "Heparin label", "4 CONTRAINDICATIONS", 0.040),
            hit("label:warfarin", "WARFARIN SODIUM tablet", "4 CONTRAINDICATIONS", 0.036),
            hit("label:warfarin", "WARFARIN SODIUM tablet", "6 ADVERSE REACTIONS", 0.035)]
    focus = query_focus(["What are the contraindications of warfarin?"])
    ranked = apply_focus(hits, focus, 0.2, 0.3, labels_of_named_drugs={"label:warfarin"})
    assert [(h.chunk.doc_id, h.chunk.section, h.focus) for h in ranked] == [
        ("label:warfarin", "4 CONTRAINDICATIONS", 1.2), ("label:other", "4 CONTRAINDICATIONS", 1.0),
        ("label:warfarin", "6 ADVERSE REACTIONS", 1.0)]


def test_apply_focus_switched_off_or_without_focus_changes_nothing() -> None:
    hits = [hit("b", "B", "Information", 0.03), hit("a", "A", "Symptoms", 0.02)]
    for focus, weights in ((query_focus(["What are the symptoms of A ?"]), (0.0, 0.0)),
                           (query_focus(["warfarin"]), (0.2, 0.3))):
        ranked = apply_focus(hits, focus, *weights)
        assert [(h.chunk.doc_id, h.score, h.focus) for h in ranked] == [("b", 0.03, 1.0), ("a", 0.02, 1.0)]
