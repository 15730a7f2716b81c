"""The model-level study and its plots, on the digits task with tiny sizes."""

from __future__ import annotations

import pytest
import torch

import musicsearch as ms


@pytest.fixture(scope="module")
def study_rows():
    task = ms.digits_task()
    with ms.torch_threads(1):
        model = ms.mlp_classifier(64, 10, hidden=64, depth=3)
        ms.train_classifier(model, task, "mlp", epochs=2)
    return ms.study_classifier(task, "mlp", ks=(8,), vs=(4, 8), finetune_epochs=1, model=model, repeats=2)


def test_study_rows_describe_every_variant(study_rows):
    assert [r["variant"] for r in study_rows] == ["dense", "int8 dynamic", "LUT K=8 V=4", "LUT K=8 V=8"]
    dense = study_rows[0]
    assert dense["delta"] == 0 and dense["speedup_b1"] == 1 and dense["fidelity"] == 100
    for row in study_rows[2:]:
        assert row["converted_layers"] == 2  # first and last layers stay dense
        assert 0 <= row["metric"] <= 100 and 0 <= row["fidelity"] <= 100
        assert row["bytes"] > 0 and row["latency_b1_us"] > 0 and row["latency_b32_us"] > 0
    assert "LUT K=8 V=4" in ms.format_study_table(study_rows)


def test_pareto_front_is_not_dominated(study_rows):
    front = ms.pareto_front(study_rows)
    assert front and [r["latency_b1_us"] for r in front] == sorted(r["latency_b1_us"] for r in front)
    for row in front:
        assert not any(o["latency_b1_us"] < row["latency_b1_us"] and o["metric"] > row["metric"] for o in study_rows)


def test_plots_are_built(study_rows):
    assert ms.plot_pareto(study_rows).axes
    figure = ms.plot_pareto_interactive(study_rows)
    assert len(figure.data) == 2  # the points and the front of the one model
    layer_rows = ms.bench_layers([(16, 32)], [1], k=8, v=4, repeats=2)
    assert ms.plot_layer_speedups(layer_rows).axes
    toy = ms.toy_2d(k=4, points=100)
    assert len(ms.plot_toy_2d(toy=toy).axes) == 2
    assert toy["layer"].centroids.shape == (1, 4, 2) and not torch.isnan(toy["layer"].centroids).any()


def test_interactive_pareto_escapes_names_from_the_study_file(study_rows):
    hostile = [dict(row, model="<script>x</script>", variant="<b>" + row["variant"] + "</b>") for row in study_rows]
    figure = ms.plot_pareto_interactive(hostile)
    shown = [figure.data[0].name, *figure.data[0].text, *(item[0] for item in figure.data[0].customdata)]
    assert all("<script>" not in str(text) and "<b>" not in str(text) for text in shown)
    assert figure.data[0].name == "&lt;script&gt;x&lt;/script&gt;"
