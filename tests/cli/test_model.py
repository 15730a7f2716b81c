"""``musicsearch model build`` (what ``make model`` runs): corpus → model → index, then nothing to redo."""

from __future__ import annotations

import json

import musicsearch as ms
from musicsearch.artifacts import current_version
from musicsearch.cli import main
from musicsearch.data.corpus import Corpus
from tests.helpers.search import make_records


def test_model_build_trains_indexes_and_then_reuses(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))
    ms.save_corpus(Corpus(make_records(), "handmade"), tmp_path / "corpus")
    assert main(["model", "build", "--source", str(tmp_path / "corpus"), "--preset", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "trained preset 'tiny'" in out and f"{len(make_records())} tunes" in out
    model_dir, index_dir = ms.default_model_dir(), ms.default_index_dir()
    assert ms.artifact_exists(model_dir, "model") and ms.artifact_exists(index_dir, "index")
    model_version = current_version(model_dir, "model")

    # The defaults are what `musicsearch search` uses with no --index/--model.
    assert main(["search", "a reel in D", "-k", "3", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["hits"]) == 3

    assert main(["model", "build", "--source", str(tmp_path / "corpus"), "--preset", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "exists; --force retrains" in out and "exists; --force rebuilds" in out
    assert current_version(model_dir, "model") == model_version  # not retrained: the same published version
