"""Wiring the service's components over an open ``Runtime``: each gets the parts it uses, never the runtime.

The composition roots (``create_app``, the CLI) and the tests and benchmarks that build a searcher or an asker
over an index call these, so every one of them wires the components the same way.
"""

from __future__ import annotations

from app.answer.ask import Asker
from app.answer.factory import build_asker
from app.answer.generator import Generator
from app.drugs.catalog import DrugCatalog
from app.retrieval.query import QueryAnalyzer
from app.retrieval.search import Searcher
from app.runtime import Runtime


def drug_catalog(rt: Runtime) -> DrugCatalog:
    """The drug assistant's reads over the runtime's manifest, graph and hospital aliases."""
    return DrugCatalog(rt.load_knowledge(), rt.manifest, rt.graph, rt.aliases)


def open_searcher(rt: Runtime, query_analyzer: QueryAnalyzer | None = None) -> Searcher:
    """A searcher over the runtime's stores, with its own drug catalog (``searcher.catalog``, which the drug
    assistant of the same process shares)."""
    return Searcher(rt.settings, manifest=rt.manifest, vectors=rt.vectors, graph=rt.graph, embedder=rt.embedder,
                    analyzer=rt.analyzer, catalog=drug_catalog(rt), query_analyzer=query_analyzer)


def open_asker(rt: Runtime, searcher: Searcher, generator: Generator | None = None) -> Asker:
    """The answer engine over ``searcher``, under the runtime's settings (``rt.reconfigured(llm_url=...)`` for
    another answer model over the same index), writing to that runtime's trace store."""
    asker = build_asker(rt.settings, searcher, rt.traces, generator)
    asker.review_notes = rt.reviews.notes_for  # unsafe flags on the evidence an answer draws on
    return asker
