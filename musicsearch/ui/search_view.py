"""What a search box shows: text or ABC query → hits → HTML cards with notation, metadata and score.

The widgets in ``widgets/`` only lay these out; everything a test needs to check lives here and works
without a browser or a kernel.

Example:
    >>> looks_like_abc("K:D\\n|:dfa afd|"), looks_like_abc("a jig in D")
    (True, False)
"""

from __future__ import annotations

import html
import re
from typing import Any

_FIELD_LINE = re.compile(r"^\s*[XLMKQ]:", re.M)
# A bare melody line: bar lines plus note letters, octave marks, lengths and accidentals, nothing else.
_BARE_MELODY = re.compile(r"[\sA-Ga-gz0-9,'/|:\[\]^_=()<>~.\-]+")
SHOWN_FIELDS = ("rhythm", "meter", "key", "origin", "composer", "region")


def looks_like_abc(text: str) -> bool:
    """Whether a query is an ABC snippet (a ``K:``/``L:``/``M:``/``X:`` line, or bar lines and notes only)."""
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
    while tokens and re.fullmatch(r"[XLMKQ]:\S+", tokens[0]):
        fields.append(tokens.pop(0))
    return "\n".join(fields + [" ".join(tokens)]) if fields else text


def run_search(index: Any, query: str, *, k: int = 5, mode: str = "content") -> tuple[list[Any], str]:
    """Search ``index`` with a sentence or an ABC snippet; returns ``(hits, "text" | "abc")``.

    An ABC snippet is a query by example (``index.search_music``); ``mode`` applies to text only.

    Raises:
        QueryError: empty query or unknown mode.
        ABCError: an ABC snippet with no notes or that cannot be read.

    Example:
        >>> hits, kind = run_search(index, "a jig in D", k=3)  # doctest: +SKIP
        >>> len(hits), kind  # doctest: +SKIP
        (3, 'text')
    """
    from ..errors import ABCError, QueryError
    from ..search.queries import clean_query

    if looks_like_abc(query):
        try:
            return index.search_music(abc_from_query(query), k=k), "abc"
        except QueryError as error:
            raise ABCError(f"this ABC snippet could not be read: {error}") from error
    return index.search(clean_query(query), k=k, mode=mode), "text"


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
    metadata = dict(getattr(hit, "metadata", {}) or {})
    title = html.escape(getattr(hit, "title", None) or metadata.get("title") or hit.id)
    facts = [
        f"<b>{name}</b> {html.escape(str(metadata[name]))}" for name in SHOWN_FIELDS if metadata.get(name)
    ]
    facts.append(f"<b>collection</b> {html.escape(str(getattr(hit, 'collection', '')))}")
    head = (
        f'<div class="ms-hit-head"><span class="ms-rank">{getattr(hit, "rank", 0)}.</span> '
        f'<span class="ms-title">{title}</span> <span class="ms-score">score {hit.score:.3f}</span></div>'
    )
    body = f'<div class="ms-meta" style="font-size:85%;color:#555">{" · ".join(facts)}</div>'
    source = f'<div class="ms-source" style="font-size:75%;color:#888">{html.escape(str(hit.id))}</div>'
    picture = notation_html(hit.abc) if notation and getattr(hit, "abc", "") else ""
    style = "border-top:1px solid #ddd;padding:4px 0"
    return f'<div class="ms-hit" style="{style}">{head}{body}{source}{picture}</div>'


def message_html(text: str, *, level: str = "error") -> str:
    """A visible message for a widget (class ``ms-message ms-<level>``) instead of a traceback."""
    colour = {"error": "#b00020", "info": "#555"}.get(level, "#555")
    return f'<div class="ms-message ms-{level}" style="color:{colour}">{html.escape(text)}</div>'
