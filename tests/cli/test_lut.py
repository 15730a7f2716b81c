"""``musicsearch lut bench | convert``: the layer table, and converting a model's music or text encoder."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

import musicsearch as ms
from musicsearch.cli import main
from musicsearch.data import corpus_io
from musicsearch.lut.centroids import lut_layers
from musicsearch.models.lut_model import load_lut_model
from musicsearch.models.model import MusicTextModel
from tests.helpers.model import tiny_corpus


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    torch.manual_seed(0)
    return MusicTextModel("tiny").save_pretrained(tmp_path_factory.mktemp("lut-cli") / "model")


def test_bench_prints_the_fused_kernel_columns(capsys):
    assert main(["lut", "bench", "--shapes", "16x32", "--batch-sizes", "1", "--k", "8", "--v", "4",
                 "--repeats", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["lut_fused_us"] > 0 and rows[0]["lut_fused_gbs"] > 0


@pytest.mark.parametrize(("part", "layers"), [("text", "ffn"), ("text", "all"), ("music", "ffn")])
def test_convert_writes_a_loadable_model(part, layers, tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(corpus_io, "load_corpus", lambda *args, **kwargs: tiny_corpus())
    out = tmp_path / f"{part}-lut"
    assert main(["lut", "convert", "--model", str(tiny_model_dir), "--out", str(out), "--part", part,
                 "--layers", layers, "--k", "4", "--v", "4", "--finetune-epochs", "0", "--repeats", "2"]) == 0
    printed = capsys.readouterr().out
    model = load_lut_model(out)
    encoder = model.text_encoder.backbone if part == "text" else model.music_encoder
    assert lut_layers(encoder)
    if part == "text":
        assert "mean cosine" in printed and "x)" in printed
        assert model.encode_text(["a reel"]).shape == (1, model.dim)
    assert ms.artifact_exists(out, "model")


def test_convert_text_refuses_a_corpus_without_captions(tiny_model_dir, tmp_path, monkeypatch, capsys):
    bare = ms.Corpus([dataclasses.replace(record, captions=[], caption_parts=[]) for record in tiny_corpus()], "bare")
    monkeypatch.setattr(corpus_io, "load_corpus", lambda *args, **kwargs: bare)
    assert main(["lut", "convert", "--model", str(tiny_model_dir), "--out", str(tmp_path / "x"), "--part", "text"]) != 0
    assert "0 captioned tunes" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # refused before any work
