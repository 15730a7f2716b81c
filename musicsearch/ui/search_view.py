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


def run_search(index: Any, query: str, *, k: int = 5, mode: str = "content") -> tuple[list[Any], str]:
    """Search ``index`` with a sentence, an ABC snippet or a score file's path; returns ``(hits, kind)``.

    ``kind`` is ``"text"``, ``"abc"`` or ``"file"`` (see :func:`~musicsearch.search.queries.parse_query`);
    ABC and files are queries by example (``index.search_music``), and ``mode`` applies to text only.

    Raises:
        QueryError: empty query or unknown mode.
        ABCError: an ABC snippet with no notes or that cannot be read.

    Example:
        >>> hits, kind = run_search(index, "a jig in D", k=3)  # doctest: +SKIP
        >>> len(hits), kind  # doctest: +SKIP
        (3, 'text')
    """
    from ..search.queries import parse_query, search_query

    parsed = parse_query(query)
    return search_query(index, parsed, k, mode=mode), parsed.kind


def notation_html(abc: str, *, scale: int = 28, page_width: int = 2200) -> str:
    """The first system(s) of a tune as inline SVG, or a short note when it cannot be engraved."""
    from ..errors import ABCError
    from ..viz.notation import render_svg

    try:
        return f'<div class="ms-notation">{render_svg(abc, scale=scale, page_width=page_width)}</div>'
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
    picture = notation_html(abc) if notation and abc else ""
    style = "border-top:1px solid #ddd;padding:4px 0"
    return f'<div class="ms-hit" style="{style}">{head}{body}{source}{picture}</div>'


def message_html(text: str, *, level: str = "error") -> str:
    """A visible message for a widget (class ``ms-message ms-<level>``) instead of a traceback."""
    colour = {"error": "#b00020", "info": "#555"}.get(level, "#555")
    return f'<div class="ms-message ms-{html.escape(level)}" style="color:{colour}">{html.escape(str(text))}</div>'
