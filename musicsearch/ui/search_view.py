"""What a search box shows: a typed query (text, ABC or a score file) → hits → HTML cards with notation,
metadata and score.

The widgets in ``widgets/`` only lay these out; everything a test needs to check lives here and works
without a browser or a kernel. The kind of a query is read by
:func:`musicsearch.search.queries.parse_query`, the parser the ``musicsearch search`` command uses too.

Example:
    >>> hits, kind = run_search(index, "K:D |:dfa afd|", k=3)  # doctest: +SKIP
    >>> kind  # doctest: +SKIP
    'abc'
"""

from __future__ import annotations

import html
from typing import Any

SHOWN_FIELDS = ("rhythm", "meter", "key", "origin", "composer", "region")


def run_search(index: Any, query: str, *, k: int = 5, mode: str = "content",
               notes: list[str] | None = None) -> tuple[list[Any], str]:
    """Search ``index`` with a sentence, an ABC snippet or a score file's path; returns ``(hits, kind)``.

    ``kind`` is ``"text"``, ``"abc"`` or ``"file"`` (see :func:`~musicsearch.search.queries.parse_query`);
    ABC and files are queries by music (``index.search_music``: ``mode`` ``"hybrid"`` fuses melody matches
    with the embedding, ``"melody"`` and ``"content"`` use one of them).

    Args:
        notes: when a list, why the search fell back (a melody the matcher could not use) is appended to
            it instead of being warned, so a widget can show it. How a text query was read is
            :func:`reading_html`.

    Raises:
        QueryError: empty query or unknown mode.
        ABCError: an ABC snippet with no notes or that cannot be read.

    Example:
        >>> hits, kind = run_search(index, "a jig in D", k=3)  # doctest: +SKIP
        >>> len(hits), kind  # doctest: +SKIP
        (3, 'text')
    """
    import warnings

    from ..search.music_query import MelodyFallbackWarning
    from ..search.queries import parse_query, search_query

    parsed = parse_query(query)
    if notes is None:
        return search_query(index, parsed, k, mode=mode), parsed.kind
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MelodyFallbackWarning)
        hits = search_query(index, parsed, k, mode=mode)
    for warning in caught:
        if issubclass(warning.category, MelodyFallbackWarning):
            notes.append(str(warning.message))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return hits, parsed.kind


def reading_html(index: Any, query: str, mode: str = "hybrid") -> str:
    """How hybrid search read a text query, as one line above its hits (class ``ms-reading``); ``""`` otherwise.

    The line says what was understood (type, key, origin...), which words were ignored, and any note: a
    contradiction ("a reel in 3/4"), a place with no tunes, a query of function words only.

    Example:
        >>> reading_html(index, "une berceuse")  # doctest: +SKIP
        '<div class="ms-reading" ...>understood: type lullaby; ignored: une; 7 tunes satisfy type lullaby</div>'
    """
    from ..errors import MusicSearchError
    from ..search.queries import parse_query

    if mode != "hybrid" or not hasattr(index, "explain"):
        return ""
    try:
        parsed = parse_query(query)
    except MusicSearchError:
        return ""
    if parsed.kind != "text":
        return ""
    line = html.escape(index.explain(parsed.value).summary())
    return f'<div class="ms-reading" style="font-size:85%;color:#555">{line}</div>'


def query_html(query: str, *, scale: int = 28, page_width: int = 2200) -> str:
    """The bars of a music query (ABC or a score file's path) as notation, shown above its hits; ``""`` for text.

    Example:
        >>> 'ms-query-notation' in query_html("K:D |:dfa afd|gfe dcB|")  # doctest: +SKIP
        True
    """
    from ..errors import MusicSearchError
    from ..search.queries import music_query, parse_query

    parsed = parse_query(query)
    if parsed.kind == "text":
        return ""
    try:
        abc, _ = music_query(parsed.value)
    except MusicSearchError as error:
        return message_html(f"cannot show the query: {error}")
    picture = notation_html(abc, scale=scale, page_width=page_width)
    return f'<div class="ms-query-notation"><div style="font-size:85%;color:#555">your query</div>{picture}</div>'


def notation_html(abc: str, *, scale: int = 28, page_width: int = 2200,
                  highlight: tuple[int, int] | None = None) -> str:
    """The first system(s) of a tune as inline SVG (``highlight``: bars to colour), or a short note when it
    cannot be engraved."""
    from ..errors import ABCError
    from ..viz.notation import render_svg

    try:
        svg = render_svg(abc, scale=scale, page_width=page_width, highlight=highlight)
        return f'<div class="ms-notation">{svg}</div>'
    except (ABCError, RuntimeError) as error:
        return (
            f'<div class="ms-notation ms-message">notation unavailable: {html.escape(str(error)[:120])}</div>'
        )


def hit_card_html(hit: Any, *, notation: bool = True) -> str:
    """One hit as an HTML card: rank, title, score, collection, chosen metadata and (optionally) its notation.

    Example:
        >>> 'class="ms-hit"' in hit_card_html(hit, notation=False)  # doctest: +SKIP
        True
    """
    from ..data.features import record_key, record_meter
    from ..search.hit import Hit, describe_match, describe_why

    metadata = dict(getattr(hit, "metadata", {}) or {})
    abc = getattr(hit, "abc", "") or ""
    title = html.escape(str(getattr(hit, "title", None) or metadata.get("title") or hit.id))
    # Meter and key as every layer reads them: the metadata field, else the tune's M:/K: line.
    shown = {**metadata, "meter": record_meter(metadata, abc), "key": record_key(metadata, abc)}
    facts = [f"<b>{name}</b> {html.escape(str(shown[name]))}" for name in SHOWN_FIELDS if shown.get(name)]
    facts.append(f"<b>collection</b> {html.escape(str(getattr(hit, 'collection', '')))}")
    head = (
        f'<div class="ms-hit-head"><span class="ms-rank">{html.escape(str(getattr(hit, "rank", 0)))}.</span> '
        f'<span class="ms-title">{title}</span> <span class="ms-score">score {hit.score:.3f}</span></div>'
    )
    body = f'<div class="ms-meta" style="font-size:85%;color:#555">{" · ".join(facts)}</div>'
    source = f'<div class="ms-source" style="font-size:75%;color:#888">{html.escape(str(hit.id))}</div>'
    where = describe_match(Hit.of(hit))
    match = f'<div class="ms-match-info" style="font-size:85%;color:#d62728">{html.escape(where)}</div>' if where else ""
    why = describe_why(Hit.of(hit))
    if why:
        match += f'<div class="ms-why" style="font-size:85%;color:#2a6f2a">why: {html.escape(why)}</div>'
    picture = notation_html(abc, highlight=getattr(hit, "bar_span", None)) if notation and abc else ""
    style = "border-top:1px solid #ddd;padding:4px 0"
    return f'<div class="ms-hit" style="{style}">{head}{body}{match}{source}{picture}</div>'


def message_html(text: str, *, level: str = "error") -> str:
    """A visible message for a widget (class ``ms-message ms-<level>``) instead of a traceback."""
    colour = {"error": "#b00020", "info": "#555"}.get(level, "#555")
    return f'<div class="ms-message ms-{html.escape(level)}" style="color:{colour}">{html.escape(str(text))}</div>'
