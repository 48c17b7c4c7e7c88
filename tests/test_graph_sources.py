"""The graph build over the new label and interaction sources (fixtures cut from the real files): NDF-RT
edges keep their own grade beside ONC's, LabeledIn indications become LABELED_FOR, ADR labels add their
ingredient only where the label text names it, and brands that map to nothing are reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.graph_model import GraphKnowledge, is_disease_id
from app.knowledge import EntityDictionary, load_graph_knowledge
from app.model import Document
from indexers.graph_build import described_drugs
from indexers.knowledge_graph_build import build
from indexers.knowledge_graph_sources import disease_key
from indexers.sources.labeledin import read_labeledin
from indexers.sources.spl_adr import read_spl_adr
from tests.test_graph_build import SOURCES
from tests.test_sources import FIXTURES


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shared")
    shutil.copytree(SOURCES, root, dirs_exist_ok=True)
    for name, rel in (("ndfrt_va", "interactions/ndfrt_va"), ("labeledin", "labels/labeledin"),
                      ("spl_adr_200", "labels/spl_adr_200")):
        shutil.copytree(FIXTURES / name, root / rel)
    return root


@pytest.fixture(scope="module")
def built(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("knowledge")
    return out, build(shared, out)


@pytest.fixture(scope="module")
def knowledge(built: tuple[Path, dict[str, object]]) -> GraphKnowledge:
    return load_graph_knowledge(built[0])


def test_ndfrt_edges_keep_their_own_grade(knowledge: GraphKnowledge) -> None:
    ndfrt = {(i.drug_a, i.drug_b): i for i in knowledge.interactions if i.source == "VA NDF-RT"}
    pair = ndfrt[("DB00594", "DB01029")]  # amiloride + irbesartan, a < b by id
    assert pair.severity == "significant" and "NDF-RT" in pair.citation
    drugs = {d.id: d for d in knowledge.drugs}
    assert drugs["DB00594"].drugbank == "DB00594" and drugs["DB01029"].name.lower() == "irbesartan"
    # listed Critical under one concept and Significant under another: the edge keeps the more severe grade
    sumatriptan = next(d.id for d in knowledge.drugs if d.name.lower() == "sumatriptan")
    pargyline = next(d.id for d in knowledge.drugs if d.name.lower() == "pargyline")
    edge = ndfrt[(min(sumatriptan, pargyline), max(sumatriptan, pargyline))]
    assert edge.severity == "critical"
    assert {i.severity for i in knowledge.interactions if i.source.startswith("ONC")} <= {"high", "low"}
    assert len(ndfrt) == len({(i.drug_a, i.drug_b) for i in knowledge.interactions if i.source == "VA NDF-RT"})


def test_labeledin_labels_link_by_set_id_and_indications_become_labeled_for(
        shared: Path, knowledge: GraphKnowledge) -> None:
    pantoprazole = next(d for d in knowledge.drugs if d.name.lower() == "pantoprazole")
    labels = [doc for doc in read_labeledin(shared / "labels/labeledin") if isinstance(doc, Document)]
    panto_label = next(doc for doc in labels if str(doc.metadata.get("generic_name")).lower() == "pantoprazole")
    assert panto_label.metadata["set_id"] in pantoprazole.set_ids
    assert described_drugs(panto_label, EntityDictionary(knowledge)) == (pantoprazole.id,)
    diseases = {d.id: d for d in knowledge.diseases}
    labeled = [i for i in knowledge.indications if i.drug_id == pantoprazole.id and i.kind == "LABELED_FOR"]
    names = {diseases[i.disease_id].name for i in labeled}
    assert "Zollinger-Ellison Syndrome" in names or "Zollinger-Ellison syndrome" in {n.capitalize() for n in names}
    assert all(i.source.startswith("LabeledIn") for i in labeled)
    assert all(is_disease_id(i.disease_id) for i in labeled)
    assert not any(d.name.startswith("C0") for d in knowledge.diseases)  # a bare CUI is never a disease name


def test_adr_labels_add_their_ingredient_only_when_the_text_names_it(
        shared: Path, built: tuple[Path, dict[str, object]], knowledge: GraphKnowledge) -> None:
    tocilizumab = next(d for d in knowledge.drugs if d.name == "tocilizumab")
    assert tocilizumab.id == "drug:tocilizumab" and "actemra" in tocilizumab.brands
    dictionary = EntityDictionary(knowledge)
    docs = {doc.id: doc for doc in read_spl_adr(shared / "labels/spl_adr_200") if isinstance(doc, Document)}
    assert described_drugs(docs["spl-adr:actemra"], dictionary) == (tocilizumab.id,)
    assert described_drugs(docs["spl-adr:jardiance"], dictionary) == ()  # its text never names empagliflozin
    out, report = built
    assert "Jardiance" in report["new_sources"]["unmapped_labels"]  # type: ignore[index]
    assert "Jardiance" in (out / "graph" / "README.md").read_text(encoding="utf-8")


def test_build_is_deterministic(shared: Path, built: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    out, report = built
    assert build(shared, tmp_path) == report
    for name in ("drugs", "diseases", "indications", "interactions"):
        assert (tmp_path / f"graph/{name}.jsonl.gz").read_bytes() == (out / f"graph/{name}.jsonl.gz").read_bytes()


def test_disease_key_undoes_mesh_inversion() -> None:
    assert disease_key("Arthritis, Rheumatoid") == "rheumatoid arthritis"
    assert disease_key("Alzheimer's Disease") == "alzheimer disease"
    assert disease_key("Infections, Bacterial, Gram-Negative") == "infections bacterial gram negative"


def test_label_only_diseases_are_never_matched_in_text(knowledge: GraphKnowledge) -> None:
    umls = {d.id: d for d in knowledge.diseases if d.id.startswith("UMLS:")}
    assert umls  # LabeledIn's diseases without a Disease Ontology name exist for the indications...
    dictionary = EntityDictionary(knowledge)
    text = " ".join(d.name for d in umls.values())
    assert not any(m.entity_id in umls for m in dictionary.find_mentions(text))  # ...but link no text
