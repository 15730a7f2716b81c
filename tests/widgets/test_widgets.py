"""Widgets driven by their traits (no browser): rendered children, and bad input shown as a message."""

from __future__ import annotations

import pytest

import musicsearch as ms
from tests.helpers.search import FakeModel, make_records
from widgets import EmbeddingMap, LUTExplorer, SearchBox, SearchPageViewer, ZeroShotPanel


@pytest.fixture(scope="module")
def model():
    return FakeModel()


@pytest.fixture(scope="module")
def index(model):
    return ms.SearchIndex.build(model, make_records(), progress=False)


def _message(widget) -> str:
    return widget.status.value


# ------------------------------------------------------------------ SearchBox
def test_search_box_renders_hits_with_notation_and_metadata(index):
    box = SearchBox(index, k=3)
    assert "ms-searchbox" in box._dom_classes
    box.query = "a jig in G"
    assert len(box.hits) == 3 and len(box.results.children) == 3 and box.query_kind == "text"
    card = box.results.children[0].children[0].value
    assert 'class="ms-hit"' in card and "<svg" in card and "score" in card
    assert box.hits[0].metadata["rhythm"] == "jig" and "jig" in card
    assert _message(box) == ""


def test_search_box_typing_syncs_the_query_and_mode_reruns(index):
    box = SearchBox(index, k=2)
    assert box.mode == "hybrid" and box.mode_toggle.value == "hybrid"  # the default: names find tunes
    box.input.value = "tunes by O'Carolan"
    assert box.query == "tunes by O'Carolan" and len(box.results.children) == 2
    assert all("Carolan" in hit.metadata.get("composer", "") for hit in box.hits)
    box.mode_toggle.value = "content"
    assert box.mode == "content"
    assert [hit.id for hit in box.hits] == [hit.id for hit in index.search("tunes by O'Carolan", k=2)]


def test_search_box_abc_snippet_is_a_query_by_example(index):
    box = SearchBox(index, k=2, notation=False)
    box.query = "M:6/8 K:G |:GAG GAB|d2d dBG|"
    assert box.query_kind == "abc" and len(box.hits) == 2
    assert box.hits[0].metadata["meter"] == "6/8"
    assert "<svg" not in box.results.children[0].children[0].value


def test_search_box_score_file_path_is_a_query_by_example(index, tmp_path):
    path = tmp_path / "tune.abc"
    path.write_text("X:1\n" + make_records()[0].abc + "\n")
    box = SearchBox(index, k=2, notation=False)
    box.query = str(path)
    assert box.query_kind == "file" and [hit.id for hit in box.hits] == [hit.id for hit in index.search_music(path, 2)]


@pytest.mark.parametrize("query", ["   ", "K:D\n|]]]"])
def test_search_box_bad_query_shows_a_message(index, query):
    box = SearchBox(index)
    box.query = "a reel"
    box.query = query
    assert "ms-message" in _message(box)
    assert box.hits == [] and box.results.children == ()


def test_search_box_play_button_embeds_audio(index):
    box = SearchBox(index, k=1, notation=False)
    box.query = "a reel"
    play_row = box.results.children[0].children[1]
    play, player = play_row.children
    play.click()
    assert "<audio" in player.value


# ------------------------------------------------------------------ ZeroShotPanel
def test_zero_shot_panel_updates_live(model):
    records = make_records()
    panel = ZeroShotPanel(model, records, labels=["jig", "reel"], templates=["a {}"])
    assert panel.summary["labels"] == ["jig", "reel"] and sum(panel.summary["counts"]) == len(records)
    assert "ms-label-row" in panel.table.value
    panel.labels_box.value = "jig\nreel\nwaltz"
    assert panel.summary["labels"] == ["jig", "reel", "waltz"]
    assert panel.table.value.count("ms-label-row") == 3
    jig_examples = [title for title, _ in panel.summary["examples"]["jig"]]
    assert jig_examples and all(r.metadata["rhythm"] == "jig" for r in records if r.title in jig_examples[:1])


@pytest.mark.parametrize(
    "labels, expected", [("jig, reel, jig", "repeated: jig"), ("jig,,reel", "blank"), ("jig", "at least two")]
)
def test_zero_shot_panel_bad_labels_keep_the_last_table(model, labels, expected):
    panel = ZeroShotPanel(model, make_records(), labels=["jig", "reel"], templates=["a {}"])
    table = panel.table.value
    panel.labels_text = labels
    assert "ms-message" in _message(panel) and expected in _message(panel)
    assert panel.table.value == table


def test_zero_shot_panel_bad_template(model):
    panel = ZeroShotPanel(model, make_records(), labels=["jig", "reel"])
    panel.templates_text = "a tune without a slot"
    assert "exactly once" in _message(panel)
    panel.templates_text = "a {}"
    assert _message(panel) == ""


# ------------------------------------------------------------------ LUTExplorer
ROWS = [
    {
        "variant": "dense",
        "k": None,
        "v": None,
        "metric": 70.0,
        "metric_kmeans": 70.0,
        "metric_dense": 70.0,
        "delta": 0.0,
        "latency_b1_us": 400.0,
        "latency_b32_us": 2000.0,
        "speedup_b1": 1.0,
        "speedup_b32": 1.0,
        "bytes": 1e6,
        "model": "mlp",
        "metric_name": "accuracy %",
    },
] + [
    {
        "variant": f"LUT K={k} V={v}",
        "k": k,
        "v": v,
        "metric": 60.0 + k / 8 - v / 4,
        "metric_kmeans": 55.0,
        "metric_dense": 70.0,
        "delta": -10.0,
        "latency_b1_us": 100.0 + k * v,
        "latency_b32_us": 900.0,
        "speedup_b1": 400 / (100.0 + k * v),
        "speedup_b32": 2.0,
        "bytes": 5e5,
        "model": "mlp",
        "metric_name": "accuracy %",
    }
    for k in (8, 16)
    for v in (4, 8)
]


def test_lut_explorer_sliders_select_a_variant():
    explorer = LUTExplorer(ROWS)
    assert explorer.k_slider.options == (8, 16) and explorer.v_slider.options == (4, 8)
    explorer.k_slider.value, explorer.v_slider.value = 16, 4
    assert explorer.selected["variant"] == "LUT K=16 V=4"
    assert "164 µs" in explorer.details.value and "accuracy %" in explorer.details.value
    assert explorer.plot.value[:4] == b"\x89PNG"


def test_lut_explorer_reads_the_benchmark_results():
    rows = ms.load_lut_study()  # benchmarks/results/lut.json is tracked: a missing file is a failure
    assert rows
    explorer = LUTExplorer(rows)
    assert explorer.selected is not None and explorer.selected["model"] == explorer.model_name


def test_lut_explorer_unmeasured_pair_is_a_message():
    explorer = LUTExplorer([row for row in ROWS if (row["k"], row["v"]) != (8, 8)])
    explorer.k, explorer.v = 8, 8
    assert explorer.selected is None and "not measured" in _message(explorer)


# ------------------------------------------------------------------ SearchPageViewer
def test_search_page_viewer_shows_page_and_timings(index):
    viewer = SearchPageViewer(index, None, k=3)
    viewer.query = "a reel in D"
    assert len(viewer.page.hits) == 3
    assert "ms-timings" in viewer.timings.value and "first_stage" in viewer.timings.value
    assert viewer.page.hits[0].title in viewer.result.value
    viewer.query = "?!"
    assert "empty" in _message(viewer) and viewer.page is None and viewer.result.value == ""


# ------------------------------------------------------------------ EmbeddingMap
def test_embedding_map_places_queries_and_recolours(model):
    points = ms.map_points(make_records(), model, captions=5, method="pca")
    view = EmbeddingMap(points, model, color_by="origin", k=3)
    names = {trace.name for trace in view.figure.data}
    assert {"Ireland", "Germany"} <= names
    view.query = "a German song"
    assert len(view.overlay["hits"]) == 3
    assert any(trace.name.startswith("query: a German song") for trace in view.figure.data)
    view.colour_menu.value = "kind"
    assert {"music", "text"} <= {trace.name for trace in view.figure.data}
    assert any(trace.name.startswith("query:") for trace in view.figure.data)  # overlay kept
    bundle = view.plot.outputs[0]["data"]
    assert "application/vnd.plotly.v1+json" in bundle
    view.query = "   "
    assert "empty" in _message(view)


def test_search_box_shows_the_query_bars_and_highlights_the_matched_bars():
    from musicsearch.viz.notation import highlighted_measures
    from tests.helpers.melody_records import fragment, make_melody_records

    box = SearchBox(ms.SearchIndex.build(FakeModel(), make_melody_records(), progress=False), k=2)
    box.query = fragment(6, 3)
    assert box.query_kind == "abc" and box.hits[0].id == "melodies/tune06.abc#1"
    assert "ms-query-notation" in box.query_view.value and "<svg" in box.query_view.value
    assert highlighted_measures(box.results.children[0].children[0].value) == [3, 4]
    box.mode = "melody"
    assert box.hits[0].melody_score is not None
    box.query = "K:D\nd4|"  # too short for the melody: refused in melody mode, content (with a note) in hybrid
    assert "needs at least 4" in _message(box) and box.hits == []
    box.mode = "hybrid"
    assert len(box.hits) == 2 and "needs at least 4" in _message(box) and "ms-info" in _message(box)
    box.query = "a jig"
    assert box.query_view.value == ""
