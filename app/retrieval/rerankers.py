"""Which reranker serves, from the settings: a server, a local cross-encoder, or none (``rerank.py`` has the
protocol; each implementation sits in its own module, and only this one knows them all)."""

from __future__ import annotations

from app.config import Settings
from app.retrieval.rerank import Reranker
from app.retrieval.rerank_cross_encoder import CrossEncoderReranker
from app.retrieval.rerank_server import ServerReranker


def build_reranker(settings: Settings) -> Reranker | None:
    """The reranker the settings ask for: a server (``reranker_url``), a local folder (``reranker_model_path``),
    or none. Both set is refused: the operator meant one of them, and silently preferring either would leave a
    configured model unused without a word."""
    if settings.reranker_url and settings.reranker_model_path:
        raise ValueError("set MEDEVIDENCE_RERANKER_URL (a reranking server) or MEDEVIDENCE_RERANKER_MODEL_PATH "
                         "(a local cross-encoder folder), not both")
    if settings.reranker_url:
        api_key = settings.reranker_api_key.get_secret_value() if settings.reranker_api_key else None
        return ServerReranker(settings.reranker_url, model=settings.reranker_model, depth=settings.rerank_depth,
                              timeout_s=settings.reranker_timeout_s, cooldown_s=settings.reranker_cooldown_s,
                              api_key=api_key, languages=frozenset(settings.reranker_languages))
    if settings.reranker_model_path:
        return CrossEncoderReranker(settings.reranker_model_path, settings.rerank_depth, settings.reranker_threads,
                                    frozenset(settings.reranker_languages))
    return None
