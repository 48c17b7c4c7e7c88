"""The ``medevidence`` command: the composition root that wires settings, stores and indexers."""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.model import SOURCE_TYPES

if TYPE_CHECKING:
    from app.runtime import Runtime


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return Settings(**overrides)  # type: ignore[arg-type]


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="index location (default: $MEDEVIDENCE_DATA_DIR, else ./data)",
    )


def _open(args: argparse.Namespace) -> Runtime:
    """The stores, after replaying any batch an interrupted index run left pending (app/recovery.py): no command
    reads half-written data."""
    from app.runtime import Runtime
    from indexers.pipeline import Indexer

    rt = Runtime.open(_settings(args))
    try:
        if rt.manifest.counts()["pending"]:
            replayed = Indexer(rt).recover()
            print(f"medevidence: recovered {replayed} document(s) left pending by an interrupted index run",
                  file=sys.stderr)
    except BaseException:
        rt.close()
        raise
    return rt


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
    search.add_argument("--source-type", action="append", help="keep only this source type (repeatable)")
    search.add_argument("--published-from", help="keep only evidence published on or after this ISO date")
    search.add_argument("--language", choices=["en", "zh"], help="keep only evidence in this language")
    search.add_argument("--queries", type=Path, help='batch input: JSON lines {"id", "query", "filters"?}')
    search.add_argument("--output", type=Path, help='batch output: JSON lines {"id", "hits"}')
    _add_data_dir(search)

    ask = sub.add_parser("ask", help="a grounded answer with verified citations")
    ask.add_argument("question", help="the clinical question (Chinese or English)")
    ask.add_argument("--k", type=int, default=None, help="evidence passages given to the answerer (1-20)")
    ask.add_argument("--json", action="store_true", help="print the answer object as JSON")
    ask.add_argument("--conversation-id", help="continue a conversation (follow-up questions)")
    ask.add_argument("--reasoning", action="store_true", help="also show the model's reasoning")
    ask.add_argument("--source-type", action="append", help="keep only this source type (repeatable)")
    ask.add_argument("--published-from", help="keep only evidence published on or after this ISO date")
    ask.add_argument("--language", choices=["en", "zh"], help="keep only evidence in this language")
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

    serve = sub.add_parser("serve", help="run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    _add_data_dir(serve)

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="print a new API key once (stored hashed)")
    create.add_argument("--role", choices=["reader", "admin"], required=True)
    create.add_argument("--name", default="")
    _add_data_dir(create)
    return parser


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="doc", desc="indexing", file=sys.stderr, disable=None)


class _PageBars:
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


def cmd_index(args: argparse.Namespace) -> int:
    from app.runtime import Runtime
    from indexers.pipeline import Indexer

    settings = _settings(args)
    missing = [p for p in args.paths if not p.exists()]
    for path in missing:
        print(f"{path}:0: no such file or folder", file=sys.stderr)
    from app.drugs.aliases import is_alias_file

    paths = [p for p in args.paths if p.exists()]
    if args.paths and not paths:
        return 2
    from indexers.files.reader import FileSelection

    selection = FileSelection(tuple(args.glob), tuple(args.exclude), args.id_prefix, args.source_type)
    alias_files = [p for p in paths if is_alias_file(p)]
    paths = [p for p in paths if p not in alias_files]
    aliases: dict[str, int] = {}
    alias_rejects: list[str] = []
    with Runtime.open(settings) as rt:
        indexer = Indexer(rt)
        reading = replace(indexer.file_reading(selection), ocr=settings.ocr and not args.no_ocr)
        bar, page_bars = _progress_bar(0), _PageBars()
        try:

            def progress(n: int, total: int) -> None:
                if bar.total != total:
                    bar.reset(total=total)
                bar.update(n)

            if paths or not alias_files:
                summary = (indexer.index_paths(paths, progress, reading, page_bars) if paths
                           else indexer.index_starter_knowledge(progress))
            else:
                summary = indexer.index_paths([], progress)
            if args.prune:
                summary.pruned = indexer.prune_files([p for p in paths if p.is_dir()], selection)
                summary.deleted += len(summary.pruned)
        finally:
            page_bars.close()
            bar.close()
        # Build the HNSW and sparse indexes over what the run wrote (the embedded engine has no
        # background optimiser; a no-op when nothing new reached the indexing threshold, and on a server).
        started = time.perf_counter()
        rt.vectors.optimize()
        summary.seconds += time.perf_counter() - started
        if alias_files:
            from app.drugs.catalog import DrugCatalog

            catalog = DrugCatalog(rt)
            try:
                for path in alias_files:
                    loaded = catalog.aliases.load(path, catalog.resolver)
                    aliases[str(path)] = loaded.added
                    alias_rejects.extend(loaded.rejected)
            finally:
                catalog.close()
    for line in [*summary.rejects, *alias_rejects, *(summary.files.warnings if summary.files else [])]:
        print(line, file=sys.stderr)
    summary.rejected += len(missing) + len(alias_rejects)
    if args.json:
        print(json.dumps({**summary.to_json(), **({"aliases": aliases} if alias_files else {})},
                         ensure_ascii=False))
    else:
        for path_name, added in aliases.items():
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
    return 2 if summary.rejected else 0


def cmd_delete(args: argparse.Namespace) -> int:
    from indexers.pipeline import Indexer

    with _open(args) as rt:
        deleted, unknown = Indexer(rt).delete(args.ids)
    for doc_id in deleted:
        print(f"deleted {doc_id}")
    for doc_id in unknown:
        print(f"{doc_id}: no such document", file=sys.stderr)
    return 2 if unknown else 0


def cmd_check(args: argparse.Namespace) -> int:
    from app.consistency import check_consistency

    with _open(args) as rt:
        report = check_consistency(rt)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(report.describe())
    return 0 if report.ok else 1


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app
    from indexers.pipeline import Indexer

    settings = _settings(args)
    if settings.dev_mode:
        if not _is_loopback(args.host):
            print(
                f"refusing MEDEVIDENCE_DEV_MODE=1 on {args.host}: dev mode (no authentication) is loopback only",
                file=sys.stderr,
            )
            return 2
        banner = "!" * 78
        print(f"{banner}\n  DEV MODE: API authentication is OFF. Local trials only.\n{banner}", file=sys.stderr)
    from app.observability.logs import configure_logging
    from app.text.redaction import redact

    configure_logging(settings.log_json, "INFO", redact if settings.redact_identifiers else None)
    app = create_app(settings, indexer_factory=Indexer)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, timeout_graceful_shutdown=30)
    # Every store was closed by the app's lifespan; JPype's own exit hook can then hang terminating the JVM
    # of the embedded graph, so a stopped server leaves at once (the process manager sees a clean exit).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def cmd_search(args: argparse.Namespace) -> int:
    from app.retrieval.search import Searcher, SearchRequestError, check_k, check_query, parse_filters

    batch = args.queries is not None or args.output is not None
    if batch and (args.queries is None or args.output is None or args.query):
        print("medevidence search: a batch needs both --queries IN.jsonl and --output OUT.jsonl, and no QUERY",
              file=sys.stderr)
        return 2
    if not batch and not args.query:
        print("medevidence search: give a QUERY, or --queries IN.jsonl --output OUT.jsonl", file=sys.stderr)
        return 2
    if batch and not args.queries.is_file():
        print(f"{args.queries}:0: no such file", file=sys.stderr)
        return 2
    try:
        if not batch:
            raw = {"source_type": args.source_type, "published_from": args.published_from, "language": args.language}
            filters = parse_filters({key: value for key, value in raw.items() if value is not None})
            query, k = check_query(args.query, args.k)
        else:
            check_k(args.k)
    except SearchRequestError as exc:
        print(f"medevidence search: {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    with _open(args) as rt:
        searcher = Searcher(rt)
        try:
            if batch:
                return _search_batch(searcher, args.queries, args.output, args.k)
            result = searcher.search(query, k, filters)
        finally:
            searcher.close()
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _print_hits(result)
    return 0


def _search_batch(searcher: Any, queries: Path, output: Path, k: int) -> int:
    """Each input line is searched on its own; a bad line is reported as FILE:LINE and skipped."""
    from app.retrieval.search import SearchRequestError, check_query, parse_filters

    bad = 0
    done = 0
    with queries.open("rb") as source, output.open("w", encoding="utf-8") as sink:
        for number, raw in enumerate(source, 1):
            if not raw.strip():
                continue
            try:
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise SearchRequestError("line", f"not valid UTF-8 (byte {exc.start})") from None
                try:
                    item = json.loads(line)
                except RecursionError:
                    raise SearchRequestError("line", "not JSON: nested too deep") from None
                if not isinstance(item, dict):
                    raise SearchRequestError("line", "must be a JSON object")
                if "id" not in item:
                    raise SearchRequestError("id", "missing")
                query, line_k = check_query(item.get("query"), item.get("k", k))
                filters = parse_filters(item.get("filters"))
            except json.JSONDecodeError as exc:
                print(f"{queries}:{number}: not JSON: {exc.msg}", file=sys.stderr)
                bad += 1
                continue
            except SearchRequestError as exc:
                print(f"{queries}:{number}: {exc.field}: {exc.message}", file=sys.stderr)
                bad += 1
                continue
            result = searcher.search(query, line_k, filters).to_json()
            sink.write(json.dumps({"id": item["id"], "hits": result["hits"]}, ensure_ascii=False) + "\n")
            done += 1
    print(f"searched {done} queries; {bad} bad lines", file=sys.stderr)
    return 2 if bad else 0


def _print_hits(result: Any) -> None:
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


def cmd_ask(args: argparse.Namespace) -> int:
    from app.answer.ask import AskRequest, ConversationNotFound
    from app.answer.factory import build_asker, close_asker
    from app.retrieval.search import Searcher, SearchRequestError, check_query, parse_filters

    try:
        raw = {"source_type": args.source_type, "published_from": args.published_from, "language": args.language}
        filters = parse_filters({key: value for key, value in raw.items() if value is not None})
        question, _ = check_query(args.question, 1, "question")
        if args.k is not None and not 1 <= args.k <= 20:
            raise SearchRequestError("k", "must be an integer from 1 to 20")
    except SearchRequestError as exc:
        print(f"medevidence ask: {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    with _open(args) as rt:
        searcher = Searcher(rt)
        asker = build_asker(searcher)
        try:
            answer = asker.ask(AskRequest(question, args.k, filters, args.conversation_id, args.reasoning))
        except ConversationNotFound:
            print(f"medevidence ask: conversation_id: no conversation {args.conversation_id!r} begun here "
                  "(a conversation is continued only by whoever began it)", file=sys.stderr)
            return 2
        finally:
            close_asker(asker)
            searcher.close()
    if args.json:
        print(json.dumps(answer, ensure_ascii=False))
    else:
        _print_answer(answer)
    return 0


def _print_answer(answer: dict[str, Any]) -> None:
    mode = answer["mode"] + (" (degraded: the LLM failed)" if answer["degraded"] else "")
    print(f"[{mode}; model {answer['model']}; answer {answer['answer_id']}]")
    if answer.get("reasoning"):
        print(f"reasoning:\n{answer['reasoning'].strip()}\n")
    focus = answer.get("focus") or {}
    if focus.get("drugs") or focus.get("classes"):
        names = [d["name"] for d in focus["drugs"]] + [c["name"] for c in focus["classes"]]
        print(f"(about {' and '.join(names)}; asks: {str(focus['aspect']).replace('_', ' ')})")
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


def _drug_call(args: argparse.Namespace, command: str, call: Any) -> tuple[int, Any]:
    """Run one drug-service call on the data dir; a request it refuses is exit status 2 with the reason."""
    from app.drugs.service import DrugRequestError, DrugService, UnknownDrug

    with _open(args) as rt:
        service = DrugService(rt)
        try:
            return 0, call(service)
        except (UnknownDrug, DrugRequestError) as exc:
            print(f"medevidence {command}: {exc}", file=sys.stderr)
            return 2, None
        finally:
            service.close()


def cmd_drug(args: argparse.Namespace) -> int:
    code, card = _drug_call(args, "drug", lambda service: service.card(args.name))
    if code:
        return code
    if args.json:
        print(json.dumps(card, ensure_ascii=False))
        return 0
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
    print(f"\n  {card['coverage']['summary']}")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    code, report = _drug_call(args, "coverage", lambda service: service.knowledge_coverage())
    if code:
        return code
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
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
    return 0


def cmd_interactions(args: argparse.Namespace) -> int:
    code, result = _drug_call(args, "interactions", lambda service: service.interactions(args.names))
    if code:
        return code
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for r in result["resolved"]:
            print(f"{r['input']} → {r['name']} ({r['drug_id']}; {r['matched_by']})")
        for u in result["unresolved"]:
            hint = f"; did you mean: {', '.join(u['suggestions'])}" if u["suggestions"] else ""
            print(f"{u['input']} → not recognised{hint}")
        for pair in result["interactions"]:
            severity = pair["severity"] or "none found"
            print(f"\n{pair['a']} + {pair['b']}: {severity}"
                  f"{' (' + pair['severity_source'] + ')' if pair['severity_source'] else ''}\n  {pair['summary']}")
            for graded in pair.get("sources", []):
                cited = graded["citation"]
                where = f"{cited['doc_id']} {cited['section']} [{cited['start']}:{cited['end']}]" if cited else "-"
                print(f"  graded {graded['severity']} by {graded['source']}: {where}; {graded['reference']}")
            for c in pair["citations"]:
                where = f"{c['doc_id']} {c['section']} [{c['start']}:{c['end']}]"
                print(f"  - {where}: \"{' '.join(c['quote'].split())[:160]}\"")
    return 2 if result["unresolved"] else 0


def cmd_keys(args: argparse.Namespace) -> int:
    from app.auth import KeyStore

    settings = _settings(args)
    store = KeyStore(settings.keys_path)
    try:
        key, secret = store.create(args.role, args.name)
    finally:
        store.close()
    print(secret)
    print(f"created {key.role} key {key.name!r} (id {key.key_id}); it is shown only once", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("MEDEVIDENCE_LOG_LEVEL", "WARNING"))
    from app.observability.logs import quiet_third_party_loggers

    quiet_third_party_loggers()
    args = build_parser().parse_args(argv)
    handlers = {"index": cmd_index, "delete": cmd_delete, "check": cmd_check, "serve": cmd_serve, "keys": cmd_keys,
                "search": cmd_search, "ask": cmd_ask, "drug": cmd_drug, "interactions": cmd_interactions,
                "coverage": cmd_coverage}
    from app.stores.lock import DataDirInUse

    try:
        return handlers[args.command](args)
    except DataDirInUse as exc:
        print(f"medevidence: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
