"""Hybrid hits: the fused ranking as :class:`~musicsearch.search.hit.Hit` objects that say why they matched.

:func:`hybrid_search` is what ``SearchIndex.search(mode="hybrid")`` runs for each query: the signals and
their fusion (:mod:`musicsearch.search.hybrid`) over the query as read by
:func:`~musicsearch.search.understanding.understand_query`, identical music folded into one hit
(:mod:`musicsearch.search.duplicates`), and on each hit a ``why``: the constraints it satisfies and misses,
the query words found in its metadata, an exact title, and its content (sound) score.
:func:`explain_query` is the reading a person sees above the hits, with how many tunes satisfy it.

Example:
    >>> hit = index.search("a slow Irish air in a minor key", k=1, mode="hybrid")[0]  # doctest: +SKIP
    >>> hit.why["fields"]  # doctest: +SKIP
    {'tune_type': 'air', 'mode': 'minor', 'origin': 'Ireland'}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ann
from .duplicates import attach_duplicates, fold_rows
from .hybrid import CANDIDATES, FusionWeights, field_index, fuse, keyword_index, signals, why_matched
from .understanding import QueryReading, understand_query


def hybrid_search(index: Any, text: str, vector: np.ndarray, k: int, weights: FusionWeights | None = None, *,
                  reading: QueryReading | None = None, understand: bool = True) -> list:
    """Hits of a hybrid query (called by ``SearchIndex.search(mode="hybrid")``), each with its ``why``.

    Tunes with identical music count once: the hit's ``also_in`` lists the others (the melody index's
    duplicate groups, as melody search folds them).
    """
    vector = np.asarray(vector, dtype=np.float32)
    reading = (reading or understand_query(text)) if understand else None
    rows, scaled = signals(index, text, vector, candidates=max(CANDIDATES, k), understand=understand,
                           reading=reading)
    top, scores = fuse(rows, scaled, weights or FusionWeights(), len(rows))
    chosen = fold_rows(index, top, k)
    hits = [index.hit(int(top[at]), float(scores[at]), rank) for rank, at in enumerate(chosen, 1)]
    attach_duplicates(index, hits, top[chosen])
    content = ann.reconstruct(index.faiss_index, top[chosen]) @ vector if chosen else np.zeros(0)
    matched = field_index(index).matches(reading.constraints)[top[chosen]] if reading and reading.constraints else None
    keywords = keyword_index(index)
    for position, hit in enumerate(hits):
        met = matched[position] if matched is not None else None
        hit.why = {"content": round(float(content[position]), 4),
                   **why_matched(keywords, int(top[chosen[position]]), text, reading, met)}
    return hits


def explain_query(index: Any, query: str) -> QueryReading:
    """How hybrid search reads ``query`` over ``index``: the reading plus how many tunes satisfy it.

    Example:
        >>> explain_query(index, "a reel in 3/4").notes[-1]  # doctest: +SKIP
        'no tune satisfies type reel and meter 3/4 together: tunes satisfying most of it come first'
    """
    reading = understand_query(query)
    if reading.constraints:
        count = int(field_index(index).matches(reading.constraints).all(axis=1).sum())
        said = " and ".join(f"{_LABEL.get(name, name)} {value}" for name, value in reading.constraints.items())
        if count:
            reading.notes.append(f"{count} tune{'s' if count != 1 else ''} satisfy {said}")
        else:
            reading.notes.append(f"no tune satisfies {said}{' together' if len(reading.constraints) > 1 else ''}: "
                                 "tunes satisfying most of it come first")
    return reading


_LABEL = {"tune_type": "type"}
