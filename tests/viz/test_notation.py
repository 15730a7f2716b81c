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
