"""Query kinds: one parser (text / ABC / score file) for the CLI and the widgets, and its dispatch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import musicsearch as ms
from musicsearch.search.queries import Query, abc_from_query, looks_like_abc, parse_query, search_query
from tests.helpers.search import FakeModel, make_records


@pytest.fixture(scope="module")
def index():
    return ms.SearchIndex.build(FakeModel(), make_records(), progress=False)


@pytest.mark.parametrize("text, kind, value", [
    ("a lively jig in D", "text", "a lively jig in D"),
    ("  tunes by   O'Carolan ", "text", "tunes by O'Carolan"),
    ("M:6/8 K:D |:dfa afd|", "abc", "M:6/8\nK:D\n|:dfa afd|"),
    ("K:G\n|:GAG GAB|d2d dBG|", "abc", "K:G\n|:GAG GAB|d2d dBG|"),
    ("|:dfa afd|gfe dcB|", "abc", "|:dfa afd|gfe dcB|"),
    ("a reel | a jig", "text", "a reel | a jig"),  # a bar line alone does not make words music
    ("tune.abc", "text", "tune.abc"),  # no such file here: a file name is only a file when it exists
])
def test_parse_query_reads_the_kind(text, kind, value):
    assert parse_query(text) == Query(kind, value)


def test_an_existing_score_file_is_a_file_query(tmp_path):
    path = tmp_path / "tune.abc"
    path.write_text("X:1\nM:6/8\nK:D\n|:dfa afd|\n")
    assert parse_query(f" {path} ") == Query("file", str(path))
    assert parse_query(str(tmp_path)).kind == "text"  # a folder is not a score


@pytest.mark.parametrize("query, message", [("", "empty"), ("  \n ", "empty"), (None, "must be text"),
                                            (3, "must be text")])
def test_parse_query_refuses_empty_and_non_text(query, message):
    with pytest.raises(ms.QueryError, match=message):
        parse_query(query)


def test_abc_helpers():
    assert looks_like_abc("L:1/8\nK:D\ndfa|") and not looks_like_abc("a jig in D")
    assert abc_from_query("X:1 M:3/4 K:G |:G3 A B2|") == "X:1\nM:3/4\nK:G\n|:G3 A B2|"
    assert abc_from_query("|:dfa afd|") == "|:dfa afd|"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parse_query_never_fails_on_text_with_a_word(text):
    if not text.strip():
        with pytest.raises(ms.QueryError):
            parse_query(text)
        return
    query = parse_query(text)
    assert query.kind in ("text", "abc", "file") and query.value.strip()
    if query.kind == "text":
        assert query.value == " ".join(text.split())


def test_search_query_sends_each_kind_to_its_search(index, tmp_path):
    records = make_records()
    text = search_query(index, parse_query("a jig in G"), 3, mode="hybrid")
    assert [hit.id for hit in text] == [hit.id for hit in index.search("a jig in G", 3, mode="hybrid")]
    abc = search_query(index, parse_query("M:6/8 K:G |:GAG GAB|d2d dBG|"), 2)
    assert len(abc) == 2 and abc[0].metadata["meter"] == "6/8"
    path = tmp_path / "tune.abc"
    path.write_text("X:1\nT:Query\n" + records[2].abc + "\n")
    by_file = search_query(index, parse_query(str(path)), 2)
    assert [hit.id for hit in by_file] == [hit.id for hit in index.search_music(path, 2, mode="content")]


def test_unreadable_abc_snippet_is_an_abc_error(index):
    with pytest.raises(ms.ABCError, match="no notes"):
        search_query(index, parse_query("K:D\n|]]]"), 2)


def test_the_ui_and_the_index_share_the_parser(index):
    hits, kind = ms.run_search(index, "K:G |:GAG GAB|d2d dBG|", k=2)
    assert kind == "abc" and [hit.id for hit in hits] == [hit.id for hit in search_query(
        index, parse_query("K:G |:GAG GAB|d2d dBG|"), 2)]
