"""The candidate stage of melody search: interval n-grams with their positions, voted along diagonals.

Every window of ``n`` intervals of every tune is a code (intervals clipped to +-15 semitones, read as digits
in base 31), and so is every window of ``n + 1`` intervals with one neighbouring pair summed — the code of
the same passage with one note missing. A query's codes (both kinds too) are looked up, and each hit votes,
weighted by how rare its code is, for the **diagonal** it lies on: where in the tune the query would start.
Hits of the right passage pile up on one diagonal, chance hits scatter, which makes votes far sharper than
a bag of n-grams:

* a **wrong note** leaves the windows around it matching as "one note missing" codes (the sum of its two
  intervals is unchanged), on the same diagonal;
* a **missing or extra note** turns a plain code into a summed one and shifts the diagonal by one, which
  the vote counts in a band of diagonals.

Building it for the default corpus is one sort of a few million codes; a query is a searchsorted, a
bincount and a running maximum per tune.

Example:
    >>> intervals = np.array([2, 2, 1, -5, 3, 2, 2, 1, 7], dtype=np.int16)
    >>> grams = GramIndex.build(intervals, np.array([0, 4, 9]), n=3)
    >>> rows, starts, votes = grams.candidates(np.array([2, 2, 1]), limit=5)
    >>> rows.tolist(), starts.tolist()
    ([0, 1], [0, 1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .melody_align import MAX_INTERVAL

BASE = 2 * MAX_INTERVAL + 1
BAND = 2  # diagonals either side counted with each one: room for two missing or extra notes


@dataclass
class GramIndex:
    """Codes (sorted), where each code's occurrences start in ``positions``, and the codes' weights."""

    n: int
    offsets: np.ndarray  # (T+1,) int64: tune t's intervals are positions offsets[t]:offsets[t+1]
    codes: np.ndarray  # (G,) int64, sorted, unique
    starts: np.ndarray  # (G+1,) int64: occurrences of codes[g] are positions[starts[g]:starts[g+1]]
    positions: np.ndarray  # (P,) int32 flat interval position where each occurrence starts
    weights: np.ndarray  # (G,) float32 log((tunes + 1) / tunes holding the code)
    tune_of: np.ndarray  # (intervals,) int32 the tune of each flat position
    tune_start: np.ndarray  # (intervals,) int64 the first position of that tune

    @classmethod
    def build(cls, intervals: np.ndarray, offsets: np.ndarray, n: int) -> GramIndex:
        """Index the codes of every tune (``intervals[offsets[t]:offsets[t+1]]`` is tune ``t``)."""
        if n < 2:
            raise ValueError(f"an n-gram of melody search has at least two intervals, got n={n}.")
        offsets = np.asarray(offsets, dtype=np.int64)
        lengths = np.diff(offsets)
        tune_of = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
        local = np.arange(len(intervals)) - offsets[:-1][tune_of] if len(intervals) else np.zeros(0, dtype=np.int64)
        all_codes, all_positions = [], []
        for codes, width in window_codes(np.asarray(intervals, dtype=np.int64), n):
            inside = local[:len(codes)] + width <= lengths[tune_of[:len(codes)]]
            all_codes.append(codes[inside])
            all_positions.append(np.flatnonzero(inside))
        codes = np.concatenate(all_codes) if all_codes else np.zeros(0, dtype=np.int64)
        positions = np.concatenate(all_positions) if all_positions else np.zeros(0, dtype=np.int64)
        order = np.lexsort((positions, codes))
        codes, positions = codes[order], positions[order]
        # The codes are sorted now: each one starts where the value changes (no second sort, which np.unique
        # would do: it took most of the build, the first melody query of a process).
        changes = np.ones(len(codes), dtype=bool)
        changes[1:] = codes[1:] != codes[:-1]
        first = np.flatnonzero(changes)
        unique = codes[first]
        starts = np.append(first, len(codes)).astype(np.int64)
        # Weight by the number of tunes holding a code, not its occurrences: a tune repeating it is no rarer.
        # Within a code the positions are sorted, so its tunes are too: a new holder is where the tune changes.
        tunes = tune_of[positions]
        holder = changes.copy()
        holder[1:] |= tunes[1:] != tunes[:-1]
        code_of = np.cumsum(changes) - 1
        tunes_holding = np.bincount(code_of[holder], minlength=len(unique))
        weights = np.log((len(lengths) + 1) / np.maximum(tunes_holding, 1)).astype(np.float32)
        return cls(n, offsets, unique.astype(np.int64), starts, positions.astype(np.int32), weights, tune_of,
                   offsets[tune_of])

    def candidates(self, query: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Up to ``limit`` tunes with the most votes, best first, and where the query starts in each.

        Returns:
            ``(rows, starts, votes)``: tune rows, the interval of each tune where the best diagonal puts the
            query's first interval (0 when the query would start before the tune), and votes.
        """
        query = np.asarray(query, dtype=np.int64)
        count = len(self.offsets) - 1
        hit_positions, query_positions, weights = self._hits(query)
        if not len(hit_positions) or count == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        # Each hit votes for where the query would start (its diagonal); a start before the tune's first
        # interval (the query overhangs it) counts as the first, so every key lies inside its own tune.
        keys = np.maximum(hit_positions - query_positions, self.tune_start[hit_positions]) + BAND
        size = int(self.offsets[-1]) + 2 * BAND + 1
        votes = np.bincount(keys, weights=weights, minlength=size)
        running = np.empty(size + 1)
        running[0] = 0.0
        np.cumsum(votes, out=running[1:])
        banded = np.zeros(size)
        banded[BAND:size - BAND] = running[2 * BAND + 1:] - running[:size - 2 * BAND]  # sum of keys k-BAND..k+BAND
        filled = np.flatnonzero(np.diff(self.offsets) > 0)
        firsts = self.offsets[filled] + BAND  # each tune's keys start here (a band may reach 2 keys across)
        firsts[:1] = 0  # the keys below the first tune hold no vote
        best = np.zeros(count)
        best[filled] = np.maximum.reduceat(banded, firsts)
        voted = np.flatnonzero(best > 0)
        if len(voted) > limit:
            voted = voted[np.argpartition(-best[voted], limit - 1)[:limit]]
        rows = voted[np.lexsort((voted, -best[voted]))]
        # The best band's own diagonal in each candidate: a band ties with its neighbours, and its centre
        # holds the most votes. Found for all candidates at once: the first key reaching its tune's peak.
        peak = banded + 1e-3 * votes
        sizes = np.diff(np.append(firsts, size))
        wanted = np.zeros(count, dtype=bool)
        wanted[rows] = True
        at_peak = np.repeat(wanted[filled], sizes) & (peak == np.repeat(np.maximum.reduceat(peak, firsts), sizes))
        positions = np.flatnonzero(at_peak)
        owners, first = np.unique(np.searchsorted(firsts, positions, side="right") - 1, return_index=True)
        key_of = np.zeros(count, dtype=np.int64)
        key_of[filled[owners]] = positions[first]
        starts = key_of[rows] - BAND - self.offsets[rows]  # the tune interval where the query starts
        return rows.astype(np.int64), starts, best[rows]

    def _hits(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every occurrence of every query code: (tune position, query position, weight)."""
        codes, places = [], []
        for query_codes, _ in window_codes(query, self.n):
            codes.append(query_codes)
            places.append(np.arange(len(query_codes)))
        codes, places = np.concatenate(codes), np.concatenate(places)
        found_at = np.searchsorted(self.codes, codes)
        found = found_at < len(self.codes)
        found[found] = self.codes[found_at[found]] == codes[found]
        found_at, places = found_at[found], places[found]
        begins, sizes = self.starts[found_at], self.starts[found_at + 1] - self.starts[found_at]
        total = int(sizes.sum())
        if not total:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        # Positions of every occurrence of every found code, without a Python loop.
        gather = np.repeat(begins - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes) + np.arange(total)
        return (self.positions[gather].astype(np.int64), np.repeat(places, sizes),
                np.repeat(self.weights[found_at], sizes).astype(np.float64))


def window_codes(intervals: np.ndarray, n: int) -> list[tuple[np.ndarray, int]]:
    """The codes starting at each position, with the number of intervals they span.

    The first array holds the plain ``n``-interval codes; then, for each ``k < n``, the codes of
    ``n + 1`` intervals with intervals ``k`` and ``k + 1`` summed (the passage with one note missing).

    Example:
        >>> [codes.tolist() for codes, _ in window_codes(np.array([0, 1, -1]), 2)]  # 15 + 16 * 31, ...
        [[511, 450], [450], [480]]
    """
    intervals = np.asarray(intervals, dtype=np.int64)
    if len(intervals) < n:
        return [(np.zeros(0, dtype=np.int64), n)]
    result = [(_codes([intervals[start:len(intervals) - n + 1 + start] for start in range(n)]), n)]
    count = len(intervals) - n
    if count > 0:
        columns = [intervals[start:start + count] for start in range(n + 1)]
        for k in range(n):
            result.append((_codes(columns[:k] + [columns[k] + columns[k + 1]] + columns[k + 2:]), n + 1))
    count = len(intervals) - 2 * n + 1
    if count > 0:
        pairs = intervals[:-1] + intervals[1:]
        result.append((_codes([pairs[2 * step:2 * step + count] for step in range(n)]) + BASE ** n, 2 * n))
    return result


def _codes(columns: list[np.ndarray]) -> np.ndarray:
    if not len(columns[0]):
        return np.zeros(0, dtype=np.int64)
    code = np.zeros(len(columns[0]), dtype=np.int64)
    for place, column in enumerate(columns):
        code += (np.clip(column, -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL) * BASE ** place
    return code
