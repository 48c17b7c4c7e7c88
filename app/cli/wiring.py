"""The indexer wired over an open ``Runtime``: the CLI root is where ``app`` meets ``indexers`` (``create_app``
gets ``serving_indexer`` as its factory, so the app package never imports the indexers)."""

from __future__ import annotations

from app.runtime import Runtime
from indexers.pipeline import Indexer


def open_indexer(rt: Runtime, *, optimize: bool = True) -> Indexer:
    """An indexer writing to the runtime's stores; ``optimize``: build the vector indexes after each run."""
    return Indexer(rt.settings, manifest=rt.manifest, vectors=rt.vectors, graph=rt.graph, embedder=rt.embedder,
                   analyzer=rt.analyzer, files=rt.files, aliases=rt.aliases, knowledge=rt.load_knowledge,
                   optimize=optimize)


def serving_indexer(rt: Runtime) -> Indexer:
    """The API's indexer (uploads, deletes, recovery at start): it leaves the vector index optimisation to the next
    ``medevidence index``, which a serving process must not run under its requests (it holds the interpreter)."""
    return open_indexer(rt, optimize=False)
