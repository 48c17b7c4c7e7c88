"""What a hospital dose check adds to a CDS Hooks order-sign call: 20 active medications, one draft order.

    python -m benchmarks.order_rules [--data-dir data/bench_rules] [--runs 40] [--out benchmarks/results]

The data dir holds the starter knowledge and the shipped example rules (``knowledge/rules/examples.rules.jsonl``:
methotrexate at most 25 mg a week for adults, indexed like any hospital's rules file).  The call is the real
``medevidence-medication-safety`` service in process: a draft order for methotrexate 10 mg orally once daily,
the 20 medications of ``benchmarks.interactions.MEDICATIONS`` as active MedicationRequests in the prefetch, and the
patient (an adult) prefetched, so the dose-limit rule, its population and the formulary are all checked.

Named baseline, in the same run, calls interleaved: the same call with the rule checks (``OrderRuleChecks``)
replaced by one that checks nothing (``NoRuleChecks``, through the service's ``rule_checks`` seam): what the
order-sign call cost before the hospital rules.  The target: the dose check adds at most 20 ms at p50
(``added_p50_ms``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from app.compose import drug_catalog
from app.config import Settings
from app.drugs.catalog import DrugCatalog
from app.emr.cds_service import MEDICATION_SAFETY, CdsHooksService
from app.emr.fhir_medications import flatten, medication_index, medication_uses, resolve_use
from app.emr.order_checks import OrderRuleChecks
from app.emr.pseudonym import Pseudonymizer
from app.runtime import Runtime
from benchmarks.interactions import MEDICATIONS
from benchmarks.retrieval_eval import ensure_index
from benchmarks.search_latency import _starter_documents

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "knowledge" / "rules" / "examples.rules.jsonl"
TARGET_ADDED_MS = 20.0
PATIENT = "bench-patient"


def _request(rid: str, name: str, status: str, dosage: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
                            "subject": {"reference": f"Patient/{PATIENT}"}, "medicationCodeableConcept": {"text": name}}
    if dosage:
        body["dosageInstruction"] = dosage
    return body


def order_sign_body() -> dict[str, Any]:
    """methotrexate 10 mg orally once daily, drafted for an adult taking the 20 benchmark medications."""
    dose = [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
             "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006", "display": "Oral route"}]},
             "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg", "system": "http://unitsofmeasure.org",
                                               "code": "mg"}}]}]
    active = [_request(f"active-{i}", name, "active") for i, name in enumerate(MEDICATIONS)]
    return {"hook": "order-sign", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/bench", "patientId": PATIENT,
                        "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [
                            {"resource": _request("draft-mtx", "Methotrexate 2.5 MG Oral Tablet", "draft", dose)}]}},
            "prefetch": {"medicationRequests": {"resourceType": "Bundle", "type": "searchset",
                                                "entry": [{"resource": r} for r in active]},
                         "medicationStatements": None,
                         "patient": {"resourceType": "Patient", "id": PATIENT, "birthDate": "1962-03-04"}}}


class NoRuleChecks(OrderRuleChecks):
    """The baseline: the order-sign call as it was before hospital rules (no rule looked up, nothing checked)."""

    def check(self, use: Any, drug_ids: tuple[str, ...]) -> None:
        return None


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "n": len(ordered)}


def bench(services: dict[str, CdsHooksService], runs: int) -> dict[str, Any]:
    """Interleaved timings of the call on each service (the first of each discarded: warm-up)."""
    body = order_sign_body()
    timings: dict[str, list[float]] = {mode: [] for mode in services}
    cards: dict[str, list[dict[str, Any]]] = {}
    for i in range(runs + 1):
        for mode in (list(services) if i % 2 == 0 else list(reversed(services))):
            started = time.perf_counter()
            cards[mode] = services[mode].call(MEDICATION_SAFETY, {**body, "hookInstance": str(uuid.uuid4())},
                                              "benchmark", None)["cards"]
            if i:
                timings[mode].append((time.perf_counter() - started) * 1000)
    dose_cards = [c for c in cards["with_rules"]
                  if c.get("extension", {}).get("medevidence", {}).get("check") == "dose_limit"]
    report: dict[str, Any] = {mode: _ms(samples) for mode, samples in timings.items()}
    added = [w - b for w, b in zip(timings["with_rules"], timings["baseline"], strict=True)]
    report["added_p50_ms"] = round(statistics.median(added), 2)
    report["target_added_ms"] = TARGET_ADDED_MS
    report["meets_target"] = report["added_p50_ms"] <= TARGET_ADDED_MS
    report["cards"] = {"with_rules": len(cards["with_rules"]), "baseline": len(cards["baseline"]),
                       "dose_limit": [c["summary"] for c in dose_cards]}
    return report


def bench_checks_alone(catalog: DrugCatalog, runs: int) -> dict[str, float]:
    """The rule checks of the draft order on their own (what the paired difference measures within the noise of
    the interaction check): the rule book lookup, the dosage read, the population read and the cards."""
    body = order_sign_body()
    orders = flatten(body["context"]["draftOrders"], "context.draftOrders")
    [use] = medication_uses(orders, "draft", medication_index(orders))
    drug_ids = resolve_use(catalog.resolver, use).drug_ids
    samples = []
    for i in range(runs + 1):
        started = time.perf_counter()
        checks = OrderRuleChecks(catalog, body["prefetch"].get)
        checks.check(use, drug_ids)
        if i:
            samples.append((time.perf_counter() - started) * 1000)
    return _ms(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench_rules")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    ensure_index(args.data_dir, _starter_documents(settings.knowledge_dir), "app.cli")
    with Runtime.open(settings) as rt:
        from app.cli.wiring import open_indexer  # the CLI's own indexer: the rules file, as `medevidence index`

        open_indexer(rt).index_paths([RULES])
        catalog = drug_catalog(rt)
        pseudonyms = Pseudonymizer.from_file(settings.pseudonym_key_path)
        services = {mode: CdsHooksService(catalog, rt.audit, pseudonyms, "info", settings.fhir_timeout_s,
                                          rule_checks=checks)
                    for mode, checks in (("with_rules", OrderRuleChecks), ("baseline", NoRuleChecks))}
        report = {"medications": MEDICATIONS, "draft": "methotrexate 10 mg orally once daily",
                  "runs": args.runs, **bench(services, args.runs),
                  "rule_checks_alone": bench_checks_alone(catalog, args.runs)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "order_rules.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    text = (f"# Order-sign with hospital rules: 20 active medications, 1 draft order\n\n"
            f"| call | p50 ms | p95 ms |\n| --- | ---: | ---: |\n"
            f"| with the rule checks | {report['with_rules']['p50_ms']} | {report['with_rules']['p95_ms']} |\n"
            f"| baseline: no rule checks | {report['baseline']['p50_ms']} | {report['baseline']['p95_ms']} |\n\n"
            f"Added by the dose and formulary checks (paired p50): **{report['added_p50_ms']} ms** "
            f"(target ≤ {TARGET_ADDED_MS:g} ms: {'met' if report['meets_target'] else 'NOT met'}); the rule checks "
            f"alone: p50 {report['rule_checks_alone']['p50_ms']} ms, p95 {report['rule_checks_alone']['p95_ms']} ms. "
            f"Dose-limit cards: {report['cards']['dose_limit']}.\n")
    (args.out / "order_rules.md").write_text(text, encoding="utf-8")
    print(text)
    return 0 if report["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
