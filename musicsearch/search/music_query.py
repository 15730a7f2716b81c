"""Query by music: a tune or a few bars → the tunes it is (melody) and the tunes it is like (embedding).

:meth:`SearchIndex.search_music` answers an ABC string, a record or a score file in one of three modes:

- ``"melody"``: the melodic matcher alone (:class:`~musicsearch.search.melody.MelodyIndex`: interval
  n-gram candidates, then local alignment) — which tune the bars come from, in any key, with wrong notes;
- ``"content"``: the music embedding alone — tunes that sound like the query (same kind, key, feel);
- ``"hybrid"`` (default): both, fused by one rule (:class:`MelodyFusion`)::

      fused = melody_score · [melody_score ≥ threshold] + content_weight · content_cosine

  A confident alignment (``melody_score`` is 1.0 for the query exactly, about 0.5 for one wrong note
  in every bar) puts a tune above every tune the melody did not find; the embedding orders tunes of equal
  melody score and fills the list when the melody finds nothing (a query of another tune altogether).

Tunes with identical melodies come back as one hit whose ``also_in`` lists the others. A query the
melodic matcher refuses (fewer than 4 notes, more than 1,000, a bar it cannot read, a key it does not
know) raises :class:`QueryError` in ``"melody"`` mode; in ``"hybrid"`` mode it falls back to content
search with a :class:`MelodyFallbackWarning` saying why.

Example:
    >>> hits = index.search_music("K:G\\nL:1/8\\nGAB cde|dBG AFD|", k=3)  # doctest: +SKIP
    >>> hits[0].bar_span, hits[0].melody_score  # doctest: +SKIP
    ((4, 5), 1.0)
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import QueryError
from . import ann
from .hit import Hit
from .queries import music_query

MUSIC_MODES = ("hybrid", "melody", "content")
POOL = 50  # melody matches and content neighbours considered per query (at least k + 1)


class MelodyFallbackWarning(UserWarning):
    """A hybrid music query was answered by content only: the melody matcher could not use it (says why)."""


@dataclass(frozen=True)
class MelodyFusion:
    """The hybrid rule's two numbers (see the module docstring).

    Chosen by :func:`tune_melody_fusion` over the grid threshold {0, 0.2, ..., 0.7} × content weight {0,
    0.05, 0.1, 0.2, 0.3, 0.5, 1} on the dev half (by tune) of 2,299 fragments (2, 4, 8 bars; exact,
    transposed, 1 or 2 wrong notes per bar, one dropped note per bar) of 160 held-out tunes of the default
    corpus, with the default model, maximising MRR@10. On the 1,143 test fragments: MRR 0.866 and Hit@10
    0.885, against 0.848 / 0.874 for the melody alone and 0.028 / 0.108 for the embedding alone; the
    embedding helps most where the melody is least sure (1 wrong note per bar, 2 bars: Hit@1 0.76 vs 0.67).
    """

    threshold: float = 0.3  # melody score from which an alignment counts as "this is the tune"
    content_weight: float = 0.2  # the embedding's share: breaks ties and fills when the melody finds nothing


def check_music_mode(mode: str) -> str:
    """``mode`` when it is one of :data:`MUSIC_MODES`, else a :class:`QueryError` naming them."""
    if mode not in MUSIC_MODES:
        raise QueryError(f"unknown music search mode {mode!r}; choose one of {', '.join(MUSIC_MODES)}.")
    return mode


def fused_scores(melody_scores: np.ndarray, content_scores: np.ndarray, fusion: MelodyFusion) -> np.ndarray:
    """The hybrid score of each candidate (melody score 0 for a tune the melody did not find).

    Example:
        >>> fused_scores(np.array([1.0, 0.2, 0.0]), np.array([0.1, 0.9, 0.5]), MelodyFusion()).round(2).tolist()
        [1.02, 0.18, 0.1]
    """
    melody = np.asarray(melody_scores, dtype=np.float64)
    confident = np.where(melody >= fusion.threshold, melody, 0.0)
    return confident + fusion.content_weight * np.asarray(content_scores, dtype=np.float64)


def search_music(index: Any, query: Any, k: int = 10, *, mode: str = "hybrid", include_self: bool = False,
                 fusion: MelodyFusion | None = None) -> list[Hit]:
    """The hits of a music query (called by :meth:`SearchIndex.search_music`; see the module docstring).

    Raises:
        QueryError: unknown mode, bad ``k``, or (``mode="melody"``) a query the melodic matcher refuses.
        ABCError: a query with no notes at all, or ABC that cannot be read.

    Example:
        >>> [hit.bar_span for hit in search_music(index, "K:D\\nL:1/8\\nd2fd A2FA|", 2, mode="melody")]  # doctest: +SKIP
        [(8, 8), (0, 0)]
    """
    from .melody import query_melody

    check_music_mode(mode)
    abc, own_id = music_query(query)
    k = ann.check_k(k, len(index))
    melody = None
    if mode != "content":
        try:
            melody = query_melody(getattr(query, "abc", None) or abc)
        except QueryError as error:
            if mode == "melody":
                raise
            warnings.warn(f"melody search skipped ({error}); these hits are by content only.",
                          MelodyFallbackWarning, stacklevel=3)
    pool = max(POOL, 2 * k + 1)
    matches = {match.row: match for match in index.melody_index.search(melody, pool)} if melody is not None else {}
    rows = list(matches)
    vector = None
    if mode != "melody":
        vector = ann.as_matrix(index.model.encode_music([abc]), dim=index.dim, what="query embedding")
        _, neighbours = ann.search_faiss(index.faiss_index, vector, min(pool, len(index)))
        rows += [int(row) for row in neighbours[0] if row >= 0 and int(row) not in matches]
    if not rows:
        return []
    rows_array = np.asarray(rows, dtype=np.int64)
    melody_scores = np.array([matches[row].score if row in matches else 0.0 for row in rows])
    if vector is None:
        content, scores = np.zeros(len(rows)), melody_scores
    else:
        content = ann.reconstruct(index.faiss_index, rows_array) @ vector[0]
        scores = content if melody is None else fused_scores(melody_scores, content, fusion or MelodyFusion())
    order = np.lexsort((rows_array, -content, -scores))
    hits: list[Hit] = []
    shown_groups: set[int] = set()
    groups = index.melody_index.groups
    for position in order:
        row = int(rows_array[position])
        record = index.records[row]
        if not include_self and (record.id == own_id or record.abc.strip() == abc.strip()):
            continue
        if int(groups[row]) in shown_groups:
            continue  # an identical melody is already shown; it is listed in that hit's also_in
        shown_groups.add(int(groups[row]))
        hit = index.hit(row, float(scores[position]), len(hits) + 1)
        _describe_melody(hit, matches.get(row), index, row)
        hits.append(hit)
        if len(hits) == k:
            break
    return hits


def tune_melody_fusion(index: Any, queries: Sequence[tuple[str, str]], *,
                       thresholds: Sequence[float] = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
                       weights: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0),
                       k: int = 10) -> tuple[MelodyFusion, list[dict[str, Any]]]:
    """Grid-search :class:`MelodyFusion` maximising MRR@k of the query's own tune (or an identical melody).

    Args:
        index: a :class:`SearchIndex` with its model.
        queries: ``(abc, id of the tune it comes from)``, e.g. from
            :func:`musicsearch.evaluation.melody.make_fragments` over held-out tunes (a dev split).

    Returns:
        The best fusion and one row per grid point (``threshold``, ``content_weight``, ``mrr``), best first.
    """
    from .melody import query_melody

    row_of = {record.id: row for row, record in enumerate(index.records)}
    groups = index.melody_index.groups
    vectors = ann.as_matrix(index.model.encode_music([abc for abc, _ in queries]), dim=index.dim)
    prepared = []
    for (abc, source), vector in zip(queries, vectors):
        try:
            found = {m.row: m.score for m in index.melody_index.search(query_melody(abc), POOL)}
        except QueryError:
            found = {}
        _, neighbours = ann.search_faiss(index.faiss_index, vector[None], min(POOL, len(index)))
        rows = np.array(sorted(set(found) | {int(row) for row in neighbours[0] if row >= 0}), dtype=np.int64)
        content = ann.reconstruct(index.faiss_index, rows) @ vector
        prepared.append((rows, np.array([found.get(int(row), 0.0) for row in rows]), content,
                         groups[row_of[source]]))
    table = []
    for threshold, weight in itertools.product(thresholds, weights):
        fusion = MelodyFusion(threshold, weight)
        reciprocal = [_reciprocal_rank(rows, fused_scores(melody, content, fusion), content, groups, target, k)
                      for rows, melody, content, target in prepared]
        table.append({"threshold": threshold, "content_weight": weight, "mrr": float(np.mean(reciprocal))})
    table.sort(key=lambda row: (-row["mrr"], -row["threshold"], row["content_weight"]))
    return MelodyFusion(table[0]["threshold"], table[0]["content_weight"]), table


def _reciprocal_rank(rows: np.ndarray, scores: np.ndarray, content: np.ndarray, groups: np.ndarray, target: int,
                     k: int) -> float:
    shown: list[int] = []
    for position in np.lexsort((rows, -content, -scores)):
        group = int(groups[rows[position]])
        if group not in shown:
            shown.append(group)
        if group == target:
            return 1.0 / len(shown) if len(shown) <= k else 0.0
    return 0.0


def _describe_melody(hit: Hit, match: Any, index: Any, row: int) -> None:
    """Put the melody's findings on a hit: score and bar spans when aligned, identical tunes always."""
    if match is not None:
        hit.melody_score = float(match.score)
        hit.bar_span, hit.query_bar_span = tuple(match.bar_span), tuple(match.query_bar_span)
        hit.also_in = tuple(match.also_in)
        return
    groups = index.melody_index.groups
    twins = np.flatnonzero(groups == groups[row])
    hit.also_in = tuple(index.records[int(other)].id for other in twins if int(other) != row)


__all__ = ["MUSIC_MODES", "MelodyFallbackWarning", "MelodyFusion", "check_music_mode", "fused_scores",
           "search_music", "tune_melody_fusion"]
