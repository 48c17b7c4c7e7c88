"""The answer-focus benchmark's pure scoring functions (no stores, no models)."""

from __future__ import annotations

import json

from benchmarks.focus_answers import (
    FOCUS_QUESTIONS,
    Focus,
    aggregate,
    fallback_names,
    focus_of,
    focus_parts,
    names_in,
    percentile,
    score_answer,
    section_matches,
    split_of,
    token_recall,
)

WARFARIN = Focus("warfarin", ("DB00682",), ("Warfarin", "coumadin", "华法林"), True)
AMOXICILLIN = Focus("amoxicillin", ("DB01060",), ("Amoxicillin", "amoxil", "阿莫西林"), False)


def _citation(title: str, quote: str, section: str = "Contraindications") -> dict[str, object]:
    return {"title": title, "quote": quote, "section": section, "verbatim": True}


def test_split_is_stable_and_covers_both_halves() -> None:
    ids = [f"q-{n}" for n in range(200)]
    assert [split_of(i) for i in ids] == [split_of(i) for i in ids]
    assert {split_of(i) for i in ids} == {"tune", "held-out"}


def test_names_match_on_word_boundaries_and_chinese_substrings() -> None:
    assert names_in("COUMADIN (warfarin sodium) tablets", ["Warfarin"])
    assert not names_in("the warfarinization protocol", ["warfarin"])
    assert names_in("Clopidogrel-induced bleeding", ["clopidogrel"])
    assert names_in("服用华法林期间", ["华法林"])
    assert not names_in("aspirin", ["as"])  # too short a name never matches


def test_focus_parts_and_fallback_names() -> None:
    assert focus_parts("clopidogrel  & aspirin") == ["clopidogrel  & aspirin", "clopidogrel", "aspirin"]
    assert "ropinirole" in focus_parts("neupro and ropinirole")
    assert focus_parts("warfarin; spices")[1:] == ["warfarin", "spices"]
    assert fallback_names("Boric Acid Powder") == ["boric acid powder", "boric", "acid"]
    assert "drugs" not in fallback_names("drugs that cause urination")


def test_focus_of_uses_catalog_names_or_falls_back() -> None:
    entry = {"drugs": [{"id": "DB00829", "names": ["Diazepam", "valium"], "label": False}]}
    focus = focus_of("Valium", entry)
    assert focus.resolved and not focus.labelled and "Diazepam" in focus.names
    unresolved = focus_of("marijuana", {"drugs": []})
    assert not unresolved.resolved and unresolved.names == ("marijuana",)


def test_off_topic_when_any_citation_is_about_another_drug() -> None:
    citations = [_citation("WARFARIN — FDA label", "Warfarin is contraindicated in pregnancy."),
                 _citation("PLAVIX (clopidogrel)", "Do not use with active bleeding.", "Warnings")]
    scored = score_answer({"abstained": False, "answer": "…", "citations": citations}, WARFARIN,
                          "Contraindication", None)
    assert scored["off_topic"] is True and scored["first_off_topic"] is False
    assert scored["aspect_match"] is True and scored["scoped"] is None
    reversed_answer = {"abstained": False, "answer": "…", "citations": citations[::-1]}
    assert score_answer(reversed_answer, WARFARIN, "Contraindication", None)["first_off_topic"] is True


def test_scoped_abstention_names_the_absent_drug() -> None:
    scoped = {"abstained": True, "answer": "The indexed knowledge has no label for amoxicillin.", "citations": []}
    generic = {"abstained": True, "answer": "The indexed evidence does not answer this.", "citations": []}
    assert score_answer(scoped, AMOXICILLIN, "pregnancy", None)["scoped"] is True
    assert score_answer(generic, AMOXICILLIN, "pregnancy", None)["scoped"] is False
    assert score_answer(generic, AMOXICILLIN, "pregnancy", None)["off_topic"] is False  # not answered


def test_section_patterns_and_token_recall() -> None:
    assert section_matches("Dose", "DOSAGE AND ADMINISTRATION")
    assert section_matches("Side effects", "Adverse Reactions")
    assert not section_matches("Interaction", "Warnings and Precautions")
    assert section_matches("Information", "anything") is None
    assert token_recall("Take with food twice daily", "take it with food") == 1 / 3  # {food, twice, daily}
    assert token_recall("a an to", "anything") is None


def test_aggregate_counts_denominators() -> None:
    base = {"resolved": True, "labelled": True, "ms": 100.0, "citations": 1, "verbatim": 1,
            "aspect_match": None, "recall": None, "scoped": None}
    rows = [{**base, "answered": True, "off_topic": True, "first_off_topic": False},
            {**base, "answered": True, "off_topic": False, "first_off_topic": False, "ms": 300.0},
            {**base, "answered": False, "off_topic": False, "first_off_topic": False, "citations": 0,
             "verbatim": 0, "labelled": False, "scoped": True}]
    m = aggregate(rows)
    assert m["answered"] == {"k": 2, "n": 3, "value": 2 / 3}
    assert m["off_topic"]["k"] == 1 and m["off_topic"]["n"] == 2
    assert m["scoped_abstention"] == {"k": 1, "n": 1, "value": 1.0}
    assert m["citations_verbatim"]["value"] == 1.0
    assert percentile([100.0, 300.0, 200.0], 50) == 200.0 and percentile([], 95) is None


def test_our_questions_are_well_formed() -> None:
    rows = [json.loads(line) for line in FOCUS_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len({r["id"] for r in rows}) == len(rows) >= 40
    assert {r["expect"] for r in rows} == {"held", "absent"}
    assert all(set(r) == {"id", "question", "focus", "aspect", "expect"} for r in rows)
    assert all(section_matches(r["aspect"], "x") is not None for r in rows)
    assert sum(not r["question"].isascii() for r in rows) >= 8
