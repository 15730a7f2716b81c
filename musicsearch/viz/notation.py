"""Scores as pictures: ABC rendered to SVG notation with verovio (no browser, no external program).

Bars can be highlighted (the bars a melody query matched): verovio draws each bar as a ``<g
class="measure">`` group in written order, pickup first, so bar ``i`` of the melody reader
(:mod:`musicsearch.data.melody`, 0-based, a pickup is bar 0) is the ``i``-th such group; it is coloured
through ``color``/``fill``/``stroke`` (verovio draws in ``currentColor``) and gets the class ``ms-match``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import ABCError

HIGHLIGHT = "#d62728"  # the matched bars: red, readable on white and in print
_MEASURE = re.compile(r'<g\b([^>]*?)\bclass="measure"([^>]*)>')
_ANY_MEASURE = re.compile(r'<g\b[^>]*\bclass="measure(?: ms-match)?"[^>]*>')


def render_svg(abc: str, *, scale: int = 40, page_width: int = 2000, page: int = 1,
               highlight: tuple[int, int] | None = None, colour: str = HIGHLIGHT) -> str:
    """Engrave ABC text as an SVG string (first page by default).

    Args:
        abc: an ABC tune (cleaned or raw); an ``X:`` line is added when missing, as verovio requires.
        scale: verovio's zoom in percent.
        page_width: page width in verovio units; wider pages put more bars on a system.
        page: which page to render (1-based).
        highlight: first and last bar (0-based, inclusive; a pickup is bar 0) to colour, e.g. a hit's
            ``bar_span``; bars beyond the rendered page are left alone.
        colour: the highlight colour.

    Raises:
        ABCError: the text holds no notes, or verovio cannot read it.

    Example:
        >>> render_svg("K:D\\n|:dfa afd|gfe d3:|").startswith("<svg")  # doctest: +SKIP
        True
    """
    import verovio

    from ..data.abc import clean_abc

    clean_abc(abc)  # raises ABCError for text with no notes, which would crash verovio's C++ reader
    text = abc if abc.lstrip().startswith("X:") else "X:1\n" + abc
    toolkit = verovio.toolkit()
    toolkit.setOptions({"inputFrom": "abc", "adjustPageHeight": True, "scale": scale, "pageWidth": page_width,
                        "footer": "none", "header": "none"})
    if not toolkit.loadData(text) or toolkit.getPageCount() < 1:
        raise ABCError("verovio could not read this ABC; check its K: line and bar lines.")
    page = min(max(1, page), toolkit.getPageCount())
    svg = toolkit.renderToSVG(page)
    if highlight is None:
        return svg
    first = sum(_count_measures(toolkit.renderToSVG(earlier)) for earlier in range(1, page))
    return highlight_measures(svg, range(highlight[0] - first, highlight[1] - first + 1), colour)


def highlight_measures(svg: str, measures: Iterable[int], colour: str = HIGHLIGHT) -> str:
    """Colour the given measures (0-based, in drawing order) of a verovio SVG and mark them ``ms-match``.

    Example:
        >>> svg = '<g class="measure"><path/></g><g id="b" class="measure"><path/></g>'
        >>> highlight_measures(svg, [1])
        '<g class="measure"><path/></g><g id="b" class="measure ms-match" style="color:#d62728;fill:#d62728;stroke:#d62728"><path/></g>'
    """
    wanted = set(measures)
    counter = iter(range(1 << 30))

    def mark(match: re.Match) -> str:
        if next(counter) not in wanted:
            return match.group(0)
        return (f'<g{match.group(1)}class="measure ms-match"{match.group(2)} '
                f'style="color:{colour};fill:{colour};stroke:{colour}">')

    return _MEASURE.sub(mark, svg)


def highlighted_measures(svg: str) -> list[int]:
    """Which measures (0-based, in drawing order) of an SVG carry the ``ms-match`` highlight."""
    return [position for position, match in enumerate(_ANY_MEASURE.finditer(svg)) if "ms-match" in match.group(0)]


def _count_measures(svg: str) -> int:
    return len(_MEASURE.findall(svg))


def display_score(abc: str, **options):
    """Show the notation of ``abc`` in a notebook (an ``IPython.display.SVG``)."""
    from IPython.display import SVG

    return SVG(render_svg(abc, **options))
