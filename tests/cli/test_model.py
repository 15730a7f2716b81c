"""``musicsearch model`` (``make model``): which model is the default, choosing one, the default index."""

from __future__ import annotations

import json

import torch

import musicsearch as ms
from musicsearch import paths
from musicsearch.artifacts import current_version
from musicsearch.cli import main
from musicsearch.models.model import MusicTextModel
from musicsearch.search import default_index
from tests.helpers.search import make_records


def test_use_which_build_and_search_with_the_defaults(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MUSICSEARCH_MODEL", raising=False)
    table = tmp_path / "tunes.jsonl"
    table.write_text("".join(json.dumps({"abc": r.abc, "title": r.metadata["title"]}) + "\n" for r in make_records()))
    monkeypatch.setattr(default_index, "DEFAULT_SOURCE", str(table))

    assert main(["model", "which", "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["model_dir"] == str(paths.released_model_dir()) and "released" in state["why"]

    torch.manual_seed(0)
    model_dir = MusicTextModel("tiny").save_pretrained(tmp_path / "model")
    assert main(["model", "use", str(model_dir)]) == 0
    assert main(["model", "which"]) == 0
    out = capsys.readouterr().out
    assert str(model_dir.resolve()) in out and "chosen with `musicsearch model use`" in out
    assert "built on first use: no default index yet" in out

    assert main(["model", "build"]) == 0
    out = capsys.readouterr().out
    assert f"{len(make_records())} tunes" in out and ms.load_model(model_dir).fingerprint in out
    version = current_version(ms.default_index_dir(), "index")
    assert main(["search", "a reel in D", "-k", "3", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["hits"]) == 3
    assert main(["model", "build"]) == 0  # fresh: nothing rebuilt
    assert current_version(ms.default_index_dir(), "index") == version

    assert main(["model", "use", "released"]) == 0
    assert ms.default_model_dir() == paths.released_model_dir()


def test_use_refuses_a_folder_without_a_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))
    assert main(["model", "use", str(tmp_path / "typo")]) == 2
    assert "no model at" in capsys.readouterr().err
    assert ms.default_model_dir() == paths.released_model_dir()
