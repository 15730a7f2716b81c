"""Scores as pictures: ABC rendered to SVG notation with verovio (no browser, no external program)."""

from __future__ import annotations

from ..errors import ABCError


def render_svg(abc: str, *, scale: int = 40, page_width: int = 2000, page: int = 1) -> str:
    """Engrave ABC text as an SVG string (first page by default).

    Args:
        abc: an ABC tune (cleaned or raw); an ``X:`` line is added when missing, as verovio requires.
        scale: verovio's zoom in percent.
        page_width: page width in verovio units; wider pages put more bars on a system.
        page: which page to render (1-based).

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
    return toolkit.renderToSVG(min(max(1, page), toolkit.getPageCount()))


def display_score(abc: str, **options):
    """Show the notation of ``abc`` in a notebook (an ``IPython.display.SVG``)."""
    from IPython.display import SVG

    return SVG(render_svg(abc, **options))
