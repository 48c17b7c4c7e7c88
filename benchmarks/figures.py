"""Figures read out of a results tree (``benchmarks/results/*.json``), shared by the report, its targets and the
plots: a missing key or a ``{"not_run": reason}`` marker on the way ends a read instead of raising."""

from __future__ import annotations

from typing import Any


def get(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]...``; a ``{"not_run": reason}`` on the way, or a missing key, ends it."""
    for key in path:
        if isinstance(data, dict) and "not_run" in data:
            return data
        if isinstance(data, dict) and key in data:
            data = data[key]
        else:
            return None
    return data


def ratio(a: Any, b: Any) -> Any:
    """a / b, or the first not-run marker, or None."""
    for v in (a, b):
        if isinstance(v, dict):
            return v
    return a / b if isinstance(a, int | float) and isinstance(b, int | float) and b else None
