"""The joint space as a map: music and caption embeddings projected together, with a query placed on it.

:func:`map_points` embeds tunes (or takes an index's stored vectors) and a sample of their captions,
stacks them and projects them with :func:`~musicsearch.viz.projection.project` (cached). :func:`query_overlay`
places a typed sentence on an existing map and names its top hits; :mod:`musicsearch.viz.map_plots` draws both.

Example:
    >>> points = map_points(index, captions=500)  # doctest: +SKIP
    >>> points.coords.shape, points.kinds[:2]  # doctest: +SKIP
    ((13629 + 500, 2), ['music', 'music'])
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import QueryError
from .projection import MIN_UMAP_POINTS, project

# Fields computed from a record rather than read from its raw metadata (see corpus.Record).
RECORD_FIELDS = ("tune_type", "origin", "meter", "mode", "collection")
UNKNOWN = "unknown"


@dataclass
class MapPoints:
    """Projected points of one map: row ``i`` is a tune (``kinds[i] == "music"``) or one of its captions."""

    coords: np.ndarray  # (N, 2 or 3) projected coordinates
    embeddings: np.ndarray  # (N, D) normalised joint-space vectors, to place queries
    kinds: list[str]  # "music" or "text" per point
    rows: np.ndarray  # (N,) index into ``records`` of the tune each point belongs to
    records: list[Any]  # the tunes (corpus records)
    texts: list[str] = field(
        default_factory=list
    )  # per point: the caption (text points) or the first caption
    method: str = "auto"

    def __len__(self) -> int:
        return len(self.coords)

    @property
    def dims(self) -> int:
        return int(self.coords.shape[1])

    def music_mask(self) -> np.ndarray:
        return np.array([kind == "music" for kind in self.kinds], dtype=bool)


def field_value(record: Any, name: str) -> str:
    """A record's value for a colour field: a computed one (:data:`RECORD_FIELDS`) or a metadata key.

    Example:
        >>> field_value(record, "tune_type")  # doctest: +SKIP
        'jig'
    """
    value = (
        getattr(record, name, None)
        if name in RECORD_FIELDS
        else (getattr(record, "metadata", {}) or {}).get(name)
    )
    text = str(value).strip() if value is not None else ""
    return text or UNKNOWN


def color_groups(points: MapPoints, color_by: str | None, *, max_groups: int = 10) -> list[str]:
    """One group name per point: ``kind`` (music/text), or a record field, rare values merged into "other".

    Keeping the ``max_groups`` most common values keeps a legend readable on 13,000 tunes with 200 meters.
    """
    if not color_by or color_by == "kind":
        return list(points.kinds)
    per_record = [field_value(record, color_by) for record in points.records]
    common = {value for value, _ in Counter(per_record).most_common(max_groups)}
    return [per_record[row] if per_record[row] in common else "other" for row in points.rows]


def _record_embeddings(source: Any, model: Any) -> tuple[list[Any], np.ndarray, Any]:
    if hasattr(source, "records") and hasattr(source, "embeddings"):  # a SearchIndex: reuse stored vectors
        return list(source.records), np.asarray(source.embeddings(), np.float32), model or source.model
    if model is None:
        raise QueryError("map_points needs a model to embed a corpus; pass model=..., or pass a SearchIndex.")
    records = list(source)
    if not records:
        raise QueryError("map_points got no tunes to place on the map.")
    return records, np.asarray(model.encode_music(records, normalize=True), np.float32), model


def map_points(
    source: Any,
    model: Any = None,
    *,
    captions: int = 1000,
    dims: int = 2,
    method: str = "auto",
    seed: int = 0,
    cache: bool = True,
    **projection_options: Any,
) -> MapPoints:
    """Embed tunes and a sample of their captions, and project them together.

    Args:
        source: a :class:`~musicsearch.search.index.SearchIndex` (its stored vectors are reused), or records.
        model: the model (default: the index's); needed for a corpus.
        captions: how many tunes (a seeded sample) also get their first caption placed; 0 = none.
        dims: 2 or 3.
        method: ``"auto"``, ``"umap"`` or ``"pca"`` (see :func:`~musicsearch.viz.projection.project`).
        seed: seeds the caption sample and UMAP.
        cache: reuse a cached projection of the same vectors and parameters.
        **projection_options: ``n_neighbors``, ``min_dist``, ``metric`` for UMAP.

    Example:
        >>> map_points(corpus, model, captions=50, dims=3).coords.shape  # doctest: +SKIP
        (290, 3)
    """
    records, music, model = _record_embeddings(source, model)
    first_captions = [
        (record.captions or [""])[0] if getattr(record, "captions", None) else "" for record in records
    ]
    with_caption = [row for row, text in enumerate(first_captions) if text]
    rng = np.random.default_rng(seed)
    chosen = (
        sorted(rng.choice(with_caption, size=min(captions, len(with_caption)), replace=False).tolist())
        if captions > 0 and with_caption
        else []
    )
    parts, kinds, rows = [music], ["music"] * len(records), list(range(len(records)))
    if chosen:
        parts.append(
            np.asarray(model.encode_text([first_captions[row] for row in chosen], normalize=True), np.float32)
        )
        kinds += ["text"] * len(chosen)
        rows += chosen
    embeddings = np.concatenate(parts)
    coords = project(embeddings, dims=dims, method=method, seed=seed, cache=cache, **projection_options)
    return MapPoints(
        coords=coords,
        embeddings=embeddings,
        kinds=kinds,
        rows=np.asarray(rows),
        records=records,
        texts=[first_captions[row] for row in rows],
        method=method if method != "auto" else ("umap" if len(embeddings) >= MIN_UMAP_POINTS else "pca"),
    )


def query_overlay(points: MapPoints, model: Any, query: str | np.ndarray, *, k: int = 5) -> dict[str, Any]:
    """Where a query lands on an existing map, and its ``k`` nearest tunes.

    UMAP keeps no inverse once cached, so the query is placed as UMAP's own ``transform`` starts a new
    point: at the similarity-weighted mean of its nearest neighbours' coordinates.

    Args:
        points: the map.
        model: encodes the query (``encode_text``); unused when ``query`` is already a vector.
        query: a sentence, or a joint-space vector ``(D,)``.
        k: number of hits to connect.

    Returns:
        ``{"query", "coords" (dims,), "hits" (point indices, best first), "scores", "titles"}``.

    Raises:
        QueryError: an empty query.

    Example:
        >>> query_overlay(points, model, "a slow air", k=3)["hits"].shape  # doctest: +SKIP
        (3,)
    """
    if isinstance(query, str):
        from ..search.queries import clean_query

        text = clean_query(query)
        vector = np.asarray(model.encode_text([text], normalize=True), np.float32)[0]
    else:
        text, vector = "query vector", np.asarray(query, np.float32).ravel()
    music = np.flatnonzero(points.music_mask())
    scores = points.embeddings[music] @ vector
    top = np.argsort(-scores)[: max(1, min(k, len(music)))]
    hits, hit_scores = music[top], scores[top]
    # Softmax with a small temperature: the nearest tune pulls hardest, as in UMAP's initialisation.
    weights = np.exp((hit_scores - hit_scores.max()) / 0.05)
    coords = (weights[:, None] * points.coords[hits]).sum(axis=0) / weights.sum()
    titles = [
        getattr(points.records[points.rows[i]], "title", None) or points.records[points.rows[i]].id
        for i in hits
    ]
    return {"query": text, "coords": coords, "hits": hits, "scores": hit_scores, "titles": titles}


def hover_texts(
    points: MapPoints, groups: Sequence[str] | None = None, *, caption_chars: int = 120
) -> list[str]:
    """Plotly hover text per point: title, collection, caption (and the colour group)."""
    labels = []
    for position, row in enumerate(points.rows):
        record = points.records[row]
        caption = points.texts[position][:caption_chars] if points.texts else ""
        title = getattr(record, "title", None) or record.id
        head = f"<b>{plotly_escape(title)}</b>" + (" (caption)" if points.kinds[position] == "text" else "")
        lines = [head, plotly_escape(getattr(record, "collection", "")), f"<i>{plotly_escape(caption)}</i>"]
        if groups is not None:
            lines.append(plotly_escape(groups[position]))
        labels.append("<br>".join(line for line in lines if line))
    return labels


def plotly_escape(text: Any) -> str:
    """``text`` shown literally in plotly, which reads hover text, legend names and labels as HTML.

    Only ``&``, ``<`` and ``>`` are escaped: plotly decodes those entities but shows ``&quot;`` as is.

    Example:
        >>> plotly_escape("<b>Tom & Jerry's</b>")
        "&lt;b&gt;Tom &amp; Jerry's&lt;/b&gt;"
    """
    return html.escape(str(text), quote=False)
