"""Names a query may give exactly: a type as the collection writes it, a composer's name that is not a title,
Essen's genre markup read the way records are read, and keyword search that understands the query."""

from __future__ import annotations

import numpy as np
import pytest

import musicsearch as ms
from musicsearch.data import features
from musicsearch.search.hit import describe_why
from musicsearch.search.hybrid import title_query
from musicsearch.search.keyword_store import keywords_from_bytes, keywords_to_bytes
from musicsearch.search.keywords import KeywordIndex
from musicsearch.search.term_index import genre_stem
from musicsearch.search.understanding import understand_query
from tests.helpers.search import make_records

ESSEN_TYPES = [{"title": "A", "rhythm": "Ballade, Romanze"}, {"title": "B", "rhythm": "Romanze, Ballade"},
               {"title": "C", "rhythm": "Liebes - Lied"}, {"title": "D", "rhythm": "Ballade"},
               {"title": "Ballade, Romanze", "rhythm": "Tanz - Lied"}]


def test_the_whole_query_naming_a_type_as_written_scores_one_and_word_order_matters():
    keywords = KeywordIndex(ESSEN_TYPES)
    np.testing.assert_array_equal(keywords.name_scores("a Ballade, Romanze")[:4], [1.0, 0.0, 0.0, 0.0])
    assert keywords.name_scores("Ballade, Romanze")[4] == 1.0  # the title "Ballade, Romanze" as before
    assert keywords.name_scores("Liebes - Lied").tolist()[2] == 1.0
    assert keywords.name_scores("a Ballade from Germany")[3] == 0.0  # part of a query is not the type's name
    assert keywords.names_type("Ballade, Romanze", 0) and not keywords.names_type("Ballade, Romanze", 1)


def test_without_written_types_the_title_signal_is_the_old_one():
    keywords = KeywordIndex(ESSEN_TYPES)
    bm25, title = keywords.score("Ballade, Romanze", written_types=False)
    assert title[:4].tolist() == [0.0, 0.0, 0.0, 0.0] and title[4] == 1.0
    np.testing.assert_array_equal(bm25, keywords.bm25("Ballade, Romanze"))


def test_written_types_survive_the_keyword_store():
    keywords = KeywordIndex(ESSEN_TYPES)
    again = keywords_from_bytes(keywords_to_bytes(keywords))
    assert again.written_types == keywords.written_types
    np.testing.assert_array_equal(again.name_scores("Romanze, Ballade"), keywords.name_scores("Romanze, Ballade"))


def test_a_composer_name_is_not_looked_for_among_titles():
    reading = understand_query("tunes by Irish")
    assert reading.constraints == {"composer": "Irish"}
    assert "Irish" not in title_query("tunes by Irish", reading)
    assert title_query("The Irish Washerwoman", understand_query("The Irish Washerwoman")) == "The Irish Washerwoman"


@pytest.mark.parametrize("rhythm", ["Staende -, Soldaten -, Kriegs - Lied", "Jaeger - Lied, Liebes - Lied",
                                    "Kinder - Lied, Spiel, Reigen", "Tanz - Lied"])
def test_essen_genre_markup_in_a_query_reads_as_the_records_type(rhythm):
    assert understand_query(f"a {rhythm}").constraints["tune_type"] == features.tune_type({"rhythm": rhythm})


def test_genre_stems_do_not_read_english_words():
    assert genre_stem("Staende") == "trade song" and genre_stem("Soldaten") == "soldiers' song"
    assert genre_stem("sausage") is None and genre_stem("applied") is None
    assert "tune_type" not in understand_query("a sage melody").constraints  # lower case: not a German noun


def test_keyword_search_reads_the_query_and_says_why():
    search = ms.KeywordSearch(make_records())
    hits = search.search("a polka from Ireland", k=2)
    assert {hit.title for hit in hits} == {"Britches Full of Stitches", "Ballydesmond Polka"}
    assert all(hit.why["fields"] == {"tune_type": "polka", "origin": "Ireland"} for hit in hits)
    assert "matches type polka" in describe_why(hits[0])
    # Function words are not matched to titles: "key" must not find a title with "Key" in it.
    top = search.search("a slip jig in a minor key", k=1)[0]
    assert top.title == "The Butterfly" and top.why["fields"]["mode"] == "minor"


def test_keyword_search_without_understanding_is_plain_bm25():
    records = make_records()
    plain = ms.KeywordSearch(records, understand=False)
    hits = plain.search("polka Ireland", k=3)
    assert all(not hit.why for hit in hits)
    bm25, title = plain.index.score("polka Ireland", written_types=False)
    assert hits[0].score == pytest.approx(float((bm25 + 2.0 * title).max()))


def test_a_query_that_is_a_type_as_written_finds_those_tunes_and_says_so():
    records = make_records()
    written = {record.metadata["title"] for record in records if record.metadata["rhythm"] == "Lied"}
    hits = ms.KeywordSearch(records).search("Lied", k=len(written))
    assert {hit.title for hit in hits} == written
    assert all(hit.why.get("type_as_written") for hit in hits)
    assert "type as written" in describe_why(hits[0])


def test_title_queries_count_titles_that_differ_only_in_quotes_as_one_title():
    from musicsearch.search.fusion_tuning import make_dev_queries

    records = make_records()[:4]
    records[1].metadata["title"] = f'"{records[0].metadata["title"]}"'
    records[2].metadata["rhythm"] = f"{records[3].metadata['rhythm']},"  # types stay as written
    queries = make_dev_queries(records[:1] + records[2:3], pool=records, per_kind=5)
    title = next(query for query in queries if query.kind == "title")
    assert title.relevant == {records[0].id, records[1].id}
    kind = next(query for query in queries if query.kind == "type" and records[2].id in query.relevant)
    assert records[3].id not in kind.relevant
