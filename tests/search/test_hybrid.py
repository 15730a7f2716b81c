"""Hybrid search: keyword folding and BM25, fusion, metadata queries, and the weight tuning."""

from __future__ import annotations

import numpy as np
import pytest

import musicsearch as ms
from musicsearch.data.corpus import Record
from musicsearch.search.fusion_tuning import DevQuery, make_dev_queries, tune_fusion_weights
from musicsearch.search.hybrid import fuse, signals
from musicsearch.search.keywords import KeywordIndex, tokenize
from tests.helpers.search import FakeModel, make_many_records, make_records

CAROLAN = "Turlough O'Carolan"
KEYWORD_HEAVY = ms.FusionWeights(content=0.1, metadata=0.25, keyword=1.0, title=1.0)


@pytest.fixture(scope="module")
def records():
    return make_records()


@pytest.fixture(scope="module")
def index(records):
    return ms.SearchIndex.build(FakeModel(), records, progress=False)


@pytest.mark.parametrize("text, terms", [
    ("Tunes by O'Carolan", ["ocarolan", "carolan"]),
    ("O\u2019Carolan", ["ocarolan", "carolan"]),
    ("Am Brunnen vor dem Tore", ["am", "brunnen", "vor", "dem", "tore"]),
    ("Müller's Reels", ["muller", "reel"]),  # possessive 's folds like a plural
    ("the JIGS of Ireland", ["jig", "ireland"]),
    ("", []),
    ("!!! ...", []),
])
def test_tokenize_folds_case_accents_apostrophes_and_plurals(text, terms):
    assert tokenize(text) == terms


def test_bm25_prefers_rare_terms_and_short_fields():
    keywords = KeywordIndex([{"title": "Reel of Tulloch"}, {"title": "Reel"}, {"title": "Tulloch Castle reel"},
                             {"title": "Reel reel"}])
    bm25, title = keywords.score("tulloch")
    assert bm25[1] == 0 and bm25[0] > 0 and bm25[2] > 0
    bm25, _ = keywords.score("reel")
    assert int(np.argmax(bm25)) == 3  # the term twice in a short field
    assert keywords.score("")[0].sum() == 0


def test_title_signal_is_the_covered_share_of_the_query():
    keywords = KeywordIndex([{"title": "The Silver Spear; Silver Spear Reel"}, {"title": "Spear"}])
    _, title = keywords.score("The Silver Spear")
    assert title.tolist() == [1.0, 0.5]
    _, title = keywords.score("play silver spear reel for me")
    assert title[0] == 1.0  # the second title of the first tune, stopwords aside


def test_exact_title_comes_first_with_default_weights(index):
    for title in ("The Silver Spear", "Am Brunnen vor dem Tore", "planxty irwin"):
        top = index.search(title, k=1, mode="hybrid")[0]
        assert top.title.lower() == title.lower()


def test_two_tunes_with_one_title_both_come_first(index):
    hits = index.search("The Kesh", k=2, mode="hybrid")
    assert [hit.title for hit in hits] == ["The Kesh", "The Kesh"]


def test_composer_query_finds_all_their_tunes(index, records):
    theirs = {r.id for r in records if r.metadata.get("composer") == CAROLAN}
    hybrid = index.search("tunes by O'Carolan", k=len(theirs), mode="hybrid", weights=KEYWORD_HEAVY)
    assert {hit.id for hit in hybrid} == theirs
    content = index.search("tunes by O'Carolan", k=len(theirs))
    assert len({hit.id for hit in content} & theirs) < len(theirs)  # the music alone cannot know the composer


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_hybrid_on_approximate_indexes_matches_flat(kind, records, index):
    other = ms.SearchIndex.build(FakeModel(), records, kind=kind, progress=False)
    for query in ("The Silver Spear", "tunes by Carolan", "a jig in D"):
        a = [h.id for h in other.search(query, k=5, mode="hybrid")]
        b = [h.id for h in index.search(query, k=5, mode="hybrid")]
        assert a == b


def test_hybrid_without_metadata_embeddings_still_uses_keywords(records):
    bare = ms.SearchIndex.build(FakeModel(), records, metadata=False, progress=False)
    assert bare.metadata_vectors is None
    assert bare.search("Drowsy Maggie", k=1, mode="hybrid")[0].title == "Drowsy Maggie"


def test_hybrid_survives_save_and_load(index, tmp_path):
    index.save(tmp_path / "idx")
    loaded = ms.load_index(tmp_path / "idx", model=index.model)
    query = "tunes by O'Carolan"
    assert [h.to_dict() for h in loaded.search(query, k=5, mode="hybrid")] == \
        [h.to_dict() for h in index.search(query, k=5, mode="hybrid")]


def test_fused_scores_are_sorted_and_weights_change_the_order(index):
    vector = index.model.encode_text(["tunes by O'Carolan"])[0]
    rows, scaled = signals(index, "tunes by O'Carolan", vector)
    assert scaled.shape == (len(rows), 5) and scaled.min() >= 0 and scaled.max() <= 1
    top, scores = fuse(rows, scaled, ms.FusionWeights(), 10)
    assert np.all(np.diff(scores) <= 1e-7)
    content_only, _ = fuse(rows, scaled, ms.FusionWeights(1, 0, 0, 0, 0), 10)
    assert [h.id for h in index.search("tunes by O'Carolan", k=10)] == [index.records[r].id for r in content_only]


def test_dev_queries_are_answerable_and_deterministic(records):
    queries = make_dev_queries(records, per_kind=5, seed=0)
    assert {q.kind for q in queries} == {"title", "composer", "caption", "type"}
    ids = {r.id for r in records}
    assert all(q.relevant and q.relevant <= ids for q in queries)
    assert [q.text for q in queries] == [q.text for q in make_dev_queries(records, per_kind=5, seed=0)]
    kesh = next(q for q in queries if q.kind == "title" and q.text == "The Kesh") if any(
        q.text == "The Kesh" for q in queries) else None
    if kesh is not None:
        assert len(kesh.relevant) == 2


def test_tuning_never_loses_to_content_only(index, records):
    queries = make_dev_queries(records, per_kind=8, seed=1)
    best, table = tune_fusion_weights(index, queries, grid=(0.0, 0.5, 1.0))
    assert len(table) == 27 and table[0]["ndcg"] >= table[-1]["ndcg"]
    content_only = next(row for row in table if row["weights"] == {"content": 1.0, "metadata": 0.0,
                                                                   "keyword": 0.0, "title": 0.0, "fields": 0.0})
    assert table[0]["ndcg"] >= content_only["ndcg"] and isinstance(best, ms.FusionWeights)


def test_dev_query_dataclass_is_hashable_by_value():
    assert DevQuery("a", frozenset({"x"}), "title") == DevQuery("a", frozenset({"x"}), "title")


def test_title_without_its_type_suffix_still_counts_as_exact():
    keywords = KeywordIndex([{"title": "7th Regiment -- Reel"}, {"title": "Regiment"}])
    assert keywords.score("7th Regiment")[1].tolist() == [1.0, 0.5]
    assert keywords.score("7th regiment reel")[1][0] == 1.0


def test_hybrid_k_beyond_the_candidate_pool_returns_k_hits():
    many = make_many_records(300)
    index = ms.SearchIndex.from_embeddings(FakeModel().encode_music(many), many, model=FakeModel(),
                                           metadata_vectors=FakeModel().encode_text([ms.metadata_text(r) for r in many]))
    hits = index.search("a jig", k=260, mode="hybrid")
    assert len(hits) + sum(len(hit.also_in) for hit in hits) >= 260  # identical music is one hit


def test_identical_music_stored_twice_is_one_hit_in_hybrid_and_content(records):
    twice = records + [Record(**{**vars(records[0]), "id": "copy/tune01.abc#1", "collection": "copy"})]
    index = ms.SearchIndex.build(FakeModel(), twice, progress=False)
    for mode in ("hybrid", "content"):
        hits = index.search(records[0].metadata["title"], k=len(twice), mode=mode)
        ids = [hit.id for hit in hits]
        assert not {records[0].id, "copy/tune01.abc#1"} <= set(ids)
        first = next(hit for hit in hits if hit.id in (records[0].id, "copy/tune01.abc#1"))
        assert {first.id, *first.also_in} >= {records[0].id, "copy/tune01.abc#1"}
        assert [hit.rank for hit in hits] == list(range(1, len(hits) + 1))


def test_metadata_text_and_keywords_use_english_tags(small_corpus):
    from musicsearch.search.hybrid import keyword_fields, metadata_tags

    german = [r for r in small_corpus if r.collection == "essenFolksong" and r.origin == "Germany"
              and r.tune_type and "Lied" in r.metadata.get("rhythm", "")]
    assert german, "the small corpus should hold Essen songs from Germany with a German genre"
    record = german[0]
    text = ms.metadata_text(record)
    assert text.startswith(record.title) and "from Germany" in text and record.tune_type in text
    assert "Lied" not in text and "with a" not in text  # normalised genre; no note features
    assert "Germany" in keyword_fields(record)["tags"] and record.tune_type in keyword_fields(record)["tags"]
    assert "german" in keyword_fields(record)["tags"].split()  # the adjective a query uses
    assert metadata_tags(record) == [part for part in metadata_tags(record) if not part.startswith("titled")]


def test_constraints_rank_first_and_each_hit_says_why(index, records):
    hits = index.search("a slow Irish air in a minor key", k=5, mode="hybrid")
    airs = [r.id for r in records if r.metadata["rhythm"] == "air"]
    assert {hit.id for hit in hits[:len(airs)]} == set(airs)  # airs first; none is minor, so mode is missed
    why = hits[0].why
    assert why["fields"] == {"tune_type": "air", "origin": "Ireland"} and why["missed"] == {"mode": "minor"}
    assert "content" in why and hits[0].to_dict()["why"] == why
    assert ms.Hit.of(hits[0].to_dict()).why == why
    assert "why" not in index.search("a jig", k=1)[0].to_dict()  # content hits keep their shape


def test_a_constraint_draws_its_tunes_into_the_candidates(index, records):
    from musicsearch.search.hybrid import signals

    vector = index.model.encode_text(["a polka"])[0]
    rows, _ = signals(index, "a polka", vector, candidates=1)
    polkas = {row for row, r in enumerate(records) if r.metadata["rhythm"] == "polka"}
    assert polkas <= set(rows.tolist())
    before, _ = signals(index, "a polka", vector, candidates=1, understand=False)
    assert len(before) <= len(rows)


def test_function_words_do_not_match_titles(index):
    keyword_heavy = ms.FusionWeights(content=0.0, keyword=1.0, title=0.0, fields=0.0)
    hits = index.search("a tune in the key of D", k=3, mode="hybrid", weights=keyword_heavy)
    assert all("words" not in hit.why for hit in hits)  # "tune", "key" are never keywords
    assert index.explain("a tune in a key").notes[-1].startswith("only function words")


def test_explain_counts_the_tunes_that_fit(index):
    assert "2 tunes satisfy type slip jig" in index.explain("a slip jig").notes
    assert any(note.startswith("no tune satisfies type reel and meter 3/4 together")
               for note in index.explain("a reel in 3/4").notes)
    hits = index.search("a reel in 3/4", k=3, mode="hybrid")  # a result and a note, never an empty page
    assert len(hits) == 3 and all(hit.why["fields"] for hit in hits)


@pytest.mark.parametrize("query", ["une gigue irlandaise", "eine irische Jig", "una giga irlandese",
                                   "una giga irlandesa", "an Irish jig"])
def test_the_same_request_in_five_languages_finds_the_same_tunes(index, records, query):
    jigs = {r.id for r in records if r.metadata["rhythm"] == "jig"}
    assert {hit.id for hit in index.search(query, k=len(jigs) - 1, mode="hybrid")} <= jigs
