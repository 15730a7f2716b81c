"""`musicsearch train --init MODEL --corpus TABLE --out DIR`: a fine-tune with its before/after report."""

from __future__ import annotations

import json

import pytest

from musicsearch.cli import main
from musicsearch.training.loop import train
from tests.helpers.model import TUNES, tiny_corpus

STEPS = ["--set", "max_steps=2", "--set", "batch_size=8", "--set", "eval_every=0"]


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))


def _table(tmp_path, with_text: bool = True):
    rows = []
    for index in range(6):
        for position, (name, (abc, metadata)) in enumerate(TUNES.items()):
            bar = "abcdefg"[index % 7] + "ABCDEFG"[(index + position) % 7] + "2|"
            row = {"abc": f"X:1\n{abc}{bar}", **metadata}
            if with_text:
                row["description"] = f"the {name} my grandmother played, version {index}"
            rows.append(row)
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows))
    return path


def _init(tmp_path):
    folder = tmp_path / "init"
    train("tiny", tiny_corpus(), out=folder, progress=False, max_steps=2, batch_size=8, eval_every=0)
    return folder


def test_train_init_fine_tunes_and_prints_before_and_after(tmp_path, capsys):
    init, out = _init(tmp_path), tmp_path / "tuned"
    assert main(["train", "--preset", "tiny", "--init", str(init), "--corpus", str(_table(tmp_path)),
                 "--out", str(out), "--quiet", *STEPS]) == 0
    printed = capsys.readouterr().out
    assert "fine-tuned" in printed and "their own texts" in printed and "->" in printed
    report = json.loads((out / "finetune.json").read_text())
    assert report["init"] == str(init) and report["heldout_tunes"] >= 2
    assert json.loads((out / "eval.json").read_text())["training"]["finetune"]["change"] == report["change"]


def test_train_init_with_a_conflicting_setting_names_both_values(tmp_path, capsys):
    init = _init(tmp_path)
    code = main(["train", "--init", str(init), "--corpus", str(_table(tmp_path)), "--out", str(tmp_path / "o"),
                 "--quiet", "--set", "embed_dim=64", *STEPS])
    error = capsys.readouterr().err
    assert code != 0 and "embed_dim=64 was asked, the init model has embed_dim=32" in error


def test_train_init_with_a_missing_folder_says_what_to_pass(tmp_path, capsys):
    code = main(["train", "--init", str(tmp_path / "nowhere"), "--corpus", str(_table(tmp_path)),
                 "--out", str(tmp_path / "o"), "--quiet", *STEPS])
    error = capsys.readouterr().err
    assert code != 0 and "no such folder" in error and "--init default" in error
