"""Evaluating hybrid fusion: queries with known answers (:class:`DevQuery`) and nDCG@k of fused rankings.

:func:`~musicsearch.search.hybrid.make_dev_queries` writes title, composer, type and caption queries from
held-out tunes; :mod:`musicsearch.search.category_queries` adds category queries in five languages.
:func:`prepare` computes each query's signals once (as ``SearchIndex.search(mode="hybrid")`` would), so
that :func:`~musicsearch.search.hybrid.tune_fusion_weights` can try hundreds of weights in seconds.

Example:
    >>> prepared = prepare(index, [query.text for query in queries])  # doctest: +SKIP
    >>> mean_ndcg(index, queries, prepared, FusionWeights())  # doctest: +SKIP
    0.95
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import ann
from .hybrid import FusionWeights, fuse, signals
from .understanding import understand_query


@dataclass
class DevQuery:
    """A query with known answers, for tuning and evaluating fusion."""

    text: str
    relevant: frozenset[str]  # ids of the tunes that answer it
    kind: str  # "title", "composer", "caption", "type" or "category"
    language: str = "en"  # the query's language (category queries are written in five)


def prepare(index: Any, texts: Sequence[str], *, understand: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`signals` of each query as ``SearchIndex.search(mode="hybrid")`` computes them (one encoder batch)."""
    readings = [understand_query(text) if understand else None for text in texts]
    encoded = [reading.english() if reading else text for reading, text in zip(readings, texts)]
    vectors = ann.as_matrix(index.model.encode_text(encoded), dim=index.dim)
    return [signals(index, text, vector, understand=understand, reading=reading)
            for text, vector, reading in zip(texts, vectors, readings)]


def mean_ndcg(index: Any, queries: Sequence[DevQuery], prepared: Sequence[tuple[np.ndarray, np.ndarray]],
              weights: FusionWeights, k: int = 10) -> float:
    """Mean binary-relevance nDCG@k of fused rankings (``prepared`` = :func:`signals` per query)."""
    values = []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for query, (rows, scaled) in zip(queries, prepared):
        top, _ = fuse(rows, scaled, weights, k)
        gains = np.array([index.records[row].id in query.relevant for row in top], dtype=np.float64)
        ideal = discounts[:min(k, len(query.relevant))].sum()
        values.append(float((gains * discounts[:len(gains)]).sum() / ideal) if ideal else 0.0)
    return float(np.mean(values)) if values else 0.0


def _group(records: Sequence[Any], field: str) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for record in records:
        value = (record.metadata.get(field) or "").strip().lower()
        if value:
            groups.setdefault(value, set()).add(record.id)
    return groups
