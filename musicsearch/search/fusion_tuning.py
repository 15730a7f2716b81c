"""Evaluating hybrid fusion: queries with known answers (:class:`DevQuery`) and nDCG@k of fused rankings.

:func:`make_dev_queries` writes title, composer, type and caption queries from
held-out tunes; :mod:`musicsearch.search.category_queries` adds category queries in five languages.
:func:`prepare` computes each query's signals once (as ``SearchIndex.search(mode="hybrid")`` would), so
that :func:`tune_fusion_weights` can try hundreds of weights in seconds.

Example:
    >>> prepared = prepare(index, [query.text for query in queries])  # doctest: +SKIP
    >>> mean_ndcg(index, queries, prepared, FusionWeights())  # doctest: +SKIP
    0.95
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
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


def _group_key(field: str, value: str) -> str:
    # A title is the same title whatever its quotes, brackets or commas ('"Kuhreigen"' is "Kuhreigen"):
    # no reader tells them apart. Types and composers stay as written: their spelling is the label.
    value = value.strip().lower()
    return " ".join(re.sub(r"[^\w\s]", " ", value).split()) if field == "title" else value


def _group(records: Sequence[Any], field: str) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for record in records:
        value = _group_key(field, record.metadata.get(field) or "")
        if value:
            groups.setdefault(value, set()).add(record.id)
    return groups


def make_dev_queries(records: Sequence[Any], *, pool: Sequence[Any] | None = None, per_kind: int = 50,
                     seed: int = 0) -> list[Any]:
    """Queries written from ``records`` (e.g. a held-out split), answered over ``pool`` (the index's records).

    Title queries are the exact title (relevant: every tune with that title in the pool, titles compared
    as words: quotes and punctuation ignored); composer queries read "tunes by NAME"; caption queries are
    the tune's own first caption; type queries "a TYPE" (relevant: every tune with that type as written).
    """
    rng = np.random.default_rng(seed)
    pool = list(pool if pool is not None else records)
    by = {name: _group(pool, name) for name in ("title", "composer", "rhythm")}
    queries: list[DevQuery] = []
    picked = [records[i] for i in rng.permutation(len(records))]
    for kind, field, template in (("title", "title", "{}"), ("composer", "composer", "tunes by {}"),
                                  ("type", "rhythm", "a {}")):
        seen: set[str] = set()
        for record in picked:
            value = (record.metadata.get(field) or "").strip()
            key = _group_key(field, value)
            if key and key not in seen and key in by[field] and len(seen) < per_kind:
                seen.add(key)
                queries.append(DevQuery(template.format(value), frozenset(by[field][key]), kind))
    for record in picked[:per_kind]:
        if getattr(record, "captions", None):
            queries.append(DevQuery(record.captions[0], frozenset({record.id}), "caption"))
    return queries


def tune_fusion_weights(index: Any, queries: Sequence[Any], *, grid: Sequence[float] = (0.0, 0.25, 0.5, 1.0),
                        tuned: Sequence[str] = ("keyword", "title", "fields"), k: int = 10,
                        prepared: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
                        ) -> tuple[FusionWeights, list[dict[str, Any]]]:
    """Grid-search the ``tuned`` weights of :class:`FusionWeights` maximising mean nDCG@k over ``queries``.

    Content stays at 1 and signals not tuned at 0 (``metadata`` by default: an index may have no
    metadata vectors). ``prepared``: :func:`signals` of each query, when the caller has them already.
    The objective is the mean over query kinds of each kind's mean nDCG, so that a kind with many
    queries (category queries come in five languages) does not decide alone.

    Returns:
        The best weights and one row per grid point (``weights``, ``ndcg``), best first (ties: the
        earlier grid point, so smaller weights win).
    """
    if prepared is None:
        prepared = prepare(index, [query.text for query in queries])
    kinds: dict[str, list[int]] = {}
    for position, query in enumerate(queries):
        kinds.setdefault(query.kind, []).append(position)
    table = []
    for values in itertools.product(grid, repeat=len(tuned)):
        weights = FusionWeights(1.0, 0.0, 0.0, 0.0, 0.0)
        for name, value in zip(tuned, values):
            setattr(weights, name, float(value))
        score = float(np.mean([mean_ndcg(index, [queries[i] for i in rows], [prepared[i] for i in rows], weights, k)
                               for rows in kinds.values()])) if kinds else 0.0
        table.append({"weights": asdict(weights), "ndcg": score})
    table.sort(key=lambda row: -row["ndcg"])
    return FusionWeights(**table[0]["weights"]), table
