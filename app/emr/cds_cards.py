"""CDS Hooks cards from cited interaction checks (pure: no I/O).

Indicator from the documented severity scale (``app.drugs.interactions``):

- ``high``        (ONC high-priority list: an interruptive alert is recommended) → ``critical``;
- ``critical``    (VA NDF-RT, graded Critical)                                   → ``critical``;
- ``significant`` (VA NDF-RT, graded Significant)                                → ``warning``;
- ``low``         (ONC non-interruptive list)                                    → ``warning``;
- ``label``       (an FDA label names the other drug; not graded)                → ``info``.

The card's severity is the pair's most severe source; every source that grades the pair is listed with
its own grade ("Graded by: ONC high-priority: high; VA NDF-RT: critical").

A pair with no interaction found gets no card.  A medication that could not be identified, or active
medications that could not be read, get an ``info`` card: silence must never pass for "checked, safe".
Each card quotes its evidence in ``detail`` (markdown) and carries the exact citations (document, version,
character span, quote) in ``extension.medevidence``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

INDICATOR = {"high": "critical", "critical": "critical", "significant": "warning", "low": "warning", "label": "info"}
INDICATOR_RANK = {"critical": 0, "warning": 1, "info": 2}
SEVERITY_PHRASE = {"high": "high-priority interaction", "critical": "critical interaction (VA NDF-RT)",
                   "significant": "significant interaction (VA NDF-RT)", "low": "interaction (non-interruptive)",
                   "label": "named together in a drug label (not graded)"}
SUMMARY_MAX = 139  # the spec: fewer than 140 characters
QUOTE_MAX = 400
MAX_CITATIONS = 3
OVERRIDE_SYSTEM = "https://medevidence.org/fhir/CodeSystem/cds-override-reason"
TOPIC_SYSTEM = "https://medevidence.org/fhir/CodeSystem/cds-topic"
OVERRIDE_REASONS = [
    {"code": "benefit-outweighs-risk", "system": OVERRIDE_SYSTEM, "display": "Benefit outweighs the risk"},
    {"code": "will-monitor", "system": OVERRIDE_SYSTEM, "display": "Will monitor or adjust the dose"},
    {"code": "not-taking", "system": OVERRIDE_SYSTEM, "display": "Patient no longer takes the other medication"},
    {"code": "not-relevant", "system": OVERRIDE_SYSTEM, "display": "Not clinically relevant for this patient"},
]


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def md_text(text: str) -> str:
    """Plain text safe inside markdown: no emphasis, links, headings or HTML from a quoted passage."""
    text = " ".join(text.split())
    return "".join("\\" + c if c in "\\`*_{}[]<>#|" else c for c in text)


def cited_line(n: int, c: dict[str, Any]) -> str:
    """One numbered evidence line: the quote and where it is cut from; an interaction-list fact whose table is
    not indexed (no span to quote) is named by its source and reference."""
    if not c.get("quote"):
        return f"{n}. {md_text(str(c.get('source') or 'source'))}: {md_text(str(c.get('reference') or ''))}"
    quote = c["quote"]
    shown = md_text(shorten(quote, QUOTE_MAX))
    where = f"*{md_text(c.get('title') or c['doc_id'])}*, section “{md_text(c.get('section') or '')}”"
    ref = f"`{c['doc_id']}` v`{str(c['version'])[:12]}` chars {c['start']}–{c['end']}"
    link = f" — [source]({c['url']})" if str(c.get("url") or "").startswith("https://") else ""
    return f"{n}. > {shown}\n\n   {where}; {ref}{link}"


def interaction_card(pair: dict[str, Any], roles: dict[str, str], panel_url: str | None,
                     draft_refs: dict[str, list[str]]) -> dict[str, Any]:
    """One card for one interacting pair.  ``roles``: drug id → "draft order" | "active medication";
    ``draft_refs``: drug id → the draft MedicationRequest references ordering it (for the cancel suggestion)."""
    severity = pair["severity"]
    indicator = INDICATOR[severity]
    a, b = pair["a"], pair["b"]
    phrase = SEVERITY_PHRASE[severity]
    names = shorten(f"{a} + {b}", SUMMARY_MAX - len(phrase) - 2)
    citations = pair["citations"][:MAX_CITATIONS]
    role_line = "; ".join(f"**{md_text(pair[k])}** ({roles.get(pair[k + '_id'], 'medication')})" for k in ("a", "b"))
    lines = [f"**{phrase[0].upper() + phrase[1:]}** — {md_text(pair['severity_source'])}.", "", role_line, ""]
    graded = pair.get("sources") or []
    if graded:
        grades = "; ".join(f"{md_text(g['source'])}: {md_text(str(g['severity']))}" for g in graded)
        lines += [f"Graded by: {grades}.", ""]
    lines += ["Evidence:", ""]
    lines += [cited_line(n, c) for n, c in enumerate(citations, 1)]
    if len(pair["citations"]) > MAX_CITATIONS:
        lines += ["", f"{len(pair['citations']) - MAX_CITATIONS} more cited passage(s) in the MedEvidence panel."]
    first_url = next((c["url"] for c in citations if str(c.get("url") or "").startswith("https://")), None)
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": f"{names}: {phrase}",
        "indicator": indicator,
        "detail": "\n".join(lines),
        "source": {"label": f"MedEvidence · {shorten(pair['severity_source'], 80)}",
                   "topic": {"system": TOPIC_SYSTEM, "code": "drug-drug-interaction",
                             "display": "Drug–drug interaction"},
                   **({"url": first_url} if first_url else {})},
        "overrideReasons": OVERRIDE_REASONS,
        "extension": {"medevidence": {"severity": severity, "severity_source": pair["severity_source"],
                                      "sources": pair.get("sources", []),
                                      "drug_ids": [pair["a_id"], pair["b_id"]], "citations": pair["citations"]}},
    }
    if panel_url:
        card["links"] = [{"label": "Open the MedEvidence panel", "url": panel_url, "type": "smart",
                          "appContext": json.dumps({"drugs": [pair["a_id"], pair["b_id"]]})}]
    if indicator != "info":
        with_suggestions(card, [cancel_suggestion(pair[k], refs) for k in ("a", "b")
                                if (refs := draft_refs.get(pair[k + "_id"]))])
    return card


def delete_action(drug: str, ref: str) -> dict[str, Any]:
    """The CDS Hooks action removing one draft order (``ref``: ``MedicationRequest/<id>``)."""
    return {"type": "delete", "description": f"Remove the draft order for {drug}", "resourceId": ref}


def cancel_suggestion(drug: str, refs: list[str]) -> dict[str, Any]:
    """A suggestion cancelling the draft order(s) for ``drug``."""
    return {"label": shorten(f"Cancel the draft order for {drug}", 100), "uuid": str(uuid.uuid4()),
            "actions": [delete_action(drug, ref) for ref in refs]}


def with_suggestions(card: dict[str, Any], suggestions: list[dict[str, Any]]) -> dict[str, Any]:
    """``card`` offering ``suggestions`` (none: the card is left as it is); the clinician takes at most one."""
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    return card


def notice_card(summary: str, detail: str) -> dict[str, Any]:
    """An info card that says what was *not* checked."""
    return {"uuid": str(uuid.uuid4()), "summary": shorten(summary, SUMMARY_MAX), "indicator": "info",
            "detail": detail, "source": {"label": "MedEvidence"}}


def unresolved_card(unresolved: Iterable[tuple[str, tuple[str, ...]]]) -> dict[str, Any] | None:
    items = list(unresolved)
    if not items:
        return None
    lines = ["These medications were not identified, so their interactions were **not checked**:", ""]
    for name, suggestions in items:
        hint = f" (did you mean: {md_text(', '.join(suggestions))}?)" if suggestions else ""
        lines.append(f"- {md_text(name)}{hint}")
    lines += ["", "A hospital alias (`medevidence index aliases.jsonl`) makes a local name resolvable."]
    return notice_card(f"{len(items)} medication(s) not recognised: interactions not checked", "\n".join(lines))


def by_urgency(cards: list[dict[str, Any]], min_indicator: str) -> list[dict[str, Any]]:
    """Interaction cards at least as urgent as ``min_indicator``, most urgent first."""
    floor = INDICATOR_RANK[min_indicator]
    return sorted((c for c in cards if INDICATOR_RANK[c["indicator"]] <= floor),
                  key=lambda c: INDICATOR_RANK[c["indicator"]])
