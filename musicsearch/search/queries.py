"""What a user asks: the kind of a typed query (text, ABC, score file), and validating each kind.

One parser decides the kind of a query for every front end (the ``musicsearch search`` command, the
search box widget): :func:`parse_query` reads a typed string as

- ``"file"``: the path of an existing score file (``my_tune.abc``, ``tune.xml``), a query by example;
- ``"abc"``: an ABC snippet, a query by example: a ``K:``/``L:``/``M:``/``Q:``/``X:`` field, or a line
  of bar lines and notes only (``|:dfa afd|gfe dcB|``); fields typed on one line get lines of their own;
- ``"text"``: anything else, a sentence for the text encoder.

Documented behaviour of a text query: it is whitespace-normalised; an empty or whitespace-only one
raises :class:`QueryError`; one longer than :data:`MAX_QUERY_CHARS` is cut at a word boundary with a
warning (the text encoder would truncate it anyway, and silently). A music query is an ABC string, a
record, or the path of a score file; it is cleaned to music only, as the corpus is.

Example:
    >>> clean_query("  a   lively jig ")
    'a lively jig'
    >>> parse_query("M:6/8 K:D |:dfa afd|")
    Query(kind='abc', value='M:6/8\\nK:D\\n|:dfa afd|')
    >>> parse_query("a jig in D").kind
    'text'
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ABCError, QueryError

MAX_QUERY_CHARS = 1000  # ~ the text encoder's 256-token window; longer text only dilutes the query

_FIELD_LINE = re.compile(r"^\s*[XLMKQ]:", re.M)
_LEADING_FIELD = re.compile(r"[XLMKQ]:\S+")
# A bare melody line: bar lines plus note letters, octave marks, lengths and accidentals, nothing else.
_BARE_MELODY = re.compile(r"[\sA-Ga-gz0-9,'/|:\[\]^_=()<>~.\-]+")


@dataclass(frozen=True)
class Query:
    """A typed query and its kind, as :func:`parse_query` reads it."""

    kind: str  # "text", "abc" or "file"
    value: str  # the cleaned text, the ABC (one field per line), or the score file's path


def parse_query(query: Any) -> Query:
    """The kind and value of a typed query: a score file's path, an ABC snippet, or text.

    Raises:
        QueryError: a query that is not a string, or is empty.

    Example:
        >>> parse_query("K:D\\n|:dfa afd|").kind, parse_query("  tunes by  O'Carolan ").value
        ('abc', "tunes by O'Carolan")
    """
    if isinstance(query, str) and query.strip():
        if _score_file(query) is not None:
            return Query("file", query.strip())
        if looks_like_abc(query):
            return Query("abc", abc_from_query(query))
    return Query("text", clean_query(query))


def search_query(index: Any, query: Query, k: int = 10, *, mode: str = "content") -> list[Any]:
    """Answer a parsed query: text through ``index.search``, ABC and files by example (``index.search_music``).

    Args:
        index: a :class:`~musicsearch.search.index.SearchIndex` (``search`` and ``search_music``).
        query: from :func:`parse_query`.
        k: number of hits.
        mode: for text ``"content"`` or ``"hybrid"`` (metadata fused in); for music ``"hybrid"`` (melody
            matches fused with the embedding), ``"melody"`` or ``"content"``
            (see :mod:`musicsearch.search.music_query`). ``"melody"`` needs music, not text.

    Raises:
        QueryError: a bad text query or ``k``, a text query in ``"melody"`` mode, or a music query the
            melodic matcher refuses in ``"melody"`` mode (too few notes, too long, an unknown key).
        ABCError: an ABC snippet with no notes or that cannot be read.

    Example:
        >>> hits = search_query(index, parse_query("K:D |:dfa afd|"), k=3, mode="melody")  # doctest: +SKIP
    """
    if query.kind == "text":
        if mode == "melody":
            raise QueryError("mode 'melody' searches by notes: give ABC (e.g. 'K:D |:dfa afd|') or a score "
                             "file, or choose mode 'hybrid' or 'content' for text.")
        return index.search(query.value, k, mode=mode)
    if query.kind == "file":
        return index.search_music(Path(query.value), k, mode=mode)
    try:
        return index.search_music(query.value, k, mode=mode)
    except QueryError as error:
        if mode == "melody" or str(error).startswith("unknown music search mode"):
            raise  # the ABC was read; the melodic matcher says why it cannot use it
        raise ABCError(f"this ABC snippet could not be read: {error}") from error


def looks_like_abc(text: str) -> bool:
    """Whether a query is an ABC snippet (a ``K:``/``L:``/``M:``/``Q:``/``X:`` line, or bar lines and notes only).

    Example:
        >>> looks_like_abc("K:D\\n|:dfa afd|"), looks_like_abc("|:dfa afd|"), looks_like_abc("a jig in D")
        (True, True, False)
    """
    text = text or ""
    return bool(_FIELD_LINE.search(text)) or ("|" in text and bool(_BARE_MELODY.fullmatch(text)))


def abc_from_query(text: str) -> str:
    """ABC typed on one line (``K:D |:dfa afd|``) with its leading fields put on lines of their own.

    Example:
        >>> abc_from_query("M:6/8 K:D |:dfa afd|")
        'M:6/8\\nK:D\\n|:dfa afd|'
    """
    text = text.strip()
    if "\n" in text:
        return text
    tokens = text.split()
    fields = []
    while tokens and _LEADING_FIELD.fullmatch(tokens[0]):
        fields.append(tokens.pop(0))
    return "\n".join(fields + [" ".join(tokens)]) if fields else text


def clean_query(query: Any) -> str:
    """Validate a text query: a non-blank string, cut to :data:`MAX_QUERY_CHARS` with a warning."""
    if not isinstance(query, str):
        raise QueryError(f"a query must be text, got {type(query).__name__}.")
    text = " ".join(query.split())
    if not text:
        raise QueryError("the query is empty; type a few words, e.g. 'a lively jig in D major'.")
    if len(text) > MAX_QUERY_CHARS:
        cut = text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0] or text[:MAX_QUERY_CHARS]
        warnings.warn(f"query of {len(text)} characters truncated to {len(cut)} "
                      f"(MAX_QUERY_CHARS={MAX_QUERY_CHARS}).", UserWarning, stacklevel=3)
        text = cut
    return text


def music_query(query: Any) -> tuple[str, str | None]:
    """Cleaned ABC (music only, as the corpus stores it) and record id (if any) of a query-by-example input."""
    from ..data.abc import parse_tune, split_tunes

    if hasattr(query, "abc") and hasattr(query, "id"):
        return query.abc, query.id
    path = query if isinstance(query, Path) else _score_file(query)
    if path is not None:
        from ..data.formats import to_abc

        query = to_abc(path)
    if not isinstance(query, str) or not query.strip():
        raise QueryError("a music query must be ABC text, a record, or the path of a score file; got "
                         f"{type(query).__name__ if not isinstance(query, str) else 'an empty string'}.")
    tunes = split_tunes(query)
    if len(tunes) > 1:
        warnings.warn(f"the music query holds {len(tunes)} tunes; searching with the first.", UserWarning, stacklevel=3)
    return parse_tune(tunes[0][1]).abc, None


def _score_file(query: Any) -> Path | None:
    """The path a one-line string names when it is an existing file with a suffix, else None."""
    if not isinstance(query, str) or "\n" in query.strip():
        return None
    path = Path(query.strip())
    try:
        return path if path.suffix and path.is_file() else None
    except (OSError, ValueError):  # too long a name, or a NUL byte: text, not a file
        return None
