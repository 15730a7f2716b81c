"""Validating what a user asks: text queries and music queries (query by example).

Documented behaviour: a text query is whitespace-normalised; an empty or whitespace-only one raises
:class:`QueryError`; one longer than :data:`MAX_QUERY_CHARS` is cut at a word boundary with a warning
(the text encoder would truncate it anyway, and silently). A music query is an ABC string, a record, or
the path of a score file; it is cleaned to music only, as the corpus is.

Example:
    >>> clean_query("  a   lively jig ")
    'a lively jig'
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..errors import QueryError

MAX_QUERY_CHARS = 1000  # ~ the text encoder's 256-token window; longer text only dilutes the query


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
    if isinstance(query, Path) or (isinstance(query, str) and "\n" not in query and Path(query).suffix
                                   and Path(query).is_file()):
        from ..data.formats import to_abc

        query = to_abc(Path(query))
    if not isinstance(query, str) or not query.strip():
        raise QueryError("a music query must be ABC text, a record, or the path of a score file; got "
                         f"{type(query).__name__ if not isinstance(query, str) else 'an empty string'}.")
    tunes = split_tunes(query)
    if len(tunes) > 1:
        warnings.warn(f"the music query holds {len(tunes)} tunes; searching with the first.", UserWarning, stacklevel=3)
    return parse_tune(tunes[0][1]).abc, None
