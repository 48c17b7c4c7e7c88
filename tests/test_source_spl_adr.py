"""The TAC 2017 ADR label reader on a cut of the real ``sections.jsonl`` (ACTEMRA, Jardiance, Choline)."""

from __future__ import annotations

import json
from pathlib import Path

from indexers.sources.spl_adr import BrandIngredients, clean_section, read_brand_table, read_spl_adr
from tests.test_sources import FIXTURES, section, split

FOLDER = FIXTURES / "spl_adr_200"


def test_labels_sections_and_ingredient_named_by_the_text() -> None:
    docs, rejected = split(list(read_spl_adr(FOLDER)))
    assert rejected == []
    assert list(docs) == ["spl-adr:actemra", "spl-adr:choline", "spl-adr:jardiance"]
    actemra = docs["spl-adr:actemra"]
    assert [s.heading for s in actemra.sections] == ["Boxed Warning", "Warnings and Precautions", "Adverse Reactions"]
    assert actemra.source_type == "label"
    assert actemra.title == "ACTEMRA (tocilizumab) — FDA label, adverse reactions and warnings (TAC 2017)"
    assert actemra.metadata["generic_name"] == "tocilizumab"
    assert actemra.metadata["brand_name"] == "ACTEMRA"
    assert actemra.metadata["generic_name_basis"] == "ingredient named in the label's own text"
    assert "Sci Data. 2018;5:180001" in actemra.metadata["citation"]
    assert "set_id" not in actemra.metadata  # the set carries none; nothing is made up
    boxed = section(actemra, "Boxed Warning")
    assert boxed.startswith("WARNING: RISK OF SERIOUS INFECTIONS\n")
    assert "BOXED WARNING:" not in boxed
    assert "[see Warnings and Precautions (5.1), Adverse Reactions (6.1)]." in boxed
    assert "\n- Active tuberculosis, which may present with pulmonary or extrapulmonary disease." in boxed
    adverse = section(actemra, "Adverse Reactions")
    assert not adverse.startswith("6 ADVERSE REACTIONS")
    assert "Most common adverse reactions (incidence of at least 5%): upper respiratory tract infections" in adverse
    assert "EXCERPT" not in actemra.text


def test_a_brand_whose_text_never_names_the_ingredient_keeps_only_its_brand() -> None:
    docs, _ = split(list(read_spl_adr(FOLDER)))
    jardiance = docs["spl-adr:jardiance"]
    assert "empagliflozin" not in jardiance.text.lower()
    assert "generic_name" not in jardiance.metadata
    assert jardiance.title.startswith("Jardiance — ")
    assert [s.heading for s in jardiance.sections] == ["Warnings and Precautions"]


def test_the_brand_table_is_checked_against_the_text_not_trusted() -> None:
    wrong = {"actemra": BrandIngredients("ACTEMRA", ("sarilumab",))}
    docs, _ = split(list(read_spl_adr(FOLDER, brands=wrong)))
    assert "generic_name" not in docs["spl-adr:actemra"].metadata
    table = read_brand_table()
    assert len(table) == 200
    assert table["stribild"].ingredients[0] == "elvitegravir" and len(table["stribild"].ingredients) == 4


def test_clean_section_rules() -> None:
    raw = ("   5  WARNINGS AND PRECAUTIONS\n\n   EXCERPT:    *  Hypotension (  5.1  ) \n"
           " *  Ketoacidosis (  5.2  ,  5.3  )\n")
    assert clean_section(raw) == "- Hypotension (5.1)\n- Ketoacidosis (5.2, 5.3)"


def test_bad_lines_are_rejected_with_their_line(tmp_path: Path) -> None:
    good = json.dumps({"label": "Xarelto", "split": "test", "section": "adverse reactions",
                       "text": "6 ADVERSE REACTIONS\n\nBleeding was the most common adverse reaction of rivaroxaban."})
    lines = [good, "{not json", json.dumps({"label": "Xarelto", "section": "dosage", "text": "x"}),
             json.dumps({"label": "", "section": "adverse reactions", "text": "x"}), good]
    (tmp_path / "sections.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, rejected = split(list(read_spl_adr(tmp_path)))
    assert [(r.line, r.reason.split(":")[0]) for r in rejected] == [
        (2, "invalid JSON"), (3, "unknown section 'dosage'"), (4, "expected string fields 'label' and 'text'"),
        (5, "Xarelto")]
    assert docs["spl-adr:xarelto"].metadata["generic_name"] == "rivaroxaban"
    assert docs["spl-adr:xarelto"].text == "Bleeding was the most common adverse reaction of rivaroxaban."
    assert [str(r) for r in read_spl_adr(tmp_path / "missing")][0].endswith(":0: no sections.jsonl found")
