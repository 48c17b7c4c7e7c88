"""Joining broken lines: spaces between Latin words, none at a CJK join, line-end hyphens undone only where a
typesetter put them."""

from __future__ import annotations

import pytest

from indexers.files.text_joining import collapse_whitespace, hyphenated_compounds, is_cjk, join_lines


@pytest.mark.parametrize("ch", ["华", "法", "。", "，", "【", "】", "：", "あ", "カ", "㐀", "𠀀", "Ａ"])
def test_cjk_characters(ch: str) -> None:
    assert is_cjk(ch)


@pytest.mark.parametrize("ch", ["a", "Z", "1", " ", "-", "é", "α", "한", "“", "≥"])
def test_non_cjk_characters(ch: str) -> None:
    assert not is_cjk(ch)


def test_latin_lines_join_with_one_space() -> None:
    assert join_lines(["Warfarin sodium can cause  major", "  or fatal bleeding."]) == \
        "Warfarin sodium can cause major or fatal bleeding."


def test_blank_and_whitespace_lines_are_skipped() -> None:
    assert join_lines(["", "Perform regular", "   ", "monitoring of INR.", ""]) == "Perform regular monitoring of INR."
    assert join_lines([]) == ""


def test_chinese_lines_join_without_space() -> None:
    assert join_lines(["华法林钠可引起严重或", "致命的出血。"]) == "华法林钠可引起严重或致命的出血。"


def test_join_next_to_cjk_on_either_side_has_no_space() -> None:
    """Latin after a CJK line end, or CJK after a Latin line end: no space at the join."""
    assert join_lines(["所有患者均应定期监测", "INR 水平。"]) == "所有患者均应定期监测INR 水平。"
    assert join_lines(["定期监测 INR", "水平。"]) == "定期监测 INR水平。"


def test_spaces_inside_a_line_are_the_authors_and_stay() -> None:
    """"使用 aspirin 时" keeps the spaces around the Latin word: only the joins between lines are decided."""
    assert join_lines(["使用 aspirin 时"]) == "使用 aspirin 时"
    assert join_lines(["使用 aspirin 时", "应注意出血。"]) == "使用 aspirin 时应注意出血。"


def test_cjk_punctuation_join_has_no_space() -> None:
    assert join_lines(["适应症：", "静脉血栓形成"]) == "适应症：静脉血栓形成"
    assert join_lines(["Monitor INR.", "（每周一次）"]) == "Monitor INR.（每周一次）"


def test_line_end_hyphen_between_lower_case_letters_is_dropped() -> None:
    assert join_lines(["the duration of treat-", "ment is individualized"]) == \
        "the duration of treatment is individualized"
    assert join_lines(["Treat-", "ment"]) == "Treatment"


def test_hyphen_kept_when_either_side_is_not_lower_case() -> None:
    assert join_lines(["anti-", "TNF therapy"]) == "anti-TNF therapy"
    assert join_lines(["COVID-", "19 vaccines"]) == "COVID-19 vaccines"
    assert join_lines(["vitamin K-", "dependent factors"]) == "vitamin K-dependent factors"


def test_hyphen_kept_for_a_compound_known_from_the_lines_themselves() -> None:
    lines = ["Long-term opioid use often begins with acute pain; long-", "term use carries risk."]
    assert join_lines(lines) == "Long-term opioid use often begins with acute pain; long-term use carries risk."


def test_known_compounds_given_by_the_caller() -> None:
    lines = ["reduce risks associated with long-", "term opioid therapy"]
    assert join_lines(lines) == "reduce risks associated with longterm opioid therapy"
    assert join_lines(lines, {"long-term"}) == "reduce risks associated with long-term opioid therapy"


def test_empty_known_compounds_drops_every_lower_case_hyphen() -> None:
    assert join_lines(["a long-term and long-", "term plan"], set()) == "a long-term and longterm plan"


def test_a_dash_after_a_space_is_not_a_hyphenation() -> None:
    assert join_lines(["Flexible service system -", "allow walk-in appointments"]) == \
        "Flexible service system - allow walk-in appointments"


def test_soft_hyphen_at_line_end_is_dropped() -> None:
    assert join_lines(["co\u00ad", "operate"]) == "cooperate"


def test_invisible_characters_are_removed() -> None:
    assert join_lines(["pre\u00adscribed dose"]) == "prescribed dose"
    assert collapse_whitespace("华法林\u200b钠片 co\u00adoperate") == "华法林钠片 cooperate"


def test_hyphenated_compounds_are_found_lower_case_within_lines() -> None:
    lines = ["Long-term care and self-directed care;", "treat-", "ment of well-being"]
    assert hyphenated_compounds(lines) == {"long-term", "self-directed", "well-being"}


def test_collapse_whitespace_spaces_latin_and_joins_cjk() -> None:
    assert collapse_whitespace("  Use <warfarin>\n   with\tcare. ") == "Use <warfarin> with care."
    assert collapse_whitespace("华法林钠\n  片可引起出血") == "华法林钠片可引起出血"


def test_collapse_whitespace_never_undoes_hyphens() -> None:
    """A source line break in markup is not a typeset one: the hyphen is the author's."""
    assert collapse_whitespace("dose-\nresponse") == "dose- response"


def test_collapse_whitespace_keeps_a_space_typed_between_cjk_characters() -> None:
    assert collapse_whitespace("华法林 钠片") == "华法林 钠片"
