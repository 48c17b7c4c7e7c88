"""VA NDF-RT interaction pairs and LabeledIn indication sections: readers and their helpers.

Fixtures under tests/fixtures/sources/{ndfrt_va,labeledin}/ are cuts of the real shared files
(same names): the NDF-RT TSV keeps the header, its first 19 rows and a few chosen ones (more
amiloride pairs, sumatriptan listed twice against sertraline and pargyline, TAK-390MR, VITAMIN_C);
the LabeledIn files keep the same 16 labels in each (pantoprazole twice, warfarin with a list,
amlodipine with a literal "<", thyroid (USP), the CHANTIX label without ingredient name).
"""

from __future__ import annotations

import json
from pathlib import Path

from app.model import Document
from indexers.sources.base import Rejected
from indexers.sources.labeledin import (
    LabeledIndication,
    is_labeledin_folder,
    labeledin_indications,
    read_labeledin,
    render_annotated,
)
from indexers.sources.ndfrt import NdfrtPair, drug_name, is_ndfrt_folder, ndfrt_pairs, read_ndfrt, sentence_name
from tests.test_sources import check_invariants, split

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
NDFRT = FIXTURES / "ndfrt_va"
NDFRT_TSV = NDFRT / "ndfrt_va_drug_interactions.tsv"
LABELEDIN = FIXTURES / "labeledin"
HEADER = "drug1_drugbank_uri\tdrug1_name\tdrug2_drugbank_uri\tdrug2_name\tseverity\tndfrt_label\tndfrt_uri"
DB = "http://bio2rdf.org/drugbank:"
NDF = "http://purl.bioontology.org/ontology/NDFRT/"
PANTOPRAZOLE = "9c983da1-a8e0-479e-8816-5d5668ea242e"
WARFARIN = "19a69a72-ac5d-45d5-a94d-a5aaecbe4730"
AMLODIPINE = "a4ab4f05-1c18-442a-8618-c2c92e589703"
CHANTIX = "b1b95503-1c7a-44e8-b5e0-d50b61db99d5"


def tsv_row(db1: str, name1: str, db2: str, name2: str, severity: str, label: str = "", nid: str = "") -> str:
    return "\t".join(
        [
            f"{DB}{db1}" if db1 else "",
            name1,
            f"{DB}{db2}" if db2 else "",
            name2,
            severity,
            label,
            f"{NDF}{nid}" if nid else "",
        ]
    )


# --- NDF-RT ----------------------------------------------------------------------------------


def test_ndfrt_documents_per_drug() -> None:
    docs, rejected = split(list(read_ndfrt(NDFRT)))
    assert rejected == []
    assert len(docs) == 41
    assert sum(len(d.sections) for d in docs.values()) == 2 * 25  # 27 rows, 2 pairs listed twice
    amiloride = docs["ndfrt:DB00594"]
    assert amiloride.title == "Amiloride — VA NDF-RT drug–drug interactions"
    assert amiloride.source_type == "interaction" and amiloride.language == "en"
    assert amiloride.url == "https://github.com/dbmi-pitt/Merged-PDDI" and amiloride.published is None
    assert [s.heading for s in amiloride.sections] == [
        "Amiloride + Fosinopril",
        "Amiloride + Irbesartan",
        "Amiloride + Potassium chloride",
    ]
    assert amiloride.section_text(amiloride.sections[1]) == (
        "Amiloride and irbesartan: VA NDF-RT drug–drug interaction, severity Significant (NDF-RT concept "
        "AMILORIDE/IRBESARTAN [VA Drug Interaction], N0000176572; Ayvaz et al. 2015)."
    )
    assert "Amiloride and potassium chloride: VA NDF-RT" in amiloride.text
    meta = amiloride.metadata
    assert meta["source"] == "ndfrt" and meta["list"] == "VA NDF-RT"
    assert meta["drug"] == "Amiloride" and meta["drugbank_id"] == "DB00594"
    assert meta["partners"][1] == {
        "name": "Irbesartan",
        "drugbank_id": "DB01029",
        "severity": "significant",
        "ndfrt_concept": "AMILORIDE/IRBESARTAN [VA Drug Interaction]",
        "ndfrt_id": "N0000176572",
    }
    assert meta["url"] == "https://github.com/dbmi-pitt/Merged-PDDI"
    assert meta["citation"].startswith("U.S. Department of Veterans Affairs, National Drug File – Reference")
    assert "Ayvaz S, et al." in meta["citation"] and "2015;55:206-217" in meta["citation"]
    assert "github.com/dbmi-pitt/Merged-PDDI" in meta["citation"]
    # the reverse side of the pair
    irbesartan = docs["ndfrt:DB01029"]
    assert irbesartan.sections[0].heading == "Irbesartan + Amiloride"
    assert irbesartan.text.startswith("Irbesartan and amiloride: VA NDF-RT drug–drug interaction, severity Significant")


def test_ndfrt_names_and_critical_rows() -> None:
    docs, _ = split(list(read_ndfrt(NDFRT)))
    nizatidine = docs["ndfrt:DB00585"]  # "NIZATIDINE" in the file
    assert nizatidine.title == "Nizatidine — VA NDF-RT drug–drug interactions"
    assert nizatidine.sections[0].heading == "Nizatidine + Nilotinib"
    assert "Nizatidine and nilotinib:" in nizatidine.text
    colchicine = docs["ndfrt:DB01394"]  # COLCHICINE / ERYTHROMYCIN, Critical
    assert colchicine.section_text(colchicine.sections[0]) == (
        "Colchicine and erythromycin: VA NDF-RT drug–drug interaction, severity Critical (NDF-RT concept "
        "COLCHICINE/ERYTHROMYCIN [VA Drug Interaction], N0000033333; Ayvaz et al. 2015)."
    )
    assert colchicine.metadata["partners"][0]["severity"] == "critical"
    assert docs["ndfrt:DB00126"].metadata["drug"] == "Vitamin C"  # VITAMIN_C
    assert docs["ndfrt:DB00761"].metadata["drug"] == "Potassium chloride"  # Potassium_Chloride
    assert docs["ndfrt:DB05351"].metadata["drug"] == "TAK-390MR"  # code names keep their case
    assert docs["ndfrt:DB00415"].text.startswith(
        "Ampicillin and vitamin C: VA NDF-RT drug–drug interaction, severity Critical"
    )
    assert [d.metadata["drug"] for d in docs.values()] == sorted(
        (d.metadata["drug"] for d in docs.values()), key=str.casefold
    )


def test_ndfrt_drug_name_rules() -> None:
    assert drug_name("NIZATIDINE") == "Nizatidine"
    assert drug_name("amiloride") == "Amiloride"
    assert drug_name("Sodium_bicarbonate") == "Sodium bicarbonate"
    assert drug_name("Bismuth_Subsalicylate") == "Bismuth subsalicylate"
    assert drug_name("Amphotericin_B") == "Amphotericin B"
    assert drug_name("Mycophenolate_mofetil") == "Mycophenolate mofetil"
    assert drug_name("CDB-2914") == "CDB-2914"
    assert drug_name("L-TRYPTOPHAN") == "L-tryptophan"
    assert sentence_name("Vitamin C") == "vitamin C" and sentence_name("Potassium chloride") == "potassium chloride"
    assert (
        sentence_name("TAK-390MR") == "TAK-390MR" and sentence_name("Mycophenolate Mofetil") == "Mycophenolate Mofetil"
    )


def test_ndfrt_pair_listed_twice_keeps_the_more_severe() -> None:
    docs, _ = split(list(read_ndfrt(NDFRT)))
    sumatriptan = docs["ndfrt:DB00669"]  # SUMATRIPTAN and Sumatriptan: one drug
    assert sumatriptan.title == "Sumatriptan — VA NDF-RT drug–drug interactions"
    assert [s.heading for s in sumatriptan.sections] == ["Sumatriptan + Pargyline", "Sumatriptan + Sertraline"]
    pargyline = sumatriptan.section_text(sumatriptan.sections[0])
    assert pargyline.startswith("Sumatriptan and pargyline: VA NDF-RT drug–drug interaction, severity Critical")
    assert "PARGYLINE/SUMATRIPTAN [VA Drug Interaction], N0000034072" in pargyline
    assert "also listed with severity Significant as NDF-RT concept PARGYLINE/SUMATRIPTAN SUCCINATE" in pargyline
    partner = sumatriptan.metadata["partners"][0]
    assert partner["severity"] == "critical" and partner["ndfrt_id"] == "N0000034072"
    assert [(x["severity"], x["ndfrt_id"]) for x in partner["listings"]] == [
        ("critical", "N0000034072"),
        ("significant", "N0000034073"),
    ]
    sertraline = sumatriptan.metadata["partners"][1]  # same severity twice: first listing leads
    assert sertraline["severity"] == "significant" and sertraline["ndfrt_id"] == "N0000034370"
    assert len(sertraline["listings"]) == 2
    assert docs["ndfrt:DB01626"].metadata["partners"][0]["severity"] == "critical"  # the other side agrees


def test_ndfrt_pairs_rows() -> None:
    items = list(ndfrt_pairs(NDFRT_TSV))
    pairs = [i for i in items if isinstance(i, NdfrtPair)]
    assert len(pairs) == 27 and len(items) == 27
    assert pairs[0] == NdfrtPair(
        drugbank_a="DB01029",
        name_a="Irbesartan",
        drugbank_b="DB00594",
        name_b="Amiloride",
        severity="significant",
        concept="AMILORIDE/IRBESARTAN [VA Drug Interaction]",
        ndfrt_id="N0000176572",
        line=2,
    )
    assert pairs[1].name_a == "Nizatidine" and pairs[3].severity == "critical"
    assert {p.severity for p in pairs} == {"critical", "significant"}
    assert pairs[-1].line == 28 and pairs[-1].name_a == "Sumatriptan" and pairs[-1].name_b == "Pargyline"


def test_ndfrt_bad_rows_and_both_orders(tmp_path: Path) -> None:
    lines = [
        HEADER,
        tsv_row(
            "DB00594",
            "Amiloride",
            "DB01029",
            "Irbesartan",
            "Significant",
            "AMILORIDE/IRBESARTAN [VA Drug Interaction]",
            "N0000176572",
        ),
        tsv_row(
            "DB01029", "IRBESARTAN", "DB00594", "AMILORIDE", "Critical", "X/Y [VA Drug Interaction]", "N0000000001"
        ),
        tsv_row("", "Warfarin", "DB00682", "Aspirin", "Critical"),  # no DrugBank URI
        tsv_row("DB00682", "", "DB00945", "Aspirin", "Critical"),  # no name
        tsv_row("DB00682", "Warfarin", "DB00945", "Aspirin", "Moderate"),  # unknown severity
        "",
        tsv_row("DB00682", "Warfarin", "DB00682", "WARFARIN", "Critical"),  # self pair: skipped
        "only\tthree\tcells",
        tsv_row("DB00682", "WARFARIN", "DB00945", "aspirin", "critical", "ASPIRIN/WARFARIN [VA Drug Interaction]"),
    ]
    file = tmp_path / "ndfrt_va_drug_interactions.tsv"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert is_ndfrt_folder(tmp_path) and is_ndfrt_folder(file)
    docs, rejected = split(list(read_ndfrt(tmp_path)))
    assert [(Path(r.file).name, r.line) for r in rejected] == [
        ("ndfrt_va_drug_interactions.tsv", 4),
        ("ndfrt_va_drug_interactions.tsv", 5),
        ("ndfrt_va_drug_interactions.tsv", 6),
        ("ndfrt_va_drug_interactions.tsv", 9),
    ]
    assert "Moderate" in rejected[2].reason
    assert sorted(docs) == ["ndfrt:DB00594", "ndfrt:DB00682", "ndfrt:DB00945", "ndfrt:DB01029"]
    amiloride = docs["ndfrt:DB00594"]  # listed in both orders: one section, the more severe listing first
    assert len(amiloride.sections) == 1
    assert amiloride.metadata["partners"][0]["severity"] == "critical"
    assert amiloride.metadata["partners"][0]["name"] == "Irbesartan"
    assert [x["severity"] for x in amiloride.metadata["partners"][0]["listings"]] == ["critical", "significant"]
    warfarin = docs["ndfrt:DB00682"]
    assert [s.heading for s in warfarin.sections] == ["Warfarin + Aspirin"]
    assert "(NDF-RT concept ASPIRIN/WARFARIN [VA Drug Interaction]; Ayvaz et al. 2015)" in warfarin.text
    assert warfarin.metadata["partners"][0]["ndfrt_id"] is None


def test_ndfrt_missing_and_foreign_files(tmp_path: Path) -> None:
    assert list(read_ndfrt(tmp_path / "absent")) == [Rejected(str(tmp_path / "absent"), 0, rejected_reason())]
    (tmp_path / "ndfrt_other.tsv").write_text("a\tb\n1\t2\n", encoding="utf-8")
    assert not is_ndfrt_folder(tmp_path) and not is_ndfrt_folder(LABELEDIN)
    assert [r.line for r in read_ndfrt(tmp_path) if isinstance(r, Rejected)] == [0]
    wrong = tmp_path / "wrong.tsv"
    wrong.write_text("a\tb\n", encoding="utf-8")
    assert [(r.line, "header" in r.reason) for r in ndfrt_pairs(wrong) if isinstance(r, Rejected)] == [(1, True)]


def rejected_reason() -> str:
    return "no NDF-RT interaction TSV (ndfrt*.tsv with the NDF-RT header) found"


# --- LabeledIn -------------------------------------------------------------------------------


def test_labeledin_documents() -> None:
    docs, rejected = split(list(read_labeledin(LABELEDIN)))
    assert rejected == [] and len(docs) == 16
    assert is_labeledin_folder(LABELEDIN) and not is_labeledin_folder(NDFRT)
    panto = docs[f"labeledin:{PANTOPRAZOLE}"]
    assert panto.title == "Pantoprazole — FDA label, Indications and Usage (DailyMed 2012)"
    assert panto.source_type == "label" and panto.published == "2012-08-28"
    assert panto.url == f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={PANTOPRAZOLE}"
    assert [s.heading for s in panto.sections] == ["Indications and Usage"]
    assert panto.text.startswith("Pantoprazole sodium delayed release tablets are indicated for\n\n")
    assert "\nMaintenance of Healing of Erosive Esophagitis\n" in panto.text
    assert "<annotation" not in panto.text and "<br>" not in panto.text
    meta = panto.metadata
    assert meta["source"] == "labeledin" and meta["set_id"] == PANTOPRAZOLE
    assert meta["generic_name"] == "Pantoprazole" and meta["rxcui"] == ["40790"]
    assert meta["study_id"] == "10004" and meta["effective_date"] == "2012-08-28"
    assert [(i["cui"], i["name"]) for i in meta["indications"]] == [
        ("C0267055", None),  # listed in the dhimmel table without a MeSH name
        ("C0017168", "Gastroesophageal Reflux"),
        ("C0043515", "Zollinger-Ellison Syndrome"),
    ]
    assert meta["indications"][0]["mention"] == "Erosive Esophagitis"
    assert "08098cb2-c048-4640-f387-6beec4a38936" in meta["similar_set_ids"]
    assert meta["citation"].startswith(
        f"Pantoprazole, FDA label Indications and Usage, DailyMed set id {PANTOPRAZOLE} "
        f"(https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={PANTOPRAZOLE}), version of 2012-08-28; "
    )
    assert "Khare R, Li J, Lu Z. LabeledIn: cataloging labeled indications for human drugs" in meta["citation"]
    assert "J Biomed Inform. 2014;52:448-56" in meta["citation"]
    assert "labeledin:3cde88e6-28f2-4cbe-8c3f-770b05cc0e1b" in docs  # the second pantoprazole label


def test_labeledin_text_from_annotated_xml() -> None:
    docs, _ = split(list(read_labeledin(LABELEDIN)))
    warfarin = docs[f"labeledin:{WARFARIN}"]
    assert warfarin.title == "Warfarin — FDA label, Indications and Usage (DailyMed 2012)"
    assert (
        "JANTOVEN is indicated for\n\n- Prophylaxis and treatment of venous thrombosis and its extension, "
        "pulmonary embolism (PE).\n- Prophylaxis and treatment of thromboembolic" in warfarin.text
    )
    assert "\nLimitations of Use\n" in warfarin.text
    assert [i["cui"] for i in warfarin.metadata["indications"]][:2] == ["C0042487", "C0034065"]
    # the jsonl lost the text after a literal "<"; the annotated XML keeps it
    amlodipine = docs[f"labeledin:{AMLODIPINE}"]
    assert "an ejection fraction < 40%, amlodipine besylate tablets are indicated" in amlodipine.text
    thyroid = docs["labeledin:5356920e-4b73-421b-8125-ee417cd67ad3"]
    assert thyroid.title.startswith("Thyroid (USP) — FDA label")
    assert thyroid.metadata["generic_name"] == "Thyroid (USP)"
    hashimoto = [i for i in thyroid.metadata["indications"] if i["cui"] == "C0677607"]
    assert hashimoto and hashimoto[0]["name"] == "Hashimoto's Struma"
    assert docs["labeledin:e13c4267-603e-31c3-2515-91314059e091"].metadata["generic_name"] == "Folic Acid"


def test_labeledin_label_without_ingredient_name() -> None:
    docs, _ = split(list(read_labeledin(LABELEDIN)))
    chantix = docs[f"labeledin:{CHANTIX}"]
    assert chantix.title == f"DailyMed label {CHANTIX} — FDA label, Indications and Usage (DailyMed 2012)"
    assert chantix.metadata["generic_name"] is None and chantix.metadata["rxcui"] == ["591622"]
    assert chantix.metadata["indications"] == []
    assert chantix.text == "CHANTIX is indicated for use as an aid to smoking cessation treatment."
    assert chantix.metadata["citation"].startswith(f"FDA label Indications and Usage, DailyMed set id {CHANTIX}")


def test_render_annotated() -> None:
    markup = (
        ' <div> Indication </div> X is for <annotation cui="C1">lice</annotation>. <br> <br> '
        "<ol><li> Wash <b>all</b> clothing. </li><li> Comb hair if < 2 mm. </li></ol> After."
    )
    assert render_annotated(markup) == (
        "Indication\nX is for lice.\n\n- Wash all clothing.\n- Comb hair if < 2 mm.\n\nAfter."
    )


def jsonl_line(
    set_id: str, text: str | None = "Indicated for pain.", ingredient: str = "ibuprofen", rxcui: str = "5640"
) -> str:
    record: dict[str, str] = {
        "study_id": "1",
        "setid": set_id,
        "in_rxcui": rxcui,
        "ingredient": ingredient,
        "section": "INDICATIONS AND USAGE",
    }
    if text is not None:
        record["text"] = text
    return json.dumps(record)


def test_labeledin_bad_lines(tmp_path: Path) -> None:
    lines = [
        jsonl_line("set-a"),
        "{not json",
        jsonl_line("set-b", text=None),
        jsonl_line("set-a", text="Again."),
        "",
        jsonl_line("", text="No set id."),
        jsonl_line("set-c", text="  \n "),
        "[1, 2]",
        jsonl_line("set-d", ingredient="hydrocodone; acetaminophen", rxcui="5489;161"),
    ]
    (tmp_path / "indications_sections.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "LabeledIn_Structured_Results.txt").write_text(
        "1|set-a|C0030193; C0015967;|5640|||||\nbroken line\n", encoding="utf-8"
    )
    assert is_labeledin_folder(tmp_path)
    docs, rejected = split(list(read_labeledin(tmp_path)))
    assert [(Path(r.file).name, r.line) for r in rejected] == [
        ("LabeledIn_Structured_Results.txt", 2),
        ("indications_sections.jsonl", 2),
        ("indications_sections.jsonl", 3),
        ("indications_sections.jsonl", 4),
        ("indications_sections.jsonl", 6),
        ("indications_sections.jsonl", 7),
        ("indications_sections.jsonl", 8),
    ]
    assert "duplicate set id set-a" in rejected[3].reason and "text" in rejected[2].reason
    assert sorted(docs) == ["labeledin:set-a", "labeledin:set-d"]
    first = docs["labeledin:set-a"]
    assert first.text == "Indicated for pain." and first.metadata["generic_name"] == "Ibuprofen"
    assert first.metadata["indications"] == [  # no dhimmel table here: no names
        {"cui": "C0030193", "name": None, "mention": None},
        {"cui": "C0015967", "name": None, "mention": None},
    ]
    combo = docs["labeledin:set-d"]  # several ingredients
    assert combo.title == "Hydrocodone / Acetaminophen — FDA label, Indications and Usage (DailyMed 2012)"
    assert combo.metadata["generic_name"] == "Hydrocodone / Acetaminophen"
    assert combo.metadata["rxcui"] == ["5489", "161"]
    assert combo.metadata["citation"].startswith("Hydrocodone / Acetaminophen, FDA label Indications and Usage")


def test_labeledin_missing_folder(tmp_path: Path) -> None:
    items = list(read_labeledin(tmp_path / "absent"))
    assert len(items) == 1 and isinstance(items[0], Rejected) and items[0].line == 0
    assert not is_labeledin_folder(tmp_path)


def test_labeledin_indication_rows(tmp_path: Path) -> None:
    rows = list(labeledin_indications(LABELEDIN))
    assert all(isinstance(r, LabeledIndication) for r in rows) and len(rows) == 72
    assert rows[1] == LabeledIndication(
        rxcui="10237",
        ingredient="Sulindac",
        disease_cui="C0003873",
        disease_name="Arthritis, Rheumatoid",
        n_labels=1,
        expert=False,
    )
    panto = [r for r in rows if isinstance(r, LabeledIndication) and r.rxcui == "40790"]
    assert [(r.disease_cui, r.disease_name, r.n_labels, r.expert, r.ingredient) for r in panto] == [
        ("C0017168", "Gastroesophageal Reflux", 2, True, "Pantoprazole"),
        ("C0043515", "Zollinger-Ellison Syndrome", 2, True, "Pantoprazole"),
        ("C0267055", None, 2, True, "Pantoprazole"),
    ]
    bad = tmp_path / "dhimmel-labeledin-indications.tsv"
    bad.write_text(
        "rxnorm_id\tdisease_cui\tn_labels\texpert\tcrowd\tdisease_mesh_name\trxnorm_name\n"
        "10156\tC0013295\t2\t1\t0\tDuodenal Ulcer\tSucralfate\n"
        "10156\t\t2\t1\t0\tNo CUI\tSucralfate\n"
        "10156\tC0013295\ttwo\t1\t0\tDuodenal Ulcer\tSucralfate\n",
        encoding="utf-8",
    )
    items = list(labeledin_indications(tmp_path))
    assert [r.line for r in items if isinstance(r, Rejected)] == [3, 4]
    assert [r.disease_cui for r in items if isinstance(r, LabeledIndication)] == ["C0013295"]
    assert [r.line for r in labeledin_indications(tmp_path / "nothing") if isinstance(r, Rejected)] == [0]


def test_documents_pass_invariants() -> None:
    for item in [*read_ndfrt(NDFRT), *read_labeledin(LABELEDIN)]:
        assert isinstance(item, Document)
        check_invariants(item)
