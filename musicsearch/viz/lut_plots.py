"""Pictures of lookup-table conversion: the 2-D toy, layer speed-ups, the latency/accuracy Pareto plot.

Static figures use matplotlib (they render in any notebook and in CI), the interactive Pareto plot uses
plotly (hover shows K, V, size and the metric before centroid learning).

Example:
    >>> fig = plot_toy_2d(k=8)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def toy_2d(k: int = 8, *, points: int = 600, seed: int = 0) -> dict[str, Any]:
    """A 2-D input (one codebook of V=2) through a 1-output linear layer, dense and as a lookup table.

    Returns:
        ``{"x": (points, 2) inputs, "layer": LUTLinear after k-means, "dense": nn.Linear}``.
    """
    from ..lut.centroids import kmeans_init
    from ..lut.layer import LUTLinear

    generator = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[-2.0, -1.0], [1.5, 1.5], [2.0, -2.0], [-1.0, 2.0]])
    x = centres[torch.randint(0, 4, (points,), generator=generator)] + 0.6 * torch.randn(points, 2, generator=generator)
    dense = torch.nn.Linear(2, 1)
    with torch.no_grad():
        dense.weight.copy_(torch.tensor([[1.0, 0.5]]))
        dense.bias.zero_()
    layer = LUTLinear.from_linear(dense, k=k, v=2, table_dtype="fp32")
    kmeans_init(layer, x, seed=seed)
    return {"x": x, "layer": layer, "dense": dense}


def plot_toy_2d(k: int = 8, *, toy: dict[str, Any] | None = None, seed: int = 0, axes: Any = None) -> Any:
    """Left: the dense output ``w·x`` over the plane. Right: the LUT output, constant on each centroid's cell.

    Args:
        k: centroids (ignored when ``toy`` is given).
        toy: the result of :func:`toy_2d` (e.g. after centroid learning) to draw instead of a new one.
        seed: seed of the toy data.
        axes: two matplotlib axes to draw into.
    """
    import matplotlib.pyplot as plt

    toy = toy or toy_2d(k, seed=seed)
    x, layer, dense = toy["x"], toy["layer"], toy["dense"]
    grid = np.linspace(-4.5, 4.5, 200)
    plane = torch.tensor(np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2), dtype=torch.float32)
    with torch.no_grad():
        dense_out = dense(plane).reshape(200, 200).numpy()
        lut_out = layer(plane).reshape(200, 200).numpy()
        centroids = layer.centroids[0].detach().numpy()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    limits = dict(vmin=dense_out.min(), vmax=dense_out.max(), cmap="viridis", origin="lower",
                  extent=(grid[0], grid[-1], grid[0], grid[-1]))
    for ax, image, title in ((axes[0], dense_out, "dense: w·x"),
                             (axes[1], lut_out, f"lookup table: K={layer.k} rows, one per cell")):
        ax.imshow(image, **limits)
        ax.scatter(x[:, 0], x[:, 1], s=4, c="white", alpha=0.5, linewidths=0)
        ax.set_title(title)
        ax.set_xlabel("x₁")
    axes[1].scatter(centroids[:, 0], centroids[:, 1], marker="x", c="red", s=60, label="centroids")
    axes[1].legend(loc="lower right")
    axes[0].set_ylabel("x₂")
    return axes[0].figure


def plot_layer_speedups(rows: Sequence[dict[str, Any]], *, ax: Any = None) -> Any:
    """Bars: speed-up over ``nn.Linear`` of int8 dynamic quantization and both LUT tables, per shape × batch."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    labels = [f"{r['shape']}\nbatch {r['batch']}" for r in rows]
    series = {"int8 dynamic": [r["dense_us"] / r["int8_dynamic_us"] if r.get("int8_dynamic_us") else np.nan
                               for r in rows],
              "LUT fp32": [r["speedup_lut_fp32"] for r in rows], "LUT int8": [r["speedup_lut_int8"] for r in rows]}
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        ax.bar(np.arange(len(rows)) + (i - 1) * width, values, width, label=name)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(rows)), labels, fontsize=8)
    ax.set_ylabel("speed-up over nn.Linear (×)")
    ax.set_title(f"one layer, {rows[0]['threads']} thread(s), K={rows[0]['k']} V={rows[0]['v']}")
    ax.legend()
    return ax.figure


def pareto_front(rows: Sequence[dict[str, Any]], x: str = "latency_b1_us", y: str = "metric") -> list[dict[str, Any]]:
    """Rows no other row beats on both lower ``x`` and higher ``y``, sorted by ``x``.

    Example:
        >>> [r["n"] for r in pareto_front([{"n": 1, "t": 1, "m": 5}, {"n": 2, "t": 2, "m": 4}], "t", "m")]
        [1]
    """
    ordered = sorted(rows, key=lambda r: (r[x], -r[y]))
    front, best = [], -np.inf
    for row in ordered:
        if row[y] > best:
            front.append(row)
            best = row[y]
    return front


def plot_pareto(rows: Sequence[dict[str, Any]], *, x: str = "latency_b1_us", y: str = "metric", ax: Any = None) -> Any:
    """Latency vs metric of every variant, one colour per model, Pareto front dashed, K/V written next to points."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    for model in dict.fromkeys(r["model"] for r in rows):
        subset = [r for r in rows if r["model"] == model]
        luts = [r for r in subset if r["k"] is not None]
        line = ax.scatter([r[x] for r in luts], [r[y] for r in luts], label=f"{model}: LUT", alpha=0.8)
        colour = line.get_facecolor()[0]
        for r in luts:
            ax.annotate(f"K{r['k']} V{r['v']}", (r[x], r[y]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        for r, marker in ((next((r for r in subset if r["variant"] == "dense"), None), "*"),
                          (next((r for r in subset if r["variant"] == "int8 dynamic"), None), "s")):
            if r is not None:
                ax.scatter([r[x]], [r[y]], marker=marker, s=120, color=colour, edgecolor="black",
                           label=f"{model}: {r['variant']}")
        front = pareto_front(subset, x, y)
        ax.plot([r[x] for r in front], [r[y] for r in front], "--", color=colour, linewidth=1)
    ax.set_xscale("log")
    batch = "1" if x.endswith("b1_us") else "32"
    ax.set_xlabel(f"latency at batch {batch} (µs, log scale)" if x.startswith("latency") else x)
    ax.set_ylabel(rows[0].get("metric_name", y) if y == "metric" else y)
    ax.set_title("latency vs accuracy (upper left is better)")
    ax.legend(fontsize=7, loc="lower right")
    return ax.figure


def plot_pareto_interactive(rows: Sequence[dict[str, Any]], *, x: str = "latency_b1_us", y: str = "metric") -> Any:
    """The Pareto plot with plotly: hover a point for K, V, size, speed-up and the metric before learning."""
    import plotly.graph_objects as go

    from .maps import plotly_escape  # names come from a study JSON file; plotly reads them as HTML

    figure = go.Figure()
    for model in dict.fromkeys(r["model"] for r in rows):
        subset = [r for r in rows if r["model"] == model]
        figure.add_trace(go.Scatter(
            x=[r[x] for r in subset], y=[r[y] for r in subset], mode="markers+text", name=plotly_escape(model),
            text=[plotly_escape(r["variant"].replace("LUT ", "")) for r in subset], textposition="top center",
            marker={"symbol": ["star" if r["variant"] == "dense" else "square" if r["k"] is None else "circle"
                               for r in subset], "size": 11},
            customdata=[[plotly_escape(r["variant"]), r["bytes"] / 1e6, r["speedup_b1"], r["speedup_b32"], r["metric_kmeans"]]
                        for r in subset],
            hovertemplate=("%{customdata[0]}<br>metric %{y:.1f} (k-means only %{customdata[4]:.1f})"
                           "<br>%{x:.0f} µs<br>speed-up b1 %{customdata[2]:.2f}× · b32 %{customdata[3]:.2f}×"
                           "<br>%{customdata[1]:.2f} MB<extra></extra>")))
        front = pareto_front(subset, x, y)
        figure.add_trace(go.Scatter(x=[r[x] for r in front], y=[r[y] for r in front], mode="lines",
                                    line={"dash": "dash", "width": 1}, name=plotly_escape(f"{model} Pareto front")))
    figure.update_layout(xaxis_title=f"{x} (log)", yaxis_title=plotly_escape(rows[0].get("metric_name", y)), xaxis_type="log",
                         title="latency vs accuracy of lookup-table variants", height=480)
    return figure
