"""PNG plots of a run (matplotlib, Agg backend): latency and memory vs corpus size, ingestion, interactions.

Only measured points are drawn; a series with no point is left out and named in the caption.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.figures import get

Series = tuple[str, Callable[[dict[str, Any]], Any], str]  # label, value of one size's results, style


def unavailable() -> str | None:
    import importlib.util

    return None if importlib.util.find_spec("matplotlib") else "matplotlib is not installed (pip install -e '.[bench]')"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _line(ax: Any, points: list[tuple[Any, float | None]], style: str, label: str, missing: list[str]) -> None:
    """Plot the (x, y) points that have a y, in x order; a series with none is named in ``missing``."""
    known = sorted((x, y) for x, y in points if y is not None)
    if known:
        ax.plot([p[0] for p in known], [p[1] for p in known], style, label=label)
    else:
        missing.append(label)


def _by_size(r: dict[str, Any], ax: Any, series: list[Series]) -> list[str]:
    missing: list[str] = []
    for label, pick, style in series:
        _line(ax, [(s["chunks"], _number(pick(s))) for s in r["sizes"].values() if _number(s.get("chunks"))],
              style, label, missing)
    ax.set_xscale("log")
    ax.set_xlabel("corpus size, chunks (log)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return missing


def _save(fig: Any, ax: Any, path: Path, title: str, missing: list[str]) -> None:
    ax.set_title(title + (f"\n(not run: {', '.join(missing)})" if missing else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write(r: dict[str, Any], directory: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    out = []

    fig, ax = plt.subplots(figsize=(7, 4.5))
    missing = _by_size(r, ax, [
        ("ours, in process p50", lambda s: get(s.get("service"), "search", "search_in_process", "p50_ms"), "o-"),
        ("ours, POST /v1/search p50", lambda s: get(s.get("service"), "search", "http_v1_search", "p50_ms"), "s-"),
        ("ours, POST /v1/search p95", lambda s: get(s.get("service"), "search", "http_v1_search", "p95_ms"), "s--"),
        ("(b) rank_bm25 + numpy + RRF p50", lambda s: get(s.get("textbook"), "search", "p50_ms"), "^-"),
        ("(a) llama-index default p50", lambda s: get(s.get("llama_index"), "search", "p50_ms"), "v-")])
    ax.set_yscale("log")
    ax.set_ylabel("latency per query, ms (log)")
    _save(fig, ax, directory / "latency_vs_size.png", "Search latency vs corpus size (k=10)", missing)
    out.append(directory / "latency_vs_size.png")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    missing = _by_size(r, ax, [
        ("ours: service process peak RSS", lambda s: get(s.get("service"), "memory", "peak_rss_mib"), "o-"),
        ("ours: of which JVM committed (NMT)", lambda s: get(s.get("service"), "memory", "jvm", "committed_mib"),
         "o--"),
        ("(b) process peak RSS", lambda s: get(s.get("textbook"), "process_memory", "peak_rss_mib"), "^-"),
        ("(a) process peak RSS", lambda s: get(s.get("llama_index"), "process_memory", "peak_rss_mib"), "v-")])
    ax.set_ylabel("MiB")
    _save(fig, ax, directory / "memory_vs_size.png", "Peak memory vs corpus size", missing)
    out.append(directory / "memory_vs_size.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    th = get(r.get("indexing"), "throughput")
    bars = [("raw encoder\n(baseline)", get(th, "raw_encoder_chunks_per_s")),
            ("end to end\n(index_paths)", get(th, "end_to_end_chunks_per_s"))]
    shown = [(label, n) for label, v in bars if (n := _number(v)) is not None]
    ax.bar([b[0] for b in shown], [b[1] for b in shown], color=["#999999", "#1f77b4"][: len(shown)])
    ax.set_ylabel("chunks/s")
    _save(fig, ax, directory / "ingestion.png", "Ingestion throughput vs the raw encoder",
          [label.split("\n")[0] for label, v in bars if _number(v) is None])
    out.append(directory / "ingestion.png")

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    lists = get(r["sizes"].get("starter", {}).get("service"), "interactions") or {}
    missing = []
    for label, path, style in (("one call, warm p50 (in process)", ("in_process", "p50_ms"), "o-"),
                               ("one call, warm p50 (REST)", ("rest", "p50_ms"), "s-"),
                               ("baseline: one call per pair", ("baseline_pairwise_ms",), "^--")):
        _line(ax, [(int(n), _number(get(x, *path))) for n, x in lists.items() if isinstance(x, dict)],
              style, label, missing)
    ax.set_xlabel("drugs on the list")
    ax.set_xticks([5, 20, 50])
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.grid(True, which="both", alpha=0.3)
    if not missing or len(missing) < 3:
        ax.legend(fontsize=8)
    _save(fig, ax, directory / "interactions.png", "Interaction check latency", missing)
    out.append(directory / "interactions.png")
    plt.close("all")
    return out
