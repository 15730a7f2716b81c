"""``EmbeddingMap``: the map of the joint space wired to a search box (type a sentence, see it land)."""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as ipw
import traitlets

from musicsearch.viz.map_plots import add_query_overlay, plot_map
from musicsearch.viz.maps import RECORD_FIELDS, query_overlay

from ._common import guarded, message_area, query_input


def _figure_widget(figure: Any) -> Any:
    """A live plotly ``FigureWidget`` when plotly's widget (anywidget) is installed, else ``None``."""
    try:
        import plotly.graph_objects as go

        return go.FigureWidget(figure)
    except ImportError:
        return None


class EmbeddingMap(ipw.VBox):
    """A plotly map of :class:`musicsearch.viz.maps.MapPoints`; a query is a star with lines to its hits.

    Args:
        points: from :func:`musicsearch.map_points`.
        model: encodes queries.
        color_by: initial colour field.
        k: hits connected to the query.

    Example:
        >>> view = EmbeddingMap(ms.map_points(index), model); view.query = "a slow air"  # doctest: +SKIP
        >>> view.overlay["titles"][:1]  # doctest: +SKIP
        ['Sheebeg and Sheemore']
    """

    query = traitlets.Unicode("")
    color_by = traitlets.Unicode("tune_type")
    k = traitlets.Int(5)
    figure = traitlets.Any(None)  # the current plotly go.Figure
    overlay = traitlets.Dict(default_value=None, allow_none=True)

    def __init__(self, points: Any, model: Any, *, color_by: str = "tune_type", k: int = 5, **kwargs: Any):
        self.points, self.model = points, model
        self.input = query_input("type a sentence to place it on the map", "ms-map-query")
        self.colour_menu = ipw.Dropdown(
            options=("kind",) + RECORD_FIELDS, value=color_by, description="colour"
        )
        self.status = message_area()
        self.plot = ipw.Output()
        self.plot.add_class("ms-map")
        self._widget = None
        super().__init__([ipw.HBox([self.input, self.colour_menu]), self.status, self.plot], **kwargs)
        self.add_class("ms-embedding-map")
        self.input.observe(lambda change: setattr(self, "query", change["new"]), "value")
        self.colour_menu.observe(lambda change: setattr(self, "color_by", change["new"]), "value")
        with self.hold_trait_notifications():
            self.k, self.color_by = k, color_by
        self.redraw()

    @traitlets.observe("query")
    def _query_changed(self, change: dict) -> None:
        if self.input.value != change["new"]:
            self.input.value = change["new"]
        overlay = guarded(
            self.status, lambda: query_overlay(self.points, self.model, change["new"], k=self.k)
        )
        self.overlay = overlay
        if overlay is not None:
            self.redraw(rebuild=False)

    @traitlets.observe("color_by")
    def _colour_changed(self, change: dict) -> None:
        if self.colour_menu.value != change["new"]:
            self.colour_menu.value = change["new"]
        self.redraw()

    def redraw(self, *, rebuild: bool = True) -> Any:
        """Rebuild the figure (colours changed) or only move the query overlay; returns the figure."""
        if rebuild or self.figure is None or not self.overlay:
            self.figure = plot_map(self.points, color_by=self.color_by, overlay=self.overlay)
        else:
            add_query_overlay(self.figure, self.points, self.overlay)
        self._show()
        return self.figure

    def _show(self) -> None:
        if self._widget is None:
            self._widget = _figure_widget(self.figure)
            if self._widget is not None:
                self.children = self.children[:2] + (self._widget,)
                return
        if self._widget is not None:  # update the live widget in place: no page reload, zoom kept
            with self._widget.batch_update():
                self._widget.data = ()
                self._widget.add_traces(list(self.figure.data))
            return
        # Without anywidget, the figure goes into an Output as plotly's mime bundle (JupyterLab, Voila).
        self.plot.outputs = (
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {
                    "application/vnd.plotly.v1+json": json.loads(self.figure.to_json()),
                    "text/plain": f"<map of {len(self.points)} points>",
                },
            },
        )
