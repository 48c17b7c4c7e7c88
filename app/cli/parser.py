"""The ``medevidence`` command line's grammar: every command, argument and help text, and nothing that runs.

Kept apart from the commands so that the interface can be read (and tested) without importing the stores, and so
that the commands read settled arguments only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.auth import ROLES
from app.model import SOURCE_TYPES


def _add_filters(command: argparse.ArgumentParser) -> None:
    """The evidence filters of ``search`` and ``ask`` (as ``POST /v1/search`` takes them)."""
    command.add_argument("--source-type", action="append", help="keep only this source type (repeatable)")
    command.add_argument("--published-from", help="keep only evidence published on or after this ISO date")
    command.add_argument("--language", choices=["en", "zh"], help="keep only evidence in this language")


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="index location (default: $MEDEVIDENCE_DATA_DIR, else ./data)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medevidence", description="Evidence-grounded medical QA")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser(
        "index", help="index the starter knowledge, or the given files and folders: PDF, Word (.docx), HTML, "
                      "Markdown, text, .jsonl(.gz) and source folders")
    index.add_argument("paths", nargs="*", type=Path,
                       help=".pdf .docx .html .htm .md .txt .jsonl(.gz) files, folders of them, or source folders")
    index.add_argument("--json", action="store_true", help="print a JSON summary")
    index.add_argument("--glob", action="append", default=[], metavar="PATTERN",
                       help="in a folder, index only files whose relative path or name matches (repeatable)")
    index.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                       help="in a folder, leave out files whose relative path or name matches (repeatable)")
    index.add_argument("--id-prefix", metavar="PREFIX",
                       help="document ids are PREFIX + the file's path relative to the folder (default: the "
                            "folder's name and '/')")
    index.add_argument("--source-type", choices=SOURCE_TYPES,
                       help="the source type of the files' documents (default: label for a file whose title says "
                            "it is a drug label — 说明书, prescribing information, package insert — else other)")
    index.add_argument("--prune", action="store_true",
                       help="also remove the documents of files deleted from the given folders")
    index.add_argument("--no-ocr", action="store_true",
                       help="report PDF pages without a text layer as skipped instead of reading them with OCR")
    _add_data_dir(index)

    delete = sub.add_parser("delete", help="remove documents and everything derived from them")
    delete.add_argument("ids", nargs="+", help="document ids")
    _add_data_dir(delete)

    check = sub.add_parser("check", help="verify that the manifest, vectors and graph agree")
    check.add_argument("--json", action="store_true")
    _add_data_dir(check)

    search = sub.add_parser("search", help="hybrid search (one query, or a batch file)")
    search.add_argument("query", nargs="?", help="the question or keywords (Chinese or English)")
    search.add_argument("--k", type=int, default=10, help="number of hits (1-100)")
    search.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_filters(search)
    search.add_argument("--queries", type=Path, help='batch input: JSON lines {"id", "query", "filters"?}')
    search.add_argument("--output", type=Path, help='batch output: JSON lines {"id", "hits"}')
    _add_data_dir(search)

    ask = sub.add_parser("ask", help="a grounded answer with verified citations")
    ask.add_argument("question", help="the clinical question (Chinese or English)")
    ask.add_argument("--k", type=int, default=None, help="evidence passages given to the answerer (1-20)")
    ask.add_argument("--json", action="store_true", help="print the answer object as JSON")
    ask.add_argument("--conversation-id", help="continue a conversation (follow-up questions)")
    ask.add_argument("--reasoning", action="store_true", help="also show the model's reasoning")
    _add_filters(ask)
    _add_data_dir(ask)

    drug = sub.add_parser("drug", help="a drug card: ids, names, classes, indications, cited label sections")
    drug.add_argument("name", help="generic, brand or Chinese name, DrugBank id or UNII")
    drug.add_argument("--json", action="store_true", help="print the card as JSON")
    _add_data_dir(drug)

    cover = sub.add_parser("coverage", help="what the indexed knowledge holds, per source and in total")
    cover.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_data_dir(cover)

    inter = sub.add_parser("interactions", help="cited drug-drug interaction check of a medication list")
    inter.add_argument("names", nargs="+", help="two or more medications (any language, brand or generic)")
    inter.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_data_dir(inter)

    rules = sub.add_parser("rules", help="the hospital's indexed rules: what each binds, whether it applies today")
    rules.add_argument("--json", action="store_true", help="print the listing as JSON")
    _add_data_dir(rules)

    serve = sub.add_parser("serve", help="run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    _add_data_dir(serve)

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="print a new API key once (stored hashed)")
    create.add_argument("--role", choices=list(ROLES), required=True,
                        help="reader: search and ask; reviewer: also review answers; admin: everything")
    create.add_argument("--name", default="")
    _add_data_dir(create)

    reviews = sub.add_parser("reviews", help="clinicians' reviews of answers")
    reviews_sub = reviews.add_subparsers(dest="reviews_command", required=True)
    export = reviews_sub.add_parser(
        "export", help="write the reviewed questions with their verdicts as an evaluation set (one JSON object a "
                       "line; python -m benchmarks.reviewed reads it)")
    export.add_argument("--jsonl", action="store_true", required=True, help="JSON lines (the one format)")
    export.add_argument("--out", type=Path, help="the file to write (default: stdout)")
    export.add_argument("--status", choices=["open", "resolved", "all"], default="all",
                        help="only the reviews in this state (default: all)")
    export.add_argument("--verdict", choices=["correct", "incorrect", "unsafe"],
                        help="only the reviews with this verdict")
    _add_data_dir(export)
    return parser
