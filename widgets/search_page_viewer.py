"""``SearchPageViewer``: the LLM result page (rewrite, rerank, snippets, answer) with stage timings."""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw
import traitlets

from musicsearch.ui.panels import timings_html

from ._common import guarded, message_area, query_input


class SearchPageViewer(ipw.VBox):
    """Type a query; see the :class:`musicsearch.SearchPage` and how long each stage took.

    Args:
        first_stage: a :class:`musicsearch.SearchIndex` (or hits / ``fn(query, k)``).
        backend: an LLM backend or spec (``"local"``); ``None`` builds pages without a model (instant).
        **page_options: for :func:`musicsearch.build_search_page` (``k``, ``rerank``, ``snippets``, ...).

    Example:
        >>> viewer = SearchPageViewer(index); viewer.query = "a reel in G"  # doctest: +SKIP
        >>> viewer.page.timings["total"] > 0  # doctest: +SKIP
        True
    """

    query = traitlets.Unicode("")
    page = traitlets.Any(None)

    def __init__(self, first_stage: Any, backend: Any = None, **page_options: Any):
        self.first_stage, self.backend, self.page_options = first_stage, backend, {"k": 5, **page_options}
        self.input = query_input("a slow air in a minor key", "ms-page-query")
        self.button = ipw.Button(description="Search", icon="search")
        self.status = message_area()
        self.timings = ipw.HTML("")
        self.timings.add_class("ms-timings-output")
        self.result = ipw.HTML("")
        self.result.add_class("ms-page")
        super().__init__([ipw.HBox([self.input, self.button]), self.status, self.timings, self.result])
        self.add_class("ms-page-viewer")
        self.input.observe(lambda change: setattr(self, "query", change["new"]), "value")
        self.button.on_click(lambda _: self.run(self.input.value))

    @traitlets.observe("query")
    def _query_changed(self, change: dict) -> None:
        if self.input.value != change["new"]:
            self.input.value = change["new"]
        self.run(change["new"])

    def run(self, query: str) -> Any:
        """Build and show the page; a bad query or a failing backend becomes a message."""
        from musicsearch.llm.page import build_search_page

        page = guarded(
            self.status, lambda: build_search_page(query, self.first_stage, self.backend, **self.page_options)
        )
        self.page = page
        self.result.value = page._repr_html_() if page is not None else ""
        self.timings.value = timings_html(page) if page is not None else ""
        return page
