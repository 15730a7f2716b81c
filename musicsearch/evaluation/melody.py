"""Evaluation of melody search: fragments of held-out tunes as queries, against two baselines.

Fragments: ``bars`` consecutive bars from the middle of a tune (the pickup and last bar avoided when the
tune is long enough), written as plain ABC in the tune's key and unit length (what a person would type),
in five kinds made from the same bars:

* ``exact`` — as written;
* ``transposed`` — moved by 1 to 6 semitones up or 1 to 5 down, every key equally often
  (:func:`~musicsearch.data.transpose.transpose_abc`);
* ``wrong_1`` / ``wrong_2`` — 1 or 2 notes per bar moved by 1 to 4 semitones up or down;
* ``dropped`` — one note per bar left out (never a bar's only note).

The right answer is the tune the fragment came from, or any tune with the identical melody (the index
folds those into one match). Each method ranks the whole corpus; Hit@1, Hit@10 and the reciprocal rank
(0 beyond rank ``k``) are averaged per kind and length, with query latency. Methods: melody search
(:class:`~musicsearch.search.melody.MelodyIndex`), the music embedding (``encode_music`` of the fragment
against the tunes' embeddings), and :class:`IntervalNGramBaseline`.

Example:
    >>> fragments = make_fragments(heldout_records, bars=(4,), seed=0)  # doctest: +SKIP
    >>> report = evaluate_melody(index, fragments)  # doctest: +SKIP
    >>> report["sets"]["exact/4"]["melody"]["hit@10"]  # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.melody import parse_melody
from ..data.melody_abc import melody_to_abc
from ..data.transpose import transpose_abc
from ..errors import ABCError, QueryError
from ..search.melody import MIN_QUERY_NOTES, MelodyIndex, query_melody

FRAGMENT_KINDS = ("exact", "transposed", "wrong_1", "wrong_2", "dropped")
FRAGMENT_BARS = (2, 4, 8)
TRANSPOSITIONS = (1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6)  # every other key once per 11 fragments
WRONG_STEPS = (-4, -3, -2, -1, 1, 2, 3, 4)


@dataclass
class Fragment:
    """One query: some bars of a corpus tune, possibly changed."""

    source_id: str  # the tune it comes from
    kind: str  # one of FRAGMENT_KINDS
    bars: int  # its length in bars
    first_bar: int  # where it starts in the tune (0-based written bar)
    abc: str  # the query text
    semitones: int = 0  # the transposition of a "transposed" fragment


def make_fragments(records: Sequence[Any], *, bars: Sequence[int] = FRAGMENT_BARS,
                   kinds: Sequence[str] = FRAGMENT_KINDS, seed: int = 0) -> list[Fragment]:
    """One fragment of each kind and length per tune (tunes too short for a length are left out of it).

    Args:
        records: the tunes (anything with ``id`` and ``abc``), e.g. held-out tunes of a corpus.
        bars: fragment lengths in bars.
        kinds: which kinds to make (see the module docstring).
        seed: the random choices (start bar, wrong notes, dropped notes, transpositions).
    """
    unknown = set(kinds) - set(FRAGMENT_KINDS)
    if unknown:
        raise ValueError(f"unknown fragment kinds {sorted(unknown)}; choose from {FRAGMENT_KINDS}.")
    rng = np.random.default_rng(seed)
    fragments: list[Fragment] = []
    for record in records:
        try:
            melody = parse_melody(record.abc)
        except ABCError:
            continue
        key, unit, meter = _header(record.abc, "K") or "C", _header(record.abc, "L"), _header(record.abc, "M")
        for length in bars:
            start = _start_bar(melody.bars, melody.bar_count, length, rng)
            if start is None:
                continue
            chosen = (melody.bars >= start) & (melody.bars < start + length)
            notes = (melody.pitches[chosen].astype(int), melody.durations[chosen].astype(float), melody.bars[chosen])
            for kind in kinds:
                pitches, durations, note_bars = _vary(kind, *notes, rng)
                if len(pitches) < MIN_QUERY_NOTES:
                    continue
                text = melody_to_abc(pitches, durations, note_bars - start, key=key, unit=unit or "1/8", meter=meter)
                semitones = 0
                if kind == "transposed":
                    semitones = TRANSPOSITIONS[len(fragments) % len(TRANSPOSITIONS)]
                    text = transpose_abc(text, semitones)
                fragments.append(Fragment(str(record.id), kind, length, int(start), text, semitones))
    return fragments


def _header(abc: str, letter: str) -> str | None:
    match = re.search(rf"^{letter}:(.*)$", abc, re.MULTILINE)
    return match.group(1).split("%")[0].strip() or None if match else None


def _start_bar(note_bars: np.ndarray, bar_count: int, length: int, rng) -> int | None:
    """A start bar whose ``length`` bars all hold notes, away from the first and last bar when possible."""
    filled = np.zeros(bar_count + 1, dtype=bool)
    filled[note_bars] = True
    starts = [start for start in range(bar_count - length + 1) if filled[start:start + length].all()]
    middle = [start for start in starts if start >= 1 and start + length <= bar_count - 1]
    pool = middle or starts
    return int(rng.choice(pool)) if pool else None


def _vary(kind: str, pitches: np.ndarray, durations: np.ndarray, bars: np.ndarray, rng):
    pitches, durations, bars = pitches.copy(), durations.copy(), bars.copy()
    if kind in ("wrong_1", "wrong_2"):
        for bar in np.unique(bars):
            inside = np.flatnonzero(bars == bar)
            for position in rng.choice(inside, size=min(int(kind[-1]), len(inside)), replace=False):
                pitches[position] += int(rng.choice(WRONG_STEPS))
    elif kind == "dropped":
        keep = np.ones(len(pitches), dtype=bool)
        for bar in np.unique(bars):
            inside = np.flatnonzero(bars == bar)
            if len(inside) > 1:
                keep[rng.choice(inside)] = False
        pitches, durations, bars = pitches[keep], durations[keep], bars[keep]
    return pitches, durations, bars


class IntervalNGramBaseline:
    """A plain matcher: rank tunes by how many of the query's distinct interval n-grams they hold.

    Example:
        >>> IntervalNGramBaseline([np.array([2, 2, 1, 2]), np.array([1, 1, 1])], n=3).search(np.array([2, 2, 1]), 2)
        [0]
    """

    def __init__(self, tune_intervals: Sequence[np.ndarray], n: int = 4):
        self.n = n
        self.postings: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for row, intervals in enumerate(tune_intervals):
            for gram in self._grams(intervals):
                self.postings[gram].append(row)

    def _grams(self, intervals: np.ndarray) -> set[tuple[int, ...]]:
        values = [int(value) for value in intervals]
        return {tuple(values[i:i + self.n]) for i in range(len(values) - self.n + 1)}

    def search(self, intervals: np.ndarray, k: int = 10) -> list[int]:
        """The ``k`` best rows (ties by row), only rows sharing at least one n-gram."""
        counts: Counter[int] = Counter()
        for gram in self._grams(intervals):
            counts.update(self.postings.get(gram, ()))
        return [row for row, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]]


def evaluate_melody(index: MelodyIndex, fragments: Sequence[Fragment], *, k: int = 10,
                    baseline: IntervalNGramBaseline | None = None,
                    embedding: tuple[Callable[[list[str]], np.ndarray], np.ndarray] | None = None) -> dict[str, Any]:
    """Hit@1, Hit@k, reciprocal rank and latency of melody search (and the baselines) per kind and length.

    Args:
        index: the melody index of the whole corpus the fragments' tunes are in.
        fragments: queries from :func:`make_fragments`.
        k: the cut-off of Hit@k and of the reciprocal rank.
        baseline: an :class:`IntervalNGramBaseline` over the same rows, or None to skip it.
        embedding: ``(encode, vectors)``: a function from ABC texts to unit vectors ``(n, D)`` and the
            tunes' vectors ``(rows, D)`` in index order, or None to skip the embedding.

    Returns:
        ``{"fragments", "k", "protocol", "sets": {"<kind>/<bars>": {"fragments", "melody", "ngram",
        "embedding"}}}``; each method: ``hit@1``, ``hit@<k>``, ``mrr``, ``p50_ms``, ``p99_ms``, ``refused``.
    """
    row_of = {record_id: row for row, record_id in enumerate(index.ids)}
    methods: dict[str, Callable[[Fragment], list[int]]] = {"melody": lambda f: _melody_rows(index, f, k)}
    if baseline is not None:
        methods["ngram"] = lambda f: baseline.search(query_melody(f.abc).intervals, k)
    if embedding is not None:
        encode, vectors = embedding
        methods["embedding"] = lambda f: _embedding_rows(encode, vectors, f, k)
    ranks: dict[tuple[str, str], list[float]] = defaultdict(list)
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    refused: Counter[tuple[str, str]] = Counter()
    for fragment in fragments:
        name = f"{fragment.kind}/{fragment.bars}"
        group = index.groups[row_of[fragment.source_id]]
        for method, search in methods.items():
            start = time.perf_counter()
            try:
                rows = search(fragment)
            except QueryError:
                rows = []
                refused[name, method] += 1
            times[name, method].append((time.perf_counter() - start) * 1000)
            hits = [position for position, row in enumerate(rows, 1) if index.groups[row] == group]
            ranks[name, method].append(hits[0] if hits else np.inf)
    sets: dict[str, Any] = {}
    for name in sorted({name for name, _ in ranks}, key=_set_order):
        row = {"fragments": len(ranks[name, "melody"])}
        for method in methods:
            values, latency = np.array(ranks[name, method]), np.array(times[name, method])
            row[method] = {"hit@1": round(float(np.mean(values <= 1)), 4), f"hit@{k}": round(float(np.mean(values <= k)), 4),
                           "mrr": round(float(np.mean(1.0 / values)), 4),
                           "p50_ms": round(float(np.percentile(latency, 50)), 2),
                           "p99_ms": round(float(np.percentile(latency, 99)), 2), "refused": refused[name, method]}
        sets[name] = row
    return {"fragments": len(fragments), "k": k, "methods": list(methods),
            "protocol": "fragments of tunes, answer = the source tune or an identical melody; reciprocal rank 0 "
                        f"beyond rank {k}; latency per query end to end (parse or encode, search)",
            "sets": sets}


def _melody_rows(index: MelodyIndex, fragment: Fragment, k: int) -> list[int]:
    # Identical melodies are folded into one match: its row stands for its group.
    return [match.row for match in index.search(fragment.abc, k)]


def _embedding_rows(encode, vectors: np.ndarray, fragment: Fragment, k: int) -> list[int]:
    query = np.asarray(encode([fragment.abc]), dtype=np.float32)[0]
    scores = vectors @ query
    top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    return [int(row) for row in top[np.argsort(-scores[top], kind="stable")]]


def _set_order(name: str) -> tuple[int, int]:
    kind, bars = name.split("/")
    return FRAGMENT_KINDS.index(kind), int(bars)


def format_melody_results(report: dict[str, Any]) -> str:
    """A plain-text table of :func:`evaluate_melody`'s report: one row per kind and length."""
    k = report["k"]
    methods = report["methods"]
    header = f"{'fragments':<16}{'n':>6}" + "".join(f"{m + ' H@1':>15}{f'H@{k}':>7}{'MRR':>7}{'p50ms':>8}" for m in methods)
    lines = [header]
    for name, row in report["sets"].items():
        cells = "".join(f"{row[m]['hit@1']:15.3f}{row[m][f'hit@{k}']:7.3f}{row[m]['mrr']:7.3f}{row[m]['p50_ms']:8.1f}"
                        for m in methods)
        lines.append(f"{name:<16}{row['fragments']:>6}{cells}")
    return "\n".join(lines)
