"""MEDEVIDENCE_QUERY_ENCODER_THREADS reaches the ONNX query encoder's session, and bad values are refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.text.embedding import CachedEmbedder
from app.text.onnx_encoder import OnnxQueryEncoder


@pytest.mark.parametrize("value", ["-1", "65", "two", "1.5"])
def test_bad_thread_counts_are_refused_naming_the_setting(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDEVIDENCE_QUERY_ENCODER_THREADS", value)
    with pytest.raises(ValidationError, match="query_encoder_threads"):
        Settings()


def test_default_is_two_threads_and_outside_the_settings_hash(settings: Settings) -> None:
    assert settings.query_encoder_threads == 2
    assert settings.model_copy(update={"query_encoder_threads": 4}).settings_hash() == settings.settings_hash()


@pytest.mark.slow
def test_the_setting_reaches_the_onnx_session(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read back from the built session (the real model, exported once into the data dir): intra-op threads as
    set (0: ONNX Runtime's default), one inter-op thread, sequential execution, no spinning."""
    import onnxruntime as ort

    monkeypatch.setenv("MEDEVIDENCE_QUERY_ENCODER_THREADS", "3")
    from_env = Settings(data_dir=settings.data_dir, knowledge_dir=settings.knowledge_dir)
    ort_default = settings.model_copy(update={"query_encoder_threads": 0})
    for configured, expected in ((from_env, 3), (settings, 2), (ort_default, 0)):
        embedder = CachedEmbedder(configured)
        try:
            encoder = embedder._query_encoder()
            assert isinstance(encoder, OnnxQueryEncoder) and encoder.threads == expected
            options = encoder._session.get_session_options()
            assert options.intra_op_num_threads == expected
            assert options.inter_op_num_threads == 1
            assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
            assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
            assert embedder.encode_query("warfarin contraindications").shape == (embedder.dim,)
        finally:
            embedder.close()
