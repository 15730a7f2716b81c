"""``SearchBox``: a sentence, an ABC snippet or a score file → ranked hits with notation, audio preview and metadata.

A music query (ABC or a score file) is shown as notation above its hits, and each hit's matched bars are
highlighted in its notation.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw
import traitlets

from musicsearch.ui.search_view import hit_card_html, message_html, query_html, reading_html, run_search

from ._common import guarded, message_area, query_input


class SearchBox(ipw.VBox):
    """Search an index from a text box; set ``query`` (or type and press Enter) to search.

    Args:
        index: a :class:`musicsearch.SearchIndex`.
        k: hits shown.
        mode: ``"hybrid"`` (default: for text, music content fused with titles, types and tags; for music,
            melody matches fused with the embedding), ``"content"`` (the music embeddings alone) or
            ``"melody"`` (the melodic matcher alone; music queries only).
        notation: engrave each hit with verovio (turn off for very fast previews).

    Example:
        >>> box = SearchBox(index); box.query = "a jig in D"  # doctest: +SKIP
        >>> len(box.hits)  # doctest: +SKIP
        5
    """

    query = traitlets.Unicode("")
    mode = traitlets.Enum(("content", "hybrid", "melody"), default_value="hybrid")
    k = traitlets.Int(5)
    hits = traitlets.List()  # the last hits (musicsearch.Hit)
    query_kind = traitlets.Unicode("")  # "text", "abc" or "file" after a search (musicsearch.search.queries)

    def __init__(
        self, index: Any, *, k: int = 5, mode: str = "hybrid", notation: bool = True, **kwargs: Any
    ):
        self.index = index
        self.notation = notation
        self.input = query_input("a lively jig in D major — or ABC such as K:D |:dfa afd|gfe dcB|", "ms-query")
        self.mode_toggle = ipw.ToggleButtons(
            options=["hybrid", "content", "melody"],
            value=mode,
            tooltips=["text: fused with titles, types and metadata; music: melody fused with the embedding",
                      "music embeddings only", "the melody alone, in any key (music queries)"],
        )
        self.button = ipw.Button(description="Search", icon="search")
        self.button.add_class("ms-search-button")
        self.status = message_area()
        self.query_view = ipw.HTML("")  # the query's bars, for a music query
        self.query_view.add_class("ms-query-view")
        self.reading_view = ipw.HTML("")  # hybrid text search: understood, ignored, contradictions
        self.reading_view.add_class("ms-reading-view")
        self.results = ipw.VBox([])
        self.results.add_class("ms-hits")
        super().__init__(
            [ipw.HBox([self.input, self.button]), self.mode_toggle, self.status, self.reading_view, self.query_view,
             self.results],
            **kwargs,
        )
        self.add_class("ms-searchbox")
        self.k, self.mode = k, mode
        self.input.observe(lambda change: setattr(self, "query", change["new"]), "value")
        self.mode_toggle.observe(lambda change: setattr(self, "mode", change["new"]), "value")
        self.button.on_click(lambda _: self.search(self.input.value))

    @traitlets.observe("query")
    def _query_changed(self, change: dict) -> None:
        if self.input.value != change["new"]:
            self.input.value = change["new"]
        self.search(change["new"])

    @traitlets.observe("mode", "k")
    def _options_changed(self, change: dict) -> None:
        if self.mode_toggle.value != self.mode:
            self.mode_toggle.value = self.mode
        if self.query.strip():
            self.search(self.query)

    def search(self, query: str) -> list[Any]:
        """Run the search and redraw; problems become a message above the (emptied) hit list."""
        notes: list[str] = []
        found = guarded(self.status, lambda: run_search(self.index, query, k=self.k, mode=self.mode, notes=notes))
        if found is None:
            self.hits, self.results.children, self.query_view.value, self.reading_view.value = [], (), "", ""
            return []
        hits, self.query_kind = found
        self.hits = list(hits)
        self.query_view.value = query_html(query) if self.notation and self.query_kind != "text" else ""
        self.reading_view.value = reading_html(self.index, query, self.mode)  # how a text query was read
        self.results.children = [self._hit_row(hit) for hit in hits]
        if notes:
            self.status.value = message_html(" ".join(notes), level="info")
        elif not hits:
            self.status.value = message_html("no hits", level="info")
        return self.hits

    def _hit_row(self, hit: Any) -> ipw.VBox:
        card = ipw.HTML(hit_card_html(hit, notation=self.notation))
        player = ipw.HTML("")
        player.add_class("ms-audio")
        play = ipw.Button(description="play", icon="play", layout=ipw.Layout(width="90px"))
        play.add_class("ms-play")
        play.on_click(lambda _, abc=hit.abc, area=player: self._play(abc, area))
        row = ipw.VBox([card, ipw.HBox([play, player])])
        row.add_class("ms-hit-row")
        return row

    @staticmethod
    def _play(abc: str, area: ipw.HTML) -> None:
        from musicsearch.viz.audio import audio_preview

        # The player is HTML (<audio> with a WAV data URI) so it works in Voila and Colab without a kernel
        # output area, and a test can read it.
        result = guarded(area, lambda: audio_preview(abc))
        if result is not None:
            area.value = result._repr_html_()
