"""The OCR seam: reading the text of a page image (a scanned PDF page), when the optional ``ocr`` extra is installed.

Scanned PDFs have no text layer; without OCR their pages can only be reported as skipped.  OCR is optional
(the ``ocr`` extra brings rapidocr-onnxruntime, whose PP-OCRv4 Chinese + English ONNX models ship inside its
wheel, so nothing is downloaded at run time), so the product imports it only inside functions and asks
``available()`` first.  The PDF parser sees only ``OcrEngine.read``: an image in, text lines with their boxes
out.  The engine is built once per process (a fraction of a second) and runs ONNX Runtime with ``THREADS`` intra-op
threads: on the 2-core benchmark machine, with nothing else running, two threads read a page in about 5-6 s
against 8-10 s for one (``benchmarks/document_parsing.py`` measures both; when two parse workers both read
scans, the cores are shared either way).  The text-direction classifier is off: it turned some upright Chinese
lines upside down (read as nothing), and pdfium renders a page with its /Rotate applied, so scans arrive upright.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from typing import Any, Protocol

THREADS = 2

_lock = threading.Lock()
_engine: OcrEngine | None = None


@dataclass(frozen=True)
class OcrLine:
    """One line of text read from an image: ``box`` is (left, top, right, bottom) in image pixels."""

    text: str
    box: tuple[float, float, float, float]
    confidence: float


class OcrEngine(Protocol):
    """Reads the text lines of an image (a PIL image)."""

    def read(self, image: Any) -> list[OcrLine]: ...


def available() -> bool:
    """Whether the OCR extra (rapidocr-onnxruntime) is installed."""
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


def engine() -> OcrEngine:
    """The process's OCR engine, built on first use (``available()`` must be true)."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = RapidOcrEngine(THREADS)
        return _engine


class RapidOcrEngine:
    """rapidocr-onnxruntime's PP-OCRv4 detector and Chinese + English recogniser, models from its wheel."""

    def __init__(self, threads: int = THREADS) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self._ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, use_cls=False)

    def read(self, image: Any) -> list[OcrLine]:
        result, _elapsed = self._ocr(image.convert("RGB"))
        return [_line(box, text, score) for box, text, score in result or ()]


def _line(box: list[list[float]], text: str, score: float) -> OcrLine:
    xs = [point[0] for point in box]
    ys = [point[1] for point in box]
    return OcrLine(text=text, box=(min(xs), min(ys), max(xs), max(ys)), confidence=float(score))
