"""Keyword search: a first stage without a trained model, searching a corpus the way an index does.

:class:`KeywordSearch` answers ``search(query, k) -> [Hit]`` like
:class:`~musicsearch.search.index.SearchIndex`, from BM25 alone: it builds the package's one BM25
(:class:`~musicsearch.search.keywords.KeywordIndex`, which only scores) over each tune's metadata and,
optionally, its captions. Result pages, DSP and the LLM benchmark take hits from any first stage; when no
joint-space model and index exist yet (``make model`` not run), this gives real hits over a real corpus in
milliseconds. It is labelled as keyword search wherever it is used, so its figures are not mistaken for
the model's.

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

    def __init__(self, records: Sequence[Any], *, captions: bool = False) -> None:
        from .hybrid import keyword_fields
        from .keywords import KeywordIndex

        self.records = list(records)
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
        bm25, title = self.index.score(query)
        scores = bm25 + 2.0 * title  # an exact title outranks shared words
        top = np.argsort(-scores, kind="stable")[:k]
        hits = []
        for rank, row in enumerate(top, 1):
            record = self.records[int(row)]
            hits.append(Hit.from_record(record, float(scores[row]), rank))
        return hits
