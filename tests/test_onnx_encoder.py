"""The ONNX query encoder reproduces the torch vectors, is exported once into the data dir, and can be off."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import Settings
from app.text.embedding import CachedEmbedder
from app.text.onnx_encoder import OnnxQueryEncoder

pytestmark = pytest.mark.slow

TEXTS = ["warfarin contraindications", "阿托伐他汀 不良反应", "Is metformin safe in chronic kidney disease stage 3?"]


def test_onnx_query_vectors_match_torch(settings: Settings) -> None:
    embedder = CachedEmbedder(settings)
    try:
        torch_vectors = embedder.encode(TEXTS)
        onnx_vectors = np.stack([embedder.encode_query(t) for t in TEXTS])
        assert isinstance(embedder._query_encoder(), OnnxQueryEncoder)
        assert np.min(np.sum(torch_vectors * onnx_vectors, axis=1)) >= 0.9999
        exported = list((settings.data_dir / "models").glob("query-encoder-*.onnx"))
        assert len(exported) == 1 and exported[0].stat().st_size > 1_000_000
        assert not list((settings.data_dir / "models").glob("*.partial"))
    finally:
        embedder.close()


def test_torch_when_onnx_is_off(settings: Settings) -> None:
    off = settings.model_copy(update={"onnx_query_encoder": False})
    embedder = CachedEmbedder(off)
    try:
        assert embedder._query_encoder() is None
        np.testing.assert_allclose(embedder.encode_query(TEXTS[0]), embedder.encode(TEXTS[:1])[0], rtol=1e-6)
        assert not (off.data_dir / "models").exists()
    finally:
        embedder.close()


def test_own_tokenizer_matches_the_wrappers_ids(settings: Settings) -> None:
    """Truncation at the model's length and padding in a batch, as the transformers wrapper does them."""
    embedder = CachedEmbedder(settings)
    try:
        encoder = embedder._query_encoder()
        assert isinstance(encoder, OnnxQueryEncoder) and encoder._fast is not None
        texts = [*TEXTS, "warfarin " * 400]  # the last is cut at max_length
        wrapper = encoder._tokenizer(texts, padding=True, truncation=True, max_length=encoder._max_length)
        own = encoder._fast.encode_batch(texts)
        assert [e.ids for e in own] == wrapper["input_ids"]
        assert [e.attention_mask for e in own] == wrapper["attention_mask"]
        assert len(own[-1].ids) == encoder._max_length
        long_vector = embedder.encode_query(texts[-1])
        assert float(long_vector @ embedder.encode([texts[-1]])[0]) >= 0.9999
    finally:
        embedder.close()
