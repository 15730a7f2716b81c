"""Hybrid search: the content score fused with metadata scores, so "tunes by O'Carolan" or a title work.

The music embedding knows how a tune *sounds*; it cannot know who wrote it or what it is called. Hybrid
search adds three metadata signals for each candidate tune and fuses them with the content score:

- ``content``: cosine of the query and the tune's music embedding (what ``mode="content"`` ranks by);
- ``metadata``: cosine of the query and the text embedding of the tune's metadata sentence
  (:func:`metadata_text`: title, tune type, composer, origin, collection), from the same text encoder;
- ``keyword``: BM25 over the metadata words (:class:`KeywordIndex`), for names the encoder never saw;
- ``title``: how much of the query is exactly one of the tune's titles (an exact-title bonus).

Each signal is min-max scaled over the candidates of the query, then combined with
:class:`FusionWeights` (a convex combination; Bruch et al. 2023 found it more robust than rank fusion).
Candidates are the union of the top content, metadata and keyword matches, so approximate indexes work.

How the default weights were chosen: :func:`tune_fusion_weights` ran a grid over the weights on the dev
half of :func:`make_dev_queries` (title, composer, caption and tune-type queries from the held-out split
of the default corpus, seed 0) with the default model, maximising mean nDCG@10; the figures are in
``benchmarks/results/search.json`` ("hybrid") and the README.

Example:
    >>> hits = index.search("tunes by O'Carolan", k=5, mode="hybrid")  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..data import features
from ..data.vocab import ORIGINS
from . import ann
from .keywords import KeywordIndex

CANDIDATES = 200  # per signal; the union is rescored exactly


@dataclass
class FusionWeights:
    """Weights of the min-max scaled signals in the fused score.

    The defaults were tuned on a dev split of held-out-tune queries (titles, composers, tune types,
    captions) with the default model, over the grid {0, 0.25, 0.5, 1, 2}³ with content fixed at 1
    (``benchmarks/search.py``, ``tune_fusion_weights``); on the other half they give nDCG@10 0.892 against
    0.044 for content only. BM25 over the English metadata tags (:func:`metadata_tags`) carries the
    metadata; the metadata-sentence embedding adds nothing on top with the quick model, so it gets 0 —
    raise it for a text encoder fine-tuned on your metadata, or for paraphrased queries.
    """

    content: float = 1.0  # music embedding vs query: the only signal that knows the notes
    metadata: float = 0.0  # metadata sentence embedding vs query: paraphrases of type/origin/composer
    keyword: float = 2.0  # BM25 over metadata words and English tags: exact names the encoder never learnt
    title: float = 0.25  # query is (mostly) an exact title of the tune

    def as_array(self) -> np.ndarray:
        return np.array([self.content, self.metadata, self.keyword, self.title], dtype=np.float32)


SIGNALS = ("content", "metadata", "keyword", "title")


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


def signals(index: Any, text: str, vector: np.ndarray, *, candidates: int = CANDIDATES) -> tuple[np.ndarray, np.ndarray]:
    """Candidate rows of ``index`` for a query and their four min-max scaled signals ``(C, 4)``."""
    keywords = keyword_index(index)
    count = len(index)
    depth = min(count, max(candidates, 1))
    _, content_ids = ann.search_faiss(index.faiss_index, vector, depth)
    pools = [content_ids[0][content_ids[0] >= 0]]
    metadata_scores = None
    if index.metadata_vectors is not None:
        metadata_scores = index.metadata_vectors @ vector
        pools.append(_top(metadata_scores, depth))
    keyword_scores, title_scores = keywords.score(text)
    pools += [_top(keyword_scores, depth, positive=True), np.flatnonzero(title_scores)]
    rows = np.unique(np.concatenate(pools)).astype(np.int64)
    stored = ann.reconstruct(index.faiss_index, rows)
    columns = [stored @ vector,
               metadata_scores[rows] if metadata_scores is not None else np.zeros(len(rows), np.float32),
               keyword_scores[rows], title_scores[rows]]
    return rows, np.stack([_minmax(column) for column in columns], axis=1)


def fuse(rows: np.ndarray, scaled: np.ndarray, weights: FusionWeights, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows by the weighted sum of scaled signals (ties broken by content, then row)."""
    fused = scaled @ weights.as_array()
    order = np.lexsort((rows, -scaled[:, 0], -fused))[:k]
    return rows[order], fused[order]


def hybrid_search(index: Any, text: str, vector: np.ndarray, k: int, weights: FusionWeights | None = None) -> list:
    """Hits of a hybrid query (called by ``SearchIndex.search(mode="hybrid")``)."""
    rows, scaled = signals(index, text, np.asarray(vector, dtype=np.float32), candidates=max(CANDIDATES, k))
    top, scores = fuse(rows, scaled, weights or FusionWeights(), k)
    return [index.hit(int(row), float(score), rank) for rank, (row, score) in enumerate(zip(top, scores), 1)]


def keyword_index(index: Any) -> KeywordIndex:
    """The index's keyword index, built from its records on first use."""
    if getattr(index, "_keyword_index", None) is None:
        index._keyword_index = KeywordIndex([keyword_fields(r) for r in index.records])
    return index._keyword_index


@dataclass
class DevQuery:
    """A query with known answers, for tuning and evaluating fusion."""

    text: str
    relevant: frozenset[str]  # ids of the tunes that answer it
    kind: str  # "title", "composer", "caption" or "type"


def make_dev_queries(records: Sequence[Any], *, pool: Sequence[Any] | None = None, per_kind: int = 50,
                     seed: int = 0) -> list[DevQuery]:
    """Queries written from ``records`` (e.g. a held-out split), answered over ``pool`` (the index's records).

    Title queries are the exact title; composer queries read "tunes by NAME"; caption queries are the
    tune's own first caption; type queries "a TYPE" (relevant: every tune of that type in the pool).
    """
    rng = np.random.default_rng(seed)
    pool = list(pool if pool is not None else records)
    by = {name: _group(pool, name) for name in ("title", "composer", "rhythm")}
    queries: list[DevQuery] = []
    picked = [records[i] for i in rng.permutation(len(records))]
    for kind, field, template in (("title", "title", "{}"), ("composer", "composer", "tunes by {}"),
                                  ("type", "rhythm", "a {}")):
        seen: set[str] = set()
        for record in picked:
            value = (record.metadata.get(field) or "").strip()
            if value and value.lower() not in seen and value.lower() in by[field] and len(seen) < per_kind:
                seen.add(value.lower())
                queries.append(DevQuery(template.format(value), frozenset(by[field][value.lower()]), kind))
    for record in picked[:per_kind]:
        if getattr(record, "captions", None):
            queries.append(DevQuery(record.captions[0], frozenset({record.id}), "caption"))
    return queries


def tune_fusion_weights(index: Any, queries: Sequence[DevQuery], *, grid: Sequence[float] = (0.0, 0.25, 0.5, 1.0),
                        k: int = 10) -> tuple[FusionWeights, list[dict[str, Any]]]:
    """Grid-search :class:`FusionWeights` (content fixed at 1) maximising mean nDCG@k over ``queries``.

    Returns:
        The best weights and one row per grid point (``weights``, ``ndcg``), best first.
    """
    texts = [query.text for query in queries]
    vectors = ann.as_matrix(index.model.encode_text(texts), dim=index.dim)
    prepared = [signals(index, text, vector) for text, vector in zip(texts, vectors)]
    table = []
    for metadata, keyword, title in itertools.product(grid, repeat=3):
        weights = FusionWeights(1.0, metadata, keyword, title)
        score = mean_ndcg(index, queries, prepared, weights, k)
        table.append({"weights": asdict(weights), "ndcg": score})
    table.sort(key=lambda row: -row["ndcg"])
    return FusionWeights(**table[0]["weights"]), table


def mean_ndcg(index: Any, queries: Sequence[DevQuery], prepared: Sequence[tuple[np.ndarray, np.ndarray]],
              weights: FusionWeights, k: int = 10) -> float:
    """Mean binary-relevance nDCG@k of fused rankings (``prepared`` = :func:`signals` per query)."""
    values = []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for query, (rows, scaled) in zip(queries, prepared):
        top, _ = fuse(rows, scaled, weights, k)
        gains = np.array([index.records[row].id in query.relevant for row in top], dtype=np.float64)
        ideal = discounts[:min(k, len(query.relevant))].sum()
        values.append(float((gains * discounts[:len(gains)]).sum() / ideal) if ideal else 0.0)
    return float(np.mean(values)) if values else 0.0


def _group(records: Sequence[Any], field: str) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for record in records:
        value = (record.metadata.get(field) or "").strip().lower()
        if value:
            groups.setdefault(value, set()).add(record.id)
    return groups


def _top(scores: np.ndarray, depth: int, *, positive: bool = False) -> np.ndarray:
    rows = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else np.arange(len(scores))
    return rows[scores[rows] > 0] if positive else rows


def _minmax(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float32)
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)
