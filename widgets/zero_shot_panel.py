"""``ZeroShotPanel``: edit labels and templates, see the predicted distribution and examples per label."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as ipw
import numpy as np
import traitlets

from musicsearch.ui.panels import parse_labels, parse_templates, summary_html, zero_shot_summary

from ._common import guarded, message_area


class ZeroShotPanel(ipw.VBox):
    """Zero-shot classification of ``items`` that updates whenever labels or templates change.

    Args:
        model: the joint model.
        items: records to classify (their music embeddings are computed once).
        labels: initial labels.
        templates: initial prompt templates (strings with ``{}``).
        embeddings: precomputed music embeddings of ``items`` (e.g. ``index.embeddings()``).

    Example:
        >>> panel = ZeroShotPanel(model, corpus[:200]); panel.labels_text = "jig, reel"  # doctest: +SKIP
        >>> panel.summary["labels"]  # doctest: +SKIP
        ['jig', 'reel']
    """

    labels_text = traitlets.Unicode("jig, reel, hornpipe, waltz")
    templates_text = traitlets.Unicode("a {}\na tune in the style of a {}")
    summary = traitlets.Dict()

    def __init__(
        self,
        model: Any,
        items: Sequence[Any],
        *,
        labels: Sequence[str] | None = None,
        templates: Sequence[str] | None = None,
        embeddings: np.ndarray | None = None,
        **kwargs: Any,
    ):
        self.model, self.items = model, list(items)
        self.embeddings = (
            embeddings if embeddings is not None else model.encode_music(self.items, normalize=True)
        )
        self.labels_box = ipw.Textarea(
            description="labels", continuous_update=False, layout=ipw.Layout(width="45%", height="90px")
        )
        self.labels_box.add_class("ms-labels")
        self.templates_box = ipw.Textarea(
            description="templates", continuous_update=False, layout=ipw.Layout(width="45%", height="90px")
        )
        self.templates_box.add_class("ms-templates")
        self.status = message_area()
        self.table = ipw.HTML("")
        self.table.add_class("ms-zeroshot-output")
        super().__init__([ipw.HBox([self.labels_box, self.templates_box]), self.status, self.table], **kwargs)
        self.add_class("ms-zeroshot")
        self.labels_box.observe(lambda change: setattr(self, "labels_text", change["new"]), "value")
        self.templates_box.observe(lambda change: setattr(self, "templates_text", change["new"]), "value")
        with self.hold_trait_notifications():
            if labels is not None:
                self.labels_text = ", ".join(labels)
            if templates is not None:
                self.templates_text = "\n".join(templates)
        self.labels_box.value, self.templates_box.value = self.labels_text, self.templates_text
        self.refresh()

    @traitlets.observe("labels_text", "templates_text")
    def _changed(self, change: dict) -> None:
        box = self.labels_box if change["name"] == "labels_text" else self.templates_box
        if box.value != change["new"]:
            box.value = change["new"]
        self.refresh()

    def refresh(self) -> dict[str, Any]:
        """Reclassify with the current labels and templates (bad ones → a message; the last table stays)."""
        summary = guarded(
            self.status,
            lambda: zero_shot_summary(
                self.model,
                self.items,
                parse_labels(self.labels_text),
                parse_templates(self.templates_text),
                embeddings=self.embeddings,
            ),
        )
        if summary is not None:
            self.summary = summary
            self.table.value = summary_html(summary)
        return self.summary
