"""Local alignment of a melody query against many tunes at once (Smith-Waterman over intervals, NumPy).

A query and a tune are sequences of intervals (semitones from note to note), so a transposed query aligns
as well as the original. The alignment tolerates what people get wrong when they remember a tune:

* a **wrong note** changes two intervals but not their sum: two query intervals against two tune intervals
  with the same sum score as a wrong note (less than two matches, far more than two mismatches); other
  substitutions score by distance (a near miss costs less than a far one);
* a **missing note** merges two tune intervals into one of the query (``t[j-1] + t[j]`` against ``q[i]``),
  an **extra note** splits one in two (``q[i-1] + q[i]`` against ``t[j]``): both score as that match less
  a penalty, like the consolidation and fragmentation of Mongeau and Sankoff;
* anything else is a gap in the query or the tune, at a linear cost.

Matching rhythm (each note's duration over the previous one's) adds a bonus, which breaks ties between tunes
with the same notes and stays the same at any tempo.

Many tunes are aligned in one pass: their intervals are laid end to end, two empty cells before each, and
each query interval is one vectorised step over all of them; the left-to-right gap recurrence
``H[j] = max_k (V[k] - gap * (j - k))`` is a running maximum, kept from crossing into the next tune by a
per-tune offset larger than any score.

Example:
    >>> query = np.array([2, 2, -4]); tunes = [np.array([5, 2, 2, -4, 1]), np.array([1, 1, 1])]
    >>> scores, tune_ends, query_ends = align_many(query, np.zeros(3), tunes, [np.zeros(5), np.zeros(3)])
    >>> scores.tolist(), tune_ends.tolist(), query_ends.tolist()
    ([9.0, 2.5], [3, 2], [2, 1])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

MAX_INTERVAL = 15  # intervals are clipped to +-15 semitones: leaps beyond a tenth are rare and alike
_SEPARATOR = 2  # empty cells before each tune: a step back of one or two never reaches the previous tune


@dataclass(frozen=True)
class AlignmentParams:
    """Scores of the alignment, tuned on dev fragments (``benchmarks/melody.py --tune``).

    Keep every score a multiple of 1/8: sums are then exact in floating point, so the NumPy and compiled
    versions break ties the same way.
    """

    match: float = 2.0  # the same interval
    near: float = 0.0  # an interval one semitone off
    near2: float = -1.0  # two semitones off
    mismatch: float = -1.5  # anything further
    gap: float = 3.0  # a query or tune interval left unaligned
    merge_penalty: float = 0.5  # a missing or extra note: two intervals against one, a match less this
    wrong_note: float = 1.5  # a wrong note: two intervals against two with the same sum
    rhythm: float = 1.0  # bonus per interval whose relative duration matches too (never a penalty)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def substitution_matrix(self) -> np.ndarray:
        """``(31, 31)`` scores of query interval vs tune interval (indices: interval + 15)."""
        values = np.arange(-MAX_INTERVAL, MAX_INTERVAL + 1)
        distance = np.abs(values[:, None] - values[None, :])
        scores = np.full(distance.shape, self.mismatch)
        scores[distance == 2] = self.near2
        scores[distance == 1] = self.near
        scores[distance == 0] = self.match
        return scores

    def best_score(self, length: int) -> float:
        """The score of a query of ``length`` intervals against itself: the top of the scale."""
        return (self.match + self.rhythm) * length


def interval_index(intervals: np.ndarray) -> np.ndarray:
    """Intervals clipped to +-15 and shifted to 0..30 (rows and columns of the substitution matrix)."""
    return (np.clip(intervals, -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL).astype(np.intp)


def align_many(query: np.ndarray, query_rhythm: np.ndarray, tunes: Sequence[np.ndarray],
               tune_rhythms: Sequence[np.ndarray], params: AlignmentParams | None = None, *,
               backend: str = "auto") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best local alignment score of ``query`` in each tune, and where it ends.

    Args:
        query: ``(m,)`` query intervals; ``query_rhythm`` their relative durations (log2 ratios).
        tunes, tune_rhythms: each tune's intervals and relative durations.
        params: the scores (default :class:`AlignmentParams`).
        backend: see :func:`align_windows`.

    Returns:
        ``(scores, tune_ends, query_ends)``, each ``(T,)``: the best score in each tune, and the tune and
        query interval where that alignment ends (0 for a tune with no intervals).
    """
    lengths = np.array([len(tune) for tune in tunes], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    intervals = np.concatenate([np.asarray(t, dtype=np.int64) for t in tunes]) if len(tunes) else np.zeros(0, np.int64)
    rhythm = (np.concatenate([np.asarray(r, dtype=np.float32) for r in tune_rhythms]) if len(tunes)
              else np.zeros(0, np.float32))
    return align_windows(query, query_rhythm, intervals, rhythm, starts, lengths, params, backend=backend)


def align_windows(query: np.ndarray, query_rhythm: np.ndarray, intervals: np.ndarray, rhythm: np.ndarray,
                  starts: np.ndarray, lengths: np.ndarray, params: AlignmentParams | None = None, *,
                  backend: str = "auto") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`align_many` over windows of flat arrays: window ``w`` is ``intervals[starts[w]:][:lengths[w]]``.

    Args:
        backend: ``"numba"`` (compiled, :mod:`.melody_kernel`), ``"numpy"``, or ``"auto"``: numba when it
            can be imported. Both give the same results.
    """
    count = len(starts)
    scores, tune_ends, query_ends = np.zeros(count), np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.int64)
    if not count or not len(query):
        return scores, tune_ends, query_ends
    params = params or AlignmentParams()
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"unknown alignment backend {backend!r}; choose auto, numba or numpy.")
    starts, lengths = np.asarray(starts, dtype=np.int64), np.asarray(lengths, dtype=np.int64)
    if backend != "numpy":
        from . import melody_kernel

        if melody_kernel.available():
            weights = np.array([params.gap, params.merge_penalty, params.wrong_note, params.rhythm])
            # The index's own arrays go in as they are (int16, float32): copying a million intervals to
            # int64 for every query would cost more than aligning them.
            return melody_kernel.best_alignments(
                np.asarray(query, dtype=np.int64), np.asarray(query_rhythm, dtype=np.float32),
                np.asarray(intervals), np.asarray(rhythm, dtype=np.float32), starts, lengths,
                params.substitution_matrix(), weights)
        if backend == "numba":
            raise ImportError("numba cannot be imported here; use backend='numpy' or install numba.")
    layout = _Layout(intervals, rhythm, starts, lengths)
    best, best_query = _run(query, query_rhythm, layout, params, keep=False)
    segment_best = np.maximum.reduceat(best, layout.starts)
    # The first cell of each window where its best score is reached (separators hold 0, never above it).
    place = np.where(best == segment_best[layout.segment], np.arange(len(best)), len(best))
    first = np.minimum.reduceat(place, layout.starts)
    filled = lengths > 0
    scores[filled] = segment_best[filled]
    tune_ends[filled] = np.maximum(first - layout.starts - _SEPARATOR, 0)[filled]
    query_ends[filled] = best_query[first[filled]]
    return scores, tune_ends, query_ends


def aligned_spans(query: np.ndarray, query_rhythm: np.ndarray, tunes: Sequence[np.ndarray],
                  tune_rhythms: Sequence[np.ndarray], params: AlignmentParams | None = None,
                  ends: Sequence[int] | None = None) -> list[tuple[float, tuple[int, int], tuple[int, int]]]:
    """The best local alignment of ``query`` in each tune, with the intervals it covers on both sides.

    Args:
        ends: for each tune, the interval its alignment must end at (as :func:`align_many` found);
            ``None`` takes the best end anywhere.

    Returns:
        One ``(score, (first, last) tune interval, (first, last) query interval)`` per tune; spans are
        inclusive and ``(0, -1)`` when nothing aligns.

    Example:
        >>> aligned_spans(np.array([2, 2]), np.zeros(2), [np.array([7, 2, 2, 5])], [np.zeros(4)])
        [(6.0, (1, 2), (0, 1))]
    """
    params = params or AlignmentParams()
    nothing = (0.0, (0, -1), (0, -1))
    if not len(tunes) or not len(query):
        return [nothing for _ in tunes]
    lengths = np.array([len(tune) for tune in tunes], dtype=np.int64)
    layout = _Layout(np.concatenate([np.asarray(t, dtype=np.int64) for t in tunes]),
                     np.concatenate([np.asarray(r, dtype=np.float32) for r in tune_rhythms]),
                     np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    matrix = _run(query, query_rhythm, layout, params, keep=True)
    query_list, query_rhythm_list = [int(v) for v in query], [float(v) for v in query_rhythm]
    spans = []
    for position, (start, length) in enumerate(zip(layout.starts, layout.lengths)):
        if not length:
            spans.append(nothing)
            continue
        block = matrix[:, start + _SEPARATOR:start + _SEPARATOR + length]
        if ends is None:
            i, j = (int(v) for v in np.unravel_index(int(np.argmax(block)), block.shape))
        else:
            j = int(ends[position])
            i = int(np.argmax(block[:, j]))
        if block[i, j] <= 0:
            spans.append(nothing)
            continue
        first_i, first_j = _trace_back(block.tolist(), query_list, query_rhythm_list, [int(v) for v in tunes[position]],
                                       [float(v) for v in tune_rhythms[position]], params, i, j)
        spans.append((float(block[i, j]), (first_j, j), (first_i, i)))
    return spans


class _Layout:
    """Windows laid end to end, each after two empty cells, with what every step of the recurrence reads."""

    def __init__(self, intervals: np.ndarray, rhythm: np.ndarray, starts: np.ndarray, lengths: np.ndarray):
        self.lengths = np.asarray(lengths, dtype=np.int64)
        sizes = self.lengths + _SEPARATOR
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        total = int(sizes.sum())
        self.segment = np.repeat(np.arange(len(sizes)), sizes)
        local = np.arange(total) - self.starts[self.segment] - _SEPARATOR  # -2, -1 for separators
        self.separator = local < 0
        data = ~self.separator
        source = (np.asarray(starts, dtype=np.int64)[self.segment] + local)[data]  # where each cell reads
        self.intervals = np.zeros(total, dtype=np.int64)
        self.intervals[data] = np.asarray(intervals, dtype=np.int64)[source]
        self.rhythm = np.full(total, np.nan, dtype=np.float32)  # NaN never equals: separators never match
        self.rhythm[data] = np.asarray(rhythm, dtype=np.float32)[source]
        self.index = interval_index(self.intervals)
        self.pair = np.zeros(total, dtype=np.int64)  # t[j-1] + t[j], from the second interval of a window on
        self.pair[1:] = self.intervals[1:] + self.intervals[:-1]
        self.has_pair = local >= 1
        self.pair_index = interval_index(self.pair)
        self.pair_or_none = np.where(self.has_pair, self.pair, np.iinfo(np.int64).min)  # never a query's sum


def _run(query, query_rhythm, layout: _Layout, params: AlignmentParams, *, keep: bool):
    """The recurrence, one query interval per step, over every tune of ``layout`` at once."""
    query = np.asarray(query, dtype=np.int64)
    query_rhythm = np.asarray(query_rhythm, dtype=np.float32)
    total, length = len(layout.intervals), len(query)
    substitution = params.substitution_matrix()
    by_query = substitution[interval_index(query)]  # (m, 31)
    no_pair = np.where(layout.has_pair, 0.0, -np.inf)
    # A per-tune offset above any score stops the running maximum at tune boundaries.
    offset = (4 * params.best_score(length) + 10) * layout.segment + params.gap * np.arange(total)
    previous, before_previous = np.zeros(total), np.zeros(total)
    same_before = np.zeros(total, dtype=bool)
    best, best_query = np.zeros(total), np.zeros(total, dtype=np.int64)
    matrix = np.zeros((length, total)) if keep else None
    one_back, two_back = np.zeros(total), np.zeros(total)
    for i in range(length):
        same = np.abs(layout.rhythm - query_rhythm[i]) < 0.01
        one_back[1:] = previous[:-1]
        two_back[2:] = previous[:-2]
        values = one_back + by_query[i][layout.index] + params.rhythm * same
        np.maximum(values, previous - params.gap, out=values)
        np.maximum(values, two_back + by_query[i][layout.pair_index] - params.merge_penalty + no_pair, out=values)
        if i >= 1:
            query_pair = int(query[i - 1]) + int(query[i])
            one_back[1:] = before_previous[:-1]
            two_back[2:] = before_previous[:-2]
            split = one_back + substitution[interval_index(np.array([query_pair]))[0]][layout.index]
            np.maximum(values, split - params.merge_penalty, out=values)
            rhythm = params.rhythm * (same.astype(np.float64) + np.concatenate([[0.0], same_before[:-1]]))
            wrong = np.where(layout.pair_or_none == query_pair, two_back + params.wrong_note + rhythm, 0.0)
            np.maximum(values, wrong, out=values)
        np.maximum(values, 0.0, out=values)
        values[layout.separator] = 0.0
        row = np.maximum.accumulate(values + offset) - offset  # gaps in the query, left to right
        improved = row > best
        best[improved] = row[improved]
        best_query[improved] = i
        before_previous, previous, same_before = previous, row, same
        if keep:
            matrix[i] = row
    return matrix if keep else (best, best_query)


def _trace_back(matrix: list[list[float]], query: list[int], query_rhythm: list[float], tune: list[int],
                tune_rhythm: list[float], params: AlignmentParams, i: int, j: int) -> tuple[int, int]:
    """Walk back from cell (i, j) to where the local alignment starts: (first query, first tune) interval.

    Each step finds which move of the recurrence gave the cell its value (plain Python: a few dozen steps).
    """
    substitution = params.substitution_matrix().tolist()

    def score(a: int, b: int) -> float:
        return substitution[_clip(a)][_clip(b)]

    def at(a: int, b: int) -> float:
        return matrix[a][b] if a >= 0 and b >= 0 else 0.0

    def same(a: int, b: int) -> float:
        return params.rhythm if a >= 0 and b >= 0 and abs(tune_rhythm[b] - query_rhythm[a]) < 0.01 else 0.0

    first_i, first_j = i, j
    while i >= 0 and j >= 0 and matrix[i][j] > 1e-9:
        value = matrix[i][j]
        first_i, first_j = i, j
        if abs(value - (at(i - 1, j - 1) + score(query[i], tune[j]) + same(i, j))) < 1e-6:
            i, j = i - 1, j - 1
        elif abs(value - (at(i - 1, j) - params.gap)) < 1e-6:
            i -= 1
        elif j >= 1 and abs(value - (at(i - 1, j - 2) + score(query[i], tune[j - 1] + tune[j])
                                     - params.merge_penalty)) < 1e-6:
            first_j = j - 1
            i, j = i - 1, j - 2
        elif i >= 1 and abs(value - (at(i - 2, j - 1) + score(query[i - 1] + query[i], tune[j])
                                     - params.merge_penalty)) < 1e-6:
            first_i = i - 1
            i, j = i - 2, j - 1
        elif (i >= 1 and j >= 1 and query[i - 1] + query[i] == tune[j - 1] + tune[j] and abs(
                value - (at(i - 2, j - 2) + params.wrong_note + same(i, j) + same(i - 1, j - 1))) < 1e-6):
            first_i, first_j = i - 1, j - 1
            i, j = i - 2, j - 2
        else:  # a gap in the query: the running maximum came from the left
            j -= 1
    return first_i, first_j


def _clip(interval: int) -> int:
    return min(max(interval, -MAX_INTERVAL), MAX_INTERVAL) + MAX_INTERVAL
