"""``LUTExplorer``: sliders for K and V → that LUT variant's latency and accuracy on the Pareto plot."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import ipywidgets as ipw
import traitlets

from musicsearch.ui.panels import load_lut_study, lut_variant, lut_variant_html
from musicsearch.ui.search_view import message_html

from ._common import message_area


class LUTExplorer(ipw.VBox):
    """Browse a LUT study (rows of ``ms.study_classifier`` / ``benchmarks/results/lut.json``).

    Args:
        rows: study rows; ``None`` reads the benchmark's precomputed results.
        model: which studied model to show first (``"mlp"``, ``"transformer"``, ``"music encoder"``).

    Example:
        >>> explorer = LUTExplorer(); explorer.k, explorer.v = 16, 8  # doctest: +SKIP
        >>> explorer.selected["latency_b1_us"]  # doctest: +SKIP
        312.4
    """

    k = traitlets.Int(16)
    v = traitlets.Int(8)
    model_name = traitlets.Unicode("")
    selected = traitlets.Dict(default_value=None, allow_none=True)

    def __init__(
        self, rows: Sequence[dict[str, Any]] | None = None, *, model: str | None = None, **kwargs: Any
    ):
        self.rows = list(rows) if rows is not None else load_lut_study()
        models = list(dict.fromkeys(row["model"] for row in self.rows))
        luts = [row for row in self.rows if row.get("k") is not None]
        self.k_slider = ipw.SelectionSlider(options=sorted({row["k"] for row in luts}), description="K")
        self.v_slider = ipw.SelectionSlider(options=sorted({row["v"] for row in luts}), description="V")
        self.model_menu = ipw.Dropdown(options=models, description="model")
        for control, name in ((self.k_slider, "k"), (self.v_slider, "v"), (self.model_menu, "model_name")):
            control.add_class(f"ms-lut-{name.split('_')[0]}")
        self.status = message_area()
        self.details = ipw.HTML("")
        self.details.add_class("ms-lut-details")
        self.plot = ipw.Image(format="png", layout=ipw.Layout(width="640px"))
        super().__init__(
            [ipw.HBox([self.model_menu, self.k_slider, self.v_slider]), self.status, self.details, self.plot],
            **kwargs,
        )
        self.add_class("ms-lut-explorer")
        self.k_slider.observe(lambda c: setattr(self, "k", c["new"]), "value")
        self.v_slider.observe(lambda c: setattr(self, "v", c["new"]), "value")
        self.model_menu.observe(lambda c: setattr(self, "model_name", c["new"]), "value")
        with self.hold_trait_notifications():
            self.model_name = model or models[0]
            self.k = self.k if self.k in self.k_slider.options else self.k_slider.options[0]
            self.v = self.v if self.v in self.v_slider.options else self.v_slider.options[0]
        self.refresh()

    @traitlets.observe("k", "v", "model_name")
    def _changed(self, change: dict) -> None:
        self.refresh()

    def refresh(self) -> dict[str, Any] | None:
        """Show the chosen variant; a (K, V) pair the study did not measure gives a message."""
        self.k_slider.value, self.v_slider.value, self.model_menu.value = self.k, self.v, self.model_name
        row = lut_variant(self.rows, self.k, self.v, model=self.model_name)
        self.selected = row
        if row is None:
            self.status.value = message_html(
                f"K={self.k} V={self.v} was not measured for {self.model_name}.", level="info"
            )
            self.details.value = ""
        else:
            self.status.value = ""
            self.details.value = lut_variant_html(row, self.model_name)
        self.plot.value = self._figure_png(row)
        return row

    def _figure_png(self, row: dict[str, Any] | None) -> bytes:
        # A bare Figure (no pyplot): rendered to PNG bytes without touching the notebook's backend or
        # leaving figures open.
        from matplotlib.figure import Figure

        from musicsearch.viz.lut_plots import plot_pareto

        subset = [r for r in self.rows if r["model"] == self.model_name]
        figure = Figure(figsize=(7, 4.2))
        ax = figure.subplots()
        plot_pareto(subset, ax=ax)
        if row is not None:
            ax.scatter(
                [row["latency_b1_us"]],
                [row["metric"]],
                s=300,
                facecolors="none",
                edgecolors="red",
                linewidths=2,
                zorder=5,
            )
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
        return buffer.getvalue()
