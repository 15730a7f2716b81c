"""Drawing maps of the joint space: interactive plotly (WebGL) and static matplotlib, with a query overlay.

Both take the :class:`~musicsearch.viz.maps.MapPoints` of :func:`~musicsearch.viz.maps.map_points`; colour by
``"kind"`` (music versus text), a record field (``"tune_type"``, ``"origin"``, ``"meter"``, ``"mode"``,
``"collection"``) or any metadata key. A 2-D map is one ``Scattergl`` trace per group, so 30,000 points
stay responsive; a 3-D map uses ``Scatter3d``. Plotly reads hover text, legend names and labels as HTML, so
every text that came from a corpus or a user (titles, metadata values, the query) is escaped first.

Example:
    >>> overlay = query_overlay(points, model, "a jig")  # doctest: +SKIP
    >>> figure = plot_map(points, color_by="origin", overlay=overlay)  # doctest: +SKIP
    >>> len(figure.data) >= 3  # doctest: +SKIP
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .maps import MapPoints, color_groups, hover_texts, plotly_escape

TEXT_SYMBOL = {"plotly": "diamond", "matplotlib": "D"}  # captions look different from tunes in every colour
QUERY_COLOUR = "black"
# Tableau 10 (matplotlib's tab10): a tune and its caption share their group's colour in both backends.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#7f7f7f",
)
MUTED = "#c7c7c7"  # "other" and "unknown" recede


def group_colours(groups: list[str]) -> dict[str, str]:
    """A colour per group, in legend order (named groups alphabetically, then "other"/"unknown" in grey)."""
    ordered = sorted(set(groups), key=lambda g: (g in ("other", "unknown"), g))
    named = [g for g in ordered if g not in ("other", "unknown")]
    colours = {group: PALETTE[position % len(PALETTE)] for position, group in enumerate(named)}
    return {group: colours.get(group, MUTED) for group in ordered}


def _axes(coords: np.ndarray) -> dict[str, Any]:
    axes = {"x": coords[:, 0], "y": coords[:, 1]}
    if coords.shape[1] == 3:
        axes["z"] = coords[:, 2]
    return axes


def plot_map(
    points: MapPoints,
    *,
    color_by: str | None = "tune_type",
    overlay: dict[str, Any] | None = None,
    max_groups: int = 10,
    marker_size: float = 4,
    height: int = 600,
    title: str | None = None,
) -> Any:
    """Interactive scatter of the map (plotly ``go.Figure``): hover a point for title, collection and caption.

    Args:
        points: the map.
        color_by: ``"kind"``, a record field or a metadata key; the legend toggles groups.
        overlay: a :func:`~musicsearch.viz.maps.query_overlay` result to draw on top.
        max_groups: most common values kept; the rest are "other".
        marker_size, height, title: looks (``title`` goes to plotly as is, so it may hold markup such as ``<b>``).

    Example:
        >>> plot_map(points, color_by="meter").layout.height  # doctest: +SKIP
        600
    """
    import plotly.graph_objects as go

    groups = color_groups(points, color_by, max_groups=max_groups)
    hover = np.asarray(hover_texts(points, groups), dtype=object)
    kinds = np.asarray(points.kinds)
    three_d = points.dims == 3
    trace = go.Scatter3d if three_d else go.Scattergl
    figure = go.Figure()
    colours = group_colours(groups)
    for group, colour in colours.items():
        in_group = np.asarray(groups) == group
        for kind in ("music", "text"):
            mask = in_group & (kinds == kind)
            if not mask.any():
                continue
            symbol = TEXT_SYMBOL["plotly"] if kind == "text" else "circle"
            figure.add_trace(
                trace(
                    **_axes(points.coords[mask]),
                    mode="markers",
                    name=plotly_escape(group if kind == "music" or group == kind else f"{group} (captions)"),
                    legendgroup=group,
                    text=hover[mask],
                    hovertemplate="%{text}<extra></extra>",
                    marker={
                        "size": marker_size * (0.6 if three_d else 1),
                        "symbol": symbol,
                        "color": colour,
                        "opacity": 0.55 if kind == "music" else 0.8,
                    },
                )
            )
    figure.update_layout(
        height=height,
        title=title or plotly_escape(f"{len(points):,} points ({points.method}) coloured by {color_by or 'kind'}"),
        legend={"itemsizing": "constant"},
        hovermode="closest",
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        template="plotly_white",
    )
    if not three_d:
        figure.update_xaxes(showticklabels=False)
        figure.update_yaxes(showticklabels=False, scaleanchor="x")
    if overlay:
        add_query_overlay(figure, points, overlay)
    return figure


def add_query_overlay(figure: Any, points: MapPoints, overlay: dict[str, Any]) -> Any:
    """Add the query (a star) and lines to its hits to a :func:`plot_map` figure; returns the figure.

    Earlier overlays are removed first, so a widget can call this on every new query.
    """
    import plotly.graph_objects as go

    figure.data = tuple(trace for trace in figure.data if not _is_overlay(trace))
    three_d = points.dims == 3
    trace = go.Scatter3d if three_d else go.Scattergl
    start = np.asarray(overlay["coords"], dtype=np.float32)
    segments = []
    for hit in overlay["hits"]:
        segments += [start, points.coords[hit], np.full(points.dims, np.nan, dtype=np.float32)]
    lines = np.stack(segments)
    figure.add_trace(
        trace(
            **_axes(lines),
            mode="lines",
            name="query → hits",
            line={"color": QUERY_COLOUR, "width": 1},
            hoverinfo="skip",
            meta={"query_overlay": True},
        )
    )
    hits = points.coords[np.asarray(overlay["hits"])]
    labels = [
        f"{rank}. {plotly_escape(title)} ({score:.2f})"
        for rank, (title, score) in enumerate(zip(overlay["titles"], overlay["scores"]), 1)
    ]
    figure.add_trace(
        trace(
            **_axes(hits),
            mode="markers",
            name="top hits",
            text=labels,
            hovertemplate="%{text}<extra></extra>",
            meta={"query_overlay": True},
            marker={"size": 9, "color": "rgba(0,0,0,0)", "line": {"color": QUERY_COLOUR, "width": 2}},
        )
    )
    figure.add_trace(
        trace(
            **_axes(start[None, :]),
            mode="markers+text",
            name=f"query: {plotly_escape(overlay['query'][:40])}",
            text=[plotly_escape(overlay["query"][:40])],
            textposition="top center",
            meta={"query_overlay": True},
            marker={
                "size": 16 if not three_d else 8,
                "symbol": "star" if not three_d else "diamond",
                "color": QUERY_COLOUR,
            },
        )
    )
    return figure


def _is_overlay(trace: Any) -> bool:
    return isinstance(trace.meta, dict) and bool(trace.meta.get("query_overlay"))


def plot_map_static(
    points: MapPoints,
    *,
    color_by: str | None = "tune_type",
    overlay: dict[str, Any] | None = None,
    max_groups: int = 10,
    ax: Any = None,
    marker_size: float = 4,
) -> Any:
    """The 2-D map with matplotlib (for papers and slides); returns the figure.

    A 3-D map is drawn from its first two coordinates.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6.5))
    groups = color_groups(points, color_by, max_groups=max_groups)
    colours = group_colours(groups)
    groups, kinds = np.asarray(groups), np.asarray(points.kinds)
    for group, colour in colours.items():
        for kind in ("music", "text"):
            mask = (groups == group) & (kinds == kind)
            if mask.any():
                ax.scatter(
                    points.coords[mask, 0],
                    points.coords[mask, 1],
                    s=marker_size * (3 if kind == "text" else 1),
                    color=colour,
                    marker=TEXT_SYMBOL["matplotlib"] if kind == "text" else "o",
                    alpha=0.6,
                    linewidths=0,
                    label=group if kind == "music" else None,
                )
    if overlay:
        start = np.asarray(overlay["coords"])
        for hit in overlay["hits"]:
            ax.plot(
                [start[0], points.coords[hit, 0]],
                [start[1], points.coords[hit, 1]],
                color=QUERY_COLOUR,
                lw=0.8,
            )
        ax.scatter([start[0]], [start[1]], marker="*", s=250, color=QUERY_COLOUR, zorder=5)
        ax.annotate(overlay["query"][:40], start[:2], xytext=(6, 6), textcoords="offset points", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    colour = color_by or "kind"
    ax.set_title(f"{len(points):,} points ({points.method}), coloured by {colour}; ◆ = captions")
    ax.legend(fontsize=7, markerscale=2, loc="best")
    return ax.figure
