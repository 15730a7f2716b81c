"""Hybrid search: the content score fused with metadata scores and the query's field constraints.

The music embedding knows how a tune *sounds*; it cannot know who wrote it, what it is called or where
it comes from. The query is first read by :func:`~musicsearch.search.understanding.understand_query`
(type, meter, key, mode, origin... in five languages), then each candidate tune gets five signals:

- ``content``: cosine of the query (as understood, in English) and the tune's music embedding;
- ``metadata``: cosine of the query and the text embedding of the tune's metadata sentence
  (:func:`metadata_text`), from the same text encoder (weight 0 by default; an index may lack them);
- ``keyword``: BM25 over the metadata words (:class:`KeywordIndex`) of the query's *free* words (never
  function words such as "key" or "tune"), for names the encoder never saw;
- ``title``: how much of the query is exactly one of the tune's titles (an exact-title bonus), or 1 when
  the whole query is the tune's type exactly as its collection writes it ("Ballade, Romanze");
- ``fields``: the share of the query's constraints the tune satisfies (:mod:`musicsearch.search.fields`).

The first four are min-max scaled over the candidates of the query; all five are combined with
:class:`FusionWeights` (a convex combination; Bruch et al. 2023 found it more robust than rank fusion).
Candidates are the union of the top content, metadata and keyword matches and of the tunes satisfying
the most constraints, so "an Irish air" finds O'Neill's airs even when neither the music nor the words
put them near the top. ``understand=False`` gives hybrid search as it was before query understanding.

How the default weights were chosen: :func:`tune_fusion_weights` ran a grid over the keyword, title and
fields weights on the dev half of held-out-tune queries (title, composer, caption and type queries from
:func:`make_dev_queries`, and category queries in five languages from
:mod:`musicsearch.search.category_queries`) with the default model, maximising the mean over query kinds
of nDCG@10; the test-half figures are in ``benchmarks/results/search.json`` ("quality").

Example:
    >>> hits = index.search("tunes by O'Carolan", k=5, mode="hybrid")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import features
from ..data.vocab import ORIGINS
from . import ann
from .fields import FieldIndex
from .keywords import KeywordIndex
from .understanding import QueryReading, understand_query

CANDIDATES = 200  # per signal; the union is rescored exactly


@dataclass
class FusionWeights:
    """Weights of the signals in the fused score (:data:`SIGNALS` order).

    The defaults were tuned on a dev split of held-out-tune queries (titles, composers, tune types,
    captions, and category queries in five languages) with the released model, over the grid
    {0, 0.25, 0.5, 1, 2, 4, 8}³ for keyword, title and fields with content fixed at 1
    (``benchmarks/search.py --quality``, ``tune_fusion_weights``); the test-half figures are in
    ``benchmarks/results/search.json``. The metadata-sentence embedding added nothing with the quick model,
    so it gets 0 — raise it for a text encoder fine-tuned on your metadata, or for paraphrased queries.
    """

    content: float = 1.0  # music embedding vs query: the only signal that knows the notes
    metadata: float = 0.0  # metadata sentence embedding vs query: paraphrases of type/origin/composer
    keyword: float = 2.0  # BM25 over metadata words and English tags: exact names the encoder never learnt
    title: float = 1.0  # query is (mostly) an exact title of the tune, or its type exactly as written
    fields: float = 8.0  # share of the query's field constraints (type, key, origin...) the tune satisfies

    def as_array(self) -> np.ndarray:
        return np.array([self.content, self.metadata, self.keyword, self.title, self.fields], dtype=np.float32)


SIGNALS = ("content", "metadata", "keyword", "title", "fields")
FIELD_POOL = 20_000  # most tunes satisfying the constraints drawn into the candidates (best content first)


# Caption parts about the notes or the title (already first) rather than the metadata a person names.
_NOTE_PARTS = ("titled ", "with ", "as ", "for ", "similar to ")


def metadata_tags(record: Any) -> list[str]:
    """English metadata phrases of a tune: type, key, meter, origin, collection, composer.

    They come from the record's caption parts (normalised at corpus build: Essen's "Kinder - Lied" is
    "a children's song"), plus the country of origin, so "a German folk song" meets "from Germany".

    Example:
        >>> from types import SimpleNamespace
        >>> metadata_tags(SimpleNamespace(collection="essenFolksong", metadata={"origin": "Europa, Deutschland"},
        ...     caption_parts=["a love song", "in G major", "with a narrow range, within an octave"]))
        ['a love song', 'in G major', 'from Germany']
    """
    metadata = getattr(record, "metadata", {}) or {}
    parts = [part for part in (getattr(record, "caption_parts", None) or []) if not part.startswith(_NOTE_PARTS)]
    country = features.origin_country(metadata, getattr(record, "collection", "") or "")
    if country and not any(country in part for part in parts):
        parts.append(f"from {country}")
    return parts


def metadata_text(record: Any) -> str:
    """The sentence the text encoder embeds for a tune's metadata.

    Example:
        >>> from types import SimpleNamespace
        >>> metadata_text(SimpleNamespace(collection="ryansMammoth", metadata={"title": "The Kesh",
        ...     "rhythm": "jig", "composer": "Trad."}))
        'The Kesh, a jig by Trad., from the ryansMammoth collection'
        >>> metadata_text(SimpleNamespace(collection="oneills1850", metadata={"title": "The Kesh"},
        ...     caption_parts=["a jig", "in G major", "from Ireland", 'titled "The Kesh"']))
        'The Kesh: a jig, in G major, from Ireland'
    """
    metadata = getattr(record, "metadata", {}) or {}
    title = metadata.get("title") or "an untitled tune"
    if getattr(record, "caption_parts", None):
        return f"{title}: " + ", ".join(metadata_tags(record))
    # Records without caption parts (built by hand): the raw fields.
    parts = [title]
    if metadata.get("rhythm"):
        parts.append(f", a {metadata['rhythm']}")
    if metadata.get("composer"):
        parts.append(f" by {metadata['composer']}")
    if metadata.get("origin"):
        parts.append(f" from {metadata['origin']}")
    if getattr(record, "collection", ""):
        parts.append(f", from the {record.collection} collection")
    return "".join(parts)


def keyword_fields(record: Any) -> dict[str, str]:
    """Fields the keyword index reads: the metadata a person names in a query, raw and in English."""
    metadata = getattr(record, "metadata", {}) or {}
    fields = {name: metadata.get(name, "") for name in ("title", "composer", "rhythm", "origin", "book")}
    fields["collection"] = getattr(record, "collection", "")
    # The words people use for the country too: "an Irish tune" must meet "from Ireland".
    country = features.origin_country(metadata, getattr(record, "collection", "") or "")
    fields["tags"] = " ".join(metadata_tags(record) + list(ORIGINS.get(country or "", ())))
    return fields


def signals(index: Any, text: str, vector: np.ndarray, *, candidates: int = CANDIDATES, understand: bool = True,
            reading: QueryReading | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate rows of ``index`` for a query and their five signals ``(C, 5)`` (:data:`SIGNALS` order).

    With ``understand`` (the default) the query is read by
    :func:`~musicsearch.search.understanding.understand_query`: BM25 gets only its free words (never "key"
    or "tune"), the ``fields`` signal is the share of its constraints a tune satisfies (0..1, unscaled),
    and the tunes satisfying the most constraints join the candidates. ``understand=False`` is the hybrid
    search before query understanding (BM25 over the whole query, no fields), kept for comparison.
    """
    keywords = keyword_index(index)
    count = len(index)
    depth = min(count, max(candidates, 1))
    _, content_ids = ann.search_faiss(index.faiss_index, vector, depth)
    pools = [content_ids[0][content_ids[0] >= 0]]
    metadata_scores = None
    if index.metadata_vectors is not None:
        metadata_scores = index.metadata_vectors @ vector
        pools.append(_top(metadata_scores, depth))
    field_scores = None
    if understand:
        reading = reading or understand_query(text)
        keyword_scores = keywords.bm25(reading.text) if reading.free_words else np.zeros(count, np.float32)
        title_scores = keywords.name_scores(title_query(text, reading))
        if reading.constraints:
            field_scores = fields_signal(field_index(index).matches(reading.constraints), title_scores)
            best = float(field_scores.max())
            if best > 0:
                pools.append(_best_by_content(index, np.flatnonzero(field_scores == best), vector))
    else:
        keyword_scores, title_scores = keywords.score(text, written_types=False)
    pools += [_top(keyword_scores, depth, positive=True), np.flatnonzero(title_scores)]
    rows = np.unique(np.concatenate(pools)).astype(np.int64)
    stored = ann.reconstruct(index.faiss_index, rows)
    columns = [stored @ vector,
               metadata_scores[rows] if metadata_scores is not None else np.zeros(len(rows), np.float32),
               keyword_scores[rows], title_scores[rows]]
    scaled = [minmax(column) for column in columns]
    scaled.append(field_scores[rows] if field_scores is not None else np.zeros(len(rows), np.float32))
    return rows, np.stack(scaled, axis=1)


def fields_signal(matched: np.ndarray, title_scores: np.ndarray) -> np.ndarray:
    """The ``fields`` signal: the share of the query's constraints each tune satisfies (``matched``, one
    column per constraint), and 1 for a tune the whole query names exactly ("The Irish Washerwoman"),
    whatever the query reads as."""
    share = matched.mean(axis=1, dtype=np.float32)
    share[title_scores >= 1.0] = 1.0
    return share


def title_query(text: str, reading: QueryReading) -> str:
    """The query a title is looked for in: without the composer's name the parser read after "by".

    "tunes by Irish" asks for tunes whose composer field says Irish, not for the hornpipe titled "Irish".

    Example:
        >>> from musicsearch.search.understanding import understand_query
        >>> title_query("tunes by Irish", understand_query("tunes by Irish"))
        'tunes by'
    """
    for name, _, words in reading.understood:
        if name == "composer":
            for word in words.split():  # the name's words as the parser split them ("J. HAND." -> J, HAND)
                text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", " ", text, count=1)
    return " ".join(text.split())


def why_matched(keywords: KeywordIndex, row: int, text: str, reading: QueryReading | None,
                met: np.ndarray | None) -> dict[str, Any]:
    """Why row ``row`` answers ``text``, without its content score: ``fields`` / ``missed`` (``met``: one
    boolean per constraint of ``reading``), ``words`` found in its metadata, ``title``, ``type_as_written``."""
    why: dict[str, Any] = {}
    if reading is not None and met is not None:
        satisfied = dict(zip(reading.constraints, met))
        why["fields"] = {name: value for name, value in reading.constraints.items() if satisfied[name]}
        why["missed"] = {name: value for name, value in reading.constraints.items() if not satisfied[name]}
    words = keywords.matched_terms(reading.text if reading else text, row)
    if words:
        why["words"] = words
    named = title_query(text, reading) if reading else text
    if keywords.title_share(named, row) > 0:
        why["title"] = True
    if reading is not None and keywords.names_type(named, row):
        why["type_as_written"] = True
    return why


def fuse(rows: np.ndarray, scaled: np.ndarray, weights: FusionWeights, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows by the weighted sum of scaled signals (ties broken by content, then row)."""
    fused = scaled @ weights.as_array()
    order = np.lexsort((rows, -scaled[:, 0], -fused))[:k]
    return rows[order], fused[order]


def keyword_index(index: Any) -> KeywordIndex:
    """The index's keyword index, built from its records on first use."""
    if getattr(index, "_keyword_index", None) is None:
        index._keyword_index = KeywordIndex([keyword_fields(r) for r in index.records])
    return index._keyword_index


def field_index(index: Any) -> FieldIndex:
    """The index's table of record facts (type, meter, key, origin...), from the cache or built on first use."""
    if getattr(index, "_field_index", None) is None:
        from .fields_cache import cached_field_index

        index._field_index = cached_field_index(index.records)
    return index._field_index


def _best_by_content(index: Any, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """At most :data:`FIELD_POOL` of ``rows``, those nearest the query in the music space."""
    if len(rows) <= FIELD_POOL:
        return rows
    content = ann.reconstruct(index.faiss_index, rows) @ vector
    return rows[np.argpartition(-content, FIELD_POOL - 1)[:FIELD_POOL]]


def _top(scores: np.ndarray, depth: int, *, positive: bool = False) -> np.ndarray:
    rows = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else np.arange(len(scores))
    return rows[scores[rows] > 0] if positive else rows


def minmax(values: np.ndarray) -> np.ndarray:
    """``values`` scaled to 0..1 over the candidates (all zero when they are all equal): how signals are fused."""
    values = np.asarray(values, dtype=np.float32)
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)
