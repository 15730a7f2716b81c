"""The default index on demand: built once for the default model, rebuilt when the model or corpus changes."""

from __future__ import annotations

import json

import pytest
import torch

import musicsearch as ms
from musicsearch import paths
from musicsearch.artifacts import current_version
from musicsearch.models.loading import use_model
from musicsearch.models.model import MusicTextModel
from musicsearch.search import default_index
from tests.helpers.search import make_records


@pytest.fixture
def default_setup(tmp_path, monkeypatch):
    """An isolated home, a tiny model chosen as the default, and a small table as the default corpus."""
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MUSICSEARCH_MODEL", raising=False)
    table = tmp_path / "tunes.jsonl"
    table.write_text("".join(json.dumps({"abc": r.abc, "title": r.metadata["title"]}) + "\n" for r in make_records()))
    monkeypatch.setattr(default_index, "DEFAULT_SOURCE", str(table))
    torch.manual_seed(0)
    model_dir = MusicTextModel("tiny").save_pretrained(tmp_path / "model")
    use_model(model_dir)
    return tmp_path, table, model_dir


def test_built_on_first_use_then_reused(default_setup, capsys):
    tmp_path, _, model_dir = default_setup
    state = default_index.default_index_state()
    assert not state["fresh"] and state["reason"] == "no default index yet"
    assert state["model_fingerprint"] == ms.load_model(model_dir).fingerprint

    index = ms.load_index(progress=True)
    assert "building the default index (no default index yet)" in capsys.readouterr().out
    assert len(index) == len(make_records()) and index.search("a jig", k=3)
    version = current_version(ms.default_index_dir(), "index")
    assert default_index.default_index_state()["fresh"]
    ms.load_index(progress=True)
    assert "building" not in capsys.readouterr().out
    assert current_version(ms.default_index_dir(), "index") == version  # not rebuilt


def test_rebuilt_when_the_default_model_or_the_corpus_changes(default_setup):
    tmp_path, table, _ = default_setup
    first = ms.load_index(progress=False)
    other = MusicTextModel("tiny", seed=1).save_pretrained(tmp_path / "other")
    use_model(other)
    state = default_index.default_index_state()
    assert not state["fresh"] and "the default model is" in state["reason"]
    second = ms.load_index(progress=False)
    assert second.fingerprint != first.fingerprint == ms.load_model(tmp_path / "model").fingerprint

    table.write_text(table.read_text() + json.dumps({"abc": "L:1/8\nM:4/4\nK:G\nGABc dedB|", "title": "New"}) + "\n")
    assert "corpus" in default_index.default_index_state()["reason"]
    assert len(ms.load_index(progress=False)) == len(make_records()) + 1


def test_an_index_of_your_own_corpus_is_kept_not_replaced(default_setup, capsys):
    tmp_path, _, model_dir = default_setup
    records = make_records()[:10]
    ms.save_corpus(ms.Corpus(records, "mine"), tmp_path / "mine")
    mine = ms.load_corpus(tmp_path / "mine")
    ms.SearchIndex.build(ms.load_model(model_dir), mine, progress=False).save(ms.default_index_dir())
    assert len(ms.load_index(progress=False)) == 10  # kept: same model, your corpus
    use_model(MusicTextModel("tiny", seed=2).save_pretrained(tmp_path / "other"))
    with pytest.raises(ms.ArtifactError, match="musicsearch index --corpus"):
        ms.load_index(progress=False)


def test_use_model_refuses_a_folder_without_a_model_and_returns_to_released(default_setup):
    tmp_path, _, model_dir = default_setup
    with pytest.raises(ms.ArtifactError, match="no model"):
        use_model(tmp_path / "nothing")
    assert ms.default_model_dir() == model_dir.resolve()
    assert use_model("released") == paths.released_model_dir()


def test_the_environment_variable_wins(default_setup, monkeypatch):
    tmp_path, _, _ = default_setup
    monkeypatch.setenv("MUSICSEARCH_MODEL", str(tmp_path / "elsewhere"))
    assert ms.default_model_dir() == tmp_path / "elsewhere"
    with pytest.raises(ms.ArtifactError, match="MUSICSEARCH_MODEL environment variable"):
        ms.load_model()
