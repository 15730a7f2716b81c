"""Maps: joint music+caption points, colour groups, the query overlay, plotly and matplotlib figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import musicsearch as ms  # noqa: E402
from musicsearch.errors import QueryError  # noqa: E402
from musicsearch.viz.maps import color_groups, field_value, hover_texts  # noqa: E402
from tests.helpers.search import FakeModel, make_many_records, make_records  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return FakeModel()


@pytest.fixture(scope="module")
def points(model):
    return ms.map_points(make_records(), model, captions=10, method="pca")


def test_map_points_stacks_music_and_captions(points):
    assert len(points) == 28 + 10
    assert points.kinds.count("music") == 28 and points.kinds.count("text") == 10
    assert points.coords.shape == (38, 2)
    text_rows = points.rows[np.asarray(points.kinds) == "text"]
    # A caption point belongs to the tune it describes, and carries that caption.
    position = points.kinds.index("text")
    assert points.texts[position] == points.records[points.rows[position]].captions[0]
    assert len(set(text_rows.tolist())) == 10


def test_map_points_reuses_an_index(model):
    records = make_records()
    index = ms.SearchIndex.build(model, records, progress=False)
    calls = model.music_calls
    points = ms.map_points(index, captions=0, dims=3, method="pca")
    assert model.music_calls == calls  # stored vectors, not re-encoded
    assert points.coords.shape == (28, 3)
    np.testing.assert_allclose(points.embeddings, index.embeddings(), atol=1e-6)


def test_map_points_needs_a_model_for_records():
    with pytest.raises(QueryError, match="model"):
        ms.map_points(make_records())


def test_colour_groups_merge_rare_values(points):
    groups = color_groups(points, "origin", max_groups=1)
    assert set(groups) == {"Ireland", "other"}
    assert color_groups(points, "kind") == points.kinds
    assert field_value(points.records[0], "no_such_field") == "unknown"
    assert set(color_groups(points, "rhythm")) >= {"jig", "reel"}


def test_query_overlay_lands_near_its_hits(points, model):
    overlay = ms.query_overlay(points, model, "a jig in G major", k=4)
    assert len(overlay["hits"]) == 4
    assert all(points.kinds[i] == "music" for i in overlay["hits"])
    assert list(overlay["scores"]) == sorted(overlay["scores"], reverse=True)
    assert points.records[points.rows[overlay["hits"][0]]].metadata["rhythm"] == "jig"
    hull_min, hull_max = points.coords[overlay["hits"]].min(0), points.coords[overlay["hits"]].max(0)
    assert np.all(overlay["coords"] >= hull_min - 1e-5) and np.all(overlay["coords"] <= hull_max + 1e-5)


def test_query_overlay_refuses_an_empty_query(points, model):
    with pytest.raises(QueryError):
        ms.query_overlay(points, model, "   ")


def test_plot_map_webgl_groups_hover_and_overlay(points, model):
    overlay = ms.query_overlay(points, model, "a reel", k=3)
    figure = ms.plot_map(points, color_by="rhythm", overlay=overlay)
    scatter = [trace for trace in figure.data if not (trace.meta or {}).get("query_overlay")]
    assert {trace.type for trace in scatter} == {"scattergl"}
    assert sum(len(trace.x) for trace in scatter) == len(points)
    assert {"jig", "reel", "jig (captions)"} <= {trace.name for trace in scatter}
    by_name = {trace.name: trace for trace in scatter}
    assert (
        by_name["jig"].marker.color == by_name["jig (captions)"].marker.color != by_name["reel"].marker.color
    )
    assert points.method == "pca"
    hover = next(trace for trace in scatter if trace.name == "jig").text[0]
    assert "<b>" in hover and "ryansMammoth" in hover and "A jig in" in hover
    overlay_traces = [trace for trace in figure.data if (trace.meta or {}).get("query_overlay")]
    assert len(overlay_traces) == 3
    # A new query replaces the old overlay instead of stacking a second one.
    ms.add_query_overlay(figure, points, ms.query_overlay(points, model, "a waltz", k=2))
    assert len([t for t in figure.data if (t.meta or {}).get("query_overlay")]) == 3
    assert "a waltz" in figure.data[-1].name


def test_plot_map_3d(model):
    points = ms.map_points(make_records(), model, captions=5, dims=3, method="pca")
    figure = ms.plot_map(points, color_by="kind", overlay=ms.query_overlay(points, model, "a jig"))
    assert {trace.type for trace in figure.data} == {"scatter3d"}


def test_static_map_draws_every_point(points, model):
    figure = ms.plot_map_static(points, color_by="origin", overlay=ms.query_overlay(points, model, "a jig"))
    drawn = sum(len(collection.get_offsets()) for collection in figure.axes[0].collections)
    assert drawn == len(points) + 1  # + the query star
    assert figure.axes[0].get_legend() is not None


def test_umap_map_of_240_tunes(model):
    points = ms.map_points(make_many_records(240), model, captions=40)
    assert points.coords.shape == (280, 2) and np.isfinite(points.coords).all()
    assert points.method == "umap"


def test_similarity_heatmap_matches_the_classifier(model):
    records = make_records()[:12]
    matrix = ms.similarity_matrix(model, ["jig", "reel", "waltz"], records, ["a {}"])
    classifier = ms.ZeroShotClassifier(model, ["jig", "reel", "waltz"], ["a {}"])
    assert matrix.shape == (3, 12)
    assert [["jig", "reel", "waltz"][i] for i in matrix.argmax(axis=0)] == classifier.predict(records)
    figure = ms.plot_similarity_heatmap(model, ["jig", "reel", "waltz"], records, ["a {}"])
    image = figure.axes[0].images[0].get_array()
    assert image.shape == (3, 12)
    # Sorted by best label: the argmax row never decreases from left to right.
    assert np.all(np.diff(np.asarray(image).argmax(axis=0)) >= 0)


HOSTILE = "<img src=x onerror=alert(1)>"


def _hostile_points(model):
    """A map whose first tune has markup in its title, collection, caption and a metadata value."""
    from dataclasses import replace

    records = make_records()
    first = records[0]
    records[0] = replace(first, collection=f"c{HOSTILE}", captions=[f"a jig {HOSTILE}"],
                         metadata={**first.metadata, "title": f"The Kesh {HOSTILE}", "rhythm": f"jig{HOSTILE}"})
    return ms.map_points(records, model, captions=28, method="pca")


def test_plotly_texts_show_corpus_and_query_markup_literally(model):
    """Plotly renders hover text, legend names and labels as HTML: none may carry a corpus's or user's tag."""
    points = _hostile_points(model)
    hover = hover_texts(points, color_groups(points, "rhythm"))
    assert all("<img" not in text for text in hover)
    assert "&lt;img src=x onerror=alert(1)&gt;" in hover[0] and "<b>" in hover[0]  # our own markup stays
    query = f"a jig {HOSTILE}"
    overlay = ms.query_overlay(points, model, query, k=28)
    figure = ms.plot_map(points, color_by="rhythm", overlay=overlay)
    shown = [str(trace.name) for trace in figure.data] + [str(text) for trace in figure.data
                                                          for text in (trace.text if trace.text is not None else ())]
    assert not [text for text in shown if "<img" in text]
    assert any("jig&lt;img" in text for text in shown)  # the hostile group's legend entry, escaped
    assert any("The Kesh &lt;img" in text for text in shown)  # the top-hit label of the overlay, escaped
    assert "<img" not in figure.layout.title.text
