"""Exact versus approximate search: recall, latency, build time and memory of flat, IVF and HNSW.

The approximate indexes trade recall for speed; this module measures that trade on given embeddings
(the corpus's own) or on synthetic ones (for sizes beyond the corpus). Recall@k is the share of the
exact top-k that the approximate top-k finds (the usual ANN-benchmarks definition).

Synthetic embeddings are clustered with a low intrinsic dimension, like real learnt embeddings; an
isotropic Gaussian cloud in 256 dimensions would make every index look worse than on real data.
:func:`format_ann_results` prints the rows; :func:`musicsearch.viz.ann_plots.plot_recall_latency` draws them.

Example:
    >>> vectors = synthetic_embeddings(2000, 32, seed=0)
    >>> result = measure_index(vectors, vectors[:50], "hnsw", k=10)
    >>> result["recall"] > 0.9
    True
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..search import ann
from .checks import check_metric, require_finite


def synthetic_embeddings(count: int, dim: int = 256, *, clusters: int | None = None, intrinsic: int = 32,
                         spread: float = 0.7, noise: float = 0.2, seed: int = 0, chunk: int = 100_000) -> np.ndarray:
    """L2-normalised vectors around ``clusters`` centres, varying in an ``intrinsic``-dimensional subspace.

    Args:
        count, dim: the array's shape.
        clusters: number of centres (default ``count // 1000``, at least 8).
        intrinsic: dimension of the shared subspace the within-cluster variation lives in.
        spread: size of that variation relative to the distance between centres (~1).
        noise: size of the isotropic, full-dimensional noise added on top.
    """
    rng = np.random.default_rng(seed)
    clusters = clusters or max(8, count // 1000)
    centres = rng.standard_normal((clusters, dim), dtype=np.float32) / np.sqrt(dim)
    basis = rng.standard_normal((intrinsic, dim), dtype=np.float32) * (spread / np.sqrt(dim * intrinsic))
    out = np.empty((count, dim), dtype=np.float32)
    for start in range(0, count, chunk):  # chunks keep the peak memory at the output array's size
        size = min(chunk, count - start)
        block = centres[rng.integers(0, clusters, size)]
        block += rng.standard_normal((size, intrinsic), dtype=np.float32) @ basis
        block += rng.standard_normal((size, dim), dtype=np.float32) * (noise / np.sqrt(dim))
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:start + size] = block
    return out


def recall_at_k(approximate_ids: np.ndarray, exact_ids: np.ndarray, k: int) -> float:
    """Mean share of each exact top-k found in the approximate top-k.

    Example:
        >>> recall_at_k(np.array([[1, 2, 3]]), np.array([[1, 3, 4]]), 3)
        0.6666666666666666
    """
    found = [len(set(a[:k].tolist()) & set(e[:k].tolist())) / k for a, e in zip(approximate_ids, exact_ids)]
    return float(np.mean(found))


def latency_ms(index: Any, queries: np.ndarray, k: int, *, warmup: int = 5) -> np.ndarray:
    """Per-query wall time (ms) of one-at-a-time searches, as an interactive user issues them."""
    for query in queries[:warmup]:
        index.search(query[None, :], k)
    times = np.empty(len(queries))
    for row, query in enumerate(queries):
        start = time.perf_counter()
        index.search(query[None, :], k)
        times[row] = (time.perf_counter() - start) * 1000
    return times


def measure_index(vectors: np.ndarray, queries: np.ndarray, kind: str, *, k: int = 10,
                  params: ann.ANNParams | None = None, exact_ids: np.ndarray | None = None,
                  built: Any = None) -> dict[str, Any]:
    """Build (unless ``built`` is given) and measure one index kind against exact search.

    Returns:
        ``{"kind", "build_s", "p50_ms", "p99_ms", "recall", "bytes_per_vector", "params"}``.

    Raises:
        NonFiniteValues: a vector or query holds NaN or infinity (faiss would return no neighbours).
    """
    params = params or ann.ANNParams()
    require_finite(vectors, "the indexed vectors")
    require_finite(queries, "the query vectors")
    start = time.perf_counter()
    index = built if built is not None else ann.build_faiss(vectors, kind, params)
    build_s = time.perf_counter() - start
    if exact_ids is None:
        exact_ids = exact_neighbours(vectors, queries, k)
    _, ids = ann.search_faiss(index, queries, k)
    times = latency_ms(index, queries, k)
    return {"kind": kind, "count": int(index.ntotal), "build_s": round(build_s, 3),
            "p50_ms": round(float(np.percentile(times, 50)), 4), "p99_ms": round(float(np.percentile(times, 99)), 4),
            "recall": check_metric("recall", round(recall_at_k(ids, exact_ids, k), 4), where=f"{kind} index"),
            "bytes_per_vector": round(ann.bytes_per_vector(index), 1), "params": params.to_dict()}


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ids of the exact top-``k`` by inner product (faiss flat search)."""
    _, ids = ann.search_faiss(ann.build_faiss(vectors, "flat"), queries, k)
    return ids


def sweep(index: Any, kind: str, queries: np.ndarray, exact_ids: np.ndarray, values: Sequence[int], *,
          k: int = 10) -> list[dict[str, Any]]:
    """Recall and latency of a built IVF/HNSW index for each ``nprobe`` / ``ef_search`` in ``values``."""
    rows = []
    for value in values:
        params = ann.ANNParams(nprobe=value, ef_search=value)
        ann.set_search_params(index, kind, params)
        _, ids = ann.search_faiss(index, queries, k)
        times = latency_ms(index, queries, k)
        recall = check_metric("recall", round(recall_at_k(ids, exact_ids, k), 4), where=f"{kind} at {value}")
        rows.append({"kind": kind, "value": int(value), "recall": recall,
                     "p50_ms": round(float(np.percentile(times, 50)), 4),
                     "p99_ms": round(float(np.percentile(times, 99)), 4)})
    return rows


def first_reaching(rows: Sequence[dict[str, Any]], recall: float = 0.95) -> dict[str, Any] | None:
    """The fastest sweep row whose recall reaches ``recall`` (None when none does)."""
    good = [row for row in rows if row["recall"] >= recall]
    return min(good, key=lambda row: row["p50_ms"]) if good else None



# Column title -> key of a measure_index / sweep row; a column shows only when some row has its key.
_COLUMNS = {"kind": "kind", "value": "value", "recall@k": "recall", "p50 ms": "p50_ms", "p99 ms": "p99_ms",
            "build s": "build_s", "bytes/vector": "bytes_per_vector"}


def format_ann_results(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of :func:`measure_index` results or :func:`sweep` rows (their text form).

    Example:
        >>> print(format_ann_results([{"kind": "hnsw", "value": 64, "recall": 0.97, "p50_ms": 0.21, "p99_ms": 0.4}]))
        | kind | value | recall@k | p50 ms | p99 ms |
        |---|---|---|---|---|
        | hnsw | 64 | 0.97 | 0.21 | 0.4 |
    """
    columns = {title: key for title, key in _COLUMNS.items() if any(key in row for row in rows)} or _COLUMNS
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(key, "")) for key in columns.values()) + " |")
    return "\n".join(lines)
