"""What the ``medevidence`` commands print for a person: progress bars, index summaries, hits, answers, drug cards,
coverage and interaction reports.

Kept apart from the commands so that a command reads as what it does (open, call, exit status) and the wording
of the text output lives in one place; ``--json`` output is the service's own objects, printed as they are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def progress_bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="doc", desc="indexing", file=sys.stderr, disable=None)


class PageBars:
    """A progress bar per file being parsed, counting its pages (PDFs), closed when the file is done."""

    def __init__(self) -> None:
        self.bars: dict[Path, Any] = {}

    def __call__(self, path: Path, page: int, pages: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(path)
        if bar is None:
            bar = self.bars[path] = tqdm(total=pages, unit="page", desc=f"parsing {path.name}", file=sys.stderr,
                                         disable=None, leave=False)
        bar.update(page - bar.n)
        if page >= pages:
            bar.close()
            del self.bars[path]

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def print_index_summary(summary: Any, as_json: bool) -> None:
    """An index run's ``IndexSummary``: its rejects and warnings on stderr, the counts on stdout."""
    for line in [*summary.rejects, *summary.alias_rejects, *(summary.files.warnings if summary.files else [])]:
        print(line, file=sys.stderr)
    if as_json:
        print(json.dumps(summary.to_json(), ensure_ascii=False))
        return
    for path_name, added in (summary.aliases or {}).items():
        print(f"aliases: {added} from {path_name}")
    for doc_id in summary.pruned:
        print(f"pruned {doc_id} (its file was deleted)")
    if summary.files is not None:
        f = summary.files
        print(f"files: {f.files} read, {f.pages} pages ({f.ocr_pages} by OCR, {f.skipped_pages} skipped)")
    print(
        f"indexed: {summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged, "
        f"{summary.deleted} deleted, {summary.rejected} rejected; {summary.chunks_written} chunks "
        f"({summary.chunks_from_cache} vectors from cache) in {summary.seconds:.1f}s"
    )


def print_hits(result: Any) -> None:
    query = result.query
    linked = ", ".join(f"{e.surface} → {e.name}" for e in query.entities) or "none"
    print(f"query ({query.language}): {query.normalized}\nentities: {linked}")
    if query.language != "en":
        print(f"in English: {query.english}")
    for rank, hit in enumerate(result.hits, 1):
        c = hit.chunk
        channels = " ".join(f"{name}#{r.rank}" for name, r in hit.channels.items())
        snippet = " ".join(c.text.split())[:160]
        print(f"{rank:2d}. {hit.score:.4f}  {c.doc_id} [{c.start}:{c.end}] v{c.version}  {c.section}  ({channels})")
        print(f"    {c.title}\n    {snippet}")
    for fact in result.facts:
        print(f"fact: {fact['name_a']} INTERACTS_WITH {fact['name_b']} ({fact['severity']}; {fact['source']})")


def print_answer(answer: dict[str, Any]) -> None:
    mode = answer["mode"] + (" (degraded: the LLM failed)" if answer["degraded"] else "")
    print(f"[{mode}; model {answer['model']}; answer {answer['answer_id']}]")
    if answer.get("reasoning"):
        print(f"reasoning:\n{answer['reasoning'].strip()}\n")
    focus = answer.get("focus") or {}
    if focus.get("drugs") or focus.get("classes"):
        names = [d["name"] for d in focus["drugs"]] + [c["name"] for c in focus["classes"]]
        print(f"(about {' and '.join(names)}; asks: {str(focus['aspect']).replace('_', ' ')})")
    for note in answer.get("review_notes") or []:  # a reviewer flagged evidence this answer cites: said first
        cited = ", ".join(dict.fromkeys(f"[{e['n']}]" for e in note.get("evidence", []) if e.get("n"))) \
            or "its evidence"
        print(f"WARNING: reviewer {note['reviewer']} marked an earlier answer citing {cited} "
              f"{note['verdict'].upper()} ({str(note['reviewed_at'])[:10]}; review {note['review_id']}, "
              f"{note['status']}): {note['note']}")
    print(answer["answer"])
    if answer["abstained"]:
        reason = answer["abstain_reason"]
        print(f"(abstained: {answer['abstain_case']}" + ("" if reason == answer["answer"] else f": {reason}") + ")")
    for c in answer["citations"]:
        quote = " ".join(c["quote"].split())
        where = f", {c['page_label']}" + (" (OCR)" if c.get("ocr") else "") if c.get("page_label") else ""
        print(f"\n[{c['n']}] {c['title']} — {c['section']}{where} ({c['source_type']}; {c['doc_id']} "
              f"[{c['start']}:{c['end']}] v{c['version']})\n    \"{quote}\"")
        if c.get("file"):
            print(f"    original: {c['file']}")
    if answer.get("related"):
        print("\nRelated, not about what was asked (not cited):")
        for r in answer["related"]:
            print(f"  - {r['title']} — {r['section']} ({r['doc_id']})")


def print_drug_card(card: dict[str, Any]) -> None:
    names = card["names"]
    print(f"{card['name']}  ({card['ids']['drugbank'] or card['id']}; UNII {card['ids']['unii'] or '-'})")
    print(f"  names: {', '.join(names['en'])}; 中文: {', '.join(names['zh']) or '-'}; brands: "
          f"{', '.join(names['brands']) or '-'}")
    print(f"  classes: {', '.join(c['name'] for c in card['classes']) or '-'}")
    for ind in card["indications"]:
        print(f"  indication: {ind['disease']} ({ind['category']}; {ind['source']})")
    for label in card["labels"]:
        print(f"\n  {label['title']} — {label['source']}, set id {label['set_id'] or '-'}, "
              f"effective {label['effective_date'] or '-'}")
        if label.get("label_version"):
            print(f"    version: {label['label_version']}")
        print(f"    cite: {label['citation'] or label['url'] or label['doc_id']}")
        for sec in label["sections"]:
            snippet = " ".join(sec["quote"].split())[:140]
            print(f"    [{sec['kind']}] {sec['doc_id']} {sec['section']} [{sec['start']}:{sec['end']}] "
                  f"v{str(sec['version'])[:12]} {snippet}")
    local = card.get("local_rules") or {}
    if local.get("formulary"):
        f = local["formulary"]
        alternatives = f"; alternatives: {', '.join(f['alternatives'])}" if f["alternatives"] else ""
        print(f"\n  formulary: {f['status']} (local rule {f['rule_id']}){alternatives}")
    for rule in local.get("rules", []):
        state = "superseded" if rule["superseded"] else ("in effect" if rule["in_effect"] else "not yet in effect")
        print_local_rule(rule, f"local {rule['kind'].replace('_', ' ')} rule, {state}")
    print(f"\n  {card['coverage']['summary']}")


def print_rules(listing: dict[str, Any]) -> None:
    """The hospital's rules: one block each; names the service could not resolve are said loudly."""
    rules = listing["rules"]
    print(f"{len(rules)} rule(s), {listing['in_effect']} in effect today")
    for rule in rules:
        state = "in effect" if rule["in_effect"] else "not yet in effect"
        print(f"\n{rule['rule_id']} ({rule['kind'].replace('_', ' ')}, {state}) binds: "
              f"{', '.join(rule['drugs']) or 'no drug'}")
        print_local_rule(rule, "rule")
        for name in rule["unresolved"]:
            print(f"  WARNING: {_binds_nothing(name)}")
    for broken in listing["broken"]:
        print(f"\nWARNING: {broken['doc_id']} is no longer a valid rule ({broken['reason']}): index its file again")


def print_unresolved_rule_names(listing: dict[str, Any]) -> None:
    """On stderr, after indexing: each name of a rule that resolves to no drug or class."""
    for rule in listing["rules"]:
        for name in rule["unresolved"]:
            print(f"warning: rule {rule['rule_id']}: {_binds_nothing(name)}", file=sys.stderr)


def _binds_nothing(name: dict[str, Any]) -> str:
    hint = f"; did you mean: {', '.join(name['suggestions'])}" if name["suggestions"] else ""
    return f"{name['name']!r} names no known drug or drug class, so the rule binds nothing for it{hint}"


def print_local_rule(rule: dict[str, Any], what: str) -> None:
    """A hospital rule with its citation: the rule document, its version, the span quoted and who made it."""
    c = rule["citation"]
    print(f"  {what}: {rule['rule_id']} — {rule['source']}, effective {rule['effective']}")
    print(f"    \"{' '.join(c['quote'].split())}\"")
    if rule.get("management"):
        print(f"    management: {rule['management']}")
    print(f"    cite: {c['doc_id']} {c['section']} [{c['start']}:{c['end']}] v{str(c['version'])[:12]}")


def print_coverage(report: dict[str, Any]) -> None:
    print(f"{'source':14s} {'documents':>9s} {'sections':>9s} {'drugs':>6s}  types / label sections")
    for row in report["sources"]:
        types = ", ".join(f"{k} {v:,}" for k, v in sorted(row["source_types"].items()))
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(row["section_kinds"].items()))
        name = row["source"] + (" (yours)" if row["local"] else "")
        print(f"{name:14s} {row['documents']:9,d} {row['sections']:9,d} {row['drugs']:6,d}  {types}"
              f"{'; ' + kinds if kinds else ''}")
    t = report["totals"]
    print(f"\ndocuments {t['documents']:,}; drugs known by name {t['drugs_known']:,}; "
          f"drugs with label text {t['drugs_with_label_text']:,}; "
          f"drugs with an indication {t['drugs_with_indication']:,}")
    print("drugs with each label section: " + ", ".join(f"{k} {v:,}" for k, v in t["drugs_with_label_section"].items()))
    print("indications by source: " + (", ".join(f"{k} {v:,}" for k, v in t["indications_by_source"].items()) or "-"))
    print("graded interaction pairs: " + (", ".join(f"{k} {v:,}" for k, v in t["graded_interaction_pairs"].items())
                                          or "-"))
    print(f"guidelines {t['guidelines']:,}")


def print_interactions(result: dict[str, Any]) -> None:
    for r in result["resolved"]:
        print(f"{r['input']} → {r['name']} ({r['drug_id']}; {r['matched_by']})")
    for u in result["unresolved"]:
        hint = f"; did you mean: {', '.join(u['suggestions'])}" if u["suggestions"] else ""
        print(f"{u['input']} → not recognised{hint}")
    for pair in result["interactions"]:
        severity = pair["severity"] or "none found"
        print(f"\n{pair['a']} + {pair['b']}: {severity}"
              f"{' (' + pair['severity_source'] + ')' if pair['severity_source'] else ''}\n  {pair['summary']}")
        for rule in pair.get("local_rules", []):
            print_local_rule(rule, f"local rule ({rule['severity']})")
        for graded in pair.get("sources", []):
            cited = graded["citation"]
            where = f"{cited['doc_id']} {cited['section']} [{cited['start']}:{cited['end']}]" if cited else "-"
            print(f"  graded {graded['severity']} by {graded['source']}: {where}; {graded['reference']}")
        for c in pair["citations"]:
            where = f"{c['doc_id']} {c['section']} [{c['start']}:{c['end']}]"
            print(f"  - {where}: \"{' '.join(c['quote'].split())[:160]}\"")
