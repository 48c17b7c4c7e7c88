"""Which reader reads a path: the one entry point for ``medevidence index PATH``.

- a ``.jsonl`` / ``.jsonl.gz`` file -> the generic JSONL reader; a ``*.rules.jsonl`` file -> the same reader, each
  line a hospital rule (``app/rules.py``);
- a folder -> the source it is laid out as (openFDA records, NLM-180 ``txt/``, MedQuAD
  numbered collections, PubMedQA ``abstracts.jsonl``, PK-DDI label sections, ONC lists, VA NDF-RT
  pairs, LabeledIn indications, TAC 2017 ADR label sections, NGC guideline summaries), or,
  failing that, every ``*.jsonl`` / ``*.jsonl.gz`` inside it (recursively, sorted);
- anything else -> one ``Rejected`` with line 0 and the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from app.rules import is_rules_file, rule_document
from indexers.sources.base import ReadItem, Rejected
from indexers.sources.interactions import list_files, read_interactions
from indexers.sources.jsonl import is_jsonl, read_jsonl
from indexers.sources.labeledin import is_labeledin_folder, read_labeledin
from indexers.sources.medquad import collection_dirs, read_medquad
from indexers.sources.ndfrt import is_ndfrt_folder, read_ndfrt
from indexers.sources.ngc_guidelines import is_ngc_folder, read_ngc_guidelines
from indexers.sources.nlm180 import read_nlm180
from indexers.sources.openfda import read_openfda
from indexers.sources.pubmedqa import ABSTRACTS_FILE, read_pubmedqa
from indexers.sources.spl_adr import SECTIONS_FILE, read_spl_adr
from indexers.sources.spl_sections import CP_DIR, DI_DIR, read_spl_sections

Reader = Callable[[Path], Iterator[ReadItem]]


def _is_pubmedqa(path: Path) -> bool:
    return (path / ABSTRACTS_FILE).is_file()


def _is_nlm180(path: Path) -> bool:
    return (path / "txt").is_dir() and any((path / "txt").glob("*.txt"))


def _is_spl_sections(path: Path) -> bool:
    return (path / DI_DIR).is_dir() or (path / CP_DIR).is_dir()


def _is_medquad(path: Path) -> bool:
    return any(any(d.glob("*.xml")) for d in collection_dirs(path))


def _is_interactions(path: Path) -> bool:
    return bool(list_files(path))


def _is_spl_adr(path: Path) -> bool:
    return (path / SECTIONS_FILE).is_file()


def _is_openfda(path: Path) -> bool:
    candidates = [*path.glob("*.json"), *path.glob("*/*.json")]
    return any(p.name != "manifest.json" for p in candidates)


#: (source name, layout test, reader), tried in this order.
LAYOUTS: tuple[tuple[str, Callable[[Path], bool], Reader], ...] = (
    ("pubmedqa", _is_pubmedqa, read_pubmedqa),
    ("nlm180", _is_nlm180, read_nlm180),
    ("spl_sections", _is_spl_sections, read_spl_sections),
    ("medquad", _is_medquad, read_medquad),
    ("interactions", _is_interactions, read_interactions),
    ("ndfrt", is_ndfrt_folder, read_ndfrt),
    ("labeledin", is_labeledin_folder, read_labeledin),
    ("spl_adr", _is_spl_adr, read_spl_adr),
    ("ngc_guidelines", is_ngc_folder, read_ngc_guidelines),
    ("openfda", _is_openfda, read_openfda),  # last: any folder of *.json files looks like it
)


def detect_source(path: Path) -> str | None:
    """The name of the source a folder is laid out as, or None."""
    for name, test, _ in LAYOUTS:
        if test(path):
            return name
    return None


def reader_for(name: str) -> Reader:
    """The reader of a source by name (KeyError for an unknown name)."""
    return {n: reader for n, _, reader in LAYOUTS}[name]


def read_path(path: Path) -> Iterator[ReadItem]:
    """Read a file or folder with the right reader; never raises on bad input."""
    if path.is_file():
        if is_rules_file(path.name):
            yield from read_jsonl(path, rule_document)
        elif is_jsonl(path):
            yield from read_jsonl(path)
        else:
            yield Rejected(str(path), 0, "unsupported file: expected .jsonl, .jsonl.gz or a source folder")
        return
    if not path.is_dir():
        yield Rejected(str(path), 0, "no such file or folder")
        return
    source = detect_source(path)
    if source is not None:
        yield from reader_for(source)(path)
        return
    files = sorted(p for p in path.rglob("*") if p.is_file() and is_jsonl(p))
    if not files:
        reason = "folder is no known source layout and holds no .jsonl or .jsonl.gz files"
        yield Rejected(str(path), 0, reason)
        return
    for file in files:  # a folder's rules files are sources of their own (``plan_paths``), each the whole of its rules
        if not is_rules_file(file.name):
            yield from read_jsonl(file)

