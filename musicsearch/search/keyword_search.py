"""Keyword search: a first stage without a trained model, searching a corpus the way an index does.

:class:`KeywordSearch` answers ``search(query, k) -> [Hit]`` like
:class:`~musicsearch.search.index.SearchIndex`, from BM25 alone: it builds the package's one BM25
(:class:`~musicsearch.search.keywords.KeywordIndex`, which only scores) over each tune's metadata and,
optionally, its captions. Result pages, DSP and the LLM benchmark take hits from any first stage; when no
joint-space model and index exist yet (``make model`` not run), this gives real hits over a real corpus in
milliseconds. It is labelled as keyword search wherever it is used, so its figures are not mistaken for
the model's.

It reads the query as hybrid search does (:func:`~musicsearch.search.understanding.understand_query`): BM25
gets the free words only, tunes satisfying the query's field constraints (type, meter, key, origin...,
in five languages) rank first, and an exact title (or the type exactly as written) counts as in hybrid
search, with the same :class:`~musicsearch.search.hybrid.FusionWeights` less the content signal. Each hit
says why it matched (``Hit.why``). ``understand=False`` is plain BM25 over the whole query.

Example:
    >>> search = KeywordSearch(corpus)  # doctest: +SKIP
    >>> [hit.title for hit in search.search("hornpipe", k=2)]  # doctest: +SKIP
    ['Acrobat's Hornpipe', 'Admiral's Hornpipe']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import QueryError
from .hit import Hit
from .queries import clean_query


class KeywordSearch:
    """Search records by BM25 over their title, composer, type, origin, book and collection (and English tags).

    Args:
        records: corpus records (a :class:`~musicsearch.data.corpus.Corpus` or a list).
        captions: also index each tune's short caption (type, key, meter words); stronger, but it then
            reads exactly the facts the category queries ask for.
    """

    name = "keyword (BM25 over metadata)"

    def __init__(self, records: Sequence[Any], *, captions: bool = False, understand: bool = True) -> None:
        from .hybrid import keyword_fields
        from .keywords import KeywordIndex

        self.records = list(records)
        self.understand = understand
        self._fields: Any = None
        documents = []
        for record in self.records:
            fields = keyword_fields(record)
            if captions and getattr(record, "captions", None):
                fields["caption"] = record.captions[-1] if len(record.captions) > 1 else record.captions[0]
            documents.append(fields)
        self.index = KeywordIndex(documents)
        if captions:
            self.name = "keyword (BM25 over metadata and captions)"

    def __len__(self) -> int:
        return len(self.records)

    def search(self, query: str, k: int = 10, **_: Any) -> list[Any]:
        """The ``k`` best tunes for ``query`` as :class:`~musicsearch.search.hit.Hit` objects (ties: corpus order)."""
        query = clean_query(query)  # the same validation as the index's text queries
        if k < 1:
            raise QueryError(f"k={k}; ask for at least one hit.")
        if not self.understand:
            bm25, title = self.index.score(query, written_types=False)
            scores = bm25 + 2.0 * title  # an exact title outranks shared words
            return self._hits(scores, np.argsort(-scores, kind="stable")[:k], query)
        from .hybrid import FusionWeights, fields_signal, minmax, title_query
        from .understanding import understand_query

        reading = understand_query(query)
        weights = FusionWeights()
        bm25 = self.index.bm25(reading.text) if reading.free_words else np.zeros(len(self), np.float32)
        title = self.index.name_scores(title_query(query, reading))
        scores = weights.keyword * minmax(bm25) + weights.title * title  # scaled as hybrid search scales it
        matched = None
        if reading.constraints:
            matched = self.field_index().matches(reading.constraints)
            scores = scores + weights.fields * fields_signal(matched, title)
        top = np.argsort(-scores, kind="stable")[:k]
        return self._hits(scores, top, query, reading=reading, matched=matched)

    def field_index(self) -> Any:
        """The records' facts (type, meter, key, origin...), from the facts cache hybrid search shares."""
        if self._fields is None:
            from .fields_cache import cached_field_index

            self._fields = cached_field_index(self.records)
        return self._fields

    def _hits(self, scores: np.ndarray, top: np.ndarray, query: str, *, reading: Any = None,
              matched: np.ndarray | None = None) -> list[Any]:
        from .hybrid import why_matched

        hits = []
        for rank, row in enumerate(top, 1):
            hit = Hit.from_record(self.records[int(row)], float(scores[row]), rank)
            if reading is not None:
                hit.why = why_matched(self.index, int(row), query, reading,
                                      matched[row] if matched is not None else None)
            hits.append(hit)
        return hits
