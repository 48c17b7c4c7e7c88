"""What the run was measured on: CPU model and cores, RAM, OS, Python and the versions of key packages."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("qdrant-edge-py", "qdrant-client", "arcadedb-embedded", "JPype1", "sentence-transformers", "torch",
            "onnxruntime", "numpy", "fastapi", "uvicorn", "rank-bm25", "llama-index-core",
            "llama-index-vector-stores-qdrant", "llama-index-retrievers-bm25", "llama-index-embeddings-huggingface",
            "bm25s", "matplotlib")


def _first(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip().strip('"')
    except OSError:
        return None
    return None


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Each package's installed version, or "not installed"."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def describe() -> dict[str, Any]:
    mem_kib = _first("/proc/meminfo", "MemTotal")
    ram = f"{int(mem_kib.split()[0]) / 2**20:.1f} GiB" if mem_kib else "unknown"
    versions = package_versions(PACKAGES)
    return {
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "cores": f"{os.cpu_count()} logical ({len(os.sched_getaffinity(0))} usable by this process)",
        "ram": ram,
        "os": f"{_first('/etc/os-release', 'PRETTY_NAME=') or platform.system()}, kernel {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": versions,
    }


def load_average() -> float:
    return os.getloadavg()[0]
