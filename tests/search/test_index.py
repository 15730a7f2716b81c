"""SearchIndex: flat, IVF and HNSW agree; save/load round-trips; bad input gives clear errors."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

import musicsearch as ms
from musicsearch import artifacts
from musicsearch.evaluation.ann import recall_at_k, synthetic_embeddings
from musicsearch.search import ann
from musicsearch.search.queries import MAX_QUERY_CHARS
from tests.helpers.search import FakeModel, make_records

KINDS = ["flat", "ivf", "hnsw"]


@pytest.fixture(scope="module")
def records():
    return make_records()


@pytest.fixture(scope="module")
def model():
    return FakeModel()


@pytest.fixture(scope="module")
def flat_index(model, records):
    return ms.SearchIndex.build(model, records, progress=False)


@pytest.mark.parametrize("kind", KINDS)
def test_text_search_ranks_matching_tunes_first(kind, model, records):
    index = ms.SearchIndex.build(model, records, kind=kind, progress=False)
    hits = index.search("a jig in D major", k=5)
    assert [hit.rank for hit in hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert hits[0].metadata["meter"] == "6/8" and hits[0].metadata["key"] == "D"
    first = hits[0]
    record = next(r for r in records if r.id == first.id)
    assert (first.source, first.ref, first.collection, first.title, first.abc) == (
        record.source, record.ref, record.collection, record.metadata["title"], record.abc)


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_kinds_agree_with_exact(kind):
    data = synthetic_embeddings(3050, 32, seed=0)
    vectors, queries = data[:3000], data[3000:]
    exact = ann.build_faiss(vectors, "flat")
    approximate = ann.build_faiss(vectors, kind)
    _, exact_ids = ann.search_faiss(exact, queries, 10)
    _, approximate_ids = ann.search_faiss(approximate, queries, 10)
    assert recall_at_k(approximate_ids, exact_ids, 10) >= 0.9


@pytest.mark.parametrize("kind", KINDS)
def test_each_stored_vector_finds_itself(kind, records):
    vectors = synthetic_embeddings(len(records), 16, seed=1)
    index = ms.SearchIndex.from_embeddings(vectors, records, kind=kind, fingerprint="x")
    results = index.search_vectors(vectors, k=1)
    assert [hits[0].id for hits in results] == [r.id for r in records]
    assert all(hits[0].score == pytest.approx(1.0, abs=1e-5) for hits in results)


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(kind, model, records, tmp_path):
    index = ms.SearchIndex.build(model, records, kind=kind, progress=False)
    index.save(tmp_path / "idx")
    manifest = json.loads((artifacts.current_version(tmp_path / "idx", "index") / "manifest.json").read_text())
    assert manifest["index_kind"] == kind and manifest["count"] == len(records)
    assert manifest["dim"] == model.dim and manifest["model_fingerprint"] == model.fingerprint
    assert len(manifest["corpus_hash"]) == 16
    loaded = ms.load_index(tmp_path / "idx", model=model)
    assert loaded.kind == kind and len(loaded) == len(records)
    assert isinstance(loaded.records[0], ms.Record) and loaded.records[0] == records[0]
    for query in ("a reel in E minor", "a waltz"):
        assert [h.to_dict() for h in loaded.search(query, k=4)] == [h.to_dict() for h in index.search(query, k=4)]


def test_metadata_with_unicode_line_separators_round_trips(records, tmp_path):
    # Real corpus metadata holds U+2028/U+0085/U+001C; they must not split a JSON line when reloading.
    import dataclasses

    odd = dataclasses.replace(records[0], metadata={**records[0].metadata, "notes": "a\u2028b\x85c\x1cd\re"})
    tunes = [odd] + list(records[1:])
    index = ms.SearchIndex.from_embeddings(synthetic_embeddings(len(tunes), 16, seed=2), tunes, fingerprint="x")
    index.save(tmp_path / "idx")
    loaded = ms.SearchIndex.load(tmp_path / "idx")
    assert len(loaded) == len(tunes) and loaded.records[0].metadata["notes"] == "a\u2028b\x85c\x1cd\re"


def test_save_replaces_an_earlier_index_and_leaves_no_temporary_folders(model, records, tmp_path):
    first = ms.SearchIndex.build(model, records[:10], progress=False)
    second = ms.SearchIndex.build(model, records, progress=False)
    first.save(tmp_path / "idx")
    second.save(tmp_path / "idx")
    assert len(ms.load_index(tmp_path / "idx", model=model)) == len(records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_save_refuses_to_overwrite_a_folder_that_is_not_an_index(flat_index, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ms.ArtifactError, match="not an index folder"):
        flat_index.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_index_folder_from_before_versions_loads_and_an_index_never_lands_in_a_model_folder(flat_index, tmp_path):
    from tests.helpers.faults import flatten_to_layout_before_versions

    # Folders written before versions predate melody search: they hold no melody index.
    before = ms.SearchIndex.from_embeddings(flat_index.embeddings(), flat_index.records,
                                            fingerprint=flat_index.fingerprint,
                                            metadata_vectors=flat_index.metadata_vectors)
    folder = before.save(tmp_path / "idx")
    flatten_to_layout_before_versions(folder)
    assert (folder / "manifest.json").is_file() and len(ms.load_index(folder)) == len(flat_index)
    flat_index.save(folder)  # migrated: the new version is published, the old files go with the next save
    assert artifacts.artifact_kind(folder) == "index" and len(ms.load_index(folder)) == len(flat_index)
    with artifacts.publish(tmp_path / "model", "model") as staging:
        (staging / "config.json").write_text("{}")
    with pytest.raises(ms.ArtifactError, match="holds a model, not an index"):
        flat_index.save(tmp_path / "model")
    with pytest.raises(ms.ArtifactError, match="holds a model, not an index"):
        ms.load_index(tmp_path / "model")


def test_loading_with_another_model_is_refused(flat_index, tmp_path):
    flat_index.save(tmp_path / "idx")
    with pytest.raises(ms.ArtifactError, match="built with model fake-model-1"):
        ms.load_index(tmp_path / "idx", model=FakeModel("another-model"))
    loaded = ms.load_index(tmp_path / "idx")
    with pytest.raises(ms.ArtifactError, match="another embedding space"):
        loaded.model = FakeModel("another-model")


def test_missing_index_folder_names_the_fix(tmp_path):
    with pytest.raises(ms.ArtifactError, match="no index at .*musicsearch index"):
        ms.load_index(tmp_path / "nowhere")


@pytest.mark.parametrize("damage", ["truncate-index", "edit-records", "bad-manifest", "drop-metadata",
                                    "wrong-kind", "newer-format"])
def test_corrupted_index_folder_raises_artifact_error(damage, flat_index, tmp_path):
    folder = artifacts.current_version(flat_index.save(tmp_path / "idx"), "index")
    if damage == "truncate-index":
        data = (folder / "index.faiss").read_bytes()
        (folder / "index.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "edit-records":
        text = (folder / "records.jsonl").read_text()
        (folder / "records.jsonl").write_text(text.replace("Kesh", "Kish"))
    elif damage == "bad-manifest":
        (folder / "manifest.json").write_text("{not json")
    elif damage == "drop-metadata":
        (folder / "metadata.npy").unlink()
    else:
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest.update({"kind": "something-else"} if damage == "wrong-kind" else {"format_version": 99})
        (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ms.ArtifactError):
        ms.load_index(folder.parent)


def test_corrupted_faiss_bytes_with_matching_checksum_still_give_artifact_error(flat_index, tmp_path):
    # Someone rewrote the file *and* its checksum: faiss itself must not crash the process.
    import hashlib

    folder = artifacts.current_version(flat_index.save(tmp_path / "idx"), "index")
    garbage = b"IxFI" + bytes(range(200))
    (folder / "index.faiss").write_bytes(garbage)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["index.faiss"] = {"sha256": hashlib.sha256(garbage).hexdigest(), "bytes": len(garbage)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ms.ArtifactError, match="not a readable faiss index"):
        ms.load_index(folder.parent)


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_a_query_error(flat_index, query):
    with pytest.raises(ms.QueryError, match="empty"):
        flat_index.search(query)


@pytest.mark.parametrize("query", [None, 3, ["a jig"]])
def test_non_text_query_is_a_query_error(flat_index, query):
    with pytest.raises(ms.QueryError, match="must be text"):
        flat_index.search(query)


@pytest.mark.parametrize("k", [0, -3, 2.5, "5", True])
def test_bad_k_is_a_query_error(flat_index, k):
    with pytest.raises(ms.QueryError, match="k must"):
        flat_index.search("a jig", k=k)


def test_k_larger_than_the_index_returns_every_tune(flat_index):
    hits = flat_index.search("a jig", k=10_000)
    assert len(hits) == len(flat_index) and len({hit.id for hit in hits}) == len(flat_index)


def test_over_long_query_is_truncated_with_a_warning(flat_index):
    with pytest.warns(UserWarning, match="truncated"):
        hits = flat_index.search("a jig in D " * 500, k=3)
    assert len(hits) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat_index.search("x" * MAX_QUERY_CHARS, k=1)


def test_unknown_mode_and_kind(flat_index, model, records):
    with pytest.raises(ms.QueryError, match="mode"):
        flat_index.search("a jig", mode="semantic")
    with pytest.raises(ms.QueryError, match="index kind"):
        ms.SearchIndex.build(model, records, kind="annoy", progress=False)


def test_bad_vectors_never_reach_faiss(flat_index, records):
    with pytest.raises(ms.QueryError, match="dimension"):
        flat_index.search_vectors(np.ones((1, 3), np.float32))
    with pytest.raises(ms.QueryError, match="NaN"):
        flat_index.search_vectors(np.full((1, flat_index.dim), np.nan, np.float32))
    with pytest.raises(ms.QueryError, match="non-empty"):
        flat_index.search_vectors(np.zeros((0, flat_index.dim), np.float32))
    with pytest.raises(ms.QueryError, match="one record per row"):
        ms.SearchIndex.from_embeddings(np.ones((3, 4), np.float32), records[:2])


def test_empty_corpus_is_a_corpus_error(model):
    with pytest.raises(ms.CorpusError, match="empty"):
        ms.SearchIndex.build(model, [], progress=False)


def test_query_by_example_leaves_out_the_query_tune(flat_index, records):
    query = records[0]
    # content: tunes that sound like the query (the melody modes find the same melody in any meter)
    hits = flat_index.search_music(query, k=3, mode="content")
    assert query.id not in [hit.id for hit in hits] and [hit.rank for hit in hits] == [1, 2, 3]
    assert hits[0].metadata["meter"] == query.metadata["meter"]
    for mode in ("content", "hybrid", "melody"):
        by_text = flat_index.search_music(query.abc, k=3, mode=mode)
        assert query.abc not in [hit.abc for hit in by_text]
        with_self = flat_index.search_music(query, k=3, include_self=True, mode=mode)
        assert with_self[0].id == query.id


def test_query_by_score_file(flat_index, records, tmp_path):
    path = tmp_path / "tune.abc"
    path.write_text("X:1\nT:Query\n" + records[2].abc + "\n")
    hits = flat_index.search_music(str(path), k=2, mode="content")
    assert len(hits) == 2 and hits[0].metadata["meter"] == "6/8"
    with pytest.raises(ms.QueryError, match="music query"):
        flat_index.search_music("   ")


def test_hit_to_dict_is_json_ready(flat_index):
    hit = flat_index.search("a waltz", k=1)[0]
    payload = json.loads(json.dumps(hit.to_dict(abc=False)))
    assert {"id", "source", "ref", "score", "title", "collection", "metadata", "rank"} <= set(payload)
    assert "abc" not in payload and "abc" in hit.to_dict()


def test_batch_search_encodes_once(records):
    model = FakeModel()
    index = ms.SearchIndex.build(model, records, progress=False)
    before = model.text_calls
    results = index.search_batch(["a jig", "a reel", "a waltz"], k=2)
    assert model.text_calls == before + 1 and [len(hits) for hits in results] == [2, 2, 2]


def test_set_search_params_on_ivf(records):
    vectors = synthetic_embeddings(2000, 16, seed=2)
    many = [records[i % len(records)] for i in range(2000)]
    index = ms.SearchIndex.from_embeddings(vectors, many, kind="ivf", fingerprint="x")
    index.set_search_params(nprobe=10_000)  # clamped to the number of cells: exhaustive, so exact
    exact = ms.SearchIndex.from_embeddings(vectors, many, fingerprint="x")
    a = [h.score for h in index.search_vectors(vectors[:5], k=5)[0]]
    b = [h.score for h in exact.search_vectors(vectors[:5], k=5)[0]]
    assert a == pytest.approx(b)


@pytest.mark.slow
def test_real_tiny_model_index_round_trip(small_corpus, tmp_path):
    import torch

    from musicsearch.models.model import MusicTextModel

    corpus = small_corpus

    torch.manual_seed(0)
    model = MusicTextModel("tiny")
    index = ms.SearchIndex.build(model, corpus, progress=False)
    assert index.dim == model.dim and len(index) == len(corpus)
    index.save(tmp_path / "idx")
    loaded = ms.load_index(tmp_path / "idx", model=model)
    assert [h.id for h in loaded.search("a reel", k=5)] == [h.id for h in index.search("a reel", k=5)]
    assert loaded.search("a reel", k=1)[0].score == pytest.approx(index.search("a reel", k=1)[0].score, abs=1e-5)
    other = MusicTextModel("tiny")
    with torch.no_grad():
        other.music_proj.weight.add_(1.0)
    with pytest.raises(ms.ArtifactError, match="built with model"):
        ms.load_index(tmp_path / "idx", model=other)
    shutil.rmtree(tmp_path / "idx")
