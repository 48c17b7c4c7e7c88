"""BM25 text analysis: tokens for English and Chinese, and BM25 sparse vectors.

English: lower-case alphanumeric words, stop words removed, a light (minimal plural)
stemmer.  Chinese: jieba with a medical user dictionary (drug and disease names stay one
token).  Term ids are stable 32-bit hashes, so a sparse vector means the same thing in
every process and store.

Document vectors carry BM25's term-frequency part, ``tf·(k1+1) / (tf + k1·(1−b+b·dl/avgdl))``;
the vector store multiplies by IDF (Qdrant's IDF modifier), and query vectors carry 1.0 per
distinct term.  That gives Okapi BM25 with the store keeping document frequencies current.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.model import SparseVec

ANALYZER_VERSION = "analyzer-1"

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:[.'][a-z0-9]+)*")
_CJK_PUNCT = re.compile(r"^[\W_]+$")

ENGLISH_STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves may also""".split()
)
CHINESE_STOP_WORDS = frozenset(
    ("的 了 和 与 及 或 是 在 有 对 为 以 等 中 其 之 而 于 被 把 吗 呢 吧 啊 "
     "么 什么 怎么 如何 哪些 可以 能 会 请").split()
)


def light_stem(word: str) -> str:
    """Minimal English stemmer (plural forms), in the spirit of Lucene's minimal stemmer."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")) and word[-3] in "sxz":
        return word[:-2]
    if word.endswith("s") and not word.endswith(("us", "ss", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=200_000)
def english_term(word: str) -> str | None:
    """The index term of a lower-case English word, None for a stop word."""
    return None if word in ENGLISH_STOP_WORDS else light_stem(word)


@lru_cache(maxsize=500_000)
def term_id(token: str) -> int:
    """Stable 32-bit id of a token (the sparse vector index)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "little")


class Analyzer:
    """Tokeniser and BM25 vectoriser shared by the indexer and the query side."""

    def __init__(self, user_dict: Path | None = None, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._user_dict = user_dict
        self._jieba: object | None = None
        self._lock = threading.Lock()

    # -- tokens ---------------------------------------------------------------------------
    def _chinese_tokenizer(self) -> Any:
        with self._lock:
            if self._jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                if self._user_dict is not None and self._user_dict.exists():
                    tokenizer.load_userdict(str(self._user_dict))
                tokenizer.initialize()
                self._jieba = tokenizer
            return self._jieba

    def tokens(self, text: str) -> list[str]:
        """Analysed tokens of ``text`` (order kept, duplicates kept)."""
        out: list[str] = []
        for piece in _TOKEN_RE.findall(text.lower()):
            if piece[0] > "z":  # a CJK run: the English alternative only matches [a-z0-9]
                out.extend(self._chinese_tokens(piece))
            else:
                term = english_term(piece)
                if term is not None:
                    out.append(term)
        return out

    def _chinese_tokens(self, run: str) -> Iterable[str]:
        tokenizer = self._chinese_tokenizer()
        for word in tokenizer.cut(run, HMM=True):
            word = word.strip()
            if word and word not in CHINESE_STOP_WORDS and not _CJK_PUNCT.match(word):
                yield word

    # -- vectors --------------------------------------------------------------------------
    def document_vector(self, text: str, avgdl: float) -> tuple[SparseVec, int]:
        """BM25 term-frequency weights of a document and its length in tokens."""
        tokens = self.tokens(text)
        return self.document_vector_from_tokens(tokens, avgdl), len(tokens)

    def document_vector_from_tokens(self, tokens: list[str], avgdl: float) -> SparseVec:
        dl = len(tokens)
        norm = self.k1 * (1.0 - self.b + self.b * dl / max(avgdl, 1.0))
        scale = self.k1 + 1.0
        weights: dict[int, float] = {}
        for token, tf in Counter(tokens).items():
            tid = term_id(token)
            weights[tid] = weights.get(tid, 0.0) + tf * scale / (tf + norm)
        return _sparse(weights)

    def query_vector(self, text: str) -> SparseVec:
        """One unit weight per distinct query term (IDF comes from the store)."""
        return _sparse({term_id(token): 1.0 for token in self.tokens(text)})


def _sparse(weights: dict[int, float]) -> SparseVec:
    indices = tuple(sorted(weights))
    return SparseVec(indices=indices, values=tuple([weights[i] for i in indices]))
