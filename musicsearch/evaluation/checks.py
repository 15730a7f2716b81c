"""Honest figures: embeddings must be finite and every metric must lie in its range, or nothing is reported.

A model whose weights went NaN embeds every tune to NaN; compared with ``>`` and ``==``, NaN scores once
ranked every tune first (MRR 2.000, median rank 0.5). Every evaluator of this package therefore passes its
embeddings and scores through :func:`require_finite`, and its results through :func:`check_metrics`,
which knows what each metric can be (MRR, HitRate@k, nDCG@k, recall, accuracy and F1 in [0, 1]; a rank at
least 1). A value outside its range is an :class:`EvaluationError`, never a figure.

Example:
    >>> check_metrics({"mrr": 0.42, "hit@10": 0.9, "median_rank": 3.0}, where="caption retrieval")
    {'mrr': 0.42, 'hit@10': 0.9, 'median_rank': 3.0}
    >>> try:
    ...     check_metrics({"mrr": 2.0}, where="caption retrieval")
    ... except EvaluationError as error:
    ...     print(str(error)[:42])
    caption retrieval: mrr = 2 is impossible (
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import EvaluationError, NonFiniteValues

# Metric name (or name prefix, before "@") -> (lowest, highest) possible value.
_RANGES: dict[str, tuple[float, float]] = {
    "mrr": (0.0, 1.0), "hit": (0.0, 1.0), "ndcg": (0.0, 1.0), "recall": (0.0, 1.0), "precision": (0.0, 1.0),
    "accuracy": (0.0, 1.0), "macro_f1": (0.0, 1.0), "f1": (0.0, 1.0), "median_rank": (1.0, math.inf),
    "mean_rank": (1.0, math.inf),
}


def require_finite(values: Any, what: str, *, labels: Sequence[str] | None = None,
                   advice: str | None = None) -> np.ndarray:
    """``values`` as an array when every entry is finite; otherwise a :class:`NonFiniteValues` naming them.

    Args:
        values: an array (rows are items: tunes, queries).
        what: what the values are, for the message ("music embeddings of the held-out tunes").
        labels: a name per row (tune ids, queries), to show the first bad one.
        advice: what to do; by default, what a NaN model calls for.

    Example:
        >>> require_finite([[0.5, 1.0]], "scores").shape
        (1, 2)
    """
    array = np.asarray(values)
    if not np.issubdtype(array.dtype, np.number):
        return array
    finite = np.isfinite(array)
    if finite.all():
        return array
    rows = len(array) if array.ndim else 1
    bad_rows = np.flatnonzero(~finite.reshape(rows, -1).all(1))
    first = int(bad_rows[0])
    example = f"{labels[first]!r}" if labels is not None and first < len(labels) else f"row {first}"
    advice = advice or ("The model's weights are probably not finite (its training diverged): retrain it, "
                        "e.g. with a lower learning rate.")
    raise NonFiniteValues(f"{what} hold non-finite values (NaN or infinity) in {len(bad_rows)} of "
                          f"{rows} rows (first: {example}); no metric is "
                          f"reported from them. {advice}")


def _range(name: str) -> tuple[float, float] | None:
    key = name.split("@", 1)[0]
    return _RANGES.get(name) or _RANGES.get(key)


def check_metric(name: str, value: Any, *, where: str = "evaluation") -> Any:
    """``value`` unchanged when it is a possible value of metric ``name``; numbers must at least be finite.

    Raises:
        EvaluationError: naming where, the metric, the value and its range.
    """
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return value
    number = float(value)
    bounds = _range(name)
    if math.isfinite(number) and (bounds is None or bounds[0] <= number <= bounds[1]):
        return value
    expected = f"a {name} lies in [{bounds[0]:g}, {bounds[1]:g}]" if bounds else "a metric is a finite number"
    raise EvaluationError(f"{where}: {name} = {number:g} is impossible ({expected}); the scores it was "
                          "computed from are broken. This is a fault to fix, not a result to report.")


def check_metrics(metrics: Mapping[str, Any], *, where: str = "evaluation") -> Mapping[str, Any]:
    """Every value of ``metrics`` through :func:`check_metric`; returns ``metrics`` unchanged."""
    for name, value in metrics.items():
        check_metric(name, value, where=where)
    return metrics
