"""Word, HTML and Markdown files built at test time from real public-domain texts in the repository.

Nothing binary is committed: each builder takes a document from ``knowledge/docs`` (National Guideline
Clearinghouse summaries of U.S. government guidelines, public domain per their copyright statements), writes it
in one format with the markup a hospital's own file would carry (heading styles, bullet and numbered lists, a
table, site furniture around an HTML page), and returns what a parser must read back: every block in order, the
metadata, sentences of the source that must come out verbatim, and the furniture that must not come out at all.

The texts are real; the layout is the fixture's construction (which sections, where a table or line break goes).
"""

from __future__ import annotations

import datetime as dt
import gzip
import html
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx

from indexers.files.parsed import Block

KNOWLEDGE_DOCS = Path(__file__).resolve().parent.parent / "knowledge" / "docs"
_NUMBERED = re.compile(r"^\d+\. (.+)$")
_MARKDOWN_SPECIAL = re.compile(r"[*_\[\]<>`#|\\]")


@dataclass(frozen=True)
class OfficeFixture:
    """A built file and what its parser must return for it."""

    path: Path
    title: str | None
    published: str | None
    language: str | None
    blocks: tuple[Block, ...]  # every block, in order
    sentences: tuple[str, ...]  # sentences of the source text that must appear verbatim in one block
    boilerplate: tuple[str, ...] = ()  # furniture text that must appear in no block

    @property
    def headings(self) -> list[tuple[int, str]]:
        return [(b.level, b.text) for b in self.blocks if b.kind == "heading"]

    @property
    def list_items(self) -> list[tuple[int, bool, str]]:
        return [(b.level, b.ordered, b.text) for b in self.blocks if b.kind == "list_item"]

    @property
    def table_rows(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind == "table_row"]


def _document(corpus: str, doc_id: str) -> dict[str, Any]:
    with gzip.open(KNOWLEDGE_DOCS / f"{corpus}.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row["id"] == doc_id:
                return row
    raise LookupError(f"{doc_id} not in {corpus}")


def _sections(document: dict[str, Any], headings: list[str]) -> list[dict[str, str]]:
    by_heading = {section["heading"]: section for section in document["sections"]}
    return [by_heading[heading] for heading in headings]


def _source_sentences(document: dict[str, Any], sentences: tuple[str, ...]) -> tuple[str, ...]:
    """The given sentences, checked to be the document's own words."""
    text = "\n".join(section["text"] for section in document["sections"])
    missing = [sentence for sentence in sentences if sentence not in text]
    assert not missing, f"not in {document['id']}: {missing}"
    return sentences


def _structure(sections: list[dict[str, str]], top_level: int) -> list[Block]:
    """Sections as blocks: "A — B — C" headings as an outline from ``top_level`` down, "- " lines as bullets
    (nested under a numbered line), "1. " lines as numbered items, other lines as paragraphs.  The source's
    flattened tables (lines with " | ") are left out: each fixture builds its own table."""
    blocks: list[Block] = []
    path: list[str] = []
    for section in sections:
        parts = section["heading"].split(" — ")
        shared = 0
        while shared < min(len(path), len(parts) - 1) and path[shared] == parts[shared]:
            shared += 1
        blocks += [Block("heading", part, level=top_level + i) for i, part in enumerate(parts) if i >= shared]
        path = parts
        blocks += _section_body(section["text"])
    return blocks


def _section_body(text: str) -> list[Block]:
    blocks: list[Block] = []
    for raw in text.splitlines():
        line = raw.strip()
        numbered = _NUMBERED.match(line)
        if not line or " | " in line:
            continue
        if numbered:
            blocks.append(Block("list_item", numbered.group(1), ordered=True))
        elif line.startswith("- "):
            previous = blocks[-1] if blocks else None
            nested = previous is not None and previous.kind == "list_item" and (previous.ordered or previous.level)
            blocks.append(Block("list_item", line[2:], level=1 if nested else 0))
        else:
            blocks.append(Block("paragraph", line))
    return blocks


def _groups(blocks: list[Block]) -> list[list[Block]]:
    """Consecutive blocks grouped: a run of list items (one top-level list kind) or of table rows together,
    every other block alone."""
    groups: list[list[Block]] = []
    for block in blocks:
        last = groups[-1][-1] if groups else None
        same_list = (last is not None and block.kind == last.kind == "list_item"
                     and (block.level > 0 or block.ordered == groups[-1][0].ordered))
        if same_list or (last is not None and block.kind == last.kind == "table_row"):
            groups[-1].append(block)
        else:
            groups.append([block])
    return groups


# --- Word -----------------------------------------------------------------------------------------------------

_DOCX_SECTIONS = [
    "Major Recommendations — Practical Application Points",
    "Major Recommendations — Practical Application Points — Work-Related Carpal Tunnel Syndrome",
    "Major Recommendations — Practical Application Points — Case Definition",
    "Major Recommendations — Practical Application Points — Evaluation Summary",
    "Major Recommendations — Practical Application Points — Typical Interventions and Approximate Response "
    "Thresholds",
    "Target Population",
    "Interventions and Practices Considered",
]
_DOCX_TABLE_SECTION = "Typical Interventions and Approximate Response Thresholds"
_CHINESE_DRUG_LINE = ("通用名称：", "华法林钠片")  # the opening line of a Chinese warfarin package insert


def protocol_docx(out_dir: Path) -> OfficeFixture:
    """NGC:10410 (Washington State L&I, conservative care for occupational carpal tunnel syndrome) as a Word
    protocol: Title paragraph and core-properties title, Heading 1-3 outline, List Bullet and List Number items,
    and one 3-column table.  The table is the fixture's construction from the source's flattened "Typical
    Interventions" table: its first three column labels, then row n holds the n-th recommendation of each column
    (the first cell of the last row holds two, split by a line break, read back as "; ").  A Chinese drug-name
    line with a soft line break between CJK characters closes the document."""
    source = _document("ngc_guidelines", "ngc:10410")
    sections = _sections(source, _DOCX_SECTIONS)
    document = docx.Document()
    core = document.core_properties
    core.title, core.created, core.language = source["title"], dt.datetime(2013, 12, 1), "en-US"
    document.add_paragraph(source["title"], style="Title")
    expected = [Block("heading", source["title"], level=1)]
    table_source = next(s["text"] for s in sections if s["heading"].endswith(_DOCX_TABLE_SECTION))
    for block in _structure(sections, top_level=1):
        _add_docx_block(document, block)
        expected.append(block)
        if block == Block("heading", _DOCX_TABLE_SECTION, level=3):
            expected += _add_docx_table(document, _interventions_table(table_source))
    chinese = document.add_paragraph(_CHINESE_DRUG_LINE[0])
    chinese.add_run().add_break()
    chinese.add_run(_CHINESE_DRUG_LINE[1])
    expected.append(Block("paragraph", "".join(_CHINESE_DRUG_LINE)))
    path = out_dir / "carpal_tunnel_protocol.docx"
    document.save(str(path))
    sentences = _source_sentences(source, (
        "Work-related CTS is associated with significant preventable disability.",
        "Monitor symptoms, motor function, provocability, and work status to document improvement.",
        "Workers with, or at risk for, carpal tunnel syndrome",
    ))
    return OfficeFixture(path, source["title"], "2013-12-01", "en", tuple(expected), sentences)


def _add_docx_block(document: Any, block: Block) -> None:
    if block.kind == "heading":
        document.add_heading(block.text, level=block.level)
    elif block.kind == "list_item":
        style = "List Number" if block.ordered else ("List Bullet 2" if block.level else "List Bullet")
        document.add_paragraph(block.text, style=style)
    else:
        document.add_paragraph(block.text)


def _interventions_table(text: str) -> list[list[list[str]]]:
    """Rows of cells of lines: the first three column labels, then each column's n-th recommendation."""
    header, body = [line.split(" | ") for line in text.splitlines()[:2]]
    columns = [cell.removeprefix("- ").split(" - ") for cell in body[:3]]
    rows = [[[label] for label in header[:3]], [[column[0]] for column in columns]]
    rows.append([columns[0][1:3]] + [[column[1]] for column in columns[1:]])
    return rows


def _add_docx_table(document: Any, rows: list[list[list[str]]]) -> list[Block]:
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    for r, row in enumerate(rows):
        for c, lines in enumerate(row):
            paragraph = table.cell(r, c).paragraphs[0]
            for i, line in enumerate(lines):
                if i:
                    paragraph.add_run().add_break()
                paragraph.add_run(line)
    return [Block("table_row", " | ".join("; ".join(lines) for lines in row)) for row in rows]


# --- HTML -----------------------------------------------------------------------------------------------------

_HTML_SECTIONS = [
    "Major Recommendations",
    "Major Recommendations — Determining When to Initiate or Continue Opioids for Chronic Pain",
    "Major Recommendations — Definitions — Recommendation Category",
    "Major Recommendations — Definitions — Evidence Type",
    "Interventions and Practices Considered",
    "Target Population",
]
_EVIDENCE_ROW = re.compile(r"^(Type \d evidence): (.+)$")
_BR_AFTER = "are under cancer surveillance only."  # a <br> goes after this sentence of the Target Population note
_HTML_BOILERPLATE = (
    "Skip to main content", "We use cookies", "Accept all cookies", "Example Hospital Intranet", "Intranet home",
    "Pharmacy formulary", "Clinical protocols", "Related protocols", "Naloxone co-prescribing", "On-call pharmacist",
    "Privacy notice", "Accessibility statement", "dataLayer", "trackingId", "font-family", "trackShare",
    "Print this page",
)
_HTML_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta name="dcterms.date" content="2016-03-18">
<style>body {{ font-family: "Segoe UI", sans-serif; }} .cookie-banner {{ position: fixed; bottom: 0; }}</style>
<script>window.dataLayer = []; var trackingId = "UA-000000-1";</script>
</head>
<body class="has-cookie-banner">
<a class="skip-link" href="#content">Skip to main content</a>
<div class="cookie-banner" id="cookie-consent">We use cookies to improve the intranet.
  <button type="button">Accept all cookies</button></div>
<header class="site-header"><div class="logo">Example Hospital Intranet</div>
  <form role="search"><input name="q" placeholder="Search"><button>Search</button></form></header>
<nav aria-label="Main"><ul><li><a href="/">Intranet home</a></li><li><a href="/formulary">Pharmacy formulary</a></li>
  <li><a href="/protocols">Clinical protocols</a></li></ul></nav>
<main id="content">
<article>
<div class="tools"><button onclick="window.print()">Print this page</button></div>
{body}
<aside class="related"><h2>Related protocols</h2><ul><li>Naloxone co-prescribing</li></ul></aside>
<script>document.querySelectorAll(".share").forEach(trackShare);</script>
</article>
</main>
<aside role="complementary">On-call pharmacist: extension 4410</aside>
<footer class="site-footer">© Example Hospital · <a href="/privacy">Privacy notice</a> ·
  <a href="/a11y">Accessibility statement</a></footer>
<script src="/static/analytics.js"></script>
</body>
</html>
"""


def guideline_html(out_dir: Path) -> OfficeFixture:
    """NGC:10953 (CDC guideline for prescribing opioids for chronic pain, 2016) as a hospital intranet page:
    skip link, cookie banner, header, navigation, aside, footer, scripts and styles around a ``<main>``; h1-h4
    outline; numbered recommendations as ``<ol>``; the interventions as an ``<ol>`` with nested ``<ul>``; the
    "Type n evidence: ..." definitions as a two-column table (the fixture's construction: label in a row ``<th>``,
    definition in a ``<td>``); source lines wrapped and indented as an editor would; a ``<br>`` inside one
    paragraph; "≥" written as the entity ``&ge;``."""
    source = _document("ngc_guidelines", "ngc:10953")
    outline = [Block("heading", source["title"], level=1)] + _structure(_sections(source, _HTML_SECTIONS), 2)
    expected = [_evidence_row(block) for block in outline]
    title = f"{source['title']} | Example Hospital Intranet"
    path = out_dir / "opioid_guideline.html"
    body = "\n".join(_html_group(group) for group in _groups(expected))
    path.write_text(_HTML_PAGE.format(title=html.escape(title), body=body), encoding="utf-8")
    sentences = _source_sentences(source, (
        "Nonpharmacologic therapy and nonopioid pharmacologic therapy are preferred for chronic pain.",
        "Patients aged ≥18 years with chronic pain outside of palliative and end-of-life care",
        "Category A recommendation: Applies to all persons; most patients should receive the recommended course "
        "of action.",
    ))
    return OfficeFixture(path, title, "2016-03-18", "en", tuple(expected), sentences, _HTML_BOILERPLATE)


def _evidence_row(block: Block) -> Block:
    """A "Type n evidence: definition" paragraph becomes the table row "Type n evidence | definition"."""
    match = _EVIDENCE_ROW.match(block.text) if block.kind == "paragraph" else None
    return Block("table_row", f"{match[1]} | {match[2]}") if match else block


def _html_group(group: list[Block]) -> str:
    first = group[0]
    if first.kind == "heading":
        return f"<h{first.level}>{_html_text(first.text)}</h{first.level}>"
    if first.kind == "list_item":
        return _html_list(group)
    if first.kind == "table_row":
        cells = [row.text.split(" | ") for row in group]
        rows = "".join(f"<tr><th scope=\"row\">{_html_text(label)}</th><td>{_html_text(text)}</td></tr>\n"
                       for label, text in cells)
        return f"<table class=\"evidence\">\n<tbody>\n{rows}</tbody>\n</table>"
    return _html_paragraph(first.text)


def _html_text(text: str) -> str:
    return html.escape(text, quote=False).replace("≥", "&ge;")


def _html_paragraph(text: str) -> str:
    """A paragraph wrapped and indented as in hand-written markup; a <br> after ``_BR_AFTER``."""
    markup = _html_text(text).replace(f"{_BR_AFTER} ", f"{_BR_AFTER}<br>")
    wrapped = textwrap.fill(markup, width=90, break_on_hyphens=False, break_long_words=False,
                            initial_indent="  ", subsequent_indent="    ")
    return f"<p>\n{wrapped}\n</p>"


def _html_list(items: list[Block]) -> str:
    """Nested list markup for items whose first is at the lowest level."""
    tag = "ol" if items[0].ordered else "ul"
    out, i = [], 0
    while i < len(items):
        j = i + 1
        while j < len(items) and items[j].level > items[i].level:
            j += 1
        children = _html_list(items[i + 1:j]) if j > i + 1 else ""
        out.append(f"  <li>{_html_text(items[i].text)}{children}</li>")
        i = j
    return f"<{tag}>\n" + "\n".join(out) + f"\n</{tag}>"


_CHINESE_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="gbk">
<title>华法林钠片说明书要点</title>
</head>
<body>
<nav><a href="/">首页</a> <a href="/pharmacy">药学部</a></nav>
<div id="cookie-tip">本网站使用Cookie改善服务</div>
<h1>华法林钠片</h1>
<h2>警告：出血风险</h2>
<p>华法林钠可引起严重或致命的出血。</p>
<p>所有接受治疗的患者均应
   定期监测INR。</p>
<h2>适应症</h2>
<ul>
<li>静脉血栓形成及其扩展、肺栓塞的预防和治疗</li>
<li>与心房颤动和/或心脏瓣膜置换相关的血栓栓塞并发症的预防和治疗</li>
</ul>
<p>药物、饮食改变及其他因素<br>
会影响华法林治疗所达到的INR水平。</p>
<footer>版权所有 示例医院药学部</footer>
</body>
</html>
"""


def chinese_html(out_dir: Path) -> OfficeFixture:
    """A small GBK-encoded Chinese page (``<meta charset="gbk">``, no ``<main>``): a faithful Chinese rendering
    of facts from the public-domain FDA warfarin label in ``knowledge/docs/openfda.jsonl.gz`` (boxed warning:
    major or fatal bleeding, regular INR monitoring, factors that affect INR; two indications).  Source lines
    break between Chinese characters and a ``<br>`` sits inside a sentence: neither may leave a space."""
    path = out_dir / "warfarin_zh.html"
    path.write_bytes(_CHINESE_PAGE.encode("gbk"))
    expected = (
        Block("heading", "华法林钠片", level=1),
        Block("heading", "警告：出血风险", level=2),
        Block("paragraph", "华法林钠可引起严重或致命的出血。"),
        Block("paragraph", "所有接受治疗的患者均应定期监测INR。"),
        Block("heading", "适应症", level=2),
        Block("list_item", "静脉血栓形成及其扩展、肺栓塞的预防和治疗"),
        Block("list_item", "与心房颤动和/或心脏瓣膜置换相关的血栓栓塞并发症的预防和治疗"),
        Block("paragraph", "药物、饮食改变及其他因素会影响华法林治疗所达到的INR水平。"),
    )
    sentences = ("华法林钠可引起严重或致命的出血。", "所有接受治疗的患者均应定期监测INR。")
    return OfficeFixture(path, "华法林钠片说明书要点", None, "zh", expected, sentences,
                         ("首页", "药学部", "Cookie", "版权所有"))


# --- Markdown -------------------------------------------------------------------------------------------------

_MARKDOWN_SECTIONS = [
    "Disease/Condition(s)",
    "Guideline Category",
    "Guideline Objective(s)",
    "Interventions and Practices Considered",
    "Qualifying Statements",
]
_MARKDOWN_LINK = ("Revised Code of Washington", "https://app.leg.wa.gov/rcw/")
_MARKDOWN_BOLD = "Note:"


def guideline_markdown(out_dir: Path) -> OfficeFixture:
    """NGC:10246 (Washington State L&I, work-related carpal tunnel syndrome, 2014) as a Markdown page: YAML front
    matter (title, date), ``#``/``##`` headings, bullet lists, numbered lists with nested bullets, "Note:" in
    bold, a link, paragraphs soft-wrapped over several lines, then a "Review criteria" section (the fixture's
    construction) holding a 3-column pipe table from the source's flattened table (its header row and its first
    row of notes) and a fenced code block of the source's abbreviation list, one abbreviation a line (read back
    joined by "; ", which is how the source writes it)."""
    source = _document("ngc_guidelines", "ngc:10246")
    blocks = [Block("heading", source["title"], level=1)] + _structure(_sections(source, _MARKDOWN_SECTIONS), 2)
    recommendations = next(s["text"] for s in source["sections"] if s["heading"] == "Major Recommendations")
    lines = recommendations.splitlines()
    table = [lines[1].split(" | "), lines[4].split(" | ")[:3]]
    abbreviations = next(line for line in lines if line.startswith("Abbreviations: ")).removeprefix(
        "Abbreviations: ")
    chunks = [_markdown_chunk(group) for group in _groups(blocks)]
    chunks += ["## Review criteria", _markdown_table(table), "```text\n" + abbreviations.replace("; ", "\n") + "\n```"]
    front = f'---\ntitle: "{source["title"]}"\ndate: {source["published"]}\nlang: en\n---\n'
    path = out_dir / "carpal_tunnel.md"
    path.write_text(front + "\n\n".join(chunks) + "\n", encoding="utf-8")
    expected = blocks + [Block("heading", "Review criteria", level=2)]
    expected += [Block("table_row", " | ".join(row)) for row in table]
    expected.append(Block("paragraph", abbreviations))
    sentences = _source_sentences(source, (
        "Note: The department does not cover quantitative sensory tests.",
        "Nerve conduction velocity studies (NCVs) should be scheduled immediately to corroborate the clinical "
        "diagnosis.",
        "To facilitate appropriate authorization of carpal tunnel surgeries by the utilization review team",
    ))
    return OfficeFixture(path, source["title"], source["published"], "en", tuple(expected), sentences)


def _markdown_chunk(group: list[Block]) -> str:
    first = group[0]
    if first.kind == "heading":
        return f"{'#' * first.level} {first.text}"
    for block in group:
        assert not _MARKDOWN_SPECIAL.search(block.text), f"needs Markdown escaping: {block.text}"
    if first.kind == "list_item":
        return _markdown_list(group)
    text = first.text.replace(_MARKDOWN_BOLD, f"**{_MARKDOWN_BOLD}**", 1)
    return textwrap.fill(text, width=72, break_on_hyphens=False, break_long_words=False)


def _markdown_list(items: list[Block]) -> str:
    """List lines, nested items indented to their parent's text, numbers counted per list."""
    lines: list[str] = []
    indents = {0: ""}
    counters: dict[int, int] = {}
    for item in items:
        counters = {level: n for level, n in counters.items() if level <= item.level}
        counters[item.level] = counters.get(item.level, 0) + 1
        marker = f"{counters[item.level]}. " if item.ordered else "- "
        text = item.text.replace(_MARKDOWN_LINK[0], f"[{_MARKDOWN_LINK[0]}]({_MARKDOWN_LINK[1]})")
        lines.append(indents[item.level] + marker + text)
        indents[item.level + 1] = indents[item.level] + " " * len(marker)
    return "\n".join(lines)


def _markdown_table(rows: list[list[str]]) -> str:
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])
