"""How a zero-shot classifier errs: its confusion matrix on labelled tunes, as an annotated heatmap.

The matrix comes from :func:`musicsearch.evaluate_zero_shot` (``TaskResult.confusion``, rows true,
columns predicted) or from scikit-learn's ``confusion_matrix``. Rows are normalised by default, so a
rare class's errors are as visible as a frequent one's; the cells still show the raw counts.

Example:
    >>> ax = plot_confusion_matrix([[5, 1], [2, 7]], ["jig", "reel"], title="tune type")  # doctest: +SKIP
    >>> len(ax.texts)  # doctest: +SKIP
    4
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def plot_confusion_matrix(matrix: Any, labels: Sequence[str], *, normalize: bool = True, title: str | None = None,
                          ax: Any = None) -> Any:
    """Draw a confusion matrix (rows: true, columns: predicted) with matplotlib; returns the axes.

    Args:
        matrix: ``(L, L)`` counts, rows true labels, columns predicted ones.
        labels: the class names, in the matrix's order.
        normalize: colour each row by its share of the row's tunes (the counts stay written in the cells).
        title: axes title.
        ax: axes to draw on (default: a new figure sized to the number of labels).

    Example:
        >>> plot_confusion_matrix([[5, 1], [2, 7]], ["jig", "reel"]).get_xlabel()  # doctest: +SKIP
        'predicted'
    """
    import matplotlib.pyplot as plt

    counts = np.asarray(matrix, dtype=np.float64)
    shown = counts / counts.sum(axis=1, keepdims=True).clip(min=1) if normalize else counts
    if ax is None:
        size = max(3.0, 0.45 * len(labels) + 1.5)
        _, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (row, column), value in np.ndenumerate(counts):
        if value:
            ax.text(column, row, f"{int(value)}", ha="center", va="center", fontsize=8,
                    color="white" if shown[row, column] > 0.6 else "black")
    if title:
        ax.set_title(title)
    return ax
