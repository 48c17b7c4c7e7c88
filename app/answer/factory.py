"""Builds the answer engine from the settings, the searcher and the trace store (composition, done once)."""

from __future__ import annotations

from collections.abc import Callable

from app.answer.ask import Asker
from app.answer.extractive import ExtractiveGenerator
from app.answer.generator import Generator
from app.answer.llm import OpenAICompatibleGenerator
from app.answer.verify import Verifier
from app.config import Settings
from app.knowledge import SALT_WORDS
from app.retrieval.search import Searcher
from app.stores.traces import TraceStore
from app.text.embedding import MemoEmbedder


def english_rendering(searcher: Searcher) -> Callable[[str], str]:
    """A claim or question as matched against English evidence (entities and glossary words in English)."""
    analyzer = searcher.query_analyzer

    def render(text: str) -> str:
        analyzed = analyzer.analyze(text)
        return analyzed.english if analyzed.language != "en" else text

    return render


def name_terms(searcher: Searcher) -> Callable[[str], set[str]]:
    """The terms of the names of the drugs and diseases a text links (English name and the words as written), and
    the salt and form words a product name carries ("USP", "tablets", "hydrochloride")."""
    analyzer, tokens = searcher.query_analyzer, searcher.analyzer.tokens
    product_words = {t for word in SALT_WORDS for t in tokens(word)}

    def names(text: str) -> set[str]:
        analyzed = analyzer.analyze(text)
        linked = {t for e in analyzed.entities for name in (e.name, e.surface) for t in tokens(name)}
        return linked | (set(tokens(text)) & product_words)

    return names


def drugs_named(searcher: Searcher) -> Callable[[str], set[str]]:
    """The ids of the drugs a text names (the query analysis's entity linking)."""
    analyzer = searcher.query_analyzer

    def named(text: str) -> set[str]:
        return {e.id for e in analyzer.analyze(text).entities if e.kind == "drug"}

    return named


def build_asker(settings: Settings, searcher: Searcher, traces: TraceStore, generator: Generator | None = None
                ) -> Asker:
    """The settings choose the generator (an LLM at ``llm_url``, else extractive); ``traces`` is the open trace
    store that every answer is written to (it belongs to the caller, as the searcher's stores do)."""
    to_english = english_rendering(searcher)
    embed = MemoEmbedder(searcher.embedder.encode_texts, searcher.embedder.dim)
    tokens = searcher.analyzer.tokens
    extractive = ExtractiveGenerator(embed, tokens, settings.extractive_max_sentences, to_english,
                                     drugs_named(searcher))
    if generator is None:
        generator = OpenAICompatibleGenerator(settings) if settings.llm_url else extractive
    # An encoder that reads Chinese compares a Chinese claim with English evidence by meaning; with an English-only
    # one a claim that is nothing but names once rendered cannot be checked (verify.py, UNCHECKABLE).
    verifier = Verifier(embed, tokens, settings.support_threshold, settings.support_lexical_weight, to_english,
                        name_terms(searcher), require_more_than_names="zh" not in settings.embedding_languages)
    return Asker(searcher, generator, extractive, verifier, traces, settings, drugs_named(searcher))


def close_asker(asker: Asker) -> None:
    asker.generator.close()
