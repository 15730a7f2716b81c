"""Plots of what a corpus holds: counts per collection, tune type, meter and mode."""

from __future__ import annotations

from typing import Any


def plot_corpus_overview(stats: dict[str, Any], *, top: int = 12):
    """Four bar charts from :func:`musicsearch.corpus_stats`: collections, tune types, meters, modes.

    Returns:
        A matplotlib ``Figure``.

    Example:
        >>> figure = plot_corpus_overview(corpus_stats(load_corpus()))  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    sections = [("collections", "records per collection"), ("tune_types", "tune types and genres"),
                ("meters", "meters"), ("modes", "modes")]
    figure, axes = plt.subplots(2, 2, figsize=(12, 8))
    for axis, (key, title) in zip(axes.flat, sections):
        items = list(stats.get(key, {}).items())[:top][::-1]
        axis.barh([str(name) for name, _ in items], [count for _, count in items], color="#4C72B0")
        axis.set_title(title)
        axis.set_xscale("log" if items and max(c for _, c in items) > 50 * max(1, min(c for _, c in items)) else "linear")
        axis.tick_params(axis="y", labelsize=8)
    figure.suptitle(f"{stats.get('records', 0):,} records")
    figure.tight_layout()
    return figure
