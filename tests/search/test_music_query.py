"""Query by music: melody matches fused with the embedding, bar spans on hits, identical tunes folded,
the melody index stored with the search index, and bad melodies refused or answered by content."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import musicsearch as ms
from musicsearch import artifacts
from musicsearch.data.transpose import transpose_abc
from musicsearch.search.hit import describe_match, format_hits
from musicsearch.search.music_query import MelodyFallbackWarning, MelodyFusion, fused_scores
from tests.helpers.melody_records import fragment, make_melody_records
from tests.helpers.search import FakeModel


@pytest.fixture(scope="module")
def records():
    return make_melody_records()


@pytest.fixture(scope="module")
def index(records):
    return ms.SearchIndex.build(FakeModel(), records, progress=False)


@pytest.mark.parametrize("mode", ["hybrid", "melody"])
@pytest.mark.parametrize("semitones", [0, 5, -3])
def test_a_fragment_finds_its_tune_with_the_bars_it_matched(index, mode, semitones):
    query = transpose_abc(fragment(3, 4), semitones) if semitones else fragment(3, 4)
    hit = index.search_music(query, k=3, mode=mode)[0]
    assert hit.id == "melodies/tune03.abc#1" and hit.rank == 1
    assert hit.bar_span == (4, 5) and hit.query_bar_span == (0, 1) and hit.melody_score == pytest.approx(1.0)


def test_hybrid_is_the_default_and_content_ignores_the_melody(index):
    query = fragment(7, 2)
    assert [h.id for h in index.search_music(query, k=3)] == [h.id for h in index.search_music(query, k=3,
                                                                                               mode="hybrid")]
    content = index.search_music(query, k=3, mode="content")
    assert all(hit.bar_span is None and hit.melody_score is None for hit in content)


def test_identical_tunes_show_as_one_hit_with_also_in(index):
    hits = index.search_music(fragment(0, 2), k=5, mode="hybrid")
    ids = [hit.id for hit in hits]
    assert ids[0] == "melodies/tune00.abc#1" and "melodies/copy.abc#1" not in ids
    assert hits[0].also_in == ("melodies/copy.abc#1",)
    assert "also in melodies/copy.abc#1" in format_hits(hits)


def test_fusion_puts_a_confident_melody_above_any_content_score():
    fusion = MelodyFusion(threshold=0.5, content_weight=0.1)
    scores = fused_scores(np.array([0.6, 0.4, 0.0]), np.array([-1.0, 1.0, 1.0]), fusion)
    assert scores[0] > scores[1] == scores[2]  # below the threshold the melody counts for nothing


def test_unknown_music_mode_is_refused(index):
    with pytest.raises(ms.QueryError, match="unknown music search mode"):
        index.search_music(fragment(1, 1), mode="bars")


BAD_MELODIES = {
    "one note": ("L:1/8\nK:D\nd6|", "has 1 note"),
    "unknown key": ("L:1/8\nK:Xyz\ndfa afd|gfe dcB|", "K:Xyz"),
    "unparseable bar": ("L:1/8\nK:D\ndfa afd|g@e dcB|", "bar 2: cannot read '@'"),
    "2,000 bars": ("L:1/8\nK:D\n" + "dfa afd|" * 2000, "at most 1000 notes"),
}


@pytest.mark.parametrize("name", list(BAD_MELODIES))
def test_a_melody_the_matcher_refuses_is_a_query_error_or_content_with_a_warning(index, name):
    query, reason = BAD_MELODIES[name]
    with pytest.raises(ms.QueryError, match=reason):
        index.search_music(query, k=3, mode="melody")
    with pytest.warns(MelodyFallbackWarning, match=reason):
        hits = index.search_music(query, k=3, mode="hybrid")
    assert len(hits) == 3 and all(hit.melody_score is None for hit in hits)


@pytest.mark.parametrize("query", ["K:D\n", "L:1/8\nK:D\nz6|z6|"])
def test_a_query_with_no_notes_is_an_abc_error_in_every_mode(index, query):
    for mode in ("hybrid", "melody", "content"):
        with pytest.raises(ms.ABCError, match="no notes"):
            index.search_music(query, mode=mode)


def test_a_chord_only_fragment_is_searched_by_its_top_notes(index):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hits = index.search_music("L:1/8\nK:D\n[DFA]3 [EGB]3|[DFA]3 [CEA]3|", k=2, mode="melody")
    assert all(hit.melody_score is not None for hit in hits)


def test_the_melody_index_is_saved_in_the_same_version_and_loaded_without_rebuilding(index, records, tmp_path):
    folder = index.save(tmp_path / "idx")
    version = artifacts.current_version(folder, "index")
    manifest = json.loads((version / "manifest.json").read_text())
    assert (version / "melody.npz").is_file() and "melody.npz" in manifest["files"]
    loaded = ms.load_index(folder, model=FakeModel())
    assert loaded._melody_index is not None and loaded.melody_index.ids == [r.id for r in records]
    assert [h.id for h in loaded.search_music(fragment(5, 3), k=3)] == [h.id for h in index.search_music(fragment(5, 3), k=3)]
    (version / "melody.npz").write_bytes(b"not an index")
    with pytest.raises(ms.ArtifactError, match="melody.npz"):
        ms.load_index(folder)


def test_an_index_saved_without_a_melody_index_builds_one_once(index, records, tmp_path):
    older = ms.SearchIndex.from_embeddings(index.embeddings(), records, fingerprint=index.fingerprint,
                                           metadata_vectors=index.metadata_vectors)
    folder = older.save(tmp_path / "idx")
    assert not (artifacts.current_version(folder, "index") / "melody.npz").exists()
    loaded = ms.load_index(folder, model=FakeModel())
    assert loaded._melody_index is None
    assert loaded.search_music(fragment(9, 0), k=1)[0].id == "melodies/tune09.abc#1"
    built = loaded.melody_index
    loaded.search_music(fragment(9, 1), k=1)
    assert loaded.melody_index is built  # cached in memory, not rebuilt per query


def test_hit_melody_fields_round_trip_through_json_and_text_hits_keep_their_shape(index):
    hit = index.search_music(fragment(0, 2), k=1)[0]
    payload = json.loads(json.dumps(hit.to_dict(abc=False)))
    assert payload["bar_span"] == [2, 3] and payload["also_in"] == ["melodies/copy.abc#1"]
    back = ms.Hit.of(payload)
    assert (back.bar_span, back.query_bar_span, back.also_in, back.melody_score) == (
        hit.bar_span, hit.query_bar_span, hit.also_in, hit.melody_score)
    text_hit = index.search("a jig", k=1)[0]
    assert not {"bar_span", "query_bar_span", "also_in", "melody_score"} & set(text_hit.to_dict())
    assert describe_match(text_hit) == "" and ms.Hit.of(text_hit.to_dict()).bar_span is None


def test_tuning_the_fusion_ranks_the_grid_by_mrr_on_fragments(index):
    from musicsearch.search.music_query import tune_melody_fusion

    queries = [(fragment(number, 2), f"melodies/tune{number:02d}.abc#1") for number in (1, 2, 4)]
    queries.append(("L:1/8\nK:D\nd4|", "melodies/tune05.abc#1"))  # refused by the melody: content only
    best, table = tune_melody_fusion(index, queries, thresholds=(0.0, 0.5, 2.0), weights=(0.0, 0.1))
    assert len(table) == 6 and table == sorted(table, key=lambda row: -row["mrr"])
    assert best.threshold < 2.0 and table[0]["mrr"] >= 0.75  # three of four found first by their melody
    assert max(row["mrr"] for row in table if row["threshold"] == 2.0) < table[0]["mrr"]
