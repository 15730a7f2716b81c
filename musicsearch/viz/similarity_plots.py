"""Label prompts versus tunes: the cosine matrix behind zero-shot classification, as a heatmap.

Each row is a label's prompt-ensembled text embedding (the zero-shot classifier's weight column), each
column a tune's music embedding. Sorting tunes by their best label turns a model that separates the labels
into a visible block diagonal.

Example:
    >>> figure = plot_similarity_heatmap(model, ["jig", "reel"], corpus[:40])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def similarity_matrix(
    model: Any,
    labels: Sequence[str],
    items: Any,
    templates: Sequence[Any] | None = None,
    *,
    task: str | None = None,
) -> np.ndarray:
    """Cosines ``(L, N)`` between label prompts and tunes (ABC strings, records, or ``(N, D)`` embeddings).

    Example:
        >>> similarity_matrix(model, ["jig", "reel"], ["K:D\\n|:dfa afd:|"]).shape  # doctest: +SKIP
        (2, 1)
    """
    from ..zeroshot.classifier import ZeroShotClassifier

    classifier = ZeroShotClassifier(model, labels, templates, task=task)
    return (classifier.embed(items) @ classifier.weights).T


def plot_similarity_heatmap(
    model: Any,
    labels: Sequence[str],
    items: Any,
    templates: Sequence[Any] | None = None,
    *,
    titles: Sequence[str] | None = None,
    sort: bool = True,
    task: str | None = None,
    ax: Any = None,
) -> Any:
    """Heatmap of :func:`similarity_matrix`; returns the matplotlib figure.

    Args:
        model: encodes label prompts and tunes.
        labels: class names, e.g. ``["jig", "reel", "hornpipe"]``.
        items: tunes (records, ABC strings) or their embeddings.
        templates: prompt templates (default: those of ``task``, see :mod:`musicsearch.zeroshot.templates`).
        titles: column names; default: the records' titles when there are at most 40 tunes.
        sort: order tunes by best label, then by similarity.
        ax: axes to draw on.
    """
    import matplotlib.pyplot as plt

    matrix = similarity_matrix(model, labels, items, templates, task=task)
    labels = list(labels)
    if titles is None and not isinstance(items, np.ndarray) and matrix.shape[1] <= 40:
        titles = [getattr(item, "title", None) or f"tune {i + 1}" for i, item in enumerate(items)]
    order = np.arange(matrix.shape[1])
    if sort and matrix.shape[1]:
        best = matrix.argmax(axis=0)
        order = np.lexsort((-matrix.max(axis=0), best))
    matrix = matrix[:, order]
    if ax is None:
        _, ax = plt.subplots(figsize=(min(14, 2 + 0.25 * matrix.shape[1]), 1 + 0.45 * len(labels)))
    image = ax.imshow(matrix, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(labels)), labels)
    if titles is not None:
        ax.set_xticks(range(len(order)), [str(titles[i])[:24] for i in order], rotation=90, fontsize=7)
    else:
        ax.set_xlabel(f"{matrix.shape[1]} tunes" + (" (sorted by best label)" if sort else ""))
    ax.set_title("cosine similarity: label prompts × tunes")
    ax.figure.colorbar(image, ax=ax, fraction=0.03)
    return ax.figure
