"""A diverged training run, end to end through the command line: it stops with a clear error and saves
nothing; evaluating a model whose embeddings are NaN prints an error, never a report.

Reproduces ``musicsearch train --preset tiny --corpus small.jsonl --out /tmp/d --set learning_rate=1e12``,
which once saved NaN weights and reported MRR 2.000 (seconds, tiny preset).
"""

from __future__ import annotations

import json

import pytest
import torch

from musicsearch.cli import main
from musicsearch.data.corpus_io import load_corpus
from musicsearch.training.loop import train
from tests.helpers.model import tiny_corpus


@pytest.fixture
def small_jsonl(tmp_path, monkeypatch):
    """A table of about 50 tunes with titles and rhythms, as a user would write one."""
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))
    path = tmp_path / "small.jsonl"
    rows = [{"abc": record.abc, "title": record.metadata["title"], "rhythm": record.metadata["rhythm"]}
            for record in tiny_corpus()]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_train_with_an_absurd_learning_rate_stops_and_saves_nothing(small_jsonl, tmp_path, capsys):
    out = tmp_path / "d"
    code = main(["train", "--preset", "tiny", "--corpus", str(small_jsonl), "--out", str(out),
                 "--set", "learning_rate=1e12", "--quiet"])
    captured = capsys.readouterr()
    assert code == 2
    assert "musicsearch train: error: contrastive training diverged at step" in captured.err
    assert "the loss is nan" in captured.err and "Try a lower learning rate" in captured.err
    assert "No model was saved" in captured.err and "Traceback" not in captured.err
    assert "MRR" not in captured.out  # no evaluation table of a diverged model
    assert not out.exists() or not any(path.is_file() for path in out.rglob("*"))


def test_eval_of_a_model_with_nan_embeddings_prints_the_error_and_no_report(small_jsonl, tmp_path, capsys):
    # Finite weights blown up by 1e30 overflow in the forward pass: every music embedding is NaN, as with a
    # model saved before training checked for divergence.
    model, _ = train("tiny", load_corpus(str(small_jsonl), progress=False), progress=False, max_steps=1)
    with torch.no_grad():
        for parameter in model.music_encoder.parameters():
            parameter.mul_(1e30)
    model.save_pretrained(tmp_path / "nan-model")
    report = tmp_path / "report.json"
    code = main(["eval", "--model", str(tmp_path / "nan-model"), "--corpus", str(small_jsonl), "--quiet",
                 "--output", str(report)])
    captured = capsys.readouterr()
    assert code == 2
    assert "musicsearch eval: error: the model's music embeddings of the evaluated tunes hold non-finite" \
        in captured.err
    assert captured.out == "" and not report.exists()
