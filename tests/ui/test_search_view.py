"""Search view behind the SearchBox: the query's bars above the hits, matched bars highlighted in each hit."""

from __future__ import annotations

import pytest

import musicsearch as ms
from musicsearch.ui.search_view import hit_card_html, query_html, reading_html, run_search
from musicsearch.viz.notation import highlighted_measures
from tests.helpers.melody_records import fragment, make_melody_records
from tests.helpers.search import FakeModel, make_records


@pytest.fixture(scope="module")
def index():
    return ms.SearchIndex.build(FakeModel(), make_melody_records(), progress=False)


def test_a_melody_hit_card_highlights_the_bars_the_query_matched(index):
    hits, kind = run_search(index, fragment(4, 5).replace("\n", " "), k=2, mode="hybrid")
    assert kind == "abc" and hits[0].id == "melodies/tune04.abc#1" and hits[0].bar_span == (5, 6)
    card = hit_card_html(hits[0])
    assert highlighted_measures(card) == [5, 6]
    assert "bars 6-7 (query bars 1-2" in card  # counted from 1 for people
    assert highlighted_measures(hit_card_html(index.search("a jig", k=1)[0])) == []  # text hits: no highlight


def test_the_query_bars_are_shown_for_music_and_nothing_for_text():
    shown = query_html(fragment(2, 0))
    assert "ms-query-notation" in shown and shown.count('class="measure"') == 2
    assert query_html("a jig in D") == ""


def test_a_melody_the_matcher_refuses_falls_back_to_content_with_a_note(index):
    notes: list[str] = []
    hits, _ = run_search(index, "K:D\nd4|", k=2, mode="hybrid", notes=notes)
    assert len(hits) == 2 and len(notes) == 1 and "needs at least 4" in notes[0]
    with pytest.raises(ms.QueryError, match="needs at least 4"):
        run_search(index, "K:D\nd4|", k=2, mode="melody")
    with pytest.raises(ms.QueryError, match="searches by notes"):
        run_search(index, "a jig", k=2, mode="melody")


def test_a_hybrid_text_query_shows_how_it_was_read_and_why_each_hit_matched():
    index = ms.SearchIndex.build(FakeModel(), make_records(), progress=False)
    hits, kind = run_search(index, "une gigue irlandaise", k=2, mode="hybrid")
    line = reading_html(index, "une gigue irlandaise")
    assert kind == "text" and 'class="ms-reading"' in line and "understood: type jig, origin Ireland" in line
    card = hit_card_html(hits[0], notation=False)
    assert 'class="ms-why"' in card and "matches type jig, origin Ireland" in card
    assert "only function words" in reading_html(index, "a tune in a key")
    assert reading_html(index, "a jig", mode="content") == "" and reading_html(index, "K:D |:dfa afd|") == ""
    assert 'class="ms-why"' not in hit_card_html(index.search("a jig", k=1)[0], notation=False)
