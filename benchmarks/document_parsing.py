"""Document parsing speed: ``PdfParser`` pages/s on a ~100-page text PDF against plain text extraction alone by
pypdf and by pypdfium2 (the baselines), and OCR pages/s and word recall on scanned pages, in one process.

    python -m benchmarks.document_parsing [--pages 100] [--reps 5] [--out benchmarks/results]

- Text: the long guideline PDF of ``testkit.pdf_fixtures.long_guideline_pdf`` (the longest NGC guidelines printed
  by Debian's Chromium, so ``/usr/bin/chromium`` and Playwright are needed).  Each rep times, one after the
  other, ``PdfParser().parse`` (OCR off; layout, headings, lists, tables, headers and footers, joining),
  ``pypdf.PdfReader(path).pages[i].extract_text()`` for every page, and pypdfium2's
  ``get_textpage().get_text_range()`` for every page (opening the file included in all three).  One warm-up
  pass first; the median of ``--reps`` is reported.  Target: at least 20 pages/s for ours.
- OCR: page scans (``testkit.pdf_fixtures.scanned_pdf``, 150 dpi images) of two guideline pages and one page of
  the Chinese instruction sheet, parsed with OCR at each rendering resolution of ``--ocr-dpi`` and ONNX thread
  count of ``--ocr-threads`` (a fresh engine per count, built before timing); pages/s over the pages, and the
  share of each page's known words the OCR text holds (``testkit.pdf_fixtures.ocr_recall``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.machine import describe, load_average, package_versions
from indexers.files import ocr
from indexers.files.parsed import ParseOptions
from indexers.files.pdf import OCR_DPI, PdfParser

ROOT = Path(__file__).resolve().parent.parent
TARGET_PAGES_PER_S = 20.0
TARGET_INDEX_S = 60.0  # a 100-page guideline indexed, embeddings included, in under a minute (issue 23)
PACKAGES = ("pypdfium2", "pypdf", "rapidocr-onnxruntime", "onnxruntime", "playwright")


def _pypdf_text(path: Path) -> int:
    from pypdf import PdfReader

    return sum(len(page.extract_text() or "") for page in PdfReader(path).pages)


def _pdfium_text(path: Path) -> int:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(path)
    try:
        return sum(len(page.get_textpage().get_text_range()) for page in pdf)
    finally:
        pdf.close()


def _ours(path: Path) -> int:
    return len(PdfParser().parse(path, ParseOptions(ocr=False)).blocks)


def bench_text(path: Path, pages: int, reps: int) -> dict[str, Any]:
    """Pages/s of ours and of the two plain-text baselines (median of ``reps``, interleaved)."""
    methods: dict[str, Callable[[Path], int]] = {"ours": _ours, "pypdf_extract_text": _pypdf_text,
                                                 "pypdfium2_get_text_range": _pdfium_text}
    for method in methods.values():
        method(path)
    seconds: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(reps):
        for name, method in methods.items():
            started = time.perf_counter()
            method(path)
            seconds[name].append(time.perf_counter() - started)
    rates = {name: pages / statistics.median(times) for name, times in seconds.items()}
    return {"pages": pages, "reps": reps, "pages_per_s": {k: round(v, 1) for k, v in rates.items()},
            "seconds": {k: [round(t, 3) for t in v] for k, v in seconds.items()},
            "ours_vs_pypdf": round(rates["ours"] / rates["pypdf_extract_text"], 2),
            "ours_vs_pypdfium2": round(rates["ours"] / rates["pypdfium2_get_text_range"], 2),
            "target_met": rates["ours"] >= TARGET_PAGES_PER_S}


def bench_ocr(work: Path, dpis: list[int], threads: list[int]) -> dict[str, Any]:
    """OCR pages/s and word recall per (dpi, threads) over three scanned fixture pages."""
    from testkit.pdf_fixtures import chinese_instruction_pdf, guideline_pdf, ocr_recall, scanned_pdf

    guideline, chinese = guideline_pdf(work), chinese_instruction_pdf(work)
    scans = [(guideline, 1), (guideline, 3), (chinese, 1)]
    paths = [scanned_pdf(fixture.path, work, page=page) for fixture, page in scans]
    runs = []
    for count in threads:
        started = time.perf_counter()
        engine = ocr.RapidOcrEngine(count)
        load_s = time.perf_counter() - started
        for dpi in dpis:
            parser = PdfParser(ocr_engine=engine, ocr_dpi=dpi)
            recalls, seconds = [], 0.0
            for path, (fixture, page) in zip(paths, scans, strict=True):
                started = time.perf_counter()
                result = parser.parse(path, ParseOptions(ocr=True))
                seconds += time.perf_counter() - started
                recalls.append(round(ocr_recall(fixture, page, " ".join(b.text for b in result.blocks)), 3))
            runs.append({"threads": count, "dpi": dpi, "engine_load_s": round(load_s, 2),
                         "pages_per_s": round(len(paths) / seconds, 3), "s_per_page": round(seconds / len(paths), 2),
                         "recall": recalls, "load_average": round(load_average(), 2)})
    return {"pages": [f"{fixture.path.stem} p{page}" for fixture, page in scans], "runs": runs,
            "defaults": {"dpi": OCR_DPI, "threads": ocr.THREADS}}


def bench_index(path: Path, work: Path) -> dict[str, Any]:
    """``medevidence index`` of the long PDF into a new data dir, embeddings included (the command's own path:
    the parse worker, chunking, embedding, the vector store and the graph links), and ``optimize`` as the
    command ends; the stores' start-up (models, graph server) is reported apart."""
    from app.cli.wiring import open_indexer
    from app.config import Settings
    from app.runtime import Runtime

    settings = Settings(data_dir=work / "index-data", knowledge_dir=ROOT / "knowledge")
    started = time.perf_counter()
    with Runtime.open(settings) as rt:
        opened = time.perf_counter() - started
        indexer = open_indexer(rt)
        rt.embedder.encode_keyed(["warm-up"], ["warm-up"])  # the model's first call is start-up, not indexing
        began = time.perf_counter()
        summary = indexer.index_paths([path])
        rt.vectors.optimize()
        seconds = time.perf_counter() - began
    pages = _page_count(path)
    return {"pages": pages, "seconds": round(seconds, 2), "startup_s": round(opened, 2),
            "chunks": summary.chunks_written, "embedded": summary.chunks_embedded,
            "from_cache": summary.chunks_from_cache, "pages_per_s": round(pages / seconds, 2),
            "target_s": TARGET_INDEX_S, "target_met": seconds < TARGET_INDEX_S}


def _markdown(report: dict[str, Any]) -> str:
    text, machine = report["text"], report["machine"]
    rates = text["pages_per_s"]
    lines = ["# Document parsing", "", f"{machine['cpu']}, {machine['cores']}, {machine['python']}, {report['date']}",
             "", f"## Text PDF ({text['pages']} pages, median of {text['reps']} runs, one process)", "",
             "| parser | pages/s |", "| --- | ---: |",
             f"| ours: `PdfParser` (blocks, headings, lists, tables, headers/footers) | {rates['ours']} |",
             f"| baseline: pypdf `extract_text` (plain text only) | {rates['pypdf_extract_text']} |",
             f"| baseline: pypdfium2 `get_text_range` (plain text only) | {rates['pypdfium2_get_text_range']} |",
             "", f"Ours is {text['ours_vs_pypdf']}x pypdf and {text['ours_vs_pypdfium2']}x pypdfium2's plain text; "
             f"target ≥ {TARGET_PAGES_PER_S:.0f} pages/s: {'met' if text['target_met'] else 'NOT met'}.", ""]
    if report.get("index"):
        ix = report["index"]
        lines += ["## Indexed, embeddings included", "",
                  f"`index_paths` of the {ix['pages']}-page PDF into a new data dir, then `optimize`: "
                  f"**{ix['seconds']} s** ({ix['pages_per_s']} pages/s; {ix['chunks']} chunks, {ix['embedded']} "
                  f"embedded, {ix['from_cache']} from the shipped cache), after {ix['startup_s']} s of store start-up; "
                  f"target < {ix['target_s']:.0f} s: {'met' if ix['target_met'] else 'NOT met'}.", ""]
    if report.get("ocr"):
        ocr_report = report["ocr"]
        lines += ["## OCR (scanned pages: " + ", ".join(ocr_report["pages"]) + ")", "",
                  "| ONNX threads | render dpi | s/page | pages/s | word recall per page | load avg |",
                  "| ---: | ---: | ---: | ---: | --- | ---: |"]
        lines += [f"| {r['threads']} | {r['dpi']} | {r['s_per_page']} | {r['pages_per_s']} | "
                  f"{', '.join(str(x) for x in r['recall'])} | {r['load_average']} |" for r in ocr_report["runs"]]
        lines += ["", f"Defaults: {ocr_report['defaults']['dpi']} dpi, {ocr_report['defaults']['threads']} thread(s).",
                  ""]
    lines += ["Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pages", type=int, default=100, help="length of the long text PDF")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--ocr-dpi", default="150,200", help="rendering resolutions to try for OCR")
    parser.add_argument("--ocr-threads", default="1,2", help="ONNX intra-op thread counts to try ('' skips OCR)")
    parser.add_argument("--no-index", action="store_true", help="skip the end-to-end indexing run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    from testkit.pdf_fixtures import long_guideline_pdf

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = long_guideline_pdf(work, args.pages)
        report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "machine": describe(),
                                  "versions": package_versions(PACKAGES),
                                  "text": bench_text(path, _page_count(path), args.reps)}
        if not args.no_index:
            report["index"] = bench_index(path, work)
        threads = [int(n) for n in args.ocr_threads.split(",") if n]
        if threads and ocr.available():
            report["ocr"] = bench_ocr(work, [int(n) for n in args.ocr_dpi.split(",")], threads)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "document_parsing.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n",
                                                    encoding="utf-8")
    text = _markdown(report)
    (args.out / "document_parsing.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def _page_count(path: Path) -> int:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


if __name__ == "__main__":
    sys.exit(main())
