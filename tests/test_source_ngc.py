"""National Guideline Clearinghouse (NGC) public-domain summaries reader.

Fixtures under tests/fixtures/sources/ngc_guidelines/ mirror the shared data layout (``index.tsv`` +
``markdown/ngc-<id>.md``) and are cut from the real files: the CDC 2016 opioid guideline (ngc-10953, CDC
"recommendation category/evidence type" grades), the VA/DoD hypertension guideline (ngc-10598, "Strong
for"/"Weak for" grades, one grade closing a sub-list on its own line) and the CDC/APHL HIV laboratory
testing recommendations (ngc-10520, no grades).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from app.model import Document
from indexers.sources.base import ReadItem, Rejected
from indexers.sources.ngc_guidelines import (
    clean_markdown,
    grade_of,
    is_ngc_folder,
    published_date,
    read_ngc_guidelines,
)
from tests.test_sources import section
from tests.test_sources import split as split_checked

NGC = Path(__file__).parent / "fixtures" / "sources" / "ngc_guidelines"
BENZODIAZEPINES = (
    "Clinicians should avoid prescribing opioid pain medication and benzodiazepines concurrently whenever possible"
)


def check_recommendations(doc: Document) -> None:
    """Each graded recommendation is a span inside its own section; the metadata is JSON."""
    for rec in doc.metadata["recommendations"]:
        assert 0 <= rec["start"] < rec["end"] <= len(doc.text)
        span = next(s for s in doc.sections if s.heading == rec["section"] and s.start <= rec["start"] < s.end)
        assert rec["end"] <= span.end
    json.dumps(doc.metadata)


def split(items: list[ReadItem]) -> tuple[dict[str, Document], list[Rejected]]:
    docs, rejected = split_checked(items)  # offsets and sections (tests/test_sources.py)
    for doc in docs.values():
        check_recommendations(doc)
    return docs, rejected


def read_fixtures() -> dict[str, Document]:
    docs, rejected = split(list(read_ngc_guidelines(NGC)))
    assert rejected == []
    return docs


def test_ngc_documents() -> None:
    docs = read_fixtures()
    assert list(docs) == ["ngc:10520", "ngc:10598", "ngc:10953"]  # sorted by file name
    cdc = docs["ngc:10953"]
    assert cdc.title == "CDC guideline for prescribing opioids for chronic pain — United States, 2016"
    assert cdc.source_type == "guideline" and cdc.language == "en"
    assert cdc.url == "https://www.guideline.gov/summaries/summary/10953"
    assert cdc.published == "2016-03-18"
    va = docs["ngc:10598"]
    assert va.title == (
        "VA/DoD clinical practice guideline for the diagnosis and management of hypertension in the primary care "
        "setting"
    )
    assert va.published == "2014-10"  # "1999 May (revised 2014 Oct)": the revision summarised
    hiv = docs["ngc:10520"]
    assert hiv.title == "Laboratory testing for the diagnosis of HIV infection: updated recommendations"
    assert hiv.published == "2014-06-27"  # "1989 (revised 2014 Jun 27)"


def test_ngc_sections_and_boilerplate() -> None:
    docs = read_fixtures()
    cdc = docs["ngc:10953"]
    headings = [s.heading for s in cdc.sections]
    assert "FDA Warning/Regulatory Alert" not in headings  # the Clearinghouse's note, not the guideline
    assert "Note from the National Guideline Clearinghouse" not in cdc.text
    assert headings[:5] == [
        "Major Recommendations",
        "Major Recommendations — Determining When to Initiate or Continue Opioids for Chronic Pain",
        "Major Recommendations — Assessing Risk and Addressing Harms of Opioid Use",
        "Major Recommendations — Definitions — Recommendation Category",
        "Major Recommendations — Definitions — Evidence Type",
    ]
    for kept in (
        "Disease/Condition(s)",
        "Rating Scheme for the Strength of the Evidence",
        "Contraindications",
        "Bibliographic Source(s)",
        "Date Released",
        "Guideline Developer(s)",
        "Guideline Status",
        "Copyright Statement",
    ):
        assert kept in headings
    for dropped in (
        "NGC Disclaimer",
        "NGC Status",
        "Number of Source Documents",
        "Composition of Group That Authored the Guideline",
        "Guideline Title",
    ):
        assert dropped not in headings
    assert headings.count("Bibliographic Source(s)") == 1 and headings.count("Guideline Status") == 1
    assert "Clinical Algorithm(s)" not in headings  # "None provided"
    assert BENZODIAZEPINES in section(cdc, "Major Recommendations — Assessing Risk and Addressing Harms of Opioid Use")
    assert "Category A recommendation: Applies to all persons" in section(
        cdc, "Major Recommendations — Definitions — Recommendation Category"
    )
    # the HTML rating scheme becomes plain text
    assert section(cdc, "Rating Scheme for the Strength of the Evidence").startswith("Evidence Type\n\nBased on study")
    assert section(cdc, "Guideline Status") == "This is the current release of the guideline."
    assert section(cdc, "Guideline Developer(s)") == (
        "- Centers for Disease Control and Prevention - Federal Government Agency [U.S.]"
    )
    for doc in docs.values():
        for gone in (
            "**",
            "](http",
            "<p>",
            "<div",
            "&amp;",
            "\n#",
            "inclusion criteria",
            "make no warranties",
            "ECRI Institute",
            "Deborah Dowell, MD",
        ):
            assert gone not in doc.text, (doc.id, gone)
        assert not doc.text.startswith("#")
    hiv = docs["ngc:10520"]
    assert "Rating Scheme for the Strength of the Evidence" not in [s.heading for s in hiv.sections]  # "Not applicable"
    va = docs["ngc:10598"]
    quality = section(va, "Major Recommendations — Definitions — Quality of Evidence and Definitions")
    assert quality.startswith("High quality — Further research is very unlikely to change confidence")  # HTML table
    assert '- Strong for (or "The Work Group recommends offering this option …")' in section(
        va, "Major Recommendations — Definitions — Strength of Recommendations"
    )


def test_ngc_metadata() -> None:
    docs = read_fixtures()
    cdc = docs["ngc:10953"].metadata
    json.dumps(cdc)
    assert cdc["source"] == "ngc" and cdc["ngc_id"] == "10953"
    assert cdc["developer"] == ["Centers for Disease Control and Prevention"]
    assert cdc["developer_type"] == ["Federal Government Agency"]
    assert cdc["released"] == "2016 Mar 18" and cdc["year"] == 2016
    assert cdc["status"] == "This is the current release of the guideline."
    assert cdc["superseded"] is False
    assert cdc["pmid"] == "26987082"
    assert cdc["bibliographic_source"] == (
        "Dowell D, Haegerich TM, Chou R. CDC guideline for prescribing opioids for chronic pain - United States, "
        "2016. MMWR Recomm Rep. 2016 Mar 18;65(1):1-49."
    )
    assert cdc["citation"] == (
        cdc["bibliographic_source"] + " Summarised by the National Guideline Clearinghouse (AHRQ), NGC:10953; "
        "public domain per the summary's copyright statement."
    )
    assert cdc["copyright"] == "No copyright restrictions apply."
    assert cdc["diseases"] == [
        "Chronic pain (i.e., pain conditions that typically last >3 months or past the time of normal tissue healing)"
    ]
    assert "Avoiding prescribing opioid pain medication and benzodiazepines concurrently" in cdc["interventions"]
    assert cdc["grading_scheme"].startswith("Evidence: Evidence Type")
    assert "Recommendations: Recommendation Categories" in cdc["grading_scheme"]
    assert len(cdc["grading_scheme"]) <= 1500

    va = docs["ngc:10598"].metadata
    assert va["developer"] == [
        "Department of Defense",
        "Department of Veterans Affairs",
        "Veterans Health Administration",
    ]
    assert va["developer_type"] == ["Federal Government Agency"]
    assert va["released"] == "1999 May (revised 2014 Oct)" and va["year"] == 2014
    assert va["superseded"] is False  # it updates the 2004 version; nothing newer is announced
    assert va["previous_version"].startswith("Veterans Administration, Department of Defense. VA/DoD clinical")
    assert "pmid" not in va

    hiv = docs["ngc:10520"].metadata
    assert hiv["developer"] == [
        "Association of Public Health Laboratories",
        "Centers for Disease Control and Prevention",
    ]
    assert hiv["developer_type"] == ["Professional Association", "Federal Government Agency"]
    assert hiv["superseded"] is False
    assert hiv["recommendations"] == []
    assert "grading_scheme" not in hiv


def test_ngc_cdc_recommendation_offsets() -> None:
    doc = read_fixtures()["ngc:10953"]
    recs = doc.metadata["recommendations"]
    assert [r["grade"] for r in recs] == [
        "recommendation category: A, evidence type: 3",
        "recommendation category: A, evidence type: 4",
        "recommendation category: A, evidence type: 3",
        "recommendation category: A, evidence type: 4",
        "recommendation category: A, evidence type: 4",
        "recommendation category: B, evidence type: 4",
        "recommendation category: A, evidence type: 3",
        "recommendation category: A, evidence type: 2",
    ]
    benzo = [r for r in recs if BENZODIAZEPINES in doc.text[r["start"] : r["end"]]]
    assert len(benzo) == 1
    rec = benzo[0]
    assert rec["grade"] == "recommendation category: A, evidence type: 3"
    assert rec["section"] == "Major Recommendations — Assessing Risk and Addressing Harms of Opioid Use"
    assert doc.text[rec["start"] : rec["end"]] == (
        f"11. {BENZODIAZEPINES} (recommendation category: A, evidence type: 3)."
    )
    span = next(s for s in doc.sections if s.heading == rec["section"])
    assert span.start <= rec["start"] < rec["end"] <= span.end
    assert (rec["start"], rec["end"]) == (
        doc.text.index(f"11. {BENZODIAZEPINES}"),
        doc.text.index(f"11. {BENZODIAZEPINES}")
        + len(f"11. {BENZODIAZEPINES} (recommendation category: A, evidence type: 3)."),
    )
    # every statement is a whole line of its section, and none lies in the Contraindications copy
    for r in recs:
        text = doc.text[r["start"] : r["end"]]
        assert text and text == text.strip()
        assert doc.text[r["start"] - 1] == "\n" and doc.text[r["end"] : r["end"] + 1] in ("\n", "")
        assert r["section"].startswith("Major Recommendations — ")


def test_ngc_va_grades() -> None:
    doc = read_fixtures()["ngc:10598"]
    recs = doc.metadata["recommendations"]
    assert [(doc.text[r["start"] : r["end"]].split(".")[0], r["grade"]) for r in recs] == [
        ("1", "Strong for"),
        ("2", "Weak for"),
        ("3", "Strong for"),
        ("43", "Strong for"),
        ("44", "Strong against"),
        ("45", "Strong for"),
        ("46", "Strong against"),
    ]
    # the grade of 43 sits on its own line after the sub-list: the statement is the item with its list
    rec43 = doc.text[recs[3]["start"] : recs[3]["end"]]
    assert rec43.startswith("43. The Work Group recommends using the following as alternative therapies")
    assert "2. Long-acting dihydropyridine calcium channel blockers (CCBs)" in rec43
    assert rec43.endswith("(Modified from 2004 VA/DoD HTN CPG.) (Strong for)")
    assert recs[3]["section"] == (
        "Major Recommendations — Pharmacological Therapy — Alternative or Supplementary Therapies"
    )
    assert doc.text[recs[5]["start"] : recs[5]["end"]].endswith("(e.g., clonidine, methyldopa)\n\n(Strong for)")
    # the intro sentence that lists the grades is not a graded statement
    assert all("is defined at the end" not in doc.text[r["start"] : r["end"]] for r in recs)


def test_ngc_grade_patterns() -> None:
    assert grade_of("1. Do X.") is None
    assert grade_of("1. Do X (recommendation category: A, evidence type: 3).") == (
        "recommendation category: A, evidence type: 3"
    )
    assert grade_of("5. Offer Y. (Weak For; Reviewed, New-replaced)") == "Weak for"
    assert grade_of("6. Do not offer Z. (Strong Against)") == "Strong against"
    assert grade_of("7. Offer W. (N/A; Reviewed, New-added)") is None
    assert grade_of("- Screen. [EO]") == "Grade EO"
    assert grade_of("2. Screen annually. [B]") == "Grade B"
    assert grade_of("- Treat. (Moderate Recommendation, Very Low-Quality Evidence)") == (
        "Moderate Recommendation, Very Low-Quality Evidence"
    )
    assert grade_of("- Hydrate. (Consensus–Panel Expertise)") == "Consensus–Panel Expertise"
    assert grade_of("1. Test donors. (Category IB)") == "Category IB"
    assert grade_of("- PrEP is recommended. (IA)") == "IA"
    assert grade_of("Give aspirin (Level of evidence: B).") == "Level of evidence: B"
    assert grade_of("Give aspirin (Grade B)") == "Grade B"
    assert grade_of("The grading (Strong for, Weak for, Strong against, Weak against) is defined below.") is None
    assert grade_of("Iontophoresis (not recommended)") is None
    assert grade_of("Use contraception (U.S. MEC category 2)") is None


def test_ngc_text_cleaning() -> None:
    raw = (
        "  * **Category A recommendation** : Applies to all persons. \n"
        "  * See [ PubMed ](http://www.ncbi.nlm.nih.gov/entrez/query.fcgi?list_uids=26987082) and "
        '[the [SUD] guideline](http://example.org/a_(b) "VA Web site") &amp; _Authors_ .\n'
        "#####  Note\n"
        '<table><tr><td valign="top">\n<strong>\nHigh\n</strong>\n— Sure.\n</td><td>x</td></tr></table>\n'
        "1\\. Done\\."
    )
    assert clean_markdown(raw) == (
        "- Category A recommendation: Applies to all persons.\n"
        "- See PubMed and the [SUD] guideline & Authors.\n"
        "Note\n\n"
        "High — Sure. | x\n\n"
        "1. Done."
    )


def test_ngc_published_rules() -> None:
    assert published_date("2016 Mar 18", "MMWR Recomm Rep. 2016 Mar 18;65(1):1-49.") == "2016-03-18"
    assert published_date("1989 (revised 2014 Jun 27)", "") == "2014-06-27"
    assert published_date("2014", "Washington (DC): VA; 2014 Oct. 89 p.") == "2014-10"  # same year, more precise
    assert published_date("2013 Jun", "Atlanta (GA): CDC; 2015 Feb 1. 12 p.") == "2015-02-01"  # newer edition
    assert published_date("2016 Jan", "Clin Chem. 2015 Dec;61(12).") == "2016-01"
    assert published_date("", "Washington (DC): VA; 2017 Sep. 100 p.") == "2017-09"
    assert published_date("", "no date here") is None


def test_ngc_single_file_and_layout(tmp_path: Path) -> None:
    assert is_ngc_folder(NGC) and is_ngc_folder(NGC / "markdown")
    assert not is_ngc_folder(NGC / "index.tsv") and not is_ngc_folder(tmp_path)
    docs, rejected = split(list(read_ngc_guidelines(NGC / "markdown" / "ngc-10953.md")))
    assert rejected == [] and list(docs) == ["ngc:10953"]
    assert docs["ngc:10953"].metadata == read_fixtures()["ngc:10953"].metadata


def test_ngc_superseded(tmp_path: Path) -> None:
    folder = tmp_path / "markdown"
    folder.mkdir()
    text = (NGC / "markdown" / "ngc-10953.md").read_text(encoding="utf-8")
    current = "This is the current release of the guideline."
    assert text.count(current) == 2
    replaced = text.replace(
        current, "This guideline has been superseded by: CDC clinical practice guideline for prescribing opioids, 2022."
    )
    (folder / "ngc-10953.md").write_text(replaced, encoding="utf-8")
    docs, rejected = split(list(read_ngc_guidelines(tmp_path)))
    assert rejected == []
    assert docs["ngc:10953"].metadata["superseded"] is True


def test_ngc_bad_files(tmp_path: Path) -> None:
    folder = tmp_path / "markdown"
    folder.mkdir()
    shutil.copy(NGC / "markdown" / "ngc-10520.md", folder / "ngc-10520.md")
    (folder / "ngc-1.md").write_text("", encoding="utf-8")
    (folder / "ngc-2.md").write_text("---\ntitle: x\nid: 2\n---\n\n# General\n\n## Guideline Title\n\nX.\n", "utf-8")
    copyrighted = (
        (NGC / "markdown" / "ngc-10520.md")
        .read_text(encoding="utf-8")
        .replace("No copyright restrictions apply.", "Copyright 2014 Some Society. All rights reserved.")
    )
    (folder / "ngc-3.md").write_text(copyrighted, encoding="utf-8")
    (tmp_path / "index.tsv").write_text(
        "file\ttitle\tdeveloper\tcopyright_statement\nngc-10520.md\tx\ty\tz\nngc-9.md\tgone\ty\tz\n", "utf-8"
    )
    docs, rejected = split(list(read_ngc_guidelines(tmp_path)))
    assert list(docs) == ["ngc:10520"]
    assert [(Path(r.file).name, r.line, r.reason) for r in rejected] == [
        ("ngc-1.md", 0, "empty file"),
        ("ngc-2.md", 0, "not an NGC summary: no '## Major Recommendations' field"),
        ("ngc-3.md", 0, "copyright statement does not put the summary in the public domain"),
        ("index.tsv", 3, "ngc-9.md is listed but missing from markdown/"),
    ]
