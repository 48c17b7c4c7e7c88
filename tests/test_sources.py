"""Source readers, the generic JSONL reader, the registry and the knowledge build.

Fixtures under tests/fixtures/sources/ are small cuts of the real shared data, in the same
folder layout, so the registry's layout detection is exercised on them too.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from app.model import SECTION_SEPARATOR, Document
from app.text.language import detect_language, han_ratio
from indexers import knowledge_build
from indexers.sources.base import ReadItem, Rejected
from indexers.sources.interactions import read_interactions
from indexers.sources.jsonl import read_jsonl
from indexers.sources.medquad import read_medquad
from indexers.sources.nlm180 import heading_name, product_title, read_nlm180
from indexers.sources.openfda import read_openfda
from indexers.sources.pubmedqa import read_pubmedqa, study_design
from indexers.sources.registry import detect_source, read_path
from indexers.sources.spl_sections import clean_url, parse_index, read_spl_sections

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


def check_invariants(doc: Document) -> None:
    """Offsets address the canonical text; section texts joined by "\\n\\n" are the text."""
    texts = [doc.text[s.start : s.end] for s in doc.sections]
    assert SECTION_SEPARATOR.join(texts) == doc.text
    assert all(t and t == t.strip() for t in texts)
    for before, after in zip(doc.sections, doc.sections[1:], strict=False):
        assert after.start == before.end + len(SECTION_SEPARATOR)
    for section, body in zip(doc.sections, doc.to_json()["sections"], strict=True):
        assert body == {"heading": section.heading, "text": doc.text[section.start : section.end]}


def split(items: list[ReadItem]) -> tuple[dict[str, Document], list[Rejected]]:
    docs = {i.id: i for i in items if isinstance(i, Document)}
    rejected = [i for i in items if isinstance(i, Rejected)]
    for doc in docs.values():
        check_invariants(doc)
    return docs, rejected


def section(doc: Document, heading: str, nth: int = 0) -> str:
    return [doc.section_text(s) for s in doc.sections if s.heading == heading][nth]


# --- language and base -------------------------------------------------------------------


def test_detect_language() -> None:
    assert detect_language("Warfarin increases the risk of bleeding.") == "en"
    assert detect_language("华法林可增加出血风险，请监测INR。") == "zh"
    assert detect_language("华法林钠片 Warfarin Sodium Tablets 说明书") == "zh"
    assert detect_language("Warfarin (华法林) is an anticoagulant used to prevent blood clots.") == "en"
    assert detect_language("") == "en"
    assert detect_language("12345 !!") == "en"
    assert han_ratio("") == 0.0
    assert han_ratio("药") == 1.0


def test_rejected_str() -> None:
    assert str(Rejected("a.jsonl", 3, "missing 'id'")) == "a.jsonl:3: missing 'id'"


# --- openFDA -------------------------------------------------------------------------------


def test_openfda_records() -> None:
    docs, rejected = split(list(read_openfda(FIXTURES / "openfda")))
    assert rejected == []  # manifest.json is provenance, silently skipped
    assert sorted(docs) == [
        "openfda:06ade2e1-5981-4e3d-b7e9-7ff083eb4551",
        "openfda:a454cd24-0c6d-46e8-b1e4-197388606175",
    ]
    apixaban = docs["openfda:a454cd24-0c6d-46e8-b1e4-197388606175"]
    assert apixaban.title == "APIXABAN (ELIQUIS) — FDA label"
    assert apixaban.source_type == "label" and apixaban.language == "en"
    assert apixaban.published == "2026-04-24"
    assert (
        apixaban.url
        == "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid=a454cd24-0c6d-46e8-b1e4-197388606175"
    )
    assert [s.heading for s in apixaban.sections] == [
        "Boxed Warning",
        "Indications and Usage",
        "Contraindications",
        "Drug Interactions",
        "Use in Specific Populations",
    ]
    # pregnancy lies verbatim inside use_in_specific_populations: no duplicate section
    assert "8.1 Pregnancy" in section(apixaban, "Use in Specific Populations")
    # text arrays are joined by a paragraph break
    assert section(apixaban, "Drug Interactions").count("\n\n") == 1
    assert "<table" not in apixaban.text and "893;2;1;2" not in apixaban.text
    meta = apixaban.metadata
    assert meta["set_id"] == "a454cd24-0c6d-46e8-b1e4-197388606175"
    assert meta["effective_date"] == "2026-04-24"
    assert meta["generic_name"] == "APIXABAN" and meta["brand_names"] == ["ELIQUIS"]
    assert meta["pharm_class_epc"] == ["Factor Xa Inhibitor [EPC]"]
    assert "1364435" in meta["rxcui"] and meta["unii"]
    assert "seed_generic" not in json.dumps(meta)  # the mirror's _meta is dropped
    assert "a454cd24-0c6d-46e8-b1e4-197388606175" in meta["citation"] and "2026-04-24" in meta["citation"]


def test_openfda_old_layout_keeps_drug_interactions() -> None:
    docs, _ = split(list(read_openfda(FIXTURES / "openfda" / "sg6724")))
    metformin = docs["openfda:06ade2e1-5981-4e3d-b7e9-7ff083eb4551"]
    assert metformin.title == "METFORMIN HCL — FDA label"
    headings = [s.heading for s in metformin.sections]
    assert headings == [
        "Indications and Usage",
        "Contraindications",
        "Warnings",
        "Precautions",
        "Drug Interactions",
    ]
    assert section(metformin, "Drug Interactions") in section(metformin, "Precautions")


def test_openfda_bad_file(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"x": 1}', encoding="utf-8")
    _, rejected = split(list(read_openfda(tmp_path)))
    assert [(Path(r.file).name, r.line) for r in rejected] == [("broken.json", 0), ("other.json", 0)]


# --- NLM-180 -------------------------------------------------------------------------------


def test_nlm180_labels() -> None:
    docs, rejected = split(list(read_nlm180(FIXTURES / "nlm180")))
    assert rejected == [] and len(docs) == 4
    plavix = docs["nlm180:01b14603-8f29-4fa3-8d7e-9d523f802e0b"]
    assert plavix.title == "PLAVIX (clopidogrel bisulfate) tablet, film coated — FDA label (excerpt)"
    assert [s.heading for s in plavix.sections] == [
        "Contraindications",
        "Warnings and Precautions",
        "Drug Interactions",
    ]
    assert section(plavix, "Contraindications").startswith("4.1 Active Bleeding\n\nPlavix is contraindicated")
    assert "5.2 General Risk of Bleeding" in section(plavix, "Warnings and Precautions")
    assert (
        plavix.url
        == "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid=01b14603-8f29-4fa3-8d7e-9d523f802e0b"
    )
    assert (
        plavix.metadata["brand_name"] == "Plavix"
        and plavix.metadata["generic_name"] == "clopidogrel bisulfate"
    )
    assert plavix.published is None and plavix.source_type == "label"


def test_nlm180_boxed_warning_and_markup() -> None:
    docs, _ = split(list(read_nlm180(FIXTURES / "nlm180")))
    avalide = docs["nlm180:0d91895e-c869-4b33-9b83-d55c1ad6317e"]
    assert avalide.title == "Avalide (irbesartan and hydrochlorothiazide) — FDA label (excerpt)"
    assert [s.heading for s in avalide.sections] == [
        "Boxed Warning",
        "Contraindications",
        "Drug Interactions",
    ]
    boxed = section(avalide, "Boxed Warning")
    assert boxed.startswith("WARNING: FETAL TOXICITY\n\n- When pregnancy is detected")
    assert boxed.count("WARNING: FETAL TOXICITY") == 2  # the highlights' copy stays inside
    assert "<" not in avalide.text
    assert "\n- Because of the hydrochlorothiazide component" in section(avalide, "Contraindications")


def test_nlm180_title_from_xml_and_old_layout() -> None:
    docs, _ = split(list(read_nlm180(FIXTURES / "nlm180")))
    tikosyn = docs["nlm180:02438044-d6a3-49e9-a1ac-3aad21ef2c8c"]
    assert tikosyn.title == "Tikosyn (dofetilide) — FDA label (excerpt)"
    assert [s.heading for s in tikosyn.sections] == ["Description"]
    assert section(tikosyn, "Description").startswith("TIKOSYN (dofetilide) is an antiarrhythmic drug")
    dibenzyline = docs["nlm180:4fcdf9ca-78a8-4e4b-958e-2f795bbbf9ca"]
    assert dibenzyline.title.startswith("Dibenzyline (Phenoxybenzamine Hydrochloride)")
    # a bare "WARNING" after other sections is the Warnings section, not a boxed warning
    assert [s.heading for s in dibenzyline.sections] == [
        "Contraindications",
        "Warnings",
        "Precautions",
        "Drug Interactions",
    ]


def test_nlm180_heading_rules() -> None:
    assert heading_name("4 CONTRAINDICATIONS") == "Contraindications"
    assert heading_name("5. WARNINGS AND PRECAUTIONS") == "Warnings and Precautions"
    assert heading_name("4 C O NTRAINDICATIONS") == "Contraindications"
    assert heading_name("DOSAGE  -  ADMINISTRATION SECTION") == "Dosage and Administration"
    assert heading_name("INDICATIONS  -  USAGE SECTION") == "Indications and Usage"
    assert heading_name("2  DOSAGE & ADMINISTRATION") == "Dosage and Administration"
    assert heading_name("PRECAUTIONS:") == "Precautions"
    assert heading_name("5.1 Fetal Toxicity") is None
    assert heading_name("Pregnancy") is None
    assert product_title("DEMADEX (torsemide) tablet") == "DEMADEX (torsemide) tablet"
    assert (
        product_title("Drug Label for drug brand Indocin, containing indomethacin.")
        == "Indocin (indomethacin)"
    )
    assert product_title("LASIX (furosemide) is a potent diuretic which, if given in excess") is None
    assert product_title("DESCRIPTION") is None and product_title("") is None


# --- PK-DDI label sections -------------------------------------------------------------------


def test_spl_sections_pairs() -> None:
    docs, rejected = split(list(read_spl_sections(FIXTURES / "spl_interaction_sections")))
    assert rejected == []
    assert list(docs) == ["spl-ddi:1", "spl-ddi:5", "spl-ddi:187"]
    didanosine = docs["spl-ddi:1"]
    assert didanosine.title == "Didanosine — FDA label: Drug Interactions and Clinical Pharmacology"
    assert [s.heading for s in didanosine.sections] == ["Drug Interactions", "Clinical Pharmacology"]
    assert section(didanosine, "Drug Interactions").startswith("7.1 Established Drug Interactions")
    assert section(didanosine, "Clinical Pharmacology").startswith("12.1 Mechanism of Action")
    assert didanosine.url == "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?ndc=00378888905&start=1"
    assert didanosine.metadata["active_ingredient"] == "didanosine"
    assert docs["spl-ddi:187"].url == "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?id=18241"
    alone = docs["spl-ddi:5"]  # not in the (cut) index: read alone, without a URL
    assert [s.heading for s in alone.sections] == ["Drug Interactions"] and alone.url is None


def test_spl_index_parsing() -> None:
    text = (FIXTURES / "spl_interaction_sections" / "dailymed_htmls_and_textnumbers.txt").read_text()
    pairs = parse_index(text)
    assert [(p.ingredient, p.di_number, p.cp_number) for p in pairs] == [
        ("didanosine", 1, 2),
        ("atazanavir", 187, 188),
    ]
    assert (
        clean_url("http://x/drugInfo.cfm?id=1&CFID=5&CFTOKEN=a-b&jsessionid=c")
        == "https://x/drugInfo.cfm?id=1"
    )


# --- PubMedQA ------------------------------------------------------------------------------


def test_pubmedqa_abstracts() -> None:
    docs, rejected = split(list(read_pubmedqa(FIXTURES / "pubmedqa")))
    assert rejected == [] and len(docs) == 4
    osa = docs["pubmed:17076091"]
    assert osa.source_type == "evidence"
    assert osa.url == "https://pubmed.ncbi.nlm.nih.gov/17076091/"
    assert osa.published == "2006-01-01" and osa.metadata["year"] == 2006
    assert [s.heading for s in osa.sections] == ["OBJECTIVES", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert section(osa, "CONCLUSIONS").startswith("Overall, in a US Air Force population")
    assert osa.title.startswith("We sought to determine whether patients with obstructive sleep apnea")
    assert osa.title.endswith("…") and len(osa.title) <= 160
    assert osa.metadata["title_source"].startswith("first sentence")
    assert osa.metadata["study_design"] == "retrospective"  # retrospective cohort
    assert "Cohort Studies" in osa.metadata["meshes"]
    assert osa.metadata["pmid"] == "17076091" and "PMID 17076091" in osa.metadata["citation"]
    flu = docs["pubmed:17096624"]
    assert flu.published is None and "year" not in flu.metadata
    assert flu.title.startswith("To examine patterns of knowledge and attitudes among adults aged>65 years")
    assert flu.title.endswith("unvaccinated for influenza.")
    assert docs["pubmed:24142776"].metadata["study_design"] == "animal"
    assert docs["pubmed:19575104"].sections[0].heading == "ABSTRACT"  # UNLABELLED


def test_study_design_rules() -> None:
    assert study_design(["Humans", "Double-Blind Method"]) == "rct"
    assert study_design(["Humans", "Random Allocation"]) == "rct"
    assert study_design(["Humans", "Random Allocation", "Retrospective Studies"]) == "retrospective"
    assert study_design(["Humans", "Prospective Studies"]) == "cohort"
    assert study_design(["Humans", "Case-Control Studies", "Retrospective Studies"]) == "case_control"
    assert study_design(["Humans", "Cross-Sectional Studies"]) == "cross_sectional"
    assert study_design(["Humans"]) is None


# --- MedQuAD -------------------------------------------------------------------------------


def test_medquad_documents() -> None:
    docs, rejected = split(list(read_medquad(FIXTURES / "medquad")))
    assert list(docs) == [
        "medquad:ghr:0000708",
        "medquad:mplushealthtopics:0000060",
        "medquad:niddk:0000007",
        "medquad:ninds:0000007",
        "medquad:cdc:0000397",
    ]
    assert [(Path(r.file).name, r.line) for r in rejected] == [("0000056.xml", 0)]  # no answers at all
    ghr = docs["medquad:ghr:0000708"]
    assert ghr.title == "myostatin-related muscle hypertrophy" and ghr.source_type == "guideline"
    assert ghr.url == "https://ghr.nlm.nih.gov/condition/myostatin-related-muscle-hypertrophy"
    assert [s.heading for s in ghr.sections] == [
        "Information",
        "Frequency",
        "Genetic Changes",
        "Inheritance",
        "Treatment",
    ]
    meta = ghr.metadata
    assert meta["collection"] == "GHR" and meta["cuis"] == ["C2931112"] and meta["semantic_types"] == ["T019"]
    assert meta["synonyms"] == ["Muscle hypertrophy syndrome"] and meta["semantic_group"] == "Disorders"
    assert meta["questions"][1] == {
        "qid": "0000708-2",
        "qtype": "frequency",
        "question": "How many people are affected by myostatin-related muscle hypertrophy ?",
    }
    assert "genetic changes" in meta["qtypes"] and "MedQuAD" in meta["citation"]


def test_medquad_text_cleaning_and_variants() -> None:
    docs, _ = split(list(read_medquad(FIXTURES / "medquad")))
    asian = docs["medquad:mplushealthtopics:0000060"]
    text = section(asian, "Information")
    assert "you'll find" in text and "&apos;" not in text
    assert "result from\n- Genetics\n- Environmental factors" in text
    assert "  " not in text and asian.metadata["category"] == "Other"
    niddk = docs["medquad:niddk:0000007"]
    assert [s.heading for s in niddk.sections] == ["Information", "Information"]  # repeated qtype kept apart
    holmes = docs["medquad:ninds:0000007"]  # older lower-case schema
    assert holmes.title == "Holmes-Adie" and holmes.metadata["medquad_id"] == "0000007"
    assert [s.heading for s in holmes.sections] == ["Information", "Treatment", "Outlook", "Research"]
    taeniasis = docs["medquad:cdc:0000397"]  # <DiseaseFile fid=...>
    assert (
        taeniasis.title == "Parasites - Taeniasis"
        and taeniasis.url == "http://www.cdc.gov/parasites/taeniasis/"
    )
    assert "Exams and Tests" in [s.heading for s in taeniasis.sections]
    assert "\n\nT. solium tapeworm infections" in section(taeniasis, "Information")  # paragraph break kept


# --- ONC interaction lists -----------------------------------------------------------------


def test_interactions_high_priority() -> None:
    docs, rejected = split(list(read_interactions(FIXTURES / "interactions")))
    assert rejected == []
    sparfloxacin = docs["onc-high:DB01208"]  # first row of a BOM-prefixed file
    assert sparfloxacin.title == "Sparfloxacin — ONC high-priority drug–drug interactions"
    # (Sparfloxacin, Erythromycin) is listed in both orders: one partner
    assert [s.heading for s in sparfloxacin.sections] == ["Sparfloxacin + Erythromycin"]
    assert sparfloxacin.source_type == "interaction" and sparfloxacin.published == "2012-01-01"
    assert sparfloxacin.url == "https://pubmed.ncbi.nlm.nih.gov/22539083/"
    fluoxetine = docs["onc-high:DB00472"]
    assert fluoxetine.section_text(fluoxetine.sections[1]) == (
        "Fluoxetine and tranylcypromine: ONC high-priority drug–drug interaction; an interruptive alert is "
        "recommended when both are prescribed together (Phansalkar et al., JAMIA 2012)."
    )
    meta = fluoxetine.metadata
    assert (
        meta["list"] == "ONC high-priority"
        and meta["severity"] == "high"
        and meta["drugbank_id"] == "DB00472"
    )
    assert [p["drugbank_id"] for p in meta["partners"]] == ["DB01247", "DB00752"]
    assert "J Am Med Inform Assoc. 2012" in meta["citation"]


def test_interactions_non_interruptive() -> None:
    docs, _ = split(list(read_interactions(FIXTURES / "interactions")))
    warfarin = docs["onc-low:DB00682"]
    assert warfarin.metadata["severity"] == "low" and warfarin.published == "2013-01-01"
    assert [s.heading for s in warfarin.sections] == [
        "Warfarin + Acetaminophen",
        "Warfarin + Betamethasone",
        "Warfarin + Dexamethasone",
        "Warfarin + Lansoprazole",
    ]
    assert section(warfarin, "Warfarin + Lansoprazole").startswith(
        "Warfarin and lansoprazole (Anticoagulants with Proton pump inhibitors): ONC non-interruptive"
    )
    omeprazole = docs["onc-low:DB00338"]  # "Omeprazole " with trailing spaces in the source
    assert omeprazole.metadata["drug"] == "Omeprazole"
    assert omeprazole.metadata["partners"] == [
        {"name": "Alprazolam", "drugbank_id": "DB00404", "classes": ["Omeprazole with Benzodiazepines"]}
    ]
    assert docs["onc-low:DB00542"].metadata["drug"] == "Benazepril"  # "benazepril" capitalised


def test_interactions_bad_rows(tmp_path: Path) -> None:
    folder = tmp_path / "onc_high_priority"
    folder.mkdir()
    (folder / "ONC_High_Priority_Mapped.csv").write_text(
        "Warfarin$DB00682$Aspirin$DB00945$\nbroken-row\nAspirin$DB00945$Aspirin$DB00945$\n", encoding="utf-8"
    )
    docs, rejected = split(list(read_interactions(tmp_path)))
    assert sorted(docs) == ["onc-high:DB00682", "onc-high:DB00945"]  # the self-pair is skipped
    assert [(r.line, r.reason) for r in rejected] == [(2, "expected two drug names with DrugBank ids")]
    assert docs["onc-high:DB00682"].text.startswith("Warfarin and aspirin: ONC high-priority")
    assert [str(r) for r in read_interactions(tmp_path / "nothing")][0].endswith(
        ":0: no ONC high-priority or non-interruptive CSV list found"
    )


# --- generic JSONL -------------------------------------------------------------------------

GOOD_AND_BAD = [
    '{"id": "hosp-1", "title": "Warfarin dosing protocol", "text": "Start 5 mg daily.\\n\\nCheck INR.", '
    '"source_type": "guideline", "url": "https://h.example/1", "published": "2024-05-01", '
    '"ward": "cardiology"}',
    "",
    '{"id": "hosp-2", "sections": [{"heading": "Dose", "text": "5 mg"}, {"heading": "Empty", "text": "  "}, '
    '{"text": "Monitor INR weekly."}], "metadata": {"study_design": "rct"}}',
    '{"id": "broken", ',
    '{"title": "no id", "text": "x"}',
    '{"id": "e", "text": "   "}',
    '{"id": "t", "text": 5}',
    '{"id": "d", "text": "x", "published": "2024-13-01"}',
    '{"id": "s", "text": "x", "source_type": "blog"}',
    '{"id": "b", "sections": []}',
    '["not", "an", "object"]',
    '{"id": "l", "text": "x", "language": "fr"}',
    '{"id": "m", "text": "x", "metadata": "oops"}',
    '{"id": "h", "sections": [{"heading": 1, "text": "x"}]}',
    '{"id": 42, "text": "x"}',
    '{"id": "w", "text": "x", "published": "2024-W01-1"}',
]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_good_lines(tmp_path: Path) -> None:
    docs, _ = split(list(read_jsonl(write_lines(tmp_path / "h.jsonl", GOOD_AND_BAD))))
    one = docs["hosp-1"]
    assert one.title == "Warfarin dosing protocol" and one.source_type == "guideline"
    assert one.text == "Start 5 mg daily.\n\nCheck INR." and [s.heading for s in one.sections] == [""]
    assert one.published == "2024-05-01" and one.url == "https://h.example/1" and one.language == "en"
    assert one.metadata == {"ward": "cardiology"}  # unknown top-level fields are kept
    two = docs["hosp-2"]
    assert two.source_type == "other" and two.title == "hosp-2"
    assert [s.heading for s in two.sections] == ["Dose", ""]  # empty sections dropped
    assert two.metadata == {"study_design": "rct"}


def test_jsonl_bad_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "h.jsonl", GOOD_AND_BAD)
    _, rejected = split(list(read_jsonl(path)))
    got = {r.line: r.reason for r in rejected}
    assert all(r.file == str(path) for r in rejected)
    assert got[4].startswith("invalid JSON")
    assert got[5] == "id: is required and must be a non-empty string"
    assert got[6] == "text: the document has no text"
    assert got[7] == "text: must be a string"
    assert got[8] == "published: is not a valid date: '2024-13-01'"
    assert got[9].startswith("source_type: must be one of label, guideline, evidence, interaction, other")
    assert got[10].startswith("sections: must be a non-empty list")
    assert got[11] == "expected a JSON object, got list"
    assert got[12] == "language: must be en or zh, got 'fr'"
    assert got[13] == "metadata: must be an object"
    assert got[14] == "sections[0].heading: must be a string"
    assert got[15] == "id: is required and must be a non-empty string"
    assert got[16].startswith("published: must be an ISO date")
    assert sorted(got) == list(range(4, 17))
    assert str(rejected[0]) == f"{path}:4: {got[4]}"


def test_jsonl_chinese_and_gzip(tmp_path: Path) -> None:
    record = {
        "id": "zh-1",
        "title": "华法林钠片说明书",
        "sections": [
            {"heading": "适应症", "text": "适用于需长期持续抗凝的患者。"},
            {"heading": "药物相互作用", "text": "与阿司匹林合用增加出血风险。"},
        ],
        "source_type": "label",
    }
    path = tmp_path / "zh.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\ufeff" + json.dumps(record, ensure_ascii=False) + "\n")
        handle.write('{"id": "en-1", "text": "Aspirin inhibits platelets.", "language": "en"}\n')
    docs, rejected = split(list(read_jsonl(path)))
    assert rejected == []
    zh = docs["zh-1"]
    assert zh.language == "zh" and zh.title == "华法林钠片说明书"
    assert section(zh, "药物相互作用") == "与阿司匹林合用增加出血风险。"
    assert zh.text == "适用于需长期持续抗凝的患者。\n\n与阿司匹林合用增加出血风险。"
    assert docs["en-1"].language == "en"


def test_jsonl_broken_files(tmp_path: Path) -> None:
    bad_utf8 = tmp_path / "b.jsonl"
    bad_utf8.write_bytes(b'{"id": "ok", "text": "x"}\n{"id": "\xff", "text": "y"}\n')
    docs, rejected = split(list(read_jsonl(bad_utf8)))
    assert list(docs) == ["ok"] and rejected[0].line == 2 and "UTF-8" in rejected[0].reason
    truncated = tmp_path / "t.jsonl.gz"
    truncated.write_bytes(gzip.compress(b'{"id": "a", "text": "x"}\n' * 50)[:-20])
    items = list(read_jsonl(truncated))
    assert isinstance(items[-1], Rejected) and items[-1].reason.startswith("cannot read file")
    missing = list(read_jsonl(tmp_path / "missing.jsonl"))
    assert [(r.line, r.reason) for r in missing if isinstance(r, Rejected)] == [(0, "no such file")]


def test_jsonl_round_trip_of_documents(tmp_path: Path) -> None:
    originals, _ = split(list(read_medquad(FIXTURES / "medquad")))
    path = write_lines(
        tmp_path / "r.jsonl", [json.dumps(d.to_json(), ensure_ascii=False) for d in originals.values()]
    )
    again, rejected = split(list(read_jsonl(path)))
    assert rejected == []
    assert {i: d.version for i, d in again.items()} == {i: d.version for i, d in originals.items()}


# --- registry ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "source"),
    [
        ("openfda", "openfda"),
        ("nlm180", "nlm180"),
        ("spl_interaction_sections", "spl_sections"),
        ("pubmedqa", "pubmedqa"),
        ("medquad", "medquad"),
        ("interactions", "interactions"),
        ("ndfrt_va", "ndfrt"),
        ("labeledin", "labeledin"),
        ("spl_adr_200", "spl_adr"),
        ("ngc_guidelines", "ngc_guidelines"),
    ],
)
def test_registry_detects_layouts(folder: str, source: str) -> None:
    assert detect_source(FIXTURES / folder) == source
    assert any(isinstance(i, Document) for i in read_path(FIXTURES / folder))


def test_registry_files_and_folders(tmp_path: Path) -> None:
    nested = tmp_path / "hospital" / "2024"
    nested.mkdir(parents=True)
    write_lines(tmp_path / "hospital" / "b.jsonl", ['{"id": "b", "text": "second"}'])
    write_lines(nested / "a.jsonl", ['{"id": "a", "text": "first"}'])
    assert [i.id for i in read_path(tmp_path / "hospital") if isinstance(i, Document)] == ["a", "b"]
    assert [i.id for i in read_path(nested / "a.jsonl") if isinstance(i, Document)] == ["a"]
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    for path, reason in [
        (tmp_path / "notes.txt", "unsupported file"),
        (tmp_path / "nope", "no such file"),
        (tmp_path / "empty", "no known source layout"),
    ]:
        items = list(read_path(path))
        assert len(items) == 1 and isinstance(items[0], Rejected)
        assert items[0].line == 0 and reason in items[0].reason


# --- knowledge build -----------------------------------------------------------------------


def fake_shared(root: Path) -> Path:
    layout = {
        "openfda": "labels/openfda",
        "nlm180": "labels/nlm180",
        "spl_interaction_sections": "labels/spl_interaction_sections",
        "pubmedqa": "pubmedqa",
        "medquad": "medquad",
        "interactions": "interactions",
        "spl_adr_200": "labels/spl_adr_200",
        "labeledin": "labels/labeledin",
        "ndfrt_va": "interactions/ndfrt_va",
        "ngc_guidelines": "guidelines/ngc_public_domain",
    }
    for name, rel in layout.items():
        shutil.copytree(FIXTURES / name, root / rel)
    (root / "pubmedqa" / "LICENSE").write_text("MIT License\n", encoding="utf-8")
    return root


def test_knowledge_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared, out = fake_shared(tmp_path / "shared"), tmp_path / "knowledge"
    assert knowledge_build.main(["--shared", str(shared), "--out", str(out), "--no-graph"]) == 0
    names = sorted(p.name for p in (out / "docs").iterdir())
    assert names == [
        "interactions.jsonl.gz",
        "labeledin.jsonl.gz",
        "medquad.jsonl.gz",
        "ndfrt.jsonl.gz",
        "ngc_guidelines.jsonl.gz",
        "nlm180.jsonl.gz",
        "openfda.jsonl.gz",
        "pubmedqa.jsonl.gz",
        "spl_adr.jsonl.gz",
        "spl_sections.jsonl.gz",
    ]
    first = {n: (out / "docs" / n).read_bytes() for n in names}
    assert all(data[4:8] == b"\x00\x00\x00\x00" for data in first.values())  # gzip mtime 0
    lines = gzip.decompress(first["pubmedqa.jsonl.gz"]).decode("utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines][0] == "pubmed:17096624"
    attribution = (out / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "| medquad | docs/medquad.jsonl.gz | 5 |" in attribution and "CC BY 4.0" in attribution
    assert "| spl_adr | docs/spl_adr.jsonl.gz | 3 |" in attribution
    assert "U.S. Government work by origin" in attribution  # NDF-RT's licence, said as it is
    assert (out / "licenses" / "pubmedqa" / "LICENSE").is_file()
    assert "public domain" in (out / "licenses" / "openfda" / "NOTICE.md").read_text(encoding="utf-8")
    assert "medquad" in capsys.readouterr().out
    assert knowledge_build.main(["--shared", str(shared), "--out", str(out), "--no-graph"]) == 0
    assert {n: (out / "docs" / n).read_bytes() for n in names} == first  # byte-identical rebuild
    assert knowledge_build.main(["--shared", str(tmp_path / "none"), "--out", str(out)]) == 1


def test_build_hooks_are_optional() -> None:
    assert knowledge_build.run_hook("indexers.no_such_hook_module", Path(".")) is False


def test_an_oversized_jsonl_document_is_rejected_with_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexers.sources import jsonl

    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 200)
    small = {"id": "ok-1", "title": "Small", "text": "Warfarin dosing."}
    big = {"id": "big-1", "title": "Big", "text": "x" * 500}
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps(small) + "\n" + json.dumps(big) + "\n", encoding="utf-8")
    items = list(jsonl.read_jsonl(path))
    assert [getattr(i, "id", None) for i in items] == ["ok-1", None]
    assert str(items[1]).startswith(f"{path}:2:") and "at most 200" in str(items[1])
