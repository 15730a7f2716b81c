"""Result plots (zero-shot confusion matrix, ANN recall vs latency), and plotting kept to the viz layer."""

from __future__ import annotations

import ast
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import musicsearch as ms  # noqa: E402

PACKAGE = Path(ms.__file__).parent
# Subpackages and modules below viz in the layer contract (.importlinter): none of them may plot.
BELOW_VIZ = ("errors", "paths", "artifacts", "data", "lut", "models", "search", "zeroshot", "llm",
             "evaluation", "training")
PLOTTING = ("matplotlib", "plotly")


def test_confusion_matrix_plot():
    ax = ms.plot_confusion_matrix([[5, 1], [2, 7]], ["jig", "reel"], title="tune type")
    assert ax.get_title() == "tune type" and len(ax.texts) == 4


def test_recall_latency_plot_has_one_line_per_kind_and_the_exact_reference():
    rows = [{"kind": kind, "value": value, "recall": recall, "p50_ms": latency}
            for kind, points in (("ivf", [(8, 0.8, 0.1), (32, 0.97, 0.3)]), ("hnsw", [(16, 0.9, 0.05)]))
            for value, recall, latency in points]
    ax = ms.plot_recall_latency(rows, exact_ms=2.0)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["ivf", "hnsw", "exact (flat)"] and ax.get_xscale() == "log"
    assert len(ax.texts) == 3  # each point names its nprobe / ef_search


def _plotting_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
        found += [f"{path.relative_to(PACKAGE)}: {name}" for name in names if name.split(".")[0] in PLOTTING]
    return found


@pytest.mark.parametrize("part", BELOW_VIZ)
def test_nothing_below_viz_imports_a_plotting_library(part):
    target = PACKAGE / part if (PACKAGE / part).is_dir() else PACKAGE / f"{part}.py"  # a subpackage or a module
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    assert files, f"nothing found for {part}"
    assert files, f"{part} not found in {PACKAGE}"
    assert [found for path in files for found in _plotting_imports(path)] == []
