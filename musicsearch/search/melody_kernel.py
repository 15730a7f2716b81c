"""The alignment recurrence of :mod:`.melody_align` compiled with numba: the same scores, cell by cell.

numba comes with umap-learn (a dependency); where it cannot be imported, :func:`available` is False and
:func:`~musicsearch.search.melody_align.align_many` runs its NumPy version, which gives the same results
(``tests/search/test_melody.py`` checks both against a plain-Python reference). Compiled code is cached
next to this file, so only the first search of a fresh install pays the compilation (about a second).
"""

from __future__ import annotations

import numpy as np

try:  # numba is optional: the NumPy version of the recurrence is the fallback
    import numba
except ImportError:  # pragma: no cover - depends on the environment
    numba = None


def available() -> bool:
    """Whether the compiled kernel can run here."""
    return numba is not None


def best_alignments(query: np.ndarray, query_rhythm: np.ndarray, intervals: np.ndarray, rhythm: np.ndarray,
                    starts: np.ndarray, lengths: np.ndarray, substitution: np.ndarray,
                    scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best score, tune end and query end of the alignment of ``query`` in each tune (see ``align_many``).

    Args:
        query, query_rhythm: ``(m,)`` int64 intervals and float32 relative durations of the query.
        intervals, rhythm: every tune's intervals and relative durations, end to end.
        starts, lengths: where each tune starts in them, and its length (int64).
        substitution: ``(31, 31)`` scores of query vs tune interval.
        scores: ``[gap, merge_penalty, wrong_note, rhythm]`` as float64.
    """
    return _kernel(query, query_rhythm, intervals, rhythm, starts, lengths, substitution, scores)


def _clip(value: int) -> int:
    return min(max(value, -15), 15) + 15


def _recurrence(query, query_rhythm, intervals, rhythm, starts, lengths, substitution, scores):
    gap, merge_penalty, wrong_note, rhythm_bonus = scores[0], scores[1], scores[2], scores[3]
    count, length = len(starts), len(query)
    best = np.zeros(count)
    tune_ends = np.zeros(count, dtype=np.int64)
    query_ends = np.zeros(count, dtype=np.int64)
    widest = 0
    for tune in range(count):
        widest = max(widest, lengths[tune])
    # Rows i-2, i-1 and i, allocated once; column j of a row is stored at j + 2 so j-1 and j-2 need no test.
    two_back = np.zeros(widest + 2)
    one_back = np.zeros(widest + 2)
    row = np.zeros(widest + 2)
    query_index = np.zeros(length, dtype=np.int64)
    split_index = np.zeros(length, dtype=np.int64)
    query_pair = np.zeros(length, dtype=np.int64)
    for i in range(length):
        query_index[i] = _clip(query[i])
        if i >= 1:
            query_pair[i] = query[i - 1] + query[i]
            split_index[i] = _clip(query_pair[i])
    for tune in range(count):
        start, size = starts[tune], lengths[tune]
        if size == 0 or length == 0:
            continue
        two_back[:size + 2] = 0.0
        one_back[:size + 2] = 0.0
        row[:size + 2] = 0.0
        top, top_j, top_i = 0.0, 0, 0
        for i in range(length):
            for j in range(size):
                t = intervals[start + j]
                same = rhythm_bonus if abs(rhythm[start + j] - query_rhythm[i]) < 0.01 else 0.0
                value = one_back[j + 1] + substitution[query_index[i], _clip(t)] + same
                value = max(value, one_back[j + 2] - gap)
                if j >= 1:
                    pair = intervals[start + j - 1] + t
                    value = max(value, one_back[j] + substitution[query_index[i], _clip(pair)] - merge_penalty)
                    if i >= 1 and query_pair[i] == pair:
                        before = rhythm_bonus if abs(rhythm[start + j - 1] - query_rhythm[i - 1]) < 0.01 else 0.0
                        value = max(value, two_back[j] + wrong_note + same + before)
                if i >= 1:
                    value = max(value, two_back[j + 1] + substitution[split_index[i], _clip(t)] - merge_penalty)
                value = max(value, 0.0, row[j + 1] - gap)
                row[j + 2] = value
                # The same tie-break as the NumPy version: the earliest tune interval, then query interval.
                if value > top or (value == top and value > 0.0 and j < top_j):
                    top, top_j, top_i = value, j, i
            two_back, one_back, row = one_back, row, two_back
        best[tune], tune_ends[tune], query_ends[tune] = top, top_j, top_i
    return best, tune_ends, query_ends


if numba is not None:
    _clip = numba.njit(cache=True, inline="always")(_clip)
    _kernel = numba.njit(cache=True, nogil=True)(_recurrence)
else:  # pragma: no cover
    _kernel = _recurrence
