"""The drug assistant on the real starter knowledge: names, cards, cited interaction checks, aliases."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.cli import main as cli_main
from app.compose import drug_catalog
from app.drugs.interactions import NOT_FOUND
from app.drugs.names import DrugNameResolver
from app.drugs.service import DrugService, UnknownDrug
from app.graph_model import GraphKnowledge
from app.runtime import Runtime

from .conftest import KNOWLEDGE, ROOT, StarterApp

pytestmark = pytest.mark.slow
CLOPIDOGREL, WARFARIN, ASPIRIN, OMEPRAZOLE = "DB00758", "DB00682", "DB00945", "DB00338"
WARFARIN_LABEL = "openfda:5a5b5e3a-6556-a542-e063-6294a90a6d3f"


@pytest.fixture(scope="module")
def drugs(starter_runtime: Runtime) -> DrugService:
    return DrugService(drug_catalog(starter_runtime))


def _verbatim(rt: Runtime, citation: dict) -> bool:
    doc = rt.manifest.document(citation["doc_id"])
    return (doc is not None and doc.version == citation["version"]
            and doc.text[citation["start"] : citation["end"]] == citation["quote"] and bool(citation["quote"]))


@pytest.mark.parametrize(("name", "expected", "how"), [
    ("Plavix", (CLOPIDOGREL,), "label brand"),
    ("PLAVIX", (CLOPIDOGREL,), "label brand"),
    ("clopidogrel bisulfate", (CLOPIDOGREL,), "salt-stripped"),
    ("Clopidogrel Bisulfate 75 mg tablets", (CLOPIDOGREL,), "salt-stripped"),
    ("氯吡格雷", (CLOPIDOGREL,), "chinese"),
    ("华法林", (WARFARIN,), "chinese"),
    ("阿司匹林", (ASPIRIN,), "chinese"),
    ("Aspirin", (ASPIRIN,), "generic"),
    ("acetylsalicylic-acid", (ASPIRIN,), "generic"),
    ("DB00682", (WARFARIN,), "id"),
    ("db00682", (WARFARIN,), "id"),
    ("A74586SNO7", (CLOPIDOGREL,), "id"),
    ("Ｗａｒｆａｒｉｎ", (WARFARIN,), "generic"),
    ("aspirin / omeprazole", (ASPIRIN, OMEPRAZOLE), "combination"),
])
def test_names_resolve(drugs: DrugService, name: str, expected: tuple[str, ...], how: str) -> None:
    result = drugs.catalog.resolver.resolve(name)
    assert (result.drug_ids, result.matched_by) == (expected, how)


def test_misspellings_and_unknown_names_never_resolve(drugs: DrugService) -> None:
    resolver = drugs.catalog.resolver
    for typo, suggestion in (("warfarn", "warfarin"), ("clopidogrl", "clopidogrel"), ("omeprazol", "omeprazole")):
        result = resolver.resolve(typo)
        assert not result.resolved and any(s.startswith(suggestion) for s in result.suggestions), result
    assert resolver.resolve("foobarzolam") == resolver.resolve("foobarzolam") and not resolver.resolve("xq").resolved
    assert not resolver.resolve("").resolved


def test_a_typo_resolves_to_its_own_drug_or_not_at_all(drugs: DrugService) -> None:
    """Never a silent wrong match: one changed letter gives the same drug (a salt/spacing variant) or nothing."""
    resolver = drugs.catalog.resolver
    rng = random.Random(11)
    records = [d for d in drugs.catalog.knowledge.drugs if len(d.name) >= 6]
    for drug in rng.sample(records, 300):
        name = drug.name.lower()
        i = rng.randrange(len(name))
        typo = name[:i] + rng.choice("aeioukstz") + name[i + 1 :]
        result = resolver.resolve(typo)
        if result.resolved and drug.id not in result.drug_ids:
            owner = result.drug_ids[0]
            assert typo in [n.lower() for n in resolver.names_of(owner)["en"] + resolver.names_of(owner)["brands"]], (
                typo, drug.name, result)


def test_resolver_aliases_do_not_override_generic_names() -> None:
    knowledge = GraphKnowledge(drugs=tuple(DrugNameResolver(_small()).drugs.values()))
    resolver = DrugNameResolver(knowledge, aliases={"aspirin": WARFARIN, "波立维": CLOPIDOGREL})
    assert resolver.resolve("aspirin").drug_ids == (ASPIRIN,)
    assert resolver.resolve("波立维").drug_ids == (CLOPIDOGREL,) and resolver.resolve("波立维").matched_by == "alias"


def _small() -> GraphKnowledge:
    from app.knowledge import load_graph_knowledge

    full = load_graph_knowledge(KNOWLEDGE)
    keep = {CLOPIDOGREL, WARFARIN, ASPIRIN}
    return GraphKnowledge(drugs=tuple(d for d in full.drugs if d.id in keep))


def test_plavix_card_has_cited_label_sections(drugs: DrugService, starter_runtime: Runtime) -> None:
    card = drugs.card("Plavix")
    assert card["id"] == CLOPIDOGREL and card["matched_by"] == "label brand"
    assert "plavix" in card["names"]["brands"] and "氯吡格雷" in card["names"]["zh"]
    assert card["ids"] == {"drugbank": CLOPIDOGREL, "unii": "A74586SNO7"}
    assert any(i["category"] == "disease-modifying" for i in card["indications"])
    kinds = {s["kind"] for label in card["labels"] for s in label["sections"]}
    assert {"boxed_warning", "indications", "dosage", "contraindications", "warnings", "interactions",
            "adverse_reactions", "specific_populations"} <= kinds
    for label in card["labels"]:
        assert label["set_id"] or label["doc_id"].startswith("spl-ddi:")
        for section in label["sections"]:
            assert _verbatim(starter_runtime, section), section["doc_id"]
    assert any(label["effective_date"] for label in card["labels"])


def test_onc_pairs_by_chinese_and_brand_names(drugs: DrugService, starter_runtime: Runtime) -> None:
    knowledge = drugs.catalog.knowledge
    by_id = {d.id: d for d in knowledge.drugs}
    resolver = drugs.catalog.resolver
    zh_pairs = [i for i in knowledge.interactions if i.severity == "high"
                and by_id[i.drug_a].names_zh and by_id[i.drug_b].names_zh][:5]
    assert zh_pairs
    for fact in zh_pairs:
        a, b = by_id[fact.drug_a], by_id[fact.drug_b]
        result = drugs.interactions([a.names_zh[0], b.names_zh[0]])
        assert [r["drug_id"] for r in result["resolved"]] == [a.id, b.id], result["resolved"]
        pair = result["interactions"][0]
        assert pair["severity"] == "high" and pair["severity_source"].startswith("ONC high-priority")
        listed = [c for c in pair["citations"] if c["kind"] == "interaction list"]
        assert listed and listed[0]["source"] == "ONC high-priority" and listed[0]["reference"]
        assert all(_verbatim(starter_runtime, c) for c in listed if "quote" in c)
        assert any("quote" in c for c in listed), "the ONC table section that lists the pair is cited"
    branded = [i for i in knowledge.interactions if resolver.names_of(i.drug_a)["brands"]][:3]
    for fact in branded:
        brand = resolver.names_of(fact.drug_a)["brands"][0]
        other = by_id[fact.drug_b].name
        result = drugs.interactions([brand, other])
        assert {r["drug_id"] for r in result["resolved"]} >= {fact.drug_a, fact.drug_b}
        pair = next(p for p in result["interactions"] if {p["a_id"], p["b_id"]} == {fact.drug_a, fact.drug_b})
        assert fact.severity in {s["severity"] for s in pair["sources"]}


def test_plavix_label_passages_name_its_partners(drugs: DrugService, starter_runtime: Runtime) -> None:
    result = drugs.interactions(["Plavix", "omeprazole"])
    pair = result["interactions"][0]
    passages = [c for c in pair["citations"] if c["kind"] == "label passage"]
    assert any(c["label_of"] == "Clopidogrel" and "omeprazole" in c["quote"].lower() for c in passages)
    assert all(_verbatim(starter_runtime, c) for c in passages)
    assert pair["severity"] in ("high", "low", "label") and pair["severity_source"]


def test_warfarin_and_aspirin_in_chinese(drugs: DrugService, starter_runtime: Runtime) -> None:
    result = drugs.interactions(["华法林", "阿司匹林"])
    assert [r["drug_id"] for r in result["resolved"]] == [WARFARIN, ASPIRIN]
    pair = result["interactions"][0]
    bleeding = [c for c in pair["citations"] if "bleeding" in c["quote"].lower()]
    assert bleeding and all(_verbatim(starter_runtime, c) for c in pair["citations"])
    assert any(c["doc_id"] == WARFARIN_LABEL for c in pair["citations"])
    assert pair["severity_source"]


def test_unknown_drugs_and_pairs_without_evidence(drugs: DrugService) -> None:
    result = drugs.interactions(["warfarin", "foobarzolam", "warfarn"])
    assert [u["input"] for u in result["unresolved"]] == ["foobarzolam", "warfarn"]
    assert result["unresolved"][1]["suggestions"][0].startswith("warfarin") and result["interactions"] == []
    knowledge = drugs.catalog.knowledge
    listed = {frozenset((i.drug_a, i.drug_b)) for i in knowledge.interactions}
    unlabelled = [d for d in knowledge.drugs if not d.set_ids and d.names_en][:40]
    labels = drugs.catalog.labels_of([d.id for d in unlabelled])
    a, b = next((x, y) for x in unlabelled for y in unlabelled if x.id < y.id
                and frozenset((x.id, y.id)) not in listed and not labels[x.id] and not labels[y.id])
    quiet = drugs.interactions([a.id, b.id])
    pair = quiet["interactions"][0]
    assert pair["severity"] is None and pair["summary"] == NOT_FOUND and pair["citations"] == []
    assert "safe" not in json.dumps(quiet).lower()
    with pytest.raises(UnknownDrug, match="did you mean: warfarin"):
        drugs.card("warfarn")


def test_drug_api(starter_app: StarterApp) -> None:
    with starter_app(dev_mode=True) as app, TestClient(app) as client:
        card = client.get("/v1/drugs/Plavix")
        assert card.status_code == 200 and card.json()["id"] == CLOPIDOGREL
        assert client.get("/v1/drugs/%E6%B0%AF%E5%90%A1%E6%A0%BC%E9%9B%B7").json()["id"] == CLOPIDOGREL  # 氯吡格雷
        missing = client.get("/v1/drugs/warfarn")
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "name"
        assert "warfarin" in missing.json()["error"]["message"]
        checked = client.post("/v1/interactions", json={"medications": ["华法林", "Aspirin"]})
        assert checked.status_code == 200 and set(checked.json()) >= {"resolved", "unresolved", "interactions"}
        pair = checked.json()["interactions"][0]
        assert {"a", "b", "severity", "summary", "citations"} <= set(pair)
        bad = client.post("/v1/interactions", json={"medications": ["warfarin"]})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "medications"
        bad = client.post("/v1/interactions", json={"medications": ["warfarin", ""]})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "medications.1"


def test_twenty_drug_list(drugs: DrugService) -> None:
    meds = ["warfarin", "aspirin", "clopidogrel", "omeprazole", "simvastatin", "amiodarone", "metformin",
            "lisinopril", "atorvastatin", "digoxin", "furosemide", "metoprolol", "amlodipine", "sertraline",
            "tramadol", "ibuprofen", "clarithromycin", "fluconazole", "lithium", "phenelzine"]
    result = drugs.interactions(meds)
    assert result["pairs_checked"] == 190 and not result["unresolved"]
    severities = {(p["a"], p["b"]): p["severity"] for p in result["interactions"]}
    assert severities[("Simvastatin", "Clarithromycin")] == "high"
    assert severities[("Sertraline", "Phenelzine")] == "high"  # an SSRI against an MAOI


def _export(rt: Runtime, doc_ids: list[str], path: Path) -> None:
    docs = [rt.manifest.document(d) for d in doc_ids]
    path.write_text("".join(json.dumps(d.to_json(), ensure_ascii=False) + "\n" for d in docs if d), encoding="utf-8")


def test_cli_interactions_and_hospital_aliases(tmp_path: Path, starter_runtime: Runtime) -> None:
    """`medevidence index` a warfarin and an aspirin label and an alias file, then the Done-when call."""
    aspirin_labels = [doc.id for doc in drug_catalog(starter_runtime).labels_of([ASPIRIN])[ASPIRIN]]
    source = tmp_path / "labels.jsonl"
    _export(starter_runtime, [WARFARIN_LABEL, *aspirin_labels[:1]], source)
    aliases = tmp_path / "hospital-aliases.jsonl"
    aliases.write_text('{"alias": "可迈丁", "drug": "warfarin"}\n{"alias": "拜阿司匹灵", "drug": "阿司匹林"}\n'
                       '{"alias": "x", "drug": "warfarn"}\nnot json\n', encoding="utf-8")
    data_dir = str(tmp_path / "data")
    cli = [sys.executable, "-m", "app.cli"]
    run = subprocess.run([*cli, "index", str(source), str(aliases), "--data-dir", data_dir, "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 2, run.stderr  # two bad alias lines, named by file and line
    assert f"{aliases}:3: drug: 'warfarn' does not name exactly one known drug; did you mean warfarin" in run.stderr
    assert f"{aliases}:4: not JSON" in run.stderr
    summary = json.loads(run.stdout)
    assert summary["added"] == 1 + len(aspirin_labels[:1]) and summary["aliases"] == {str(aliases): 2}
    done = subprocess.run([*cli, "interactions", "华法林", "阿司匹林", "--json", "--data-dir", data_dir], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [r["drug_id"] for r in result["resolved"]] == [WARFARIN, ASPIRIN]
    pair = result["interactions"][0]
    assert pair["severity_source"] and any("bleeding" in c["quote"].lower() for c in pair["citations"])
    label = json.loads(gzip.decompress(gzip.compress(source.read_bytes())).decode().splitlines()[0])
    text = "\n\n".join(s["text"] for s in label["sections"])
    assert all(text[c["start"] : c["end"]] == c["quote"] for c in pair["citations"] if c["doc_id"] == WARFARIN_LABEL)
    local = subprocess.run([*cli, "interactions", "可迈丁", "拜阿司匹灵", "--json", "--data-dir", data_dir], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
    assert [r["matched_by"] for r in json.loads(local.stdout)["resolved"]] == ["alias", "alias"]


def test_cli_drug_rejects_unknown_names(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli_main(["interactions", "warfarin", "--data-dir", str(tmp_path / "d")]) == 2
    assert "medications: give at least two medications" in capsys.readouterr().err
