"""National Guideline Clearinghouse (NGC, AHRQ) public-domain guideline summaries -> guideline Documents.

Why: NGC summaries are structured digests of whole clinical practice guidelines (CDC, VA/DoD, NHLBI,
state workers'-compensation agencies...): the graded recommendations, the definitions of the grades, the
scope and the bibliographic facts, in one consistent layout.  Only summaries whose own "Copyright
Statement" puts them in the public domain are read; guideline.gov went offline in July 2018, so the
summaries are frozen (2013-2018) and some guidelines have since been revised.

Layout: ``markdown/ngc-<id>.md`` (optionally ``index.tsv``: file, title, developer, copyright_statement,
used as a fallback for the title and listed files that are missing are reported).  A summary is YAML front
matter (``title``, ``id``), then ``#`` groups ("General", "Recommendations", "Scope", "Methodology",
"Identifying Information and Availability"...) of ``##`` fields ("Guideline Title", "Major
Recommendations", "Date Released"...).  Field bodies are markdown with some HTML (tables, ``<p>``,
``<br>``).

Format rules:
- One Document per ``ngc-*.md`` (sorted by file name), id ``ngc:<id>``, source_type "guideline", url the
  archived ``https://www.guideline.gov/summaries/summary/<id>``; title = "Guideline Title" (else the front
  matter, else index.tsv) without its trailing period.
- Kept fields, in file order, headed by their NGC name: Major Recommendations (cut at their
  ``###``-``######`` sub-headings into "Major Recommendations — <sub-heading> — <sub-sub-heading>"
  sections; generic "Recommendation(s)" headings and over-long "headings" that are really notes stay text),
  Clinical Algorithm(s), the scope fields, the two "Rating Scheme" fields (grade definitions), Type of
  Evidence, Potential Benefits/Harms, Contraindications, Qualifying Statements, Implementation, and the
  identifying fields (Bibliographic Source(s), Adaptation, Date Released, Developers, Endorsers, Funding,
  Guideline Status, availability, Patient Resources, Copyright Statement).  Methodology prose, committee
  lists, disclosures, IOM categories, NEATS ratings, "NGC Status", the NGC Disclaimer, the duplicate
  "General" copies of the bibliographic source and status, "meets NGC's ... inclusion criteria" lines and
  placeholder bodies ("None provided", "Not applicable") are dropped.
- Text is plain: ``**``/``*``/``_`` emphasis, ``[text](url "title")`` links (-> text), ``<url>``
  autolinks (-> url), backslash escapes, HTML tags and entities and heading ``#`` marks are removed;
  HTML tables become one line per row, cells joined by " | "; list items become "- item" lines, numbered
  items keep their numbers; whitespace is normalised with ``normalize_lines``.  Shouting headings are
  title-cased.
- ``published``: the date of the guideline version summarised, ISO ``YYYY-MM-DD``/``YYYY-MM``/``YYYY``:
  the latest date in "Date Released" (so "1989 (revised 2014 Jun 27)" gives 2014-06-27); the date in the
  Bibliographic Source wins when it is later, or when it is the same year but more precise; without a
  "Date Released" date the bibliographic date is used.
- ``metadata["recommendations"]``: one ``{"section", "start", "end", "grade"}`` per recommendation
  statement (a list item or paragraph; with its sub-list when the grade stands on its own line after the
  list, footnotes passed over, or closes an ungraded "...:" item's last sub-item) ending with a grade marker
  in parentheses or brackets ("; and", "(Note: ...)" or "See ..." may follow it), ``doc.text[start:end]``
  being exactly that statement.  Grades
  recognised and normalised: CDC "recommendation category: A, evidence type: 3"; VA/DoD GRADE "Strong for" /
  "Weak for" / "Strong against" / "Weak against" (the "Reviewed, New-replaced" category is dropped; "N/A"
  strengths are not grades); VA/DoD letter ratings "[A]".."[D]", "[I]", "[EO]" -> "Grade A"...; NHLBI
  "Strong Recommendation, Moderate-Quality Evidence" and "Consensus–Panel Expertise"/"Consensus–Adapted";
  CDC/HICPAC "Category IB"; CDC PrEP "IA".."IIIC"; generic "Grade B", "Level of evidence: B", "Strength of
  recommendation: A".  Narrative strength statements ("on the basis of strong evidence") are not grades.
- Other metadata: source "ngc", ngc_id, developer / developer_type (from "- Name - Type [U.S.]" lines),
  endorser, released (as written), year, status, superseded (true only when the summary says that the
  guideline was superseded, replaced, withdrawn, archived or that a newer version exists; "This guideline
  updates a previous version" is not), previous_version, bibliographic_source, pmid, diseases,
  interventions, grading_scheme (the rating schemes, at most 1500 characters), copyright, citation.

A file that cannot be read, has no NGC structure, no kept text, or whose copyright statement does not say
the summary is free of copyright becomes ``Rejected``.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import ReadItem, Rejected, normalize_lines, read_text, title_case

NGC_URL = "https://www.guideline.gov/summaries/summary/{ngc_id}"
RECOMMENDATIONS = "Major Recommendations"
PATH_SEPARATOR = " — "
GRADING_SCHEME_LIMIT = 1500

# ``##`` fields kept, by name; everything else is dropped (methodology prose, committees, boilerplate).
# "FDA Warning/Regulatory Alert" is dropped: it is the Clearinghouse's own note, repeated nearly word for word
# across summaries (it crowded the guideline's own recommendations out of search); FDA alerts belong to labels.
KEPT_FIELDS = frozenset({
    RECOMMENDATIONS,
    "Clinical Algorithm(s)",
    "Disease/Condition(s)",
    "Other Disease/Condition(s) Addressed",
    "Guideline Category",
    "Clinical Specialty",
    "Intended Users",
    "Guideline Objective(s)",
    "Target Population",
    "Interventions and Practices Considered",
    "Major Outcomes Considered",
    "Rating Scheme for the Strength of the Evidence",
    "Rating Scheme for the Strength of the Recommendations",
    "Type of Evidence Supporting the Recommendations",
    "Potential Benefits",
    "Potential Harms",
    "Contraindications",
    "Qualifying Statements",
    "Description of Implementation Strategy",
    "Implementation Tools",
    "Bibliographic Source(s)",
    "Adaptation",
    "Date Released",
    "Guideline Developer(s)",
    "Guideline Endorser(s)",
    "Source(s) of Funding",
    "Guideline Status",
    "Guideline Availability",
    "Availability of Companion Documents",
    "Patient Resources",
    "Copyright Statement",
})
# Fields that appear twice (under "General" and "Identifying Information"): only the second copy is kept.
DUPLICATED_IN_GENERAL = frozenset({"Bibliographic Source(s)", "Guideline Status"})
PLACEHOLDERS = frozenset({"none provided", "not applicable", "not stated", "none available", "none", "n/a"})
GENERIC_HEADINGS = frozenset({"recommendation", "recommendations"})
PUBLIC_DOMAIN = re.compile(r"no copyright restrictions|public domain|does not copyright", re.I)

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\s*\n", re.S)
_FRONT_KEY = re.compile(r'^(\w+):\s*"?(.*?)"?\s*$')
_FILE_ID = re.compile(r"^ngc-(\d+)\.md$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^(\s*)(?:[*+-]|\d{1,3}[.)])\s+")
_BULLET = re.compile(r"^(\s*)[*+-]\s+", re.M)
_TABLE = re.compile(r"<table\b.*?(?:</table\s*>|\Z)", re.S | re.I)
_ROW = re.compile(r"<tr\b[^>]*>(.*?)(?=<tr\b|</table|\Z)", re.S | re.I)
_CELL = re.compile(r"<t[dh]\b[^>]*>(.*?)(?=<t[dh]\b|</tr|\Z)", re.S | re.I)
_BREAK_TAG = re.compile(r"<br\s*/?>|</p\s*>|</div\s*>|</li\s*>|</h\d\s*>|</tr\s*>|</?[ou]l\b[^>]*>", re.I)
_ITEM_TAG = re.compile(r"<li\b[^>]*>", re.I)
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*\b[^>]*>")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[\s*((?:[^\[\]]|\[[^\[\]]*\])*?)\s*\]\(\s*(?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\s*\)")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_EM_UNDERSCORE = re.compile(r"(?<![\w])_([^\s_]|[^\s_].*?[^\s_])[ \t]*_(?![\w])")
_LEADING_HASHES = re.compile(r"^[ \t]*#{1,6}[ \t]+", re.M)
_PAREN_INNER = re.compile(r"([(\[])[ \t]+|[ \t]+([)\]])")
_SPACE_PUNCT = re.compile(r"(?<=\S)[ \t]+([:;,])(?=\s|$)", re.M)
_SPACE_PERIOD = re.compile(r"(?<=[\w)\]])[ \t]+\.(?=\s|$)", re.M)
_INCLUSION = re.compile(r"^.*\bNGC'?s?\b.*inclusion criteria.*$", re.M | re.I)

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = r"(?:[ \t]+([1-9]|[12]\d|3[01])\b)"
_DATE = re.compile(rf"\b((?:19|20)\d{{2}})(?:[ \t]+({_MONTH})\b{_DAY}?)?")
_BIB_DATE = re.compile(rf"(?:[.;]\s|\(|^)((?:19|20)\d{{2}})(?:\s({_MONTH})\b{_DAY}?)?(?=[.;:,()\s]|$)", re.M)
_PMID = re.compile(r"(?:list_uids=|pubmed(?:\.ncbi\.nlm\.nih\.gov)?/)(\d{4,9})")
_REFERENCES = re.compile(r"\s*\[\d+ references?\]", re.I)
_SUPERSEDED = re.compile(
    r"\bsuperseded\b|\bhas been (?:replaced|withdrawn|archived|retired|rescinded)\b|\bwithdrawn\b|"
    r"\breplaced by\b|\bno longer (?:current|valid|in effect)\b|\bnewer version\b|\bhas been updated by\b|"
    r"\bupdated version (?:of this guideline )?(?:is|was|has been) (?:available|published|released)\b|"
    r"\barchived\b",
    re.I,
)
_PREVIOUS = re.compile(r"updates? (?:a )?previous versions?:?\s*(.*)", re.I | re.S)

# Grade markers: "(...)" or "[...]" closing a statement; the inner text is matched against _GRADES.
_END_MARKER = re.compile(r"([(\[])\s*([^()\[\]\n]{1,120}?)\s*[)\]]\s*(?:[;,]\s*(?:and|or)?)?\s*\.?\s*$")
_TRAILING_POINTER = re.compile(r"(?:\s*\((?:Note|See)\b[^()]*\)|\s+See\s[^()\[\]]*)\s*\.?\s*$")
_ANY_MARKER = re.compile(r"([(\[])\s*([^()\[\]\n]{1,120}?)\s*[)\]]")
_ONLY_MARKERS = re.compile(r"^(?:\s*[(\[][^()\[\]\n]*[)\]]\s*\.?)+\s*$")


def _strength(s: str) -> str:
    return s[:1].upper() + s[1:].lower()


_GRADES: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"^recommendation category:?\s*([A-D])\s*[,;]\s*evidence type:?\s*([1-4])$", re.I),
        lambda m: f"recommendation category: {m[1].upper()}, evidence type: {m[2]}",
    ),
    (
        re.compile(r"^(strong|weak)\s+(for|against)\s*(?:;.*)?$", re.I),
        lambda m: f"{_strength(m[1])} {m[2].lower()}",
    ),
    (
        re.compile(
            r"^(strong|moderate|weak)\s+(?:recommendation|strength)\s*[,;]\s*"
            r"(high|moderate|low|very low)[- ]quality evidence$",
            re.I,
        ),
        lambda m: f"{_strength(m[1])} Recommendation, {title_case(m[2])}-Quality Evidence",
    ),
    (
        re.compile(r"^consensus\s*[–—-]+\s*(panel expertise|adapted)$", re.I),
        lambda m: f"Consensus–{title_case(m[1])}",
    ),
    (re.compile(r"^category\s+(I{1,3}[A-D]?|IV)$", re.I), lambda m: f"Category {m[1].upper()}"),
    (re.compile(r"^(I{1,3})([A-C])$"), lambda m: f"{m[1]}{m[2]}"),
    (
        re.compile(r"^(?:level of evidence|evidence level|LoE)\s*:?\s*([A-D]|[1-5][a-c+-]?|I{1,3}|IV)$", re.I),
        lambda m: f"Level of evidence: {m[1].upper()}",
    ),
    (
        re.compile(r"^(?:strength of recommendation|SOR)\s*:?\s*([A-D]|strong|moderate|weak)$", re.I),
        lambda m: f"Strength of recommendation: {m[1] if len(m[1]) == 1 else _strength(m[1])}",
    ),
    (re.compile(r"^grade\s*:?\s*([A-D]|I|EO)$", re.I), lambda m: f"Grade {m[1].upper()}"),
]
_BRACKET_GRADE = re.compile(r"^([A-D]|I|EO)$")


def grade_of(statement: str) -> str | None:
    """The normalised grade closing a (cleaned) statement, or None.

    "; and" may follow the grade, and so may a "(Note: ...)" or "See ..." pointer.
    """
    for _ in range(3):
        match = _END_MARKER.search(statement)
        grade = _grade(match.group(1), match.group(2).strip()) if match else None
        if grade:
            return grade
        shorter = _TRAILING_POINTER.sub("", statement)
        if shorter == statement:
            return None
        statement = shorter
    return None


def has_grade(text: str) -> bool:
    """Whether a grade marker appears anywhere in the text."""
    return any(_grade(m.group(1), m.group(2).strip()) for m in _ANY_MARKER.finditer(text))


def _grade(opener: str, inner: str) -> str | None:
    if opener == "[" and _BRACKET_GRADE.match(inner):
        return f"Grade {inner}"
    for pattern, render in _GRADES:
        found = pattern.match(inner)
        if found:
            return str(render(found))
    return None


# --- text cleaning -------------------------------------------------------------------------------


def _cell_text(cell: str) -> str:
    """Source line breaks inside a cell are layout: only tags and blank lines break its text."""
    cell = " ".join(re.sub(r"\n[ \t]*\n", "<br>", cell).split())
    cell = _ITEM_TAG.sub("\n- ", _BREAK_TAG.sub("\n", cell))
    return "\n".join(" ".join(_TAG.sub(" ", line).split()) for line in cell.split("\n"))


def table_text(table: str) -> str:
    """An HTML table as lines: one per row, cells joined by " | "; a one-cell row keeps its lines."""
    rows: list[str] = []
    for row in _ROW.findall(table):
        cells = [_cell_text(c) for c in _CELL.findall(row)]
        cells = [c for c in cells if c.strip()]
        if len(cells) == 1:
            rows.append(cells[0].strip())
        elif cells:
            rows.append(" | ".join(" ".join(c.split()) for c in cells))
    return "\n" + "\n".join(rows) + "\n"


def clean_markdown(text: str) -> str:
    """NGC markdown (+HTML) -> plain text lines (see the module docstring), whitespace normalised."""
    text = _TABLE.sub(lambda m: table_text(m.group(0)), text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _ITEM_TAG.sub("\n- ", _BREAK_TAG.sub("\n", text))
    text = _TAG.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _BULLET.sub(r"\1- ", text)
    text = _ESCAPE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = text.replace("**", "").replace("__", "")
    text = _EM_STAR.sub(r"\1", text)
    text = _EM_UNDERSCORE.sub(r"\1", text)
    text = html.unescape(text)
    text = _LEADING_HASHES.sub("", text)
    text = _PAREN_INNER.sub(lambda m: m.group(1) or m.group(2), text)
    text = _SPACE_PUNCT.sub(r"\1", text)
    text = _SPACE_PERIOD.sub(".", text)
    return normalize_lines(text)


def clean_heading(text: str) -> str:
    """A sub-heading as readable text: markup gone, trailing colon dropped, shouting title-cased."""
    s = " ".join(clean_markdown(text).split()).rstrip(":*").strip()
    if s and s == s.upper() and any(c.isalpha() for c in s) and len(s) > 4:
        s = title_case(s)
    return s


def is_subheading(text: str) -> bool:
    """Whether a ``###``..``######`` line names a topic (short) rather than holding a note."""
    if not text or len(text) > 120 or text.startswith(("(", "*", "Note")):
        return False
    return not (text.endswith(".") and len(text.split()) > 12)


# --- structure -----------------------------------------------------------------------------------


@dataclass
class Field:
    """One ``##`` field: its name, its ``#`` group and its raw lines."""

    name: str
    group: str
    line: int
    lines: list[str] = field(default_factory=list)


@dataclass
class Block:
    """A statement unit of raw markdown: a list item or a paragraph (a table stays whole)."""

    indent: int
    item: bool
    start: int  # index of the block's first raw line
    lines: list[str]
    text: str = ""
    grade: str | None = None


def front_matter(raw: str) -> tuple[dict[str, str], str]:
    """YAML front matter keys (flat ``key: value`` only) and the body after it."""
    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, raw
    keys: dict[str, str] = {}
    for line in match.group(1).split("\n"):
        kv = _FRONT_KEY.match(line.strip())
        if kv:
            keys[kv.group(1)] = kv.group(2).replace('\\"', '"').strip()
    return keys, raw[match.end() :]


def split_fields(body: str, first_line: int) -> list[Field]:
    """Cut the body at ``#`` and ``##`` headings; deeper headings stay inside their field."""
    fields: list[Field] = []
    group = ""
    current: Field | None = None
    for number, line in enumerate(body.split("\n"), first_line):
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) <= 2:
            name = " ".join(heading.group(2).split())
            if len(heading.group(1)) == 1:
                group, current = name, None
            else:
                current = Field(name, group, number)
                fields.append(current)
        elif current is not None:
            current.lines.append(line)
    return fields


def blocks_of(lines: list[str]) -> list[Block]:
    """Group raw lines into statements: a list item or paragraph runs to a blank line or the next item."""
    blocks: list[Block] = []
    current: Block | None = None
    in_table = False
    for number, line in enumerate(lines):
        if in_table:
            assert current is not None
            current.lines.append(line)
            in_table = not re.search(r"</table\s*>", line, re.I)
            continue
        if not line.strip():
            current = None
            continue
        item = _LIST_ITEM.match(line)
        if item or current is None or re.search(r"<table\b", line, re.I):
            indent = len(item.group(1).expandtabs(4)) if item else len(line) - len(line.lstrip())
            current = Block(indent, bool(item), number, [line])
            blocks.append(current)
        else:
            current.lines.append(line)
        if re.search(r"<table\b", line, re.I) and not re.search(r"</table\s*>", line, re.I):
            in_table = True
    return blocks


def graded_statements(lines: list[str]) -> list[tuple[str, str]]:
    """(cleaned statement, grade) pairs of a recommendation section's raw lines, in order."""
    blocks = blocks_of(lines)
    for block in blocks:
        block.text = clean_markdown("\n".join(block.lines))
        block.grade = grade_of(block.text)
    out: list[tuple[str, str]] = []
    for i, block in enumerate(blocks):
        if not block.grade:
            continue
        first = i
        if _ONLY_MARKERS.match(block.text):
            # "(Modified from ...) (Strong for)" under a list: the grade closes the item that opened it.
            first = _list_owner(blocks, i)
            if first == i:
                continue
        elif block.item:
            first = _closing_owner(blocks, i)
        last = block.start + len(block.lines)
        text = clean_markdown("\n".join(lines[blocks[first].start : last]))
        out.append((text, block.grade))
    return out


def _list_owner(blocks: list[Block], end: int) -> int:
    """For a grade-only block: the least indented list item before it, back to the last graded block.

    Footnotes ("*Note: ...") between the list and the grade are passed over.
    """
    owner = end
    j = end - 1
    while j >= 0 and not blocks[j].grade and (blocks[j].item or blocks[j].text.startswith(("*", "Note"))):
        if blocks[j].item and (owner == end or blocks[j].indent <= blocks[owner].indent):
            owner = j
        j -= 1
    if owner != end and j == owner - 1 and _introduces(blocks[j]):
        owner = j  # "... the following:" paragraph, then the list, then the grade
    return owner


def _introduces(block: Block) -> bool:
    return not block.grade and block.text.endswith(":")


def _closing_owner(blocks: list[Block], end: int) -> int:
    """A graded last sub-item whose ungraded parent ends with ":" grades the parent with its whole list."""
    me = blocks[end]
    nxt = blocks[end + 1] if end + 1 < len(blocks) else None
    j = end - 1
    while j >= 0 and blocks[j].item and blocks[j].indent >= me.indent:
        if has_grade(blocks[j].text) or blocks[j].indent > me.indent:
            return end
        j -= 1
    if j < 0 or j == end - 1 or not _introduces(blocks[j]):
        return end
    if nxt is not None and nxt.item and nxt.indent >= me.indent:
        return end
    return j


def recommendation_sections(fld: Field) -> list[tuple[str, list[str]]]:
    """Cut "Major Recommendations" at its sub-headings: (heading path, raw lines) pairs."""
    parts: list[tuple[str, list[str]]] = [(RECOMMENDATIONS, [])]
    stack: list[tuple[int, str]] = []
    for line in fld.lines:
        heading = _HEADING.match(line)
        if heading:
            level, name = len(heading.group(1)), clean_heading(heading.group(2))
            if name.lower() in GENERIC_HEADINGS:
                continue
            if is_subheading(name):
                stack = [(lv, n) for lv, n in stack if lv < level] + [(level, name)]
                parts.append((PATH_SEPARATOR.join([RECOMMENDATIONS] + [n for _, n in stack]), []))
                continue
        parts[-1][1].append(line)
    return parts


# --- metadata helpers ----------------------------------------------------------------------------


def _iso(year: str, month: str | None, day: str | None) -> tuple[str, tuple[int, int, int]]:
    m = _MONTHS.get((month or "")[:3].lower(), 0)
    d = int(day) if (m and day) else 0
    iso = year + (f"-{m:02d}" if m else "") + (f"-{d:02d}" if d else "")
    return iso, (int(year), m, d)


def release_date(text: str) -> tuple[str, tuple[int, int, int]] | None:
    """The latest date written in "Date Released" ("1989 (revised 2014 Jun 27)" -> 2014-06-27)."""
    dates = [_iso(*m.groups()) for m in _DATE.finditer(text)]
    return max(dates, key=lambda d: d[1]) if dates else None


def bibliographic_date(text: str) -> tuple[str, tuple[int, int, int]] | None:
    """The latest publication date in NLM-style citations ("... MMWR Recomm Rep. 2016 Mar 18;65(1)...")."""
    dates = [_iso(*m.groups()) for m in _BIB_DATE.finditer(text)]
    return max(dates, key=lambda d: d[1]) if dates else None


def published_date(released: str, bibliographic: str) -> str | None:
    """Date Released (latest revision), unless the bibliographic date is later or more precise."""
    rel, bib = release_date(released), bibliographic_date(bibliographic)
    if rel is None or bib is None:
        return (rel or bib or (None, None))[0]
    r, b = rel[1], bib[1]
    shared = [(x, y) for x, y in zip(r, b, strict=True) if x and y]
    later = [y for x, y in shared] > [x for x, y in shared]
    more_precise = all(x == y for x, y in shared) and sum(map(bool, b)) > sum(map(bool, r))
    return bib[0] if later or more_precise else rel[0]


def items_of(text: str) -> list[str]:
    """The lines of a list-like field, "- " markers dropped."""
    return [line.removeprefix("- ").strip() for line in text.split("\n") if line.strip()]


def developers_of(text: str) -> tuple[list[str], list[str]]:
    """ "- Name - Type [U.S.]" lines -> (names, types)."""
    names: list[str] = []
    types: list[str] = []
    for line in items_of(text):
        name, sep, kind = line.rpartition(" - ")
        name, kind = (name, kind) if sep else (line, "")
        kind = kind.replace("[U.S.]", "").strip()
        if name and name not in names:
            names.append(name.strip())
        if kind and kind not in types:
            types.append(kind)
    return names, types


def shorten(text: str, limit: int) -> str:
    """Text cut at a word boundary to at most ``limit`` characters (with "…" when cut)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(None, 1)[0].rstrip(" ,;:")
    return cut + "…"


def _is_placeholder(text: str) -> bool:
    return text.strip().rstrip(".").lower() in PLACEHOLDERS


# --- reading -------------------------------------------------------------------------------------


def is_ngc_folder(path: Path) -> bool:
    """Layout test: ``markdown/ngc-*.md`` under the folder, or ``ngc-*.md`` directly inside."""
    if not path.is_dir():
        return False
    markdown = path / "markdown"
    folder = markdown if markdown.is_dir() else path
    return any(_FILE_ID.match(p.name) for p in folder.glob("ngc-*.md"))


def read_index(path: Path) -> tuple[dict[str, dict[str, str]], list[Rejected]]:
    """``index.tsv`` rows by file name (empty when absent); unreadable index -> Rejected."""
    index = path / "index.tsv"
    if not index.is_file():
        return {}, []
    try:
        rows = list(csv.DictReader(read_text(index).split("\n"), delimiter="\t", quoting=csv.QUOTE_NONE))
    except (OSError, csv.Error) as exc:
        return {}, [Rejected(str(index), 0, f"unreadable index: {exc}")]
    return {r["file"]: r for r in rows if r.get("file")}, []


def read_ngc_guidelines(path: Path) -> Iterator[ReadItem]:
    """Yield one guideline Document per ``ngc-*.md`` summary (sorted by file name)."""
    if path.is_file():
        yield ngc_document(path, {})
        return
    index, problems = read_index(path)
    yield from problems
    folder = path / "markdown" if (path / "markdown").is_dir() else path
    files = sorted(p for p in folder.glob("ngc-*.md") if p.is_file())
    for file in files:
        yield ngc_document(file, index.get(file.name, {}))
    present = {f.name for f in files}
    for number, name in enumerate(index, 2):
        if name not in present:
            yield Rejected(str(path / "index.tsv"), number, f"{name} is listed but missing from {folder.name}/")


def ngc_document(file: Path, row: dict[str, str]) -> ReadItem:
    """Build the Document for one NGC summary file (``row``: its index.tsv row, possibly empty)."""
    try:
        raw = read_text(file)
    except OSError as exc:
        return Rejected(str(file), 0, f"unreadable: {exc}")
    if not raw.strip():
        return Rejected(str(file), 0, "empty file")
    keys, body = front_matter(raw)
    first_line = raw[: len(raw) - len(body)].count("\n") + 1
    id_match = _FILE_ID.match(file.name)
    ngc_id = keys.get("id", "").strip() or (id_match.group(1) if id_match else "")
    if not ngc_id.isdigit():
        return Rejected(str(file), 1, "no NGC id (front matter 'id' or file name ngc-<id>.md)")
    fields = split_fields(body, first_line)
    if not any(f.name == RECOMMENDATIONS for f in fields):
        return Rejected(str(file), 0, f"not an NGC summary: no '## {RECOMMENDATIONS}' field")

    texts: dict[str, str] = {}
    sections: list[tuple[str, str]] = []
    pending: list[tuple[str, str]] = []  # (cleaned statement, grade) per kept recommendation section
    statement_sections: list[int] = []
    for fld in fields:
        if fld.name in DUPLICATED_IN_GENERAL and fld.group == "General":
            texts.setdefault(fld.name, _INCLUSION.sub("", clean_markdown("\n".join(fld.lines))).strip())
            continue
        text = normalize_lines(_INCLUSION.sub("", clean_markdown("\n".join(fld.lines))))
        if fld.name not in texts or text:
            texts[fld.name] = text
        if fld.name not in KEPT_FIELDS or not text or _is_placeholder(text):
            continue
        if fld.name == RECOMMENDATIONS:
            for heading, lines in recommendation_sections(fld):
                part = clean_markdown("\n".join(lines))
                if not part:
                    continue
                for statement in graded_statements(lines):
                    pending.append(statement)
                    statement_sections.append(len(sections))
                sections.append((heading, part))
        else:
            sections.append((fld.name, text))
    if not sections:
        return Rejected(str(file), 0, "no text in the kept fields")

    copyright_text = texts.get("Copyright Statement", "") or row.get("copyright_statement", "")
    if not PUBLIC_DOMAIN.search(copyright_text):
        return Rejected(str(file), 0, "copyright statement does not put the summary in the public domain")

    title_text = texts.get("Guideline Title", "").split("\n")[0] or keys.get("title", "") or row.get("title", "")
    title = " ".join(title_text.split()).rstrip(" .") or f"NGC guideline summary {ngc_id}"
    released = " ".join(texts.get("Date Released", "").split())
    bib_raw = texts.get("Bibliographic Source(s)", "")
    bib_entries = [_REFERENCES.sub("", e).removesuffix("PubMed").strip() for e in items_of(bib_raw)]
    bibliographic = "\n".join(e for e in bib_entries if e)
    published = published_date(released, bibliographic)
    bib_lines = [line for f in fields if f.name == "Bibliographic Source(s)" for line in f.lines]
    pmid_match = _PMID.search("\n".join(bib_lines))
    developer, developer_type = developers_of(texts.get("Guideline Developer(s)", ""))
    if not developer and row.get("developer"):
        developer, developer_type = developers_of(row["developer"])
    endorser, _ = developers_of(texts.get("Guideline Endorser(s)", ""))
    status = texts.get("Guideline Status", "")
    superseded_text = "\n".join([status, texts.get("NGC Status", ""), texts.get("Guideline Developer Comment", "")])
    previous = _PREVIOUS.search(status)
    schemes = [
        (label, texts.get(f"Rating Scheme for the Strength of the {label}", ""))
        for label in ("Evidence", "Recommendations")
    ]
    scheme_text = "\n\n".join(f"{label}: {t}" for label, t in schemes if t and not _is_placeholder(t))
    url = NGC_URL.format(ngc_id=ngc_id)
    citation_source = " ".join(bibliographic.split("\n")[0].split()) if bibliographic else title
    metadata: dict[str, Any] = {
        "source": "ngc",
        "ngc_id": ngc_id,
        "developer": developer,
        "developer_type": developer_type,
        "endorser": endorser,
        "released": released or None,
        "year": int(published[:4]) if published else None,
        "status": status or None,
        "superseded": bool(_SUPERSEDED.search(superseded_text)),
        "previous_version": " ".join(previous.group(1).split()) if previous and previous.group(1).strip() else None,
        "bibliographic_source": bibliographic or None,
        "pmid": pmid_match.group(1) if pmid_match else None,
        "diseases": items_of(texts.get("Disease/Condition(s)", "")),
        "interventions": items_of(texts.get("Interventions and Practices Considered", "")),
        "grading_scheme": shorten(scheme_text, GRADING_SCHEME_LIMIT) if scheme_text else None,
        "copyright": " ".join(copyright_text.split()),
        "citation": (
            f"{citation_source.rstrip()} Summarised by the National Guideline Clearinghouse (AHRQ), NGC:{ngc_id}; "
            "public domain per the summary's copyright statement."
        ),
    }
    doc = Document.from_sections(
        id=f"ngc:{ngc_id}",
        title=title,
        source_type="guideline",
        sections=sections,
        url=url,
        published=published,
        language="en",
        metadata={k: v for k, v in metadata.items() if v not in (None, [], "")},
    )
    located = locate_statements(doc, pending, statement_sections)
    return replace(doc, metadata={**doc.metadata, "recommendations": located})


def locate_statements(doc: Document, pending: list[tuple[str, str]], where: list[int]) -> list[dict[str, Any]]:
    """Character offsets in ``doc.text`` of each graded statement (searched in order within its section).

    Section indexes line up with ``doc.sections``: empty parts were skipped before ``from_sections``.
    """
    out: list[dict[str, Any]] = []
    cursor: dict[int, int] = {}
    for (statement, grade), index in zip(pending, where, strict=True):
        if index >= len(doc.sections):
            continue
        span = doc.sections[index]
        body = doc.text[span.start : span.end]
        at = body.find(statement, cursor.get(index, 0))
        if at < 0:
            continue
        cursor[index] = at + len(statement)
        start = span.start + at
        out.append({"section": span.heading, "start": start, "end": start + len(statement), "grade": grade})
    return out
