"""Fixture PDFs for the PDF parser's tests and benchmark, built at test time (nothing binary is committed).

Each PDF is an HTML page printed by Debian's headless Chromium through Playwright (``testkit.browser_support``),
with a running header (the document's short title) and a footer "N / M", so the PDFs carry real repeating
headers and footers.  The texts are real and public domain: a CDC/APHL guideline summary of the National
Guideline Clearinghouse (``knowledge/docs/ngc_guidelines.jsonl.gz``), an FDA warfarin label (openFDA), and a
Chinese warfarin instruction sheet (说明书) written for these tests as a faithful Chinese rendering of facts in
that public-domain FDA label.

What a test checks against comes with the path (``FixturePdf``): the headings in order, list items, table
rows, short known sentences, and each page's plain text as pypdf extracts it (pdfium's plain text for the
Chinese sheet: see ``pdfium_page_texts``), an independent check of the page a text stands on.  ``scanned_pdf``
turns a page into an image-only PDF for the OCR tests; ``text_pdf`` writes a small PDF of given text runs with
pdfium, for layout cases without a browser; ``long_guideline_pdf`` is the speed benchmark's ~100 pages.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import subprocess
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .browser_support import chromium, require

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"

GUIDELINE_ID = "ngc:10520"  # CDC/APHL, "Laboratory testing for the diagnosis of HIV infection" (about 6 pages)
LONG_GUIDELINE_IDS = ("ngc:10647", "ngc:11050", "ngc:10646", "ngc:10966", "ngc:11313", "ngc:9978")
LABEL_DRUG = "warfarin"
TABLE_SECTIONS = ("Disease/Condition(s)", "Source(s) of Funding", "Copyright Statement")
CJK_FONT = "Noto Sans CJK SC"

_STYLE = """
@page { size: Letter; }
body { font-family: "Liberation Serif", serif; font-size: 11pt; line-height: 1.35; text-align: justify;
       hyphens: auto; }
h1 { font-family: "Liberation Sans", sans-serif; font-size: 20pt; margin: 0 0 14pt; text-align: left; }
h2 { font-family: "Liberation Sans", sans-serif; font-size: 14pt; margin: 14pt 0 6pt; text-align: left;
     hyphens: manual; }
p { margin: 0 0 7pt; }
li { margin: 0 0 3pt; }
ul { list-style-type: "\\2022  "; }  /* a text bullet: Chromium paints the default disc as a shape, not text */
table { border-collapse: collapse; margin: 0 0 10pt; }
th, td { text-align: left; padding: 2pt 48pt 2pt 0; vertical-align: top; }
"""
_CJK_STYLE = f"""
@page {{ size: A4; }}
body {{ font-family: "{CJK_FONT}", sans-serif; font-size: 10.5pt; line-height: 1.6; }}
h1 {{ font-size: 18pt; text-align: center; margin: 0 0 12pt; }}
p {{ margin: 0 0 5pt; }}
p.h {{ margin: 10pt 0 4pt; }}
"""
_HEADER = ('<div style="font-size:8pt; width:100%; margin:0 15mm; font-family:\'Liberation Sans\',\'{font}\'">'
           '{text}</div>')
_FOOTER = ('<div style="font-size:8pt; width:100%; text-align:center; font-family:\'Liberation Sans\'">'
           '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
_DASHES = re.compile(r"[\s\-\u00ad\u2010\u2011\u2012\u2013\u2014\u2212]+")


def normalise(text: str) -> str:
    """Text for page membership checks: NFKC, lower case, no whitespace, no hyphens or dashes."""
    return _DASHES.sub("", unicodedata.normalize("NFKC", text)).lower()


@dataclass(frozen=True)
class FixturePdf:
    """A built fixture PDF and what its parse should give."""

    path: Path
    title: str
    header: str  # the running header's text (must not survive parsing)
    sections: tuple[str, ...]  # the section headings (h2, or the 【...】 markers), in order; not the title
    list_items: tuple[tuple[str, bool], ...] = ()  # (text without bullet or number, numbered)
    table_rows: tuple[str, ...] = ()  # rows of the fixture's table, cells joined by " | "
    sentences: tuple[str, ...] = ()  # short sentences known to be in the text
    page_texts: tuple[str, ...] = ()  # each page's plain text by pypdf (pdfium for Chinese), not by the parser
    normalised: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "normalised", tuple(normalise(text) for text in self.page_texts))

    @property
    def page_count(self) -> int:
        return len(self.page_texts)

    def pages_of(self, text: str) -> list[int]:
        """The 1-based pages whose independent text contains ``text`` (whitespace and hyphens ignored)."""
        needle = normalise(text)
        return [n for n, page in enumerate(self.normalised, 1) if needle and needle in page]

    def page_of(self, text: str) -> int | None:
        """The one page holding ``text``, or None when no page or several do."""
        pages = self.pages_of(text)
        return pages[0] if len(pages) == 1 else None

    def soft_hyphen_breaks(self) -> list[tuple[str, str]]:
        """(before, after) of each word Chromium broke at a line end with its hyphenation hyphen (U+2010, which
        it prints for a soft hyphen; a word's own hyphen is U+002D), as pypdf reads the pages."""
        return [(m.group(1), m.group(2)) for text in self.page_texts
                for m in re.finditer(r"([a-z]+) ?\u2010\n([a-z]+)", text)]



def _read_jsonl(name: str) -> Iterable[dict[str, object]]:
    with gzip.open(KNOWLEDGE / "docs" / name, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _document(name: str, doc_id: str) -> dict[str, object]:
    for row in _read_jsonl(name):
        if row["id"] == doc_id:
            return row
    raise LookupError(f"{doc_id} is not in {name}")


def _sections(doc: dict[str, object]) -> list[dict[str, str]]:
    sections = doc["sections"]
    assert isinstance(sections, list)
    return sections


def independent_page_texts(path: Path) -> tuple[str, ...]:
    """Each page's text by pypdf (not the parser under test)."""
    from pypdf import PdfReader

    return tuple(page.extract_text() or "" for page in PdfReader(path).pages)


def pdfium_page_texts(path: Path) -> tuple[str, ...]:
    """Each page's plain text by pdfium (``get_text_range``: no layout analysis, none of the parser's rules).
    For the Chinese fixture: pypdf reads some of the CJK glyphs of Chromium's Type 3 fonts as radicals (⻛ for
    风), which no normalisation maps back."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(path)
    try:
        return tuple(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


def _print_pdf(body: str, path: Path, *, title: str, header: str, lang: str = "en", style: str = _STYLE,
               header_font: str = "Liberation Sans") -> None:
    """Print an HTML body to ``path`` with Chromium, with the running header and the "N / M" footer."""
    page_html = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}'
                 f"</title><style>{style}</style></head><body>{body}</body></html>")
    with chromium() as browser:
        page = browser.new_page()
        page.set_content(page_html)
        page.pdf(path=str(path), display_header_footer=True, print_background=False,
                 header_template=_HEADER.format(text=html.escape(header), font=header_font),
                 footer_template=_FOOTER, margin={"top": "22mm", "bottom": "22mm", "left": "20mm", "right": "20mm"})
        page.close()


def _soft_hyphens(text: str) -> str:
    """Escaped text with a soft hyphen in the middle of each long word, so that Chromium breaks some lines
    inside words and prints a line-end hyphen (its own ``hyphens: auto`` needs dictionaries Debian lacks)."""
    def split(match: re.Match[str]) -> str:
        word = match.group(0)
        return word[: len(word) // 2] + "\u00ad" + word[len(word) // 2:]

    return re.sub(r"(?<![\w-])[a-z]{12,}(?![\w-])", split, html.escape(text))


_BULLET = re.compile(r"^- (.*)$")
_NUMBERED = re.compile(r"^(\d{1,2})\. (.*)$")
_SENTENCE_END = re.compile(r"(?<=[a-z)]\.)\s+(?=[A-Z])")  # not after "U.S." or "e.g."


def _text_html(text: str, items: list[tuple[str, bool]]) -> str:
    """A section's text as HTML: "- " lines as <ul>, "1. " lines as <ol>, other lines as <p>.  The list items'
    texts are appended to ``items``."""
    parts: list[str] = []
    for line in (raw.strip() for raw in text.split("\n")):
        if not line:
            continue
        if bullet := _BULLET.match(line):
            items.append((bullet.group(1), False))
            parts.append(f"<ul><li>{_soft_hyphens(bullet.group(1))}</li></ul>")
        elif numbered := _NUMBERED.match(line):
            items.append((numbered.group(2), True))
            parts.append(f'<ol start="{numbered.group(1)}"><li>{_soft_hyphens(numbered.group(2))}</li></ol>')
        else:
            parts.append(f"<p>{_soft_hyphens(line)}</p>")
    return "".join(parts).replace("</ul><ul>", "")


def _first_words(text: str, count: int = 6) -> str:
    words = text.split()
    return " ".join(words[:count])


def _table_html(sections: Sequence[dict[str, str]]) -> tuple[str, tuple[str, ...]]:
    """The fixture's own small table (not in the source document): for a few sections, the heading and the
    first words of its text, one line per row."""
    chosen = [s for s in sections if s["heading"] in TABLE_SECTIONS]
    rows = [("Section", "First words")] + [(s["heading"], _first_words(s["text"])) for s in chosen]
    cells = "".join(f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td></tr>" for a, b in rows[1:])
    head = f"<tr><th>{rows[0][0]}</th><th>{rows[0][1]}</th></tr>"
    return f"<table>{head}{cells}</table>", tuple(f"{a} | {b}" for a, b in rows)


def _sentences(texts: Iterable[str], count: int, max_len: int = 120) -> tuple[str, ...]:
    """``count`` short whole sentences of running text (not list lines), evenly spread over the texts."""
    found = [sentence for text in texts for line in text.split("\n")
             if not (_BULLET.match(line) or _NUMBERED.match(line))
             for sentence in _SENTENCE_END.split(line)
             if 40 <= len(sentence) <= max_len and sentence.endswith(".") and sentence[0].isupper()]
    return tuple(found[:: max(1, len(found) // count)][:count])


def guideline_pdf(out_dir: Path) -> FixturePdf:
    """ngc:10520 (CDC/APHL, public domain) as a 7-page PDF: title h1, section headings h2, lists, and one
    table constructed by the fixture from the document's headings and first words (see ``_table_html``)."""
    doc = _document("ngc_guidelines.jsonl.gz", GUIDELINE_ID)
    sections = _sections(doc)
    title = str(doc["title"])
    items: list[tuple[str, bool]] = []
    table, rows = _table_html(sections)
    body = [f"<h1>{html.escape(title)}</h1>", table]
    for section in sections:
        body.append(f"<h2>{html.escape(section['heading'])}</h2>{_text_html(section['text'], items)}")
    path = out_dir / "guideline.pdf"
    header = "HIV laboratory testing: updated recommendations"
    if not path.exists():
        _print_pdf("".join(body), path, title=title, header=header)
    return FixturePdf(path=path, title=title, header=header, sections=tuple(s["heading"] for s in sections),
                      list_items=tuple(items), table_rows=rows,
                      sentences=_sentences((s["text"] for s in sections), 8),
                      page_texts=independent_page_texts(path))


def long_guideline_pdf(out_dir: Path, pages: int = 100) -> Path:
    """About ``pages`` pages of the longest NGC guidelines, one after another (for the speed benchmark)."""
    body: list[str] = []
    target_chars = pages * 2700  # about 2,700 characters a page at this style
    total = 0
    for doc_id in LONG_GUIDELINE_IDS:
        doc = _document("ngc_guidelines.jsonl.gz", doc_id)
        body.append(f"<h1>{html.escape(str(doc['title']))}</h1>")
        for section in _sections(doc):
            body.append(f"<h2>{html.escape(section['heading'])}</h2>{_text_html(section['text'], [])}")
            total += len(section["text"])
            if total >= target_chars:
                break
        if total >= target_chars:
            break
    path = out_dir / f"long_guideline_{pages}.pdf"
    if not path.exists():
        _print_pdf("".join(body), path, title="Medical treatment guidelines (NGC)", header="NGC guidelines")
    return path


def label_pdf(out_dir: Path, max_chars: int = 15000) -> FixturePdf:
    """The openFDA warfarin label's first sections (up to ``max_chars`` characters of text, whole sections) as a
    PDF of several pages, one h2 and one long paragraph per section."""
    doc = next(row for row in _read_jsonl("openfda.jsonl.gz") if LABEL_DRUG in str(row["title"]).lower())
    title = str(doc["title"])
    chosen: list[dict[str, str]] = []
    for section in _sections(doc):
        if chosen and sum(len(s["text"]) for s in chosen) + len(section["text"]) > max_chars:
            break
        chosen.append(section)
    body = [f"<h1>{html.escape(title)}</h1>"]
    body += [f"<h2>{html.escape(s['heading'])}</h2><p>{_soft_hyphens(s['text'])}</p>" for s in chosen]
    path = out_dir / "label.pdf"
    header = "Warfarin sodium tablets: prescribing information"
    if not path.exists():
        _print_pdf("".join(body), path, title=title, header=header)
    return FixturePdf(path=path, title=title, header=header, sections=tuple(s["heading"] for s in chosen),
                      sentences=_sentences((s["text"] for s in chosen), 6), page_texts=independent_page_texts(path))


CHINESE_TITLE = "华法林钠片说明书"
# (heading, paragraphs): a faithful Chinese rendering of facts in the FDA warfarin label (public domain).
CHINESE_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("【警示语】", ("出血风险：华法林钠可引起严重或致命的出血。所有接受治疗的患者均应定期监测国际标准化比值（INR）。"
                 "药物、饮食改变及其他因素会影响华法林钠治疗所达到的INR水平。应指导患者采取预防措施以尽量降低出血风险，"
                 "并报告出血的体征和症状。",)),
    ("【药品名称】", ("通用名称：华法林钠片", "英文名称：Warfarin Sodium Tablets")),
    ("【成份】", ("本品主要成份为华法林钠。结晶华法林钠是一种抗凝剂，通过抑制维生素K依赖性凝血因子发挥作用。",)),
    ("【适应症】", ("本品适用于：",
                 "（1）预防和治疗静脉血栓形成及其扩展、肺栓塞。",
                 "（2）预防和治疗与心房颤动和/或心脏瓣膜置换相关的血栓栓塞并发症。",
                 "（3）降低心肌梗死后死亡、再发心肌梗死以及卒中或全身性栓塞等血栓栓塞事件的风险。",
                 "使用限制：本品对已形成的血栓无直接作用，也不能逆转缺血性组织损伤。")),
    ("【规格】", ("1 mg；2 mg；2.5 mg；3 mg；4 mg；5 mg；6 mg；7.5 mg；10 mg。",)),
    ("【用法用量】", ("应根据每位患者的INR反应个体化给药，并根据患者的INR和所治疗的疾病调整剂量。"
                   "对于静脉血栓栓塞，调整华法林剂量使目标INR维持在2.5（INR范围2.0～3.0）。"
                   "对于非瓣膜性心房颤动，抗凝目标INR为2.5（范围2.0～3.0）。",
                   "开始治疗时应每日测定INR直至稳定于治疗范围内，此后每1至4周测定一次INR。"
                   "对于大多数患者，INR大于4.0似乎不能带来额外的治疗获益，且出血风险更高。")),
    ("【禁忌】", ("以下情况禁用本品：",
                "（1）妊娠，但机械心脏瓣膜置换的孕妇除外。",
                "（2）有出血倾向或血液恶液质者。",
                "（3）近期接受或拟接受中枢神经系统或眼部手术，或造成大面积开放创面的创伤性手术者。",
                "（4）伴有胃肠道、泌尿生殖道或呼吸道活动性溃疡或明显出血等情况的出血倾向者。",
                "（5）先兆流产、子痫和子痫前期。",
                "（6）恶性高血压。",
                "（7）对华法林或本品任何其他成份过敏者。")),
    ("【不良反应】", ("华法林钠最常见的不良反应是任何组织或器官的致命性和非致命性出血。"
                   "其他严重不良反应包括组织坏死、钙化防御、急性肾损伤、全身性动脉粥样硬化栓塞和胆固醇微栓塞。"
                   "其他不良反应包括：超敏反应/过敏反应、血管炎、肝炎、肝酶升高、恶心、呕吐、腹泻、味觉异常、腹痛、"
                   "胃肠胀气、腹胀、皮疹、皮炎、瘙痒、脱发和寒战。",)),
    ("【药物相互作用】", ("合用增加出血风险的药物、抗生素、抗真菌药、植物（草药）制品"
                     "以及CYP2C9、1A2或3A4的抑制剂和诱导剂时，应注意相互作用。CYP2C9、1A2和/或3A4抑制剂可能通过增加华法林的暴露而增强其作用（升高INR）；"
                     "上述酶的诱导剂可能通过降低华法林的暴露而减弱其作用（降低INR）。"
                     "开始或停用其他药物（包括植物药）或改变其他药物剂量时，应更频繁地监测INR。",)),
    ("【药物过量】", ("出血（如血便或血尿、月经过多、黑便、瘀点、过度瘀伤或浅表损伤持续渗血、不明原因的血红蛋白下降）"
                   "是抗凝过度的表现。可停用华法林钠，必要时口服或肠外给予维生素K1以逆转抗凝作用。"
                   "如需紧急逆转华法林钠的作用，可考虑使用凝血酶原复合物浓缩物（PCC）、新鲜冰冻血浆或活化的凝血因子VII。",)),
    ("【贮藏】", ("20～25℃保存，允许短暂存放于15～30℃。避光、防潮。置于密闭、避光的容器中。",)),
)
CHINESE_ITEMS = tuple((p[3:], True) for _, paragraphs in CHINESE_SECTIONS for p in paragraphs if p.startswith("（"))
CHINESE_SENTENCES = ("开始治疗时应每日测定INR直至稳定于治疗范围内，此后每1至4周测定一次INR。",
                     "华法林钠最常见的不良反应是任何组织或器官的致命性和非致命性出血。",
                     "本品主要成份为华法林钠。")


def cjk_font_installed() -> bool:
    try:
        listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    except OSError:
        return False
    return CJK_FONT in listed.stdout


def chinese_instruction_pdf(out_dir: Path) -> FixturePdf:
    """The Chinese warfarin instruction sheet (华法林钠片说明书) with bold 【...】 headings at body size."""
    require(cjk_font_installed(), f"no CJK font: fc-list shows no {CJK_FONT} (apt-get install fonts-noto-cjk)")
    body = [f"<h1>{CHINESE_TITLE}</h1>", "<p>请仔细阅读说明书并在医师指导下使用。</p>"]
    for heading, paragraphs in CHINESE_SECTIONS:
        body.append(f'<p class="h"><b>{heading}</b></p>')
        body += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    path = out_dir / "warfarin_zh.pdf"
    header = "华法林钠片（处方药）"
    if not path.exists():
        _print_pdf("".join(body), path, title=CHINESE_TITLE, header=header, lang="zh-CN", style=_CJK_STYLE,
                   header_font=CJK_FONT)
    return FixturePdf(path=path, title=CHINESE_TITLE, header=header,
                      sections=tuple(h for h, _ in CHINESE_SECTIONS),
                      list_items=CHINESE_ITEMS, sentences=CHINESE_SENTENCES, page_texts=pdfium_page_texts(path))


def ocr_recall(fixture: FixturePdf, page: int, text: str) -> float:
    """The share of a page's known words that an OCR ``text`` of it holds, spaces, case and hyphens ignored (OCR
    runs English words together): Latin words of 5 letters or more, and pairs of adjacent CJK characters."""
    from indexers.files.text_joining import is_cjk

    source = fixture.page_texts[page - 1]
    known = {word.lower() for word in re.findall(r"[A-Za-z]{5,}", source)}
    cjk = normalise(source)
    known |= {cjk[i:i + 2] for i in range(len(cjk) - 1) if is_cjk(cjk[i]) and is_cjk(cjk[i + 1])}
    read = normalise(text)
    return sum(word in read for word in known) / len(known) if known else 1.0


def scanned_pdf(source_pdf: Path, out_dir: Path, page: int = 1, dpi: int = 150) -> Path:
    """Page ``page`` (1-based) of ``source_pdf`` rasterised at ``dpi`` and saved as an image-only PDF."""
    import pypdfium2

    path = out_dir / f"{source_pdf.stem}_p{page}_scan{dpi}.pdf"
    if not path.exists():
        pdf = pypdfium2.PdfDocument(source_pdf)
        try:
            image = pdf[page - 1].render(scale=dpi / 72).to_pil().convert("RGB")
        finally:
            pdf.close()
        image.save(path, "PDF", resolution=dpi)
    return path


@dataclass(frozen=True)
class Text:
    """One text run for ``text_pdf``: PDF units from the bottom left, a standard font."""

    x: float
    y: float
    text: str
    size: float = 11.0
    font: str = "Helvetica"


def text_pdf(path: Path, pages: Sequence[Sequence[Text]], title: str | None = None) -> Path:
    """A small PDF with exactly the given text runs (Letter pages; standard fonts, so Latin text only), made
    with pdfium's own writer: layout cases the parser must read, without a browser."""
    import ctypes

    import pypdfium2
    import pypdfium2.raw as pdfium_c

    pdf = pypdfium2.PdfDocument.new()
    try:
        for runs in pages:
            page = pdf.new_page(612, 792)
            for run in runs:
                obj = pdfium_c.FPDFPageObj_NewTextObj(pdf.raw, run.font.encode(), ctypes.c_float(run.size))
                utf16 = (run.text + "\0").encode("utf-16-le")
                pdfium_c.FPDFText_SetText(obj, ctypes.cast(ctypes.c_char_p(utf16), ctypes.POINTER(ctypes.c_ushort)))
                pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, run.x, run.y)
                pdfium_c.FPDFPage_InsertObject(page.raw, obj)
            pdfium_c.FPDFPage_GenerateContent(page.raw)
            page.close()
        pdf.save(path)
    finally:
        pdf.close()
    if title is not None:
        _set_title(path, title)
    return path


def _set_title(path: Path, title: str) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(path))
    writer.add_metadata({"/Title": title})
    writer.write(path)
