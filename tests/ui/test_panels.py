"""Panel behaviour behind the widgets: names from pages and study files are escaped in the HTML."""

from __future__ import annotations

from types import SimpleNamespace

from musicsearch.ui.panels import lut_variant_html, timings_html

HOSTILE = "<script>alert(1)</script>"


def test_timings_table_escapes_stage_names_and_bolds_the_slowest():
    page = SimpleNamespace(timings={HOSTILE: 0.5, "rerank": 0.1, "total": 0.6})
    table = timings_html(page)
    assert "<script>" not in table and "&lt;script&gt;" in table
    assert "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>" in table  # the slowest stage, still bold
    assert "600.0 ms" in table


def test_lut_variant_line_escapes_names_from_the_study_file():
    row = {"variant": HOSTILE, "metric_name": "<b>acc</b>", "metric": 80.0, "metric_dense": 81.0, "delta": -1.0,
           "latency_b1_us": 90.0, "speedup_b1": 2.0, "latency_b32_us": 400.0, "bytes": 2e6}
    line = lut_variant_html(row, model_name="<i>mlp</i>")
    assert "<script>" not in line and "<i>mlp</i>" not in line and "<b>acc</b>" not in line
    assert "Δ -1.0" in line and "2.00× dense" in line
