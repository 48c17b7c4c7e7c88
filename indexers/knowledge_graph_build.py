"""Convert the raw graph sources under ``shared/`` into the compact starter knowledge.

Output (deterministic: sorted rows, gzip mtime 0): ``out/graph/{drugs,diseases,classes,
class_members,indications,interactions}.jsonl.gz`` + ``README.md``, the jieba user dictionary
``out/vocab/medical_userdict.txt`` and ``out/licenses/vocab/COPYING`` (GPL, GNU Health vocab).

    python -m indexers.knowledge_graph_build --shared /work/shared/data --out knowledge
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.graph_model import ClassMember, DiseaseRecord, DrugClassRecord, Indication, Interaction
from indexers.knowledge_drugs import (
    EN_NAME,
    TYPOS,
    DrugRegistry,
    RegistryDrug,
    en_variants,
    norm,
    slug,
    zh_variants,
)
from indexers.knowledge_graph_sources import NDFRT, extend

HIGH = ("ONC high-priority", "Phansalkar S, Desai AA, Bell D, et al. High-priority drug-drug interactions "
        "for use in electronic health records. J Am Med Inform Assoc. 2012;19(5):735-743. "
        "doi:10.1136/amiajnl-2011-000612")
LOW = ("ONC non-interruptive", "Phansalkar S, van der Sijs H, Tucker AD, et al. Drug-drug interactions that "
       "should be non-interruptive in order to reduce alert fatigue in electronic health records. "
       "J Am Med Inform Assoc. 2013;20(3):489-493. doi:10.1136/amiajnl-2012-001089")
ZH_SUPPLEMENT = Path(__file__).parent / "data/zh_drug_names.tsv"
USERDICT_FREQ = 200000
_CLASS_ALIASES = {"nsaid": "nsaids", "maoi": "mao inhibitors", "monoamine oxidase (mao) inhibitors":
                  "mao inhibitors", "hmg co-a reductase inhibitors": "statins"}
_CLASS_DISPLAY = {"nsaids": "NSAIDs", "mao inhibitors": "MAO inhibitors", "statins": "Statins"}
_ZH_OK = re.compile(r"^[\u4e00-\u9fff0-9A-Za-z]*[\u4e00-\u9fff][\u4e00-\u9fff0-9A-Za-z]*$")
README = """# Medical knowledge graph (starter knowledge)

Built by `python -m indexers.knowledge_graph_build` from the raw sources and loaded into the graph store
by the indexer. Files are gzip JSON lines, one record per line (fields: `app/graph_model.py`).

Sources, licenses and citations:
- PharmacotherapyDB 1.0 (drug→disease indications; DM → TREATS, SYM → PALLIATES), CC0 1.0.
  Himmelstein DS, et al. Systematic integration of biomedical knowledge prioritizes drugs for
  repurposing. eLife 2017;6:e26726. doi:10.7554/eLife.26726
- Hetionet v1.0 nodes (compounds with DrugBank ids, Disease Ontology diseases), CC0 1.0 (same citation).
- ONC drug–drug interaction lists and their drug classes, as mapped to DrugBank by
  dbmi-pitt/public-PDDI-analysis (facts from the papers):
  - high priority (INTERACTS_WITH severity "high"): {high}
  - non-interruptive (severity "low"): {low}
- WHO Model List of Essential Medicines (Chinese drug names) and ICD-10 (codes, Chinese disease names)
  as packaged by GNU Health, GPL-3.0-or-later: see `../licenses/vocab/COPYING`.
- Chinese approved names for common drugs the WHO list lacks: `indexers/data/zh_drug_names.tsv`, written
  for MedEvidence, CC0 1.0.
- FDA UNII substance names (synonyms, brand names) and openFDA label set ids: U.S. public domain.
- VA NDF-RT drug–drug interactions (INTERACTS_WITH severity "critical" / "significant", source "VA NDF-RT"),
  U.S. Government work by origin: {ndfrt}
- LabeledIn expert indication annotations of FDA labels (LABELED_FOR; diseases without a Disease Ontology
  name match are `UMLS:<CUI>`), NCBI public domain notice: Khare R, Li J, Lu Z. LabeledIn: cataloging
  labeled indications for human drugs. J Biomed Inform. 2014;52:448-56. Label set ids link labels to drugs.
- TAC 2017 ADR labels (brand → ingredient where the label's text names it; `indexers/data/spl_adr_brands.tsv`).
  Labels linked to no drug (ADR brands neither named by their text nor listed by DrugBank; LabeledIn labels
  without an ingredient name): {unmapped}
"""


def read_zh_supplement(path: Path) -> list[tuple[str, str]]:
    """The project's own English → Chinese approved-name table (``#`` comments, tab-separated)."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not _ZH_OK.match(parts[1]):
            raise ValueError(f"{path}:{number}: expected 'english<TAB>chinese'")
        rows.append((parts[0].strip(), parts[1].strip()))
    return rows


def read_po(path: Path) -> list[tuple[str, str, str]]:
    """(msgctxt, msgid, msgstr) of a gettext catalogue; continuation lines and escapes handled."""
    entries: list[tuple[str, str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.strip()
        match = re.match(r"^(msgctxt|msgid|msgstr) (\".*\")$", line)
        word = match.group(1) if match else ""
        starts_entry = word == "msgctxt" or (word == "msgid" and "msgstr" in current)
        if (starts_entry or not line) and "msgstr" in current:
            entries.append((current.get("msgctxt", ""), current["msgid"], current["msgstr"]))
            current, key = {}, ""
        if match:
            key = match.group(1)
            current[key] = json.loads(match.group(2))
        elif line.startswith('"') and key:
            current[key] += json.loads(line)
    return entries


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _hetionet(shared: Path, kind: str) -> list[tuple[str, str]]:
    """(source id, name) of the Hetionet nodes of one kind (``Compound::DB00945`` → ``DB00945``)."""
    rows = _tsv(shared / "kg/hetionet/hetionet-v1.0-nodes.tsv")
    return [(r["id"].split("::", 1)[1], r["name"]) for r in rows if r["kind"] == kind]


def _brands(names: list[str]) -> list[str]:
    return [b for b in names if EN_NAME.match(b) and len(b) >= 4 and " component " not in b]


def _build_drugs(shared: Path, high: list[list[str]], low: list[list[str]]) -> DrugRegistry:
    drugs = DrugRegistry()
    for drugbank, name in _hetionet(shared, "Compound"):
        drugs.add(drugbank, name, drugbank)
    for pdb in _tsv(shared / "kg/pharmacotherapydb/drugs.tsv"):
        drugs.add(pdb["drugbank_id"], pdb["drug"], pdb["drugbank_id"])
    for row, cols in [(r, ((0, 1), (2, 3))) for r in high] + [(r, ((2, 3), (7, 8))) for r in low]:
        for name_col, id_col in cols:
            drugs.add(row[id_col], row[name_col], row[id_col])
    groups: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for unii_row in _tsv(shared / "vocab/unii/unii_names_subset.tsv"):
        groups[unii_row["UNII"]]["display"] = [norm(unii_row["Display Name"])]
        groups[unii_row["UNII"]][unii_row["TYPE"]].append(norm(unii_row["Name"]))

    def names(unii: str) -> list[str]:
        return list(dict.fromkeys(groups[unii]["display"] + groups[unii]["of"] + groups[unii]["cn"]))

    def attach(drug: RegistryDrug, unii: str) -> None:
        drug.unii = drug.unii or unii
        drugs.alias(drug, names(unii))
        drug.add("brands", _brands(groups[unii]["bn"]))

    unlinked: dict[str, str] = {}
    for unii in sorted(groups):
        owner = next((drugs.by_id[drugs.index[n]] for n in names(unii) if n in drugs.index), None)
        if owner is None:
            unlinked.update({n: unii for n in names(unii)})
        else:
            attach(owner, unii)
    for ctx, english, chinese in read_po(shared / "vocab/who_eml/zh_CN.po"):
        if not chinese or ("active_component" not in ctx and "product.template" not in ctx):
            continue
        variants = en_variants(english)
        if not variants or re.search(r"\+| \u2013 | - ", english):  # combinations are not substances
            continue
        who = drugs.find(english)
        if who is None:
            who = drugs.add("drug:" + slug(variants[0]), variants[0])
            same = next((unlinked[v] for v in variants if v in unlinked), None)
            if same:
                attach(who, same)
        drugs.alias(who, variants)
        who.add("names_zh", zh_variants(chinese))
    by_unii = {d.unii: d for d in drugs.by_id.values() if d.unii}
    for path in sorted((shared / "labels/openfda").glob("*/*.json")):
        label = json.loads(path.read_text(encoding="utf-8"))
        openfda = label.get("openfda", {})
        found = [by_unii[u] for u in openfda.get("unii", []) if u in by_unii]
        found = found or [d for d in map(drugs.find, openfda.get("generic_name", [])) if d is not None]
        for drug in found if "set_id" in label else []:
            drug.add("set_ids", [label["set_id"]], limit=10_000)
    return drugs


def _build_diseases(shared: Path) -> list[DiseaseRecord]:
    """Hetionet/PharmacotherapyDB diseases (DOID), merged by name with ICD-10; other ICD-10 categories."""
    def key(name: str) -> str:
        return re.sub(r"[^a-z0-9]+", " ", norm(name).replace("'s", "")).strip()

    found = _hetionet(shared, "Disease") + [(r["doid_id"], r["disease"])
                                             for r in _tsv(shared / "kg/pharmacotherapydb/diseases.tsv")]
    diseases: dict[str, dict[str, Any]] = {}
    for doid, name in found:
        diseases.setdefault(doid, {"id": doid, "name": name, "names_en": [], "names_zh": [], "icd10": None,
                                   "doid": doid})
    by_key = {key(d["name"]): d for d in diseases.values()}
    zh = {ctx.rsplit(":", 1)[1]: text for ctx, _, text in read_po(shared / "vocab/icd10/zh_CN.po")
          if ctx.startswith("model:gnuhealth.pathology,name:") and text}
    for record in ET.parse(shared / "vocab/icd10/diseases.xml").getroot().iter("record"):
        fields = {f.get("name"): (f.text or "").strip() for f in record.findall("field")}
        code, name = fields.get("code", ""), fields.get("name", "")
        names_zh = zh_variants(zh.get(record.get("id", ""), ""))
        target = by_key.get(key(name))
        if target is not None and target["icd10"] is None:
            other = [norm(name)] if norm(name) != norm(target["name"]) else []
            target.update(icd10=code, names_zh=names_zh, names_en=other)
        elif target is None and code and "." not in code:
            diseases["ICD10:" + code] = {"id": "ICD10:" + code, "name": name, "names_en": [],
                                         "names_zh": names_zh, "icd10": code, "doid": None}
    return [DiseaseRecord(d["id"], d["name"], tuple(d["names_en"]), tuple(d["names_zh"]), d["icd10"],
                          d["doid"]) for _, d in sorted(diseases.items())]


def _class_key(name: str) -> str:
    key = norm(name)
    return _CLASS_ALIASES.get(key, key)


def _build_classes(shared: Path, drugs: DrugRegistry, low: list[list[str]]
                   ) -> tuple[list[DrugClassRecord], list[ClassMember], list[str]]:
    """ONC classes with 2+ members: high-priority xls "Revised Table 2" + non-interruptive class columns."""
    import xlrd

    sheet = xlrd.open_workbook(str(shared / "interactions/onc_high_priority/ONC High Priority List.xls")
                               ).sheet_by_name("Revised Table 2")
    named: list[tuple[str, str, RegistryDrug | None, str]] = []
    current = ["", ""]
    for row in range(1, sheet.nrows):
        values = [str(v).strip() for v in sheet.row_values(row)[:5]]
        if values[0]:  # a numbered group starts: its classes reset
            current = [values[1], values[3]]
        for side, (class_col, drug_col) in enumerate(((1, 2), (3, 4))):
            current[side] = values[class_col] or current[side]
            if values[drug_col] and current[side]:
                named.append((current[side], values[drug_col], drugs.find(values[drug_col]), HIGH[0]))
    named += [(r[c], r[i - 1], drugs.by_id[r[i]], LOW[0]) for r in low for c, i in ((1, 3), (6, 8))]
    class_keys = {_class_key(c) for c, *_ in named} | set(_CLASS_ALIASES.values())
    display: dict[str, str] = {}
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    skipped: list[str] = []
    for class_name, raw, drug, source in named:
        if drug is None and _class_key(raw) in class_keys:  # a class name in the drug column
            skipped.append(raw)
            continue
        if drug is None:  # a drug the other sources do not name: a slug id
            name = TYPOS.get(norm(raw), "").capitalize() or raw.replace("\u2019", "'")
            drug = drugs.add("drug:" + slug(name), name)
        key = _class_key(class_name)
        display.setdefault(key, _CLASS_DISPLAY.get(key, re.sub(r"\s+", " ", class_name.replace("ß", "β"))))
        members[(key, drug.id)].add(source)
    size = Counter(key for key, _ in members)
    classes = [DrugClassRecord("class:" + slug(k), display[k]) for k in sorted(display) if size[k] >= 2]
    edges = sorted((ClassMember(d, "class:" + slug(k), "; ".join(sorted(s))) for (k, d), s in members.items()
                    if size[k] >= 2), key=lambda m: (m.class_id, m.drug_id))
    return sorted(classes, key=lambda c: c.id), edges, sorted(set(skipped))


def _write_jsonl_gz(path: Path, rows: list[Any]) -> None:
    body = "".join(json.dumps(asdict(r), ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(body.encode("utf-8"))


def build(shared_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Write the graph knowledge files and the jieba user dictionary; return row counts and sizes."""
    inter = shared_dir / "interactions"
    high = [line.split("$") for line in (inter / "onc_high_priority/ONC_High_Priority_Mapped.csv")
            .read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    low_text = (inter / "onc_non_interruptive/ONC_Non_Interuptive_List_Mapped_Formatted.csv").read_text(
        encoding="utf-8-sig")
    low = [row for row in csv.reader(io.StringIO(low_text)) if len(row) >= 9]
    drugs = _build_drugs(shared_dir, high, low)
    diseases = _build_diseases(shared_dir)
    additions = extend(shared_dir, drugs, diseases)
    for english, chinese in read_zh_supplement(ZH_SUPPLEMENT):  # once every source has added its substances
        found_drug = drugs.find(english)
        if found_drug is not None:
            found_drug.add("names_zh", [chinese])
    diseases = sorted([*diseases, *additions.diseases], key=lambda d: d.id)
    classes, class_members, skipped = _build_classes(shared_dir, drugs, low)
    disease_ids = {d.id for d in diseases}
    indications = sorted({Indication(r["drugbank_id"], r["doid_id"], "TREATS" if r["category"] == "DM"
                                     else "PALLIATES")
                          for r in _tsv(shared_dir / "kg/pharmacotherapydb/indications.tsv")
                          if r["category"] in ("DM", "SYM") and r["doid_id"] in disease_ids
                          and r["drugbank_id"] in drugs.by_id} | set(additions.indications),
                         key=lambda i: (i.drug_id, i.disease_id, i.kind))
    pairs = {(min(r[1], r[3]), max(r[1], r[3]), HIGH) for r in high}
    pairs |= {(min(r[3], r[8]), max(r[3], r[8]), LOW) for r in low}
    interactions = sorted((Interaction(a, b, "high" if src is HIGH else "low", *src)
                           for a, b, src in pairs if a != b), key=lambda i: (i.drug_a, i.drug_b, i.source))
    interactions = sorted([*interactions, *additions.interactions], key=lambda i: (i.drug_a, i.drug_b, i.source))
    drug_rows = sorted((d.record() for d in drugs.by_id.values()), key=lambda r: r.id)
    tables: dict[str, list[Any]] = {"drugs": drug_rows, "diseases": diseases, "classes": classes,
                                    "class_members": class_members, "indications": indications,
                                    "interactions": interactions}
    (out_dir / "graph").mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"skipped_class_names_in_drug_column": skipped, "new_sources": additions.report()}
    for name, rows in tables.items():
        _write_jsonl_gz(out_dir / "graph" / f"{name}.jsonl.gz", rows)
        report[name] = {"rows": len(rows), "bytes": (out_dir / f"graph/{name}.jsonl.gz").stat().st_size}
    unmapped = ", ".join(additions.unmapped_labels) or "none"
    readme = README.format(high=HIGH[1], low=LOW[1], ndfrt=NDFRT[1], unmapped=unmapped)
    (out_dir / "graph/README.md").write_text(readme, encoding="utf-8")
    zh_names = [n for r in drug_rows for n in r.names_zh] + [n for r in diseases for n in r.names_zh]
    words = sorted({w for w in zh_names if _ZH_OK.match(w) and len(w) >= 2})
    userdict = out_dir / "vocab/medical_userdict.txt"
    userdict.parent.mkdir(parents=True, exist_ok=True)
    userdict.write_text("".join(f"{w} {USERDICT_FREQ} nz\n" for w in words), encoding="utf-8")
    report["userdict"] = {"rows": len(words), "bytes": userdict.stat().st_size}
    (out_dir / "licenses/vocab").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared_dir / "vocab/who_eml/COPYING", out_dir / "licenses/vocab/COPYING")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the starter knowledge graph files.")
    parser.add_argument("--shared", type=Path, required=True, help="raw data folder (read-only)")
    parser.add_argument("--out", type=Path, required=True, help="knowledge folder to write")
    args = parser.parse_args(argv)
    json.dump(build(args.shared, args.out), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
