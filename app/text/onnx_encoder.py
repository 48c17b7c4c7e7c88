"""A faster query encoder: the same sentence-transformers model exported to ONNX, run by ONNX Runtime.

A query is one short text, where torch's per-call overhead dominates on a small CPU.  The export is
made locally, once, from the local model (nothing is downloaded) into the data dir, named by a hash
of the model folder, and it is trusted only after it reproduces the torch vectors on probe texts
(cosine ≥ ``MIN_COSINE``); otherwise the caller keeps using torch.  Passages are still embedded by
torch (they come from the cache anyway), so stored and query vectors come from the same model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MIN_COSINE = 0.9999
PROBES = (
    "warfarin contraindications",
    "华法林和阿司匹林合用的出血风险",
    "What are the symptoms of type 2 diabetes mellitus? Which treatments reduce the risk of complications?",
)
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_fingerprint(model_path: Path) -> str:
    """Hash of the model folder's files (names, sizes and the weights' first MiB)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_path.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(model_path)).encode())
        digest.update(str(path.stat().st_size).encode())
        with path.open("rb") as fh:
            digest.update(fh.read(1 << 20))
    return digest.hexdigest()[:16]


def _export(st_model: Any, target: Path) -> None:
    """Transformer + mean pooling + L2 normalisation, as one ONNX graph (written atomically)."""
    import torch

    bert = st_model[0].auto_model.eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = st_model.tokenizer(list(PROBES[:2]), return_tensors="pt", padding=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    with torch.inference_mode():
        torch.onnx.export(MeanPooled(), tuple(sample[k] for k in _INPUTS), str(partial), input_names=list(_INPUTS),
                          output_names=["embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={k: {0: "batch", 1: "tokens"} for k in _INPUTS})
    os.replace(partial, target)


def _own_fast_tokenizer(tokenizer: Any, max_length: int) -> Any:
    """A private copy of the model's Rust tokenizer (``tokenizers.Tokenizer``), truncating and padding as
    the transformers wrapper would; None when the model has no fast tokenizer.

    The wrapper's per-call Python work cost a third of a query's encoding (3 of 9 ms).  A copy, because
    the wrapper re-configures its backend's truncation on every call (passages are encoded meanwhile).
    The probe check in ``try_build`` compares the result with torch's, so a mismatch keeps torch."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    fast = Tokenizer.from_str(backend.to_str())
    fast.enable_truncation(max_length)
    pad_token = getattr(tokenizer, "pad_token", None) or "[PAD]"
    pad_id = getattr(tokenizer, "pad_token_id", None)
    fast.enable_padding(pad_id=int(pad_id or 0), pad_token=str(pad_token))
    return fast


def session_options(threads: int) -> Any:
    """ONNX Runtime options of the query encoder: ``threads`` intra-op threads (0: ONNX Runtime's default, one
    per physical core), one inter-op thread, sequential execution, and intra-op pool threads that sleep rather
    than spin between runs.

    A query is one short text (about 4-6 ms on a 2-core box) and the service runs requests side by side: the
    session runs one query at a time (``OnnxQueryEncoder``'s lock), so a few threads shorten that serial section,
    while more than the cores compete with the other requests' work, and spinning pool threads would burn a core
    the rest of the request needs.  The count is ``Settings.query_encoder_threads``, chosen by
    ``benchmarks/search_latency.py --threads-grid`` (p50/p95 at 1, 8 and 32 concurrent clients)."""
    import onnxruntime as ort

    if threads < 0:
        raise ValueError(f"query encoder threads must be >= 0, got {threads}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


class OnnxQueryEncoder:
    """Encodes queries with ONNX Runtime; built by ``try_build`` only when it matches torch.

    Its own session, apart from index-time passage encoding (torch, with torch's threads): ``threads`` is the
    session's intra-op thread count (see ``session_options``)."""

    def __init__(self, onnx_path: Path, tokenizer: Any, max_length: int, dim: int, threads: int) -> None:
        import onnxruntime as ort

        self.threads = threads
        self._session = ort.InferenceSession(str(onnx_path), session_options(threads),
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer
        self._max_length = max_length
        self._fast = _own_fast_tokenizer(tokenizer, max_length)
        self.dim = dim
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._fast is not None:
            encoded = self._fast.encode_batch(list(texts))
            feeds = {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                     "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                     "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64)}
        else:
            batch = self._tokenizer(list(texts), return_tensors="np", padding=True, truncation=True,
                                    max_length=self._max_length)
            feeds = {k: np.asarray(batch[k], dtype=np.int64) for k in _INPUTS}
        with self._lock:
            (vectors,) = self._session.run(None, feeds)
        return np.asarray(vectors, dtype=np.float32)

    @classmethod
    def try_build(cls, st_model: Any, model_path: Path, cache_dir: Path, dim: int,
                  threads: int) -> OnnxQueryEncoder | None:
        """Export (once) and verify against torch; None, with the reason logged, when that fails.
        ``threads``: the session's intra-op threads (``Settings.query_encoder_threads``)."""
        try:
            target = cache_dir / f"query-encoder-{model_fingerprint(model_path)}.onnx"
            if not target.exists():
                _export(st_model, target)
            encoder = cls(target, st_model.tokenizer, int(st_model.max_seq_length or 256), dim, threads)
            expected = st_model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
            cosine = float(np.min(np.sum(encoder.encode(PROBES) * expected, axis=1)))
            if cosine < MIN_COSINE:
                log.warning("ONNX query encoder differs from torch (cosine %.6f); using torch", cosine)
                return None
            return encoder
        except Exception as exc:  # noqa: BLE001 - any failure means: keep torch
            log.warning("ONNX query encoder unavailable (%s); using torch", exc)
            return None
