"""HTML for a :class:`~musicsearch.llm.page.SearchPage`: what Jupyter shows and what ``musicsearch serp --html`` writes.

Everything that came from a user, a corpus or a model is escaped (the query in the page's ``<title>`` too), so
a query, a title or a generated snippet cannot inject markup into the page.

Example:
    >>> page_document(page).startswith("<!doctype html>")  # doctest: +SKIP
    True
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """<style>
.ms-serp{font-family:system-ui,sans-serif;max-width:52em;line-height:1.4}
.ms-serp .q{font-size:1.2em;font-weight:600}.ms-serp .meta{color:#666;font-size:.85em}
.ms-serp .answer{background:#f4f6fb;border-left:4px solid #5470c6;padding:.5em .8em;margin:.6em 0}
.ms-serp ol{padding-left:1.6em}.ms-serp li{margin:.5em 0}.ms-serp .t{font-weight:600}
.ms-serp .badge{display:inline-block;border-radius:3px;padding:0 .35em;margin-right:.3em;font-size:.8em}
.ms-serp .yes{background:#e3f4e1}.ms-serp .no{background:#f6e3e3}
.ms-serp details{font-size:.85em;color:#444}</style>"""


def _badges(hit: Any) -> str:
    return "".join(f'<span class="badge {"yes" if ok else "no"}">{escape(name)}</span>'
                   for name, ok in hit.filter_matches.items())


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def page_html(page: Any) -> str:
    """Render a page as a self-contained HTML fragment."""
    rows = []
    for hit in page.hits:
        moved = hit.first_stage_rank - hit.rank
        arrow = f" (▲{moved})" if moved > 0 else (f" (▼{-moved})" if moved < 0 else "")
        provenance = escape(hit.source or hit.id) + (f" X:{escape(str(hit.ref))}" if hit.ref else "")
        rows.append(
            f'<li><span class="t">{escape(hit.title or hit.id)}</span> {_badges(hit)}'
            f'<div>{escape(hit.snippet)}</div>'
            f'<div class="meta">{provenance} · first stage #{hit.first_stage_rank}{arrow} '
            f'score {_score(hit.first_stage_score)} · rerank {_score(hit.rerank_score)} · '
            f'snippet: {escape(hit.snippet_source or "none")}</div></li>')
    rewritten = page.rewritten
    filters = ", ".join(f"{escape(k)}={escape(v)}" for k, v in (rewritten.filters if rewritten else {}).items())
    keywords = escape(", ".join(rewritten.keywords)) if rewritten else ""
    answer = ""
    if page.answer:
        answer = (f'<div class="answer">{escape(page.answer)}'
                  f'{" <em>(truncated)</em>" if page.answer_truncated else ""}</div>')
    timings = " · ".join(f"{escape(name)} {seconds:.2f} s" for name, seconds in page.timings.items())
    notes = "".join(f"<li>{escape(note)}</li>" for note in page.notes)
    return (f'{_STYLE}<div class="ms-serp"><div class="q">{escape(page.query)}</div>'
            f'<div class="meta">keywords: {keywords or "–"} · filters: {filters or "–"} · model: '
            f'{escape(page.model)} · rerank: {escape(page.rerank)}</div>{answer}<ol>{"".join(rows)}</ol>'
            f'<div class="meta">{timings}</div>'
            + (f"<details><summary>notes ({len(page.notes)})</summary><ul>{notes}</ul></details>" if notes else "")
            + "</div>")


def page_document(page: Any) -> str:
    """The page as a whole HTML document, titled with its (escaped) query: what ``serp --html`` writes.

    Example:
        >>> "<title>a reel &lt;3</title>" in page_document(page)  # doctest: +SKIP
        True
    """
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(page.query)}</title></head>"
            f"<body>{page_html(page)}</body></html>")
