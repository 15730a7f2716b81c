"""The one BM25 of the package: keyword scoring over tune metadata (or any text), plus an exact-name signal.

Hybrid search fuses it with the content score, :class:`~musicsearch.search.keyword_search.KeywordSearch`
uses it as a model-free first stage, and the evaluation uses it as its BM25-over-captions baseline.

Names are where embeddings fail: a text encoder has no reason to place "O'Carolan" near the tunes he
wrote. A small inverted index over the metadata words finds them. Words are folded so that a person's
spelling matches the collection's: lower case, accents removed, apostrophes both joined and split
("O'Carolan" -> "ocarolan", "carolan"), a plural "s" dropped, and query filler ("tunes by") ignored.

Example:
    >>> keywords = KeywordIndex([{"title": "Planxty Irwin", "composer": "O'Carolan"},
    ...                          {"title": "The Kesh", "composer": ""}])
    >>> bm25, title = keywords.score("tunes by Carolan")
    >>> int(bm25.argmax()), title.tolist()
    (0, [0.0, 0.0])
    >>> keywords.score("the kesh")[1].tolist()
    [0.0, 1.0]
    >>> KeywordIndex(["a reel in D", "a jig in G"]).bm25_matrix(["jig", "reel"]).argmax(axis=1).tolist()
    [1, 0]
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

# Words that carry no metadata in a query ("find me some tunes by ...") or in a title ("The ...").
STOPWORDS = frozenset(
    "a an and any are as at be by find for from give i in is it me my of on or please search show some "
    "song songs that the this to tune tunes music piece pieces play with written composed".split())
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Fold ``text`` into index terms (see the module docstring).

    Example:
        >>> tokenize("Tunes by O'Carolan: the Jigs")
        ['ocarolan', 'carolan', 'jig']
    """
    folded = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    terms = []
    for word in _WORD.findall(folded):
        pieces = word.split("'")
        variants = ["".join(pieces)] + ([pieces[-1]] if len(pieces) > 1 and len(pieces[-1]) > 2 else [])
        terms.extend(_stem(variant) for variant in variants if variant not in STOPWORDS)
    return terms


def _title_keys(field: str) -> set[tuple[str, ...]]:
    """Term sequences a title field answers to: each title, and each without a " -- Reel" style suffix.

    Example:
        >>> sorted(_title_keys("7th Regiment -- Reel; The Seventh"))
        [('7th', 'regiment'), ('7th', 'regiment', 'reel'), ('seventh',)]
    """
    keys = set()
    for title in re.split(r"[;\n]", field):
        for variant in (title, re.split(r"\s+--\s+", title)[0]):
            key = tuple(tokenize(variant))
            if key:
                keys.add(key)
    return keys


def _stem(term: str) -> str:
    # Only the plural: "reels" must meet "reel", but real stemming would merge names.
    return term[:-1] if len(term) > 3 and term.endswith("s") and not term.endswith("ss") else term


class KeywordIndex:
    """BM25 over each document's metadata fields, and exact-title matching.

    Args:
        documents: one ``{field: text}`` mapping per tune, or one plain text per document; a ``"title"``
            field feeds the title signal (several titles may be separated by ``";"`` or newlines; a
            ``" -- Reel"`` suffix is optional). A plain text has no title.
        k1, b: BM25's term-saturation and length-normalisation constants (the usual 1.2 and 0.75).
    """

    def __init__(self, documents: Sequence[Mapping[str, str] | str], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.count = len(documents)
        postings: dict[str, list[tuple[int, int]]] = {}
        lengths = np.zeros(self.count, dtype=np.float32)
        self.titles: dict[tuple[str, ...], list[int]] = {}
        self.written_types: dict[tuple[str, ...], list[int]] = {}
        for row, document in enumerate(documents):
            fields = {"text": document} if isinstance(document, str) else document
            terms = Counter(tokenize(" ".join(str(value or "") for value in fields.values())))
            lengths[row] = sum(terms.values())
            for term, frequency in terms.items():
                postings.setdefault(term, []).append((row, frequency))
            for key in _title_keys(str(fields.get("title") or "")):
                self.titles.setdefault(key, []).append(row)
            written = tuple(tokenize(str(fields.get("rhythm") or "")))
            if written:
                self.written_types.setdefault(written, []).append(row)
        average = float(lengths.mean()) if self.count and lengths.mean() > 0 else 1.0
        self._norm = k1 * (1 - b + b * lengths / average)
        self._postings = {term: (np.array([r for r, _ in rows], dtype=np.int64),
                                 np.array([f for _, f in rows], dtype=np.float32)) for term, rows in postings.items()}
        self._longest_title = max((len(key) for key in self.titles), default=0)

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency (never negative)."""
        frequency = len(self._postings[term][0]) if term in self._postings else 0
        return math.log(1 + (self.count - frequency + 0.5) / (frequency + 0.5))

    def bm25(self, query: str) -> np.ndarray:
        """BM25 score ``(N,)`` float32 of every document for ``query`` (a term typed twice counts twice)."""
        bm25 = np.zeros(self.count, dtype=np.float32)
        for term, repeats in Counter(tokenize(query)).items():
            if term in self._postings:
                rows, frequency = self._postings[term]
                bm25[rows] += repeats * self.idf(term) * frequency * (self.k1 + 1) / (frequency + self._norm[rows])
        return bm25

    def bm25_matrix(self, queries: Sequence[str]) -> np.ndarray:
        """``(queries, documents)`` BM25 scores, the shape the evaluation's metrics read."""
        if not queries:
            return np.zeros((0, self.count), dtype=np.float32)
        return np.stack([self.bm25(query) for query in queries])

    def matched_terms(self, query: str, row: int) -> list[str]:
        """The query's index terms that document ``row`` contains (why a hit matched, in words).

        Example:
            >>> KeywordIndex([{"title": "The Kesh", "composer": ""}]).matched_terms("the kesh jig", 0)
            ['kesh']
        """
        found = []
        for term in dict.fromkeys(tokenize(query)):
            rows = self._postings.get(term, (None,))[0]
            if rows is not None:
                at = int(np.searchsorted(rows, row))
                if at < len(rows) and rows[at] == row:
                    found.append(term)
        return found

    def title_share(self, query: str, row: int) -> float:
        """The title signal of :meth:`score` for one document (share of the query an exact title covers)."""
        terms = tokenize(query)
        best = 0.0
        for size in range(min(len(terms), self._longest_title), 0, -1):
            for start in range(len(terms) - size + 1):
                if row in self.titles.get(tuple(terms[start:start + size]), ()):
                    best = max(best, size / len(terms))
        return best

    def names_type(self, query: str, row: int) -> bool:
        """Whether the whole ``query`` is document ``row``'s type exactly as its collection writes it."""
        return row in self.written_types.get(tuple(tokenize(query)), ())

    def score(self, query: str, *, written_types: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores and title scores of every document for ``query``.

        ``written_types=False`` leaves types as written out of the title signal (hybrid search as it
        was before query understanding, kept for comparison).

        Returns:
            ``(bm25, title)``, each ``(N,)`` float32. ``title`` is the share of the query's terms covered
            by an exact title of the document found inside the query (1.0 = the query is the title), and
            1.0 where the whole query is the document's type exactly as its collection writes it
            ("Ballade, Romanze", "Liebes - Lied", "reel"): a name of the tune's kind, which word order and
            spelling tell from its neighbours ("Romanze, Ballade") where the type read in English cannot.
        """
        return self.bm25(query), self.name_scores(query, written_types=written_types)

    def name_scores(self, query: str, *, written_types: bool = True) -> np.ndarray:
        """The title signal of :meth:`score` alone, ``(N,)`` float32 (no BM25)."""
        terms = tokenize(query)
        title = np.zeros(self.count, dtype=np.float32)
        for size in range(min(len(terms), self._longest_title), 0, -1):
            for start in range(len(terms) - size + 1):
                rows = self.titles.get(tuple(terms[start:start + size]), [])
                if rows:
                    title[rows] = np.maximum(title[rows], size / len(terms))
        if written_types:
            title[self.written_types.get(tuple(terms), [])] = 1.0
        return title
