"""The keyword index saved in the index folder: same scores after a round trip, ignored when stale."""

from __future__ import annotations

import numpy as np
import pytest

import musicsearch as ms
from musicsearch.search import keyword_store, store
from musicsearch.search.hybrid import keyword_fields, keyword_index
from musicsearch.search.keyword_store import keywords_from_bytes, keywords_to_bytes
from musicsearch.search.keywords import KeywordIndex
from tests.helpers.search import FakeModel, make_records

QUERIES = ["tunes by O'Carolan", "the kesh", "a reel in D", "jigs from ireland", "hornpipe", "nothing matches zzz"]


@pytest.fixture(scope="module")
def records():
    return make_records()


def test_round_trip_gives_the_same_scores(records):
    built = KeywordIndex([keyword_fields(r) for r in records])
    again = keywords_from_bytes(keywords_to_bytes(built))
    for query in QUERIES:
        for expected, found in zip(built.score(query), again.score(query)):
            np.testing.assert_array_equal(expected, found)
    assert again.titles == built.titles and again.count == built.count


def test_an_empty_index_round_trips():
    again = keywords_from_bytes(keywords_to_bytes(KeywordIndex([])))
    assert again.count == 0 and again.bm25("a reel").shape == (0,)


def test_a_class_with_unknown_attributes_is_not_saved(records):
    built = KeywordIndex([keyword_fields(r) for r in records])
    built.extra = 1
    assert keywords_to_bytes(built) is None


def test_garbage_is_a_value_error():
    with pytest.raises((ValueError, OSError)):
        keywords_from_bytes(b"not an npz")


def _index(records):
    model = FakeModel()
    return ms.SearchIndex.from_embeddings(model.encode_music(records), records, model=model,
                                          metadata_vectors=model.encode_text([r.abc for r in records]))


def test_the_index_folder_holds_it_and_hybrid_results_do_not_change(records, tmp_path):
    index = _index(records)
    folder = index.save(tmp_path / "idx")
    assert (ms.artifacts.current_version(folder, "index") / store.KEYWORDS_FILE).is_file()
    loaded = ms.load_index(folder, model=FakeModel())
    assert loaded._keyword_index is not None  # prebuilt: no build on the first hybrid query
    for query in QUERIES[:4]:
        assert [h.id for h in loaded.search(query, k=5, mode="hybrid")] == \
               [h.id for h in index.search(query, k=5, mode="hybrid")]


def test_one_written_by_other_keyword_code_is_ignored_and_rebuilt(records, tmp_path, monkeypatch):
    folder = _index(records).save(tmp_path / "idx")
    monkeypatch.setattr(keyword_store, "keyword_scheme", lambda: "another-scheme")
    loaded = ms.load_index(folder, model=FakeModel())
    assert loaded._keyword_index is None
    assert keyword_index(loaded).count == len(records)  # built from the records, as before the store
