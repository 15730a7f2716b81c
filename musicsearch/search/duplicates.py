"""Near-duplicates in text results: the same music stored twice is one hit, whose ``also_in`` lists the rest.

The corpus holds some tunes twice (one tune in two collections, or a file copied into two books). Which
tunes are "the same music" is decided once, by the melody index (:attr:`MelodyIndex.groups
<musicsearch.search.melody.MelodyIndex>`: an identical interval sequence of at least 8 intervals), the
grouping melody search folds by; text search (content and hybrid) folds by the same groups.

Example:
    >>> chosen = fold_rows(index, np.array([4, 9, 2]), k=2)  # doctest: +SKIP
    >>> chosen  # positions in the ranked rows; row 9 was a copy of row 4  # doctest: +SKIP
    [0, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def groups_of(index: Any) -> np.ndarray | None:
    """The duplicate group of every row (``groups[row] == groups[other]``: same music), or None without one."""
    try:
        return index.melody_index.groups
    except AttributeError:  # a stand-in index without melodies: nothing is folded
        return None


def fold_rows(index: Any, ranked_rows: np.ndarray, k: int) -> list[int]:
    """Positions in ``ranked_rows`` (best first) of the first ``k`` rows, skipping copies of a row already kept."""
    groups = groups_of(index)
    if groups is None:
        return list(range(min(k, len(ranked_rows))))
    chosen, seen = [], set()
    for position, row in enumerate(ranked_rows):
        group = int(groups[int(row)])
        if group in seen:
            continue
        seen.add(group)
        chosen.append(position)
        if len(chosen) == k:
            break
    return chosen


def attach_duplicates(index: Any, hits: Sequence[Any], rows: Sequence[int]) -> None:
    """Set each hit's ``also_in`` to the ids of the other tunes with its music (empty when it has none)."""
    groups = groups_of(index)
    if groups is None:
        return
    for hit, row in zip(hits, rows):
        twins = np.flatnonzero(groups == groups[int(row)])
        hit.also_in = tuple(index.records[int(other)].id for other in twins if int(other) != int(row))


def fold_hits(index: Any, hits: Sequence[Any], k: int) -> list[Any]:
    """The first ``k`` of ranked ``hits`` with copies folded into ``also_in`` and ranks renumbered.

    Example:
        >>> [hit.rank for hit in fold_hits(index, index.search_vectors(vector, 20)[0], 10)]  # doctest: +SKIP
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    """
    if not hits:
        return []
    rows_of = getattr(index, "_row_of", None)
    if rows_of is None or len(rows_of) != len(index.records):
        rows_of = index._row_of = {record.id: row for row, record in enumerate(index.records)}
    rows = np.array([rows_of[hit.id] for hit in hits], dtype=np.int64)
    kept = [hits[position] for position in fold_rows(index, rows, k)]
    attach_duplicates(index, kept, [rows_of[hit.id] for hit in kept])
    for rank, hit in enumerate(kept, 1):
        hit.rank = rank
    return kept
