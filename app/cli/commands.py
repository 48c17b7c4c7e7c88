"""The ``medevidence`` commands: each opens what it needs (settings, stores, the indexer), calls the service and
returns the exit status.

This is the composition root of the command line: it alone wires the app to the indexers.  Printing for a person is
in ``output.py``; the grammar is in ``parser.py``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.output import (
    PageBars,
    print_answer,
    print_coverage,
    print_drug_card,
    print_hits,
    print_index_summary,
    print_interactions,
    print_rules,
    print_unresolved_rule_names,
    progress_bar,
)
from app.config import Settings
from app.rules import RULE_SOURCE_TYPE, is_rules_file

if TYPE_CHECKING:
    from app.requests import SearchBody
    from app.runtime import Runtime


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return Settings(**overrides)  # type: ignore[arg-type]


def _open(args: argparse.Namespace) -> Runtime:
    """The stores, after replaying any batch an interrupted index run left pending (app/recovery.py): no command
    reads half-written data."""
    from app.cli.wiring import open_indexer
    from app.runtime import Runtime

    rt = Runtime.open(_settings(args))
    try:
        if rt.manifest.counts()["pending"]:
            replayed = open_indexer(rt).recover()
            print(f"medevidence: recovered {replayed} document(s) left pending by an interrupted index run",
                  file=sys.stderr)
    except BaseException:
        rt.close()
        raise
    return rt


def cmd_index(args: argparse.Namespace) -> int:
    """The indexer does the whole run (documents, hospital files, alias files, pruning, the vector indexes), as for
    the API's uploads; here are the paths that do not exist, the progress bars and the summary."""
    from app.cli.wiring import open_indexer
    from app.runtime import Runtime
    from indexers.files.reader import FileSelection

    settings = _settings(args)
    missing = [p for p in args.paths if not p.exists()]
    for path in missing:
        print(f"{path}:0: no such file or folder", file=sys.stderr)
    paths = [p for p in args.paths if p.exists()]
    if args.paths and not paths:
        return 2
    selection = FileSelection(tuple(args.glob), tuple(args.exclude), args.id_prefix, args.source_type)
    with Runtime.open(settings) as rt:
        indexer = open_indexer(rt)
        reading = replace(indexer.file_reading(selection), ocr=settings.ocr and not args.no_ocr)
        bar, page_bars = progress_bar(0), PageBars()
        try:

            def progress(n: int, total: int) -> None:
                if bar.total != total:
                    bar.reset(total=total)
                bar.update(n)

            summary = (indexer.index_paths(paths, progress, reading, page_bars, prune=args.prune) if paths
                       else indexer.index_starter_knowledge(progress))
        finally:
            page_bars.close()
            bar.close()
        if any(is_rules_file(p.name) or p.is_dir() for p in paths):
            _warn_unresolved_rules(rt)
    summary.rejected += len(missing)
    print_index_summary(summary, args.json)
    return 2 if summary.rejected else 0


def _warn_unresolved_rules(rt: Any) -> None:
    """After indexing rules: each name of a rule that resolves to no drug or class (it binds nothing), on stderr."""
    from app.compose import drug_catalog
    from app.drugs.service import DrugService

    if not rt.manifest.documents_of_type(RULE_SOURCE_TYPE):
        return
    print_unresolved_rule_names(DrugService(drug_catalog(rt)).rules())


def cmd_delete(args: argparse.Namespace) -> int:
    from app.cli.wiring import open_indexer

    with _open(args) as rt:
        deleted, unknown = open_indexer(rt).delete(args.ids)
    for doc_id in deleted:
        print(f"deleted {doc_id}")
    for doc_id in unknown:
        print(f"{doc_id}: no such document", file=sys.stderr)
    return 2 if unknown else 0


def cmd_check(args: argparse.Namespace) -> int:
    from app.consistency import check_consistency

    with _open(args) as rt:
        report = check_consistency(rt.manifest, rt.vectors, rt.graph)
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

    from app.cli.wiring import serving_indexer
    from app.main import create_app

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
    app = create_app(settings, indexer_factory=serving_indexer)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, timeout_graceful_shutdown=30)
    # Every store was closed by the app's lifespan; JPype's own exit hook can then hang terminating the JVM
    # of the embedded graph, so a stopped server leaves at once (the process manager sees a clean exit).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def cmd_search(args: argparse.Namespace) -> int:
    from app.compose import open_searcher
    from app.retrieval.search import SearchRequestError, check_k, check_query, parse_filters

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
        searcher = open_searcher(rt)
        try:
            if batch:
                return _search_batch(searcher, args.queries, args.output, args.k)
            result = searcher.search(query, k, filters)
        finally:
            searcher.close()
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print_hits(result)
    return 0


def _search_batch(searcher: Any, queries: Path, output: Path, k: int) -> int:
    """Each input line is checked as the API's search request and searched on its own; a bad line is reported as
    ``FILE:LINE: field: reason`` and skipped."""
    from app.retrieval.search import SearchRequestError

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
                query, line_k, filters = _batch_request(item, k).checked()
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


def _batch_request(item: dict[str, Any], k: int) -> SearchBody:
    """A batch line ``{"id", "query", "k"?, "filters"?}`` as the API's search request (``POST /v1/search``), k
    defaulting to ``--k``; the id and any other key are the line's, not the request's.  Raises
    ``SearchRequestError`` naming the field."""
    from pydantic import ValidationError

    from app.requests import SearchBody, request_error

    body = {key: item[key] for key in ("query", "k", "filters") if key in item}
    body.setdefault("k", k)
    filters = body.get("filters")
    if isinstance(filters, dict) and isinstance(filters.get("source_type"), str):  # one type, as a line always could
        body["filters"] = {**filters, "source_type": [filters["source_type"]]}
    try:
        return SearchBody.model_validate(body)
    except ValidationError as exc:
        raise request_error(exc) from None


def cmd_ask(args: argparse.Namespace) -> int:
    from app.answer.ask import AskRequest, ConversationNotFound
    from app.answer.factory import close_asker
    from app.compose import open_asker, open_searcher
    from app.retrieval.search import SearchRequestError, check_query, parse_filters

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
        searcher = open_searcher(rt)
        asker = open_asker(rt, searcher)
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
        print_answer(answer)
    return 0


def _drug_command(args: argparse.Namespace, command: str, call: Any, print_text: Any) -> tuple[int, Any]:
    """Run one drug-service call on the data dir and print its result (``--json``: as it is); a request it refuses
    is exit status 2 with the reason."""
    from app.compose import drug_catalog
    from app.drugs.service import DrugRequestError, DrugService, UnknownDrug

    with _open(args) as rt:
        try:
            result = call(DrugService(drug_catalog(rt)))
        except (UnknownDrug, DrugRequestError) as exc:
            print(f"medevidence {command}: {exc}", file=sys.stderr)
            return 2, None
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print_text(result)
    return 0, result


def cmd_drug(args: argparse.Namespace) -> int:
    return _drug_command(args, "drug", lambda service: service.card(args.name), print_drug_card)[0]


def cmd_coverage(args: argparse.Namespace) -> int:
    return _drug_command(args, "coverage", lambda service: service.knowledge_coverage(), print_coverage)[0]


def cmd_interactions(args: argparse.Namespace) -> int:
    code, result = _drug_command(args, "interactions", lambda service: service.interactions(args.names),
                                 print_interactions)
    return code or (2 if result["unresolved"] else 0)


def cmd_rules(args: argparse.Namespace) -> int:
    """Exit status 2 when a rule names a drug the service does not know (it binds nothing for that name)."""
    code, result = _drug_command(args, "rules", lambda service: service.rules(), print_rules)
    return code or (2 if result["with_unresolved_names"] or result["broken"] else 0)


def cmd_keys(args: argparse.Namespace) -> int:
    from app.runtime import open_key_store

    store = open_key_store(_settings(args))
    try:
        key, secret = store.create(args.role, args.name)
    finally:
        store.close()
    print(secret)
    print(f"created {key.role} key {key.name!r} (id {key.key_id}); it is shown only once", file=sys.stderr)
    return 0


def cmd_reviews(args: argparse.Namespace) -> int:
    """``reviews export --jsonl``: reads the review store alone (beside the traces), like ``keys``: no data-dir lock,
    so it runs while the server does."""
    from app.stores.reviews import ReviewStore, evaluation_rows
    from app.stores.traces import default_url

    settings = _settings(args)
    store = ReviewStore(settings.traces_url or default_url(settings.data_dir))
    try:
        found = store.export(None if args.status == "all" else args.status, args.verdict)
    finally:
        store.close()
    rows = evaluation_rows(found)
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if args.out is None:
        sys.stdout.write(lines)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(lines, encoding="utf-8")
    print(f"exported {len(rows)} reviewed question(s) ({len(found)} review(s))"
          + (f" to {args.out}" if args.out else ""), file=sys.stderr)
    return 0


HANDLERS = {"index": cmd_index, "delete": cmd_delete, "check": cmd_check, "serve": cmd_serve, "keys": cmd_keys,
            "search": cmd_search, "ask": cmd_ask, "drug": cmd_drug, "interactions": cmd_interactions,
            "rules": cmd_rules, "coverage": cmd_coverage, "reviews": cmd_reviews}
