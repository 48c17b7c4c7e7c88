"""BM25 analysis: English and Chinese tokens, stable term ids, BM25 weights."""

from __future__ import annotations

import math

from app.text.analysis import Analyzer, light_stem, term_id

from .conftest import KNOWLEDGE

USER_DICT = KNOWLEDGE / "vocab" / "medical_userdict.txt"


def test_english_tokens() -> None:
    analyzer = Analyzer()
    assert analyzer.tokens("The Patients were taking Warfarin and CYP2C19 inhibitors.") == [
        "patient",
        "taking",
        "warfarin",
        "cyp2c19",
        "inhibitor",
    ]


def test_light_stemmer() -> None:
    assert light_stem("therapies") == "therapy"
    assert light_stem("boxes") == "box"
    assert light_stem("tablets") == "tablet"
    assert light_stem("diabetes") == "diabete"  # consistent on both sides, which is what BM25 needs
    assert light_stem("virus") == "virus"
    assert light_stem("glass") == "glass"


def test_chinese_drug_name_stays_one_token() -> None:
    assert USER_DICT.exists()
    text = "阿托伐他汀和华法林"
    with_dict = Analyzer(user_dict=USER_DICT).tokens(text)
    assert "阿托伐他汀" in with_dict
    assert "华法林" in with_dict


def test_mixed_language() -> None:
    tokens = Analyzer(user_dict=USER_DICT).tokens("华法林 warfarin 的出血风险")
    assert "warfarin" in tokens
    assert "的" not in tokens


def test_term_ids_are_stable_32_bit() -> None:
    assert term_id("warfarin") == term_id("warfarin")
    assert term_id("warfarin") != term_id("aspirin")
    assert 0 <= term_id("阿司匹林") < 2**32


def test_bm25_document_weights() -> None:
    analyzer = Analyzer(k1=1.5, b=0.75)
    vec, length = analyzer.document_vector("warfarin warfarin bleeding", avgdl=3.0)
    assert length == 3
    weights = dict(zip(vec.indices, vec.values, strict=True))
    # tf=2, dl=avgdl: 2*2.5/(2+1.5) ; tf=1: 1*2.5/(1+1.5)
    assert math.isclose(weights[term_id("warfarin")], 2 * 2.5 / 3.5)
    assert math.isclose(weights[term_id("bleeding")], 1.0)
    longer, _ = analyzer.document_vector("warfarin warfarin bleeding", avgdl=1.5)
    assert dict(zip(longer.indices, longer.values, strict=True))[term_id("bleeding")] < 1.0


def test_query_vector_is_unit_per_distinct_term() -> None:
    vec = Analyzer().query_vector("aspirin aspirin bleeding risk")
    assert sorted(vec.values) == [1.0, 1.0, 1.0]
    assert list(vec.indices) == sorted(vec.indices)
