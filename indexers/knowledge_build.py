"""Rebuild the shipped starter knowledge (``knowledge/``) from the raw sources in shared/data.

    python -m indexers.knowledge_build --shared ../shared/data --out knowledge [--embeddings]

Writes ``<out>/docs/<source>.jsonl.gz`` (generic document format, one document a line, in
reader order, gzip with mtime 0 so a rebuild is byte-identical), ``<out>/ATTRIBUTION.md`` and
``<out>/licenses/<source>/``; then calls the graph-vocabulary hook
``indexers.knowledge_graph_build.build(shared_dir, out_dir)`` and, with ``--embeddings``,
``indexers.embedding_cache_build.build(out_dir)`` when those modules exist.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import importlib.util
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import Rejected
from indexers.sources.catalog import SOURCES, SourceInfo, source_names

GRAPH_HOOK = "indexers.knowledge_graph_build"
EMBEDDING_HOOK = "indexers.embedding_cache_build"


@dataclass(frozen=True)
class BuildResult:
    """What one source's conversion produced."""

    name: str
    documents: int
    rejected: int
    seconds: float


def write_docs(docs: Iterable[Document], target: Path) -> int:
    """Write documents as gzipped JSONL, byte-identical for identical input; return the count."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    count = 0
    with tmp.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        for doc in docs:
            line = json.dumps(doc.to_json(), ensure_ascii=False, separators=(",", ":"))
            gz.write(line.encode("utf-8") + b"\n")
            count += 1
    os.replace(tmp, target)
    return count


def convert(source: SourceInfo, shared: Path, docs_dir: Path, seen: set[str]) -> BuildResult:
    """Read one source and write its docs file; rejected records and duplicate ids go to stderr."""
    started = time.perf_counter()
    rejected = 0

    def documents() -> Iterable[Document]:
        nonlocal rejected
        for item in source.reader(shared / source.subdir):
            if isinstance(item, Rejected):
                rejected += 1
                print(f"  {source.name}: skipped {item}", file=sys.stderr)
            elif item.id in seen:
                rejected += 1
                print(f"  {source.name}: duplicate id {item.id} skipped", file=sys.stderr)
            else:
                seen.add(item.id)
                yield item

    count = write_docs(documents(), docs_dir / f"{source.name}.jsonl.gz")
    return BuildResult(source.name, count, rejected, time.perf_counter() - started)


def docs_stats(path: Path) -> tuple[int, int]:
    """(documents, sections) of a written docs file; (0, 0) when it is missing."""
    if not path.is_file():
        return 0, 0
    documents = sections = 0
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            documents += 1
            sections += len(json.loads(line).get("sections", []))
    return documents, sections


def attribution_markdown(out: Path) -> str:
    """ATTRIBUTION.md: each source's origin, license, citation and counts (no timestamps)."""
    lines = [
        "# Starter knowledge: sources and attribution",
        "",
        "`docs/<source>.jsonl.gz` holds each source converted to the generic document format of "
        "CONTRACT.md (one JSON object a line). Every document's `metadata.citation` says how to cite it; "
        "`licenses/<source>/` keeps the license or notice that applies. Rebuild with "
        "`python -m indexers.knowledge_build --shared ../shared/data --out knowledge`.",
        "",
        "| source | file | documents | sections | ids |",
        "|---|---|---:|---:|---|",
    ]
    details: list[str] = []
    for source in SOURCES:
        documents, sections = docs_stats(out / "docs" / f"{source.name}.jsonl.gz")
        lines.append(
            f"| {source.name} | docs/{source.name}.jsonl.gz | {documents:,} | {sections:,} | "
            f"`{source.id_pattern}` |"
        )
        details += [
            "", f"## {source.name}: {source.title}", "",
            f"- Origin: {source.origin}",
            f"- License: {source.license}",
            f"- How to cite: {source.cite}",
            f"- Counts: {documents:,} documents, {sections:,} sections.",
            f"- License files: licenses/{source.name}/",
        ]
    return "\n".join(lines + details) + "\n"


def copy_licenses(shared: Path, out: Path) -> None:
    """Copy each source's license files, or write its notice, into ``<out>/licenses/<source>/``."""
    for source in SOURCES:
        target = out / "licenses" / source.name
        target.mkdir(parents=True, exist_ok=True)
        for rel in source.license_files:
            origin = shared / rel
            if origin.is_file():
                shutil.copyfile(origin, target / origin.name)
            else:
                print(f"  {source.name}: license file {origin} not found", file=sys.stderr)
        if source.notice:
            parts = [f"# {source.title}", source.notice, f"License: {source.license}", f"Cite: {source.cite}"]
            (target / "NOTICE.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def run_hook(module: str, *args: Any) -> bool:
    """Call ``module.build(*args)`` when the module exists; False when it is not there yet."""
    if importlib.util.find_spec(module) is None:
        print(f"{module}: not present, skipped")
        return False
    started = time.perf_counter()
    importlib.import_module(module).build(*args)
    print(f"{module}: done in {time.perf_counter() - started:.1f}s")
    return True


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m indexers.knowledge_build", description="Rebuild knowledge/ from shared/data."
    )
    parser.add_argument("--shared", type=Path, required=True, help="the shared data folder (../shared/data)")
    parser.add_argument("--out", type=Path, default=Path("knowledge"), help="knowledge folder to write")
    parser.add_argument("--only", nargs="+", choices=source_names(), help="rebuild only these sources")
    parser.add_argument("--embeddings", action="store_true", help="also build the embedding cache")
    parser.add_argument("--no-graph", action="store_true", help="skip the graph vocabulary hook")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the starter knowledge; exit status 1 when a source folder is missing."""
    args = parse_args(argv)
    shared, out = args.shared, args.out
    started = time.perf_counter()
    missing = [s.name for s in SOURCES if not (shared / s.subdir).is_dir()]
    if missing:
        print(f"missing source folders under {shared}: {', '.join(missing)}", file=sys.stderr)
        return 1
    seen: set[str] = set()
    for source in SOURCES:
        if args.only and source.name not in args.only:
            continue
        result = convert(source, shared, out / "docs", seen)
        size = (out / "docs" / f"{source.name}.jsonl.gz").stat().st_size
        print(
            f"{result.name:13s} {result.documents:6,d} documents  {result.rejected:3d} skipped  "
            f"{size / 1e6:6.2f} MB  {result.seconds:5.1f}s"
        )
    (out / "ATTRIBUTION.md").write_text(attribution_markdown(out), encoding="utf-8")
    copy_licenses(shared, out)
    total = sum(p.stat().st_size for p in (out / "docs").glob("*.jsonl.gz"))
    print(f"knowledge/docs: {total / 1e6:.2f} MB in total")
    if not args.no_graph:
        run_hook(GRAPH_HOOK, shared, out)
    if args.embeddings:
        run_hook(EMBEDDING_HOOK, out)
    print(f"done in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
