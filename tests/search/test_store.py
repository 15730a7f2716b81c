"""The index folder's files beside the faiss index: the melody index read on first use, its duplicate groups
stored so text search never reads it, and records read back as written."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import musicsearch as ms
from musicsearch.search import store
from musicsearch.search.store import StoredMelodyIndex
from tests.helpers.search import FakeModel, make_records


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    records = make_records()
    model = FakeModel()
    index = ms.SearchIndex.from_embeddings(model.encode_music(records), records, model=model,
                                          metadata_vectors=model.encode_text([r.abc for r in records]))
    groups = index.melody_index.groups.copy()  # built now, so save() stores it and its groups
    folder = index.save(tmp_path_factory.mktemp("store") / "idx")
    return folder, index, groups


def test_the_melody_index_is_parsed_on_first_use_and_its_groups_never_need_it(saved):
    folder, index, groups = saved
    version = ms.artifacts.current_version(folder, "index")
    assert (version / store.GROUPS_FILE).is_file()
    loaded = ms.load_index(folder, model=FakeModel())
    melody = loaded._melody_index
    assert isinstance(melody, StoredMelodyIndex) and melody._index is None
    np.testing.assert_array_equal(melody.groups, groups)
    loaded.search("The Kesh", k=3, mode="hybrid")  # text search folds duplicates by the stored groups
    assert melody._index is None
    assert melody.ids == [r.id for r in index.records]  # anything else parses it, once
    assert melody._index is not None and len(melody) == len(index)


def test_resaving_a_loaded_index_keeps_its_melody_bytes_without_parsing(saved, tmp_path):
    folder, _, _ = saved
    loaded = ms.load_index(folder, model=FakeModel())
    again = loaded.save(tmp_path / "again")
    assert loaded._melody_index._index is None
    old = (ms.artifacts.current_version(folder, "index") / store.MELODY_FILE).read_bytes()
    assert (ms.artifacts.current_version(again, "index") / store.MELODY_FILE).read_bytes() == old


def test_groups_of_the_wrong_shape_are_an_artifact_error(saved, tmp_path):
    import shutil

    folder, _, _ = saved
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    version = ms.artifacts.current_version(copy, "index")
    np.save(version / store.GROUPS_FILE, np.zeros(3, dtype=np.int64))
    data = (version / store.GROUPS_FILE).read_bytes()
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"][store.GROUPS_FILE] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ms.ArtifactError, match="duplicates.npy"):
        ms.load_index(copy)


def test_records_round_trip_with_missing_fields_filled_and_not_shared():
    data = (json.dumps({"id": "a", "source": "a.abc"}) + "\n" + json.dumps({"id": "b", "source": "b.abc"}) + "\n")
    first, second = store.records_from_jsonl(data.encode(), store.Path("records.jsonl"))
    assert first.metadata == {} and first.metadata is not second.metadata
    again = store.records_from_jsonl(store.records_to_jsonl([first, second]).encode(), store.Path("records.jsonl"))
    assert again == [first, second]
