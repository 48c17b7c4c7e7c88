"""The knowledge-graph build (on small source fixtures), the entity dictionary and document linking."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from app.graph_model import DiseaseRecord, DrugRecord, GraphKnowledge, is_disease_id
from app.knowledge import EntityDictionary, load_graph_knowledge
from app.model import Document
from indexers.graph_build import links_for
from indexers.knowledge_graph_build import build, read_po

SOURCES = Path(__file__).resolve().parent / "fixtures" / "graph_sources"
FILES = ("drugs", "diseases", "classes", "class_members", "indications", "interactions")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("knowledge")
    return out, build(SOURCES, out)


@pytest.fixture(scope="module")
def knowledge(built: tuple[Path, dict[str, object]]) -> GraphKnowledge:
    return load_graph_knowledge(built[0])


@pytest.fixture(scope="module")
def dictionary(knowledge: GraphKnowledge) -> EntityDictionary:
    return EntityDictionary(knowledge)


# -- build ----------------------------------------------------------------------------------------
def test_build_writes_every_file_deterministically(built: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    out, report = built
    for name in FILES:
        path = out / "graph" / f"{name}.jsonl.gz"
        assert path.stat().st_size == report[name]["bytes"]  # type: ignore[index]
        assert path.read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime 0
    again = build(SOURCES, tmp_path)
    assert again == report
    for name in [f"graph/{n}.jsonl.gz" for n in FILES] + ["vocab/medical_userdict.txt"]:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()
    assert (out / "licenses" / "vocab" / "COPYING").read_text().lstrip().startswith("GNU GENERAL PUBLIC LICENSE")
    readme = (out / "graph" / "README.md").read_text()
    assert "CC0" in readme and "GPL-3.0-or-later" in readme and "Phansalkar" in readme and "eLife" in readme


def test_rows_are_sorted(built: tuple[Path, dict[str, object]]) -> None:
    out, _ = built
    with gzip.open(out / "graph" / "drugs.jsonl.gz", "rt", encoding="utf-8") as handle:
        ids = [json.loads(line)["id"] for line in handle]
    assert ids == sorted(ids)


def test_drugs(knowledge: GraphKnowledge) -> None:
    drugs = {d.id: d for d in knowledge.drugs}
    warfarin = drugs["DB00682"]
    assert warfarin.name == "Warfarin" and warfarin.drugbank == "DB00682"
    assert "华法林" in warfarin.names_zh
    assert warfarin.set_ids == ("5a5b5e3a-6556-a542-e063-6294a90a6d3f",)  # label found by generic name
    aspirin = drugs["DB00945"]
    assert aspirin.name == "Acetylsalicylic acid" and "aspirin" in aspirin.names_en  # UNII synonym
    assert aspirin.unii == "R16CO5Y76E" and "乙酰水杨酸" in aspirin.names_zh
    # openFDA label of the salt ("ATORVASTATIN CALCIUM", UNII of the salt) -> the substance
    assert drugs["DB01076"].set_ids == ("01eadde8-37f3-4474-995f-22c1a65adf12",)
    # WHO-only substance: slug id, UNII attached by name, parenthesised alias kept
    assert drugs["drug:artesunate"].unii == "60W3249T9M"
    assert drugs["drug:epinefrine"].names_en == ("epinefrine", "adrenaline")
    # combinations are not substances; misspellings of the ONC xls are corrected
    assert not any("+" in d.name for d in knowledge.drugs)
    assert "drug:voriconazole" in drugs and "drug:voreconazole" not in drugs
    assert "drug:nsaid" not in drugs  # a class name in the xls drug column
    for drug in knowledge.drugs:
        assert all(n == n.lower() for n in drug.names_en) and len(drug.names_en) <= 12


def test_diseases(knowledge: GraphKnowledge) -> None:
    diseases = {d.id: d for d in knowledge.diseases}
    t2d = diseases["DOID:9352"]  # Disease Ontology disease merged by name with ICD-10 E11
    assert (t2d.icd10, t2d.names_zh) == ("E11", ("2型糖尿病",))
    assert diseases["DOID:10652"].names_en == ("alzheimer disease",)  # ICD-10's spelling
    assert diseases["ICD10:I10"].names_zh == ("特发性（原发性）高血压", "特发性高血压")
    assert "ICD10:E11" not in diseases  # merged
    assert not any(d.icd10 and "." in d.icd10 and d.doid is None for d in knowledge.diseases)  # categories only
    assert all(is_disease_id(d.id) for d in knowledge.diseases)
    assert not any(is_disease_id(d.id) for d in knowledge.drugs)


def test_edges(knowledge: GraphKnowledge) -> None:
    kinds = {(i.drug_id, i.disease_id): i.kind for i in knowledge.indications}
    assert kinds[("DB00331", "DOID:9352")] == "TREATS"  # DM
    assert kinds[("DB00245", "DOID:10652")] == "PALLIATES"  # SYM
    assert ("DB00945", "DOID:10763") not in kinds  # NOT is not an edge
    pairs = {(i.drug_a, i.drug_b, i.source): i for i in knowledge.interactions}
    high = pairs[("DB00641", "DB01118", "ONC high-priority")]  # stored once, a < b
    assert high.severity == "high" and "2012" in high.citation
    low = pairs[("DB00682", "DB01076", "ONC non-interruptive")]
    assert low.severity == "low" and "2013" in low.citation
    assert all(i.drug_a < i.drug_b for i in knowledge.interactions)
    classes = {c.id: c.name for c in knowledge.classes}
    assert classes["class:statins"] == "Statins"  # "HMG Co-A reductase inhibitors" + "Statins"
    statins = {m.drug_id for m in knowledge.class_members if m.class_id == "class:statins"}
    assert {"DB00641", "DB01076"} <= statins
    assert "class:anticoagulants" not in classes  # one member here: not a class


def test_userdict(built: tuple[Path, dict[str, object]]) -> None:
    lines = (built[0] / "vocab" / "medical_userdict.txt").read_text(encoding="utf-8").splitlines()
    words = {line.split()[0]: line.split()[1:] for line in lines}
    assert words["华法林"] == ["200000", "nz"] and "2型糖尿病" in words and "特发性高血压" in words
    assert "特发性（原发性）高血压" not in words  # punctuation cannot be one jieba token
    assert lines == sorted(lines)


def test_read_po_handles_continuation_lines() -> None:
    entries = {ctx: (msgid, msgstr) for ctx, msgid, msgstr in read_po(SOURCES / "vocab/icd10/zh_CN.po")}
    msgid, msgstr = entries["model:gnuhealth.pathology,name:A154"]
    assert msgid == "Tuberculosis of intrathoracic lymph nodes, confirmed bacteriologically and histologically"
    assert msgstr == "胸腔内淋巴结结核，经细菌学和组织学所证实"


# -- dictionary -----------------------------------------------------------------------------------
def _hits(dictionary: EntityDictionary, text: str) -> list[tuple[str, str]]:
    mentions = dictionary.find_mentions(text)
    for m in mentions:
        assert text[m.start : m.end] == m.surface
    return [(m.entity_id, m.surface) for m in mentions]


def test_english_mentions(dictionary: EntityDictionary) -> None:
    text = "WARFARIN with aspirin; Type 2 Diabetes Mellitus and Alzheimer’s disease. warfarinate, aspirins."
    assert _hits(dictionary, text) == [
        ("DB00682", "WARFARIN"),
        ("DB00945", "aspirin"),
        ("DOID:9352", "Type 2 Diabetes Mellitus"),
        ("DOID:10652", "Alzheimer’s disease"),
    ]


def test_longest_match_and_adjacency(dictionary: EntityDictionary) -> None:
    assert _hits(dictionary, "acetylsalicylic acid") == [("DB00945", "acetylsalicylic acid")]
    assert _hits(dictionary, "acetylsalicylic. Acid") == []  # words of a name must be adjacent
    assert _hits(dictionary, "essential hypertension") == [("ICD10:I10", "essential hypertension")]
    assert _hits(dictionary, "hypertension") == [("DOID:10763", "hypertension")]


def test_filters() -> None:
    knowledge = GraphKnowledge(
        drugs=(DrugRecord("D1", "ASA", names_en=("asa", "aspirin"), brands=("choice",)),),
        diseases=(DiseaseRecord("ICD10:A00", "Cholera, unspecified"), DiseaseRecord("ICD10:Z99", "Other diseases"),
                  DiseaseRecord("ICD10:B01", "Cholera")),
    )
    dictionary = EntityDictionary(knowledge)
    assert _hits(dictionary, "ASA or aspirin by choice: cholera, unspecified; other diseases") == [
        ("D1", "aspirin"), ("ICD10:B01", "cholera")]
    assert ("D1", "choice") in _hits(EntityDictionary(knowledge, include_brands=True), "choice")


def test_missing_knowledge_reads_as_empty(tmp_path: Path) -> None:
    assert load_graph_knowledge(tmp_path) == GraphKnowledge()
    assert len(EntityDictionary(GraphKnowledge())) == 0
    assert EntityDictionary(GraphKnowledge()).find_mentions("aspirin 阿司匹林") == []


def test_chinese_mentions(dictionary: EntityDictionary) -> None:
    text = "患者有2型糖尿病，服用二甲双胍和华法林；特发性高血压。Warfarin"
    assert _hits(dictionary, text) == [
        ("DOID:9352", "2型糖尿病"),
        ("DB00331", "二甲双胍"),
        ("DB00682", "华法林"),
        ("ICD10:I10", "特发性高血压"),
        ("DB00682", "Warfarin"),
    ]


def test_brands_when_asked(knowledge: GraphKnowledge) -> None:
    assert ("DB00641", "Zocor") in _hits(EntityDictionary(knowledge, include_brands=True), "Zocor 20 mg")


# -- links ----------------------------------------------------------------------------------------
def _doc(doc_id: str, source_type: str, text: str, **metadata: object) -> Document:
    return Document.from_sections(id=doc_id, title="Title about metformin", source_type=source_type,
                                  sections=[("Body", text)], metadata=dict(metadata))


def test_links_for_labels(dictionary: EntityDictionary) -> None:
    by_set_id = _doc("openfda:01eadde8-37f3-4474-995f-22c1a65adf12", "label", "Warfarin interacts.")
    links = links_for(by_set_id, dictionary)
    assert links.described_drugs == ("DB01076",)
    assert links.mentions == ("DB00331", "DB00682")  # title + text, sorted, unique
    assert (links.doc_id, links.version, links.source_type) == (by_set_id.id, by_set_id.version, "label")
    by_name = _doc("nlm180:x", "label", "text", generic_name="ATORVASTATIN CALCIUM / warfarin sodium")
    assert links_for(by_name, dictionary).described_drugs == ("DB00682", "DB01076")
    by_unii = _doc("label:y", "label", "text", unii=["R16CO5Y76E"])
    assert links_for(by_unii, dictionary).described_drugs == ("DB00945",)
    not_a_label = _doc("pubmed:1", "evidence", "text", generic_name="warfarin")
    assert links_for(not_a_label, dictionary).described_drugs == ()


def test_entity_dictionary_on_real_knowledge_is_fast() -> None:
    knowledge_dir = Path(__file__).resolve().parent.parent / "knowledge"
    if not (knowledge_dir / "graph" / "drugs.jsonl.gz").exists():
        pytest.skip("knowledge/graph not built")
    dictionary = EntityDictionary(load_graph_knowledge(knowledge_dir))
    assert len(dictionary) > 5000
    text = "Warfarin and simvastatin in type 2 diabetes mellitus with chronic kidney disease. " * 20
    assert {m.entity_id for m in dictionary.find_mentions(text)} >= {"DB00682", "DB00641", "DOID:9352"}


def test_a_label_without_identity_metadata_is_the_label_of_the_drug_its_title_names(
        dictionary: EntityDictionary) -> None:
    def label(title: str, **metadata: object) -> Document:
        return Document.from_sections(id="hospital-docs/x.pdf", title=title, source_type="label",
                                      sections=[("禁忌", "以下情况禁用本品。")], metadata=dict(metadata))

    assert links_for(label("华法林钠片说明书"), dictionary).described_drugs == ("DB00682",)
    assert links_for(label("Warfarin Sodium Tablets prescribing information"), dictionary).described_drugs == (
        "DB00682",)
    # identity metadata decides when it is there, even when it matches nothing: the title is not a fallback then
    assert links_for(label("华法林钠片说明书", generic_name="zzz"), dictionary).described_drugs == ()
    guideline = Document.from_sections(id="g", title="华法林钠片说明书", source_type="guideline",
                                       sections=[("x", "以下情况禁用本品。")])
    assert links_for(guideline, dictionary).described_drugs == ()


def test_a_salt_drugs_own_label_is_its_label() -> None:
    """Potassium chloride is a drug (氯化钾 in the shipped knowledge): its 说明书 is its label; a Chinese salt word
    alone (钾) is one character, never a name the dictionary matches."""
    knowledge_dir = Path(__file__).resolve().parent.parent / "knowledge"
    dictionary = EntityDictionary(load_graph_knowledge(knowledge_dir))
    doc = Document.from_sections(id="hospital-docs/kcl.pdf", title="氯化钾缓释片说明书", source_type="label",
                                 sections=[("用法用量", "口服。")])
    described = links_for(doc, dictionary).described_drugs
    assert described and set(described) == {m.entity_id for m in dictionary.find_mentions("氯化钾")}
