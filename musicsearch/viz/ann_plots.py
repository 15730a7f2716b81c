"""Exact versus approximate search as a picture: recall@k against median latency per index kind.

The rows come from :func:`musicsearch.evaluation.ann.sweep` (one per ``nprobe`` / ``ef_search`` value);
each point is labelled with its value, so the plot reads as "how far to turn the knob for this recall".
Latency is on a log axis: IVF and HNSW differ from exact search by orders of magnitude at 1M vectors.

Example:
    >>> ax = plot_recall_latency(rows, exact_ms=exact["p50_ms"])  # doctest: +SKIP
    >>> ax.get_xscale()  # doctest: +SKIP
    'log'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def plot_recall_latency(rows: Sequence[dict[str, Any]], *, exact_ms: float | None = None, ax: Any = None) -> Any:
    """Recall@k against median latency, one line per index kind (rows from :func:`~musicsearch.evaluation.ann.sweep`).

    Args:
        rows: ``{"kind", "value", "recall", "p50_ms"}`` dicts, any number of kinds.
        exact_ms: median latency of exact (flat) search, drawn as a dashed reference line.
        ax: axes to draw on (default: a new figure).

    Returns:
        The matplotlib axes.

    Example:
        >>> rows = [{"kind": "hnsw", "value": 16, "recall": 0.9, "p50_ms": 0.2}]
        >>> plot_recall_latency(rows, exact_ms=3.0).get_xlabel()  # doctest: +SKIP
        'median latency per query (ms)'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    for kind in dict.fromkeys(row["kind"] for row in rows):
        points = sorted((row["p50_ms"], row["recall"], row["value"]) for row in rows if row["kind"] == kind)
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=kind)
        for latency, recall, value in points:
            ax.annotate(str(value), (latency, recall), textcoords="offset points", xytext=(3, -9), fontsize=7)
    if exact_ms is not None:
        ax.axvline(exact_ms, color="grey", linestyle="--", label="exact (flat)")
    ax.set_xscale("log")
    ax.set_xlabel("median latency per query (ms)")
    ax.set_ylabel("recall@10 vs exact")
    ax.legend()
    return ax
