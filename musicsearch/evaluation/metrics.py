"""Ranking metrics (MRR, HitRate@k, nDCG@k), and their expected values under a random ranking.

Non-finite scores are refused and every metric is range-checked (:mod:`.checks`).

Everything works on a score matrix ``(queries, documents)`` so the model, BM25
(:meth:`~musicsearch.search.keywords.KeywordIndex.bm25_matrix`) and random scores are measured by the
same code.

Example:
    >>> scores = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> own_item_metrics(scores, ks=(1,))
    {'mrr': 1.0, 'hit@1': 1.0, 'median_rank': 1.0}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .checks import check_metric, check_metrics, require_finite


def own_item_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of document ``i`` for query ``i`` among all documents of row ``i``.

    Ties are broken by averaging the best and worst possible rank, so a constant scorer gets the
    random-ranking expectation instead of a perfect score. The own document is left out of the tie count
    by position, not by comparing its score with itself (which NaN fails), and non-finite scores are
    refused: every rank lies in ``[1, documents]``.

    Raises:
        NonFiniteValues: a score is NaN or infinite.
    """
    scores = require_finite(np.asarray(scores, dtype=np.float64), "similarity scores")
    own = np.diag(scores)[:, None]
    others = ~np.eye(*scores.shape, dtype=bool)
    better = ((scores > own) & others).sum(1)
    tied = ((scores == own) & others).sum(1)
    return 1.0 + better + tied / 2.0


def metrics_from_ranks(ranks: np.ndarray, ks: Sequence[int] = (1, 10, 100), *,
                       where: str = "retrieval") -> dict[str, float]:
    """MRR, HitRate@k and median rank of 1-based ranks, each checked to lie in its range.

    Example:
        >>> metrics_from_ranks(np.array([1.0, 2.0]), ks=(1,))
        {'mrr': 0.75, 'hit@1': 0.5, 'median_rank': 1.5}
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    metrics = {"mrr": float(np.mean(1.0 / ranks))}
    for k in ks:
        metrics[f"hit@{k}"] = float(np.mean(ranks <= k))
    metrics["median_rank"] = float(np.median(ranks))
    return dict(check_metrics(metrics, where=where))


def own_item_metrics(scores: np.ndarray, ks: Sequence[int] = (1, 10, 100)) -> dict[str, float]:
    """MRR, HitRate@k and median rank when query ``i``'s only relevant document is document ``i``.

    Raises:
        NonFiniteValues: a score is NaN or infinite.
    """
    return metrics_from_ranks(own_item_ranks(scores), ks)


def random_metrics(n: int, ks: Sequence[int] = (1, 10, 100)) -> dict[str, float]:
    """Expected own-item metrics of a random ranking of ``n`` documents (exact, not sampled)."""
    ranks = np.arange(1, n + 1, dtype=np.float64)
    metrics = {"mrr": float(np.mean(1.0 / ranks))}
    for k in ks:
        metrics[f"hit@{k}"] = min(k, n) / n
    metrics["median_rank"] = (n + 1) / 2
    return dict(check_metrics(metrics, where=f"random ranking of {n} documents"))


def ndcg_at_k(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    """nDCG@k of one query with binary relevance.

    Args:
        scores: ``(documents,)`` scores.
        relevant: ``(documents,)`` bool.
        k: cut-off.

    Example:
        >>> ndcg_at_k(np.array([3.0, 2.0, 1.0]), np.array([True, False, True]), k=2)
        0.6131471927654584
    """
    relevant = np.asarray(relevant, dtype=bool)
    scores = require_finite(np.asarray(scores, dtype=np.float64), "document scores")
    ideal_hits = min(int(relevant.sum()), k)
    if ideal_hits == 0:
        return 0.0
    top = np.argsort(-scores, kind="stable")[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((relevant[top] * discounts[: len(top)]).sum())
    return check_metric(f"ndcg@{k}", dcg / float(discounts[:ideal_hits].sum()))


def random_ndcg(relevant_count: int, total: int, k: int = 10) -> float:
    """Expected nDCG@k of a random ranking: each of the top k is relevant with probability r/n."""
    if relevant_count == 0:
        return 0.0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = float(discounts[: min(relevant_count, k)].sum())
    expected = float(discounts[: min(k, total)].sum()) * relevant_count / total / ideal
    return check_metric(f"ndcg@{k}", expected, where=f"random ranking of {total} documents")


def bootstrap_interval(values: Sequence[float], *, level: float = 0.95, resamples: int = 10_000,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of per-query figures (the queries resampled with replacement).

    A mean over a few category queries moves a lot with which queries were asked: the interval says how
    much, so two figures closer than it are not told apart. Seeded, so the same values give the same bounds.

    Example:
        >>> low, high = bootstrap_interval([0.1, 0.9, 1.0, 0.6])
        >>> low < 0.65 < high
        True

    Raises:
        ValueError: no values, or ``level`` outside (0, 1).
        NonFiniteValues: a value is NaN or infinite (see :mod:`.checks`).
    """
    figures = require_finite(np.asarray(values, dtype=np.float64), "the per-query figures of an interval")
    if figures.size == 0:
        raise ValueError("bootstrap_interval needs at least one value; no query was scored.")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie between 0 and 1 (got {level}).")
    draws = np.random.default_rng(seed).integers(0, figures.size, size=(resamples, figures.size))
    means = figures[draws].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))
