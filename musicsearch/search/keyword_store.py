"""A :class:`~musicsearch.search.keywords.KeywordIndex` saved beside the index, so a search process skips
building it (about 2 s for 13,600 tunes on a 2-core machine; the first hybrid query paid it).

The file is a NumPy ``.npz`` (no pickle): the BM25 postings as flat arrays with offsets, the title keys
the same way, and the terms and scalars as JSON. It is a cache of what the records give, so it is only
trusted when it was written by the same keyword code: :func:`keyword_scheme` digests the source of the
code that decides the terms (the tokenizer, the fields read from each record, the vocabularies), and a
stored index whose scheme differs is ignored (the index then builds it on the first hybrid query, as
before). A KeywordIndex whose attributes this module does not know is not saved, for the same reason.

Example:
    >>> from musicsearch.search.keywords import KeywordIndex
    >>> keywords = KeywordIndex([{"title": "The Kesh"}, {"title": "Planxty Irwin", "composer": "O'Carolan"}])
    >>> again = keywords_from_bytes(keywords_to_bytes(keywords))
    >>> [a.tolist() == b.tolist() for a, b in zip(again.score("the kesh"), keywords.score("the kesh"))]
    [True, True]
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from .keywords import KeywordIndex

# The attributes of KeywordIndex this format holds; another set means the class changed: do not save.
_ATTRIBUTES = frozenset({"k1", "b", "count", "titles", "written_types", "_norm", "_postings", "_longest_title"})
_SEPARATOR = "\x1f"  # joins the terms of a title key (a term never holds it: terms are [a-z0-9])
FORMAT = 2  # 2: types as written (KeywordIndex.written_types) stored beside the titles


def keyword_scheme() -> str:
    """Digest of the code that decides a tune's keyword terms (changes when that code changes).

    Example:
        >>> len(keyword_scheme())
        16
    """
    import inspect

    from ..data import features, vocab
    from . import hybrid, keywords

    digest = hashlib.sha256(f"keywords-{FORMAT}".encode())
    for module in (keywords, features, vocab):
        digest.update(Path(module.__file__).read_bytes())
    # Of hybrid search, only what picks the fields: tuning its fusion must not discard the stored index.
    for function in (hybrid.keyword_fields, hybrid.metadata_tags, hybrid.keyword_index):
        digest.update(inspect.getsource(function).encode())
    return digest.hexdigest()[:16]


def keywords_to_bytes(keywords: KeywordIndex) -> bytes | None:
    """The ``.npz`` bytes of ``keywords``, or None when its class holds attributes this format does not know."""
    if set(vars(keywords)) != _ATTRIBUTES:
        return None
    terms = list(keywords._postings)
    rows = [keywords._postings[term][0] for term in terms]
    frequencies = [keywords._postings[term][1] for term in terms]
    title_keys, title_rows = _keyed_rows(keywords.titles)
    type_keys, type_rows = _keyed_rows(keywords.written_types)
    scalars = {"k1": keywords.k1, "b": keywords.b, "count": keywords.count,
               "longest_title": keywords._longest_title, "format": FORMAT}
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False,
             scalars=_json_bytes(scalars), terms=_json_bytes(terms),
             titles=_json_bytes(title_keys),
             post_offsets=_offsets(rows), post_rows=_concat(rows, np.int64),
             post_freqs=_concat(frequencies, np.float32), norm=np.asarray(keywords._norm),
             title_offsets=_offsets(title_rows), title_rows=_concat(title_rows, np.int64),
             types=_json_bytes(type_keys), type_offsets=_offsets(type_rows), type_rows=_concat(type_rows, np.int64))
    return buffer.getvalue()


def keywords_from_bytes(data: bytes) -> KeywordIndex:
    """Rebuild a :class:`KeywordIndex` from :func:`keywords_to_bytes`'s bytes.

    Raises:
        ValueError: the bytes are not such a file (the caller then builds the index from the records).
    """
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        scalars = json.loads(arrays["scalars"].tobytes())
        if scalars.get("format") != FORMAT:
            raise ValueError(f"keyword index format {scalars.get('format')!r}, expected {FORMAT}")
        terms = json.loads(arrays["terms"].tobytes())
        titles = json.loads(arrays["titles"].tobytes())
        post_offsets, post_rows, post_freqs = arrays["post_offsets"], arrays["post_rows"], arrays["post_freqs"]
        title_offsets, title_rows = arrays["title_offsets"], arrays["title_rows"]
        types = json.loads(arrays["types"].tobytes())
        type_offsets, type_rows = arrays["type_offsets"], arrays["type_rows"]
        norm = arrays["norm"]
    if (len(post_offsets) != len(terms) + 1 or len(title_offsets) != len(titles) + 1
            or len(type_offsets) != len(types) + 1 or len(norm) != scalars["count"]):
        raise ValueError("keyword index arrays do not match their terms")
    keywords = KeywordIndex.__new__(KeywordIndex)
    keywords.k1, keywords.b, keywords.count = scalars["k1"], scalars["b"], scalars["count"]
    keywords._norm = norm
    keywords._postings = {term: (post_rows[start:end], post_freqs[start:end])
                          for term, start, end in zip(terms, post_offsets[:-1].tolist(), post_offsets[1:].tolist())}
    keywords.titles = _unkeyed_rows(titles, title_offsets, title_rows)
    keywords.written_types = _unkeyed_rows(types, type_offsets, type_rows)
    keywords._longest_title = scalars["longest_title"]
    return keywords


def _keyed_rows(table: dict[tuple[str, ...], list[int]]) -> tuple[list[str], list[np.ndarray]]:
    keys = list(table)
    return [_SEPARATOR.join(key) for key in keys], [np.asarray(table[key], dtype=np.int64) for key in keys]


def _unkeyed_rows(keys: list[str], offsets: np.ndarray, rows: np.ndarray) -> dict[tuple[str, ...], list[int]]:
    return {tuple(key.split(_SEPARATOR)): rows[start:end].tolist()
            for key, start, end in zip(keys, offsets[:-1].tolist(), offsets[1:].tolist())}


def _json_bytes(payload: object) -> np.ndarray:
    return np.frombuffer(json.dumps(payload, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _offsets(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(part) for part in parts], dtype=np.int64)]).astype(np.int64)


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)
