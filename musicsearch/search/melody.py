"""Melody search: find the tunes a few bars come from — in any key, at any tempo, with wrong notes.

Two stages (see ``benchmarks/melody.py`` for accuracy and speed on the default corpus):

1. **Candidates** from an inverted index of interval n-grams with their positions (:mod:`.melody_grams`):
   the query's n-grams (and their one-note-missing variants) vote for where in which tune the query would
   start; short queries get more candidates than long ones (a fixed budget of alignment cells).
2. **Alignment** of the query around that place in each candidate (:mod:`.melody_align`: local alignment
   over intervals that tolerates wrong, missing and extra notes, compiled with numba when it can be), giving
   the score of each hit and the bars of the hit tune that the query covers.

Queries are read strictly (:func:`query_melody`): a fragment that cannot be read, or has fewer than
:data:`MIN_QUERY_NOTES` or more than :data:`MAX_QUERY_NOTES` notes, is a :class:`QueryError` saying why.

Tunes whose melodies are identical (the same tune under two titles or in two files) come back as one
match, whose ``also_in`` lists the others. A tune whose melody cannot be read is counted in
:attr:`MelodyIndex.stats` and has no notes here (it stays searchable by embedding). Rows are the order of
the records given to :meth:`MelodyIndex.build`, so they line up with a :class:`SearchIndex` built from
the same records.

Example:
    >>> index = MelodyIndex.build(ms.load_corpus())  # doctest: +SKIP
    >>> match = index.search("L:1/8\\nK:G\\nGABc dBGB|cBAG FGAF|")[0]  # doctest: +SKIP
    >>> match.id, match.bar_span, match.score  # doctest: +SKIP
    ('ryansMammoth/...#1', (4, 5), 1.0)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..data.melody import Melody, parse_melody
from ..errors import ABCError, ArtifactError, QueryError
from .melody_align import AlignmentParams, align_windows, aligned_spans
from .melody_grams import GramIndex

MIN_QUERY_NOTES = 4  # fewer notes than this match too much of everything to be a search
MAX_QUERY_NOTES = 1000  # a longer query is a whole piece: search it by content instead


@dataclass(frozen=True)
class MelodySearchParams:
    """How the two stages trade speed for recall (defaults tuned on dev fragments)."""

    ngram: int = 3  # intervals per code of the candidate stage: longer is more selective, less tolerant
    cell_budget: int = 2_000_000  # alignment cells per query: short queries get more candidates than long ones
    min_candidates: int = 200  # tunes aligned per query at least, however long the query
    alignment: AlignmentParams = field(default_factory=AlignmentParams)

    def to_dict(self) -> dict[str, Any]:
        return {"ngram": self.ngram, "cell_budget": self.cell_budget, "min_candidates": self.min_candidates,
                "alignment": self.alignment.to_dict()}

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> MelodySearchParams:
        return cls(ngram=int(payload["ngram"]), cell_budget=int(payload["cell_budget"]),
                   min_candidates=int(payload["min_candidates"]), alignment=AlignmentParams(**payload["alignment"]))

    def window_padding(self, length: int) -> int:
        """Intervals aligned either side of where a query of ``length`` intervals was found."""
        return length // 2 + 4

    def candidates(self, length: int) -> int:
        """How many tunes to align for a query of ``length`` intervals."""
        cells = max(length, 1) * (length + 2 * self.window_padding(length))
        return max(self.min_candidates, self.cell_budget // cells)


@dataclass
class MelodyMatch:
    """One tune found by melody, with where the query sits in it."""

    row: int  # row of the tune in the records the index was built from
    id: str
    score: float  # alignment score over the query's best possible score: 1.0 is the fragment exactly
    bar_span: tuple[int, int]  # first and last bar of the tune the alignment covers (0-based, inclusive)
    note_span: tuple[int, int]  # first and last note of the tune's melody covered
    query_bar_span: tuple[int, int]  # the query's bars that aligned
    also_in: tuple[str, ...] = ()  # ids of tunes with the identical melody, folded into this match

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MelodyBuildStats:
    """What building the index saw: ``seen == indexed + len(unreadable)``."""

    seen: int = 0
    indexed: int = 0  # tunes with a readable melody (including ones too short to match)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (id, reason): searchable by embedding only
    too_short: int = 0  # indexed tunes with fewer than two notes (no interval to match)
    key_fallbacks: int = 0  # tunes with a K: the reader did not understand (read as its tonic's major)
    with_skipped_symbols: int = 0  # tunes where the reader skipped symbols it did not understand
    duplicate_groups: int = 0  # melodies stored more than once
    duplicate_tunes: int = 0  # tunes in those groups
    notes: int = 0
    seconds: float = 0.0

    @property
    def reasons(self) -> dict[str, int]:
        """Unreadable tunes counted by reason."""
        return dict(Counter(reason for _, reason in self.unreadable))

    def summary(self) -> str:
        return (f"melody index: seen {self.seen}, indexed {self.indexed}, unreadable {len(self.unreadable)}, "
                f"{self.notes} notes, {self.duplicate_groups} melodies stored twice or more, {self.seconds:.1f} s")

    def to_dict(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["unreadable"] = [list(item) for item in self.unreadable]
        return payload

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> MelodyBuildStats:
        known = {item.name for item in fields(cls)}
        values = {name: value for name, value in payload.items() if name in known}
        values["unreadable"] = [tuple(item) for item in values.get("unreadable", [])]
        return cls(**values)


class MelodyIndex:
    """The melodies of a corpus, searchable by a fragment (see the module docstring).

    Build with :meth:`build`, search with :meth:`search`, keep with :meth:`save` / :meth:`load`.
    """

    def __init__(self, ids: Sequence[str], offsets: np.ndarray, pitches: np.ndarray, durations: np.ndarray,
                 bars: np.ndarray, *, params: MelodySearchParams | None = None,
                 stats: MelodyBuildStats | None = None):
        self.ids = list(ids)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.pitches = np.asarray(pitches, dtype=np.int16)
        self.durations = np.asarray(durations, dtype=np.float32)
        self.bars = np.asarray(bars, dtype=np.int32)
        self.params = params or MelodySearchParams()
        self.stats = stats or MelodyBuildStats(seen=len(self.ids), indexed=len(self.ids))
        self._derive()

    def _derive(self) -> None:
        # Intervals and relative durations of each tune, flat, with their own offsets (one fewer per tune).
        lengths = np.diff(self.offsets)
        self.interval_offsets = np.concatenate([[0], np.cumsum(np.maximum(lengths - 1, 0))])
        inside = np.ones(max(len(self.pitches) - 1, 0), dtype=bool)
        ends = self.offsets[1:-1][lengths[:-1] > 0] - 1  # the last note of each tune has no next note
        inside[ends[(ends >= 0) & (ends < len(inside))]] = False
        self.intervals = np.diff(self.pitches.astype(np.int32))[inside].astype(np.int16)
        safe = np.maximum(self.durations, 1e-3)
        self.rhythm = np.log2(safe[1:] / safe[:-1])[inside].astype(np.float32)
        self.grams = GramIndex.build(self.intervals, self.interval_offsets, self.params.ngram)
        self.groups = _duplicate_groups(self.intervals, self.interval_offsets)

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"MelodyIndex({len(self)} tunes, {len(self.pitches)} notes, ngram={self.params.ngram})"

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, records: Sequence[Any], *, params: MelodySearchParams | None = None) -> MelodyIndex:
        """Read the melody of every record (anything with ``id`` and ``abc``, e.g. a corpus).

        A record whose melody cannot be read is kept as a row without notes and listed in :attr:`stats`.

        Example:
            >>> index = MelodyIndex.build(ms.load_corpus())  # doctest: +SKIP
            >>> index.stats.summary()  # doctest: +SKIP
            'melody index: seen 13629, indexed 13629, unreadable 0, ...'
        """
        start = time.perf_counter()
        stats = MelodyBuildStats()
        ids, lengths, pitches, durations, bars = [], [], [], [], []
        for position, record in enumerate(records):
            record_id = str(getattr(record, "id", position))
            ids.append(record_id)
            stats.seen += 1
            try:
                melody = parse_melody(getattr(record, "abc", record))
            except ABCError as error:
                stats.unreadable.append((record_id, str(error)))
                lengths.append(0)
                continue
            stats.indexed += 1
            stats.too_short += len(melody) < 2
            stats.key_fallbacks += not melody.key_known
            stats.with_skipped_symbols += melody.skipped > 0
            lengths.append(len(melody))
            pitches.append(melody.pitches)
            durations.append(melody.durations)
            bars.append(melody.bars)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        index = cls(ids, offsets, _concatenate(pitches, np.int16), _concatenate(durations, np.float32),
                    _concatenate(bars, np.int32), params=params, stats=stats)
        sizes = np.bincount(index.groups, minlength=len(index))
        stats.duplicate_groups, stats.duplicate_tunes = int((sizes > 1).sum()), int(sizes[sizes > 1].sum())
        stats.notes = int(len(index.pitches))
        stats.seconds = round(time.perf_counter() - start, 3)
        return index

    # ------------------------------------------------------------------ searching
    def search(self, query: str | Melody, k: int = 10) -> list[MelodyMatch]:
        """The ``k`` tunes whose melodies best hold the query, best first.

        Args:
            query: ABC text of a fragment (without ``K:`` it is read in C, without ``L:`` in eighths) or a
                :class:`Melody`. Its first voice is the melody; key and tempo do not matter.
            k: number of matches (identical melodies count once).

        Raises:
            QueryError: the fragment cannot be read, or has fewer than 4 or more than 1,000 notes.

        Example:
            >>> [m.bar_span for m in index.search("K:D\\nL:1/8\\nd2fd A2FA|d2fd e2ge|", k=1)]  # doctest: +SKIP
            [(8, 9)]
        """
        melody = query_melody(query)
        if k < 1:
            raise QueryError(f"k must be a positive number of matches, got {k}.")
        rows, lows, highs = self.candidates(melody)
        return self.rank(melody, rows, lows, highs, k)

    def candidates(self, melody: Melody) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first stage: candidate rows, and the window of each tune's intervals to align the query in."""
        length = len(melody.intervals)
        rows, starts, _ = self.grams.candidates(melody.intervals, self.params.candidates(length))
        pad = self.params.window_padding(length)
        lows = np.maximum(starts - pad, 0)
        highs = np.maximum(np.minimum(starts + length + pad, np.diff(self.interval_offsets)[rows]), lows)
        return rows, lows, highs

    def rank(self, melody: Melody, rows: np.ndarray, lows: np.ndarray, highs: np.ndarray, k: int) -> list[MelodyMatch]:
        """The second stage: align the query in each candidate window, fold identical melodies, keep ``k``."""
        if not len(rows):
            return []
        scores, tune_ends, _ = align_windows(melody.intervals, melody.relative_durations, self.intervals,
                                             self.rhythm, self.interval_offsets[rows] + lows, highs - lows,
                                             self.params.alignment)
        tune_ends = tune_ends + lows
        order = np.lexsort((rows, -scores))
        chosen, seen_groups = [], set()
        for position in order:
            group = int(self.groups[rows[position]])
            if scores[position] <= 0 or group in seen_groups:
                continue
            seen_groups.add(group)
            chosen.append(position)
            if len(chosen) == k:
                break
        return self._matches(melody, rows[chosen], scores[chosen], tune_ends[chosen])

    def melody(self, row: int) -> Melody:
        """The melody stored for ``row`` (no notes for an unreadable tune)."""
        start, end = self.offsets[row], self.offsets[row + 1]
        return Melody(pitches=self.pitches[start:end], durations=self.durations[start:end],
                      onsets=np.concatenate([[0.0], np.cumsum(self.durations[start:end], dtype=np.float64)[:-1]])
                      if end > start else np.zeros(0), bars=self.bars[start:end],
                      bar_count=int(self.bars[end - 1]) + 1 if end > start else 0, voice=None, key_known=True,
                      skipped=0)

    def _intervals(self, row: int) -> np.ndarray:
        return self.intervals[self.interval_offsets[row]:self.interval_offsets[row + 1]]

    def _rhythm(self, row: int) -> np.ndarray:
        return self.rhythm[self.interval_offsets[row]:self.interval_offsets[row + 1]]

    def _matches(self, query: Melody, rows: np.ndarray, scores: np.ndarray, tune_ends: np.ndarray) -> list[MelodyMatch]:
        # Trace each alignment back in a window ending where it ends, long enough for any alignment of
        # this query (each query interval covers at most two tune intervals).
        length = len(query.intervals)
        firsts = np.maximum(tune_ends - 2 * length - 2, 0)
        windows = [(self.interval_offsets[row] + first, self.interval_offsets[row] + end + 1)
                   for row, first, end in zip(rows, firsts, tune_ends)]
        spans = aligned_spans(query.intervals, query.relative_durations, [self.intervals[a:b] for a, b in windows],
                              [self.rhythm[a:b] for a, b in windows], self.params.alignment,
                              ends=[int(end - first) for first, end in zip(firsts, tune_ends)])
        best = self.params.alignment.best_score(length)
        matches = []
        for row, score, first, (_, (start, end), (query_start, query_end)) in zip(rows, scores, firsts, spans):
            row = int(row)
            # Interval j joins notes j and j + 1 of the tune.
            note_first, note_last = int(first) + start, int(first) + end + 1
            bars = self.bars[self.offsets[row]:self.offsets[row + 1]]
            group = self.groups[row]
            also = tuple(self.ids[other] for other in np.flatnonzero(self.groups == group) if other != row)
            matches.append(MelodyMatch(row=row, id=self.ids[row], score=round(float(score) / best, 6),
                                       bar_span=(int(bars[note_first]), int(bars[note_last])),
                                       note_span=(note_first, note_last),
                                       query_bar_span=(int(query.bars[query_start]), int(query.bars[query_end + 1])),
                                       also_in=also))
        return matches

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the index as one ``.npz`` file of plain arrays (no pickle), atomically.

        Example:
            >>> index.save("melody.npz")  # doctest: +SKIP
            PosixPath('melody.npz')
        """
        from .melody_store import write_melody_index

        return write_melody_index(Path(path), self)

    @classmethod
    def load(cls, path: str | Path) -> MelodyIndex:
        """Read an index written by :meth:`save`, checking every array.

        Raises:
            ArtifactError: the file is missing, not such an index, from a newer version, or inconsistent.
        """
        from .melody_store import read_melody_index

        stored = read_melody_index(Path(path))
        try:
            stored["params"] = MelodySearchParams.from_dict(stored["params"])
            stored["stats"] = MelodyBuildStats.from_dict(stored["stats"])
        except (ValueError, KeyError, TypeError) as error:
            raise ArtifactError(f"{path}: array 'meta' is not the index's settings ({type(error).__name__}: "
                                f"{error}); rebuild the melody index.") from None
        return cls(**stored)


def query_melody(query: str | Melody) -> Melody:
    """The melody of a query, read strictly, with the reason in a :class:`QueryError` when it is unusable.

    Example:
        >>> query_melody("K:G\\nz4|")
        Traceback (most recent call last):
        musicsearch.errors.QueryError: cannot search by this melody: the melody has only rests: no note to search with.
    """
    if isinstance(query, Melody):
        melody = query
    else:
        if not isinstance(query, str) or not query.strip():
            raise QueryError("a melody query is ABC text of a few bars, e.g. 'K:D\\nL:1/8\\nd2fd A2FA|'.")
        try:
            melody = parse_melody(query, strict=True)
        except ABCError as error:
            raise QueryError(f"cannot search by this melody: {error}") from None
    if len(melody) < MIN_QUERY_NOTES:
        raise QueryError(f"the melody query has {len(melody)} note{'s' * (len(melody) != 1)}; melody search "
                         f"needs at least {MIN_QUERY_NOTES} (about a bar).")
    if len(melody) > MAX_QUERY_NOTES:
        raise QueryError(f"the melody query has {len(melody)} notes; melody search takes a fragment of at most "
                         f"{MAX_QUERY_NOTES} notes. Cut it to the bars you want to find, or search the whole "
                         "piece by content (mode='content').")
    return melody


def _concatenate(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def _duplicate_groups(intervals: np.ndarray, offsets: np.ndarray, min_intervals: int = 8) -> np.ndarray:
    """For each tune, the first row with an identical interval sequence (itself when it has no twin).

    Tunes shorter than ``min_intervals`` are never grouped: short melodies coincide by chance.
    """
    groups = np.arange(len(offsets) - 1)
    first_with: dict[bytes, int] = {}
    for row in range(len(offsets) - 1):
        if offsets[row + 1] - offsets[row] < min_intervals:
            continue
        key = intervals[offsets[row]:offsets[row + 1]].tobytes()
        groups[row] = first_with.setdefault(key, row)
    return groups


