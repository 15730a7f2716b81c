import pytest

import musicsearch as ms


def test_render_svg_engraves_a_cleaned_tune(small_corpus):
    svg = ms.render_svg(small_corpus[0].abc)
    assert svg.lstrip().startswith(("<svg", "<?xml")) and "</svg>" in svg
    # More music, more drawing: a longer tune yields a larger picture.
    short = ms.render_svg("K:D\nd2fd|")
    assert len(svg) > len(short)


def test_render_svg_refuses_text_verovio_cannot_read():
    with pytest.raises(ms.ABCError):
        ms.render_svg("")


def test_corpus_overview_has_four_panels(small_corpus):
    figure = ms.plot_corpus_overview(ms.corpus_stats(small_corpus))
    assert len(figure.axes) == 4
    titles = [axis.get_title() for axis in figure.axes]
    assert "records per collection" in titles
    bars = figure.axes[0].patches
    assert sorted(bar.get_width() for bar in bars) == sorted(ms.corpus_stats(small_corpus)["collections"].values())


def test_render_svg_highlights_exactly_the_matched_bars():
    from musicsearch.viz.notation import highlighted_measures

    tune = "L:1/8\nM:6/8\nK:G\nG|ABc dBG|ABc d2e|fed cBA|G3 G2|"  # a pickup (bar 0), then bars 1-4
    svg = ms.render_svg(tune, highlight=(2, 3))
    assert highlighted_measures(svg) == [2, 3]
    assert svg.count("ms-match") == 2 and "color:#d62728" in svg
    assert highlighted_measures(ms.render_svg(tune)) == []
    assert highlighted_measures(ms.render_svg(tune, highlight=(3, 40))) == [3, 4]  # bars past the end: ignored
