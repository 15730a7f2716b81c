"""Converting a MusicTextModel's text encoder to lookup tables: which layers, the copy, save/load, the report."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from musicsearch.lut.centroids import lut_layers
from musicsearch.lut.layer import LUTError
from musicsearch.models.config import MINILM, get_model_config
from musicsearch.models.lut_model import (
    compare_text_encoders,
    convert_text_model,
    load_lut_model,
    save_lut_model,
    text_batches,
)
from musicsearch.models.model import MusicTextModel

CAPTIONS = ["a reel in D major", "a slow air in A minor, in three-four time", "a jig in six-eight",
            "a hornpipe in A", "a German folk song in G major with a range of about an octave",
            "a march in two-four time", "a waltz", "a lively polka in D"] * 4


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return MusicTextModel("tiny").eval()


def _layer_names(model):
    return sorted(name for name in lut_layers(model.text_encoder.backbone))


def test_ffn_conversion_replaces_only_feed_forward_layers(tiny_model):
    converted = convert_text_model(tiny_model, CAPTIONS, k=4, v=4, layers="ffn")
    names = _layer_names(converted)
    assert names and all(name.endswith(("intermediate.dense", "output.dense")) for name in names)
    assert not any("attention" in name for name in names)
    # the original is untouched, the copy shares the music side
    assert not lut_layers(tiny_model.text_encoder.backbone)
    assert converted.music_encoder is tiny_model.music_encoder
    assert type(tiny_model.text_encoder.backbone.encoder.layer[0].intermediate.dense) is nn.Linear
    vectors = converted.encode_text(["a reel", "a slow air"])
    assert vectors.shape == (2, tiny_model.dim) and np.isfinite(vectors).all()


def test_all_conversion_includes_attention_and_stays_close(tiny_model):
    converted = convert_text_model(tiny_model, CAPTIONS, k=16, v=2, layers="all")
    names = _layer_names(converted)
    assert any("attention.self.query" in name for name in names) and len(names) == 6 * 2  # 6 linears x 2 layers
    report = compare_text_encoders(tiny_model, converted, CAPTIONS[:8], repeats=2)
    assert set(report) == {"dense_us", "lut_us", "speedup", "cosine", "tokens"}
    assert report["cosine"] > 0.5 and report["dense_us"] > 0 and report["lut_us"] > 0


def test_unknown_layer_set_is_refused(tiny_model):
    with pytest.raises(LUTError, match="layers must be one of"):
        convert_text_model(tiny_model, CAPTIONS, layers="attention")


def test_text_batches_sort_by_length_and_pad(tiny_model):
    batches = text_batches(tiny_model, ["a much longer caption than the others", "a reel"], batch_size=1)
    assert [b["input_ids"].shape[0] for b in batches] == [1, 1]
    assert batches[0]["input_ids"].shape[1] < batches[1]["input_ids"].shape[1]


def test_converted_text_model_saves_and_loads(tiny_model, tmp_path):
    converted = convert_text_model(tiny_model, CAPTIONS, k=4, v=4, layers="ffn")
    save_lut_model(converted, tmp_path / "text-lut")
    reloaded = load_lut_model(tmp_path / "text-lut")
    assert _layer_names(reloaded) == _layer_names(converted)
    texts = ["a reel in D", "a slow air"]
    assert np.allclose(reloaded.encode_text(texts), converted.encode_text(texts), atol=1e-5)
    assert reloaded.fingerprint == converted.fingerprint != tiny_model.fingerprint


@pytest.mark.slow
def test_frozen_minilm_tables_are_saved_with_the_model(tmp_path):
    # A frozen MiniLM is normally read from its package; converted, its tables must travel with the model.
    config = get_model_config("tiny", text_model=MINILM, text_mode="frozen")
    model = MusicTextModel(config).eval()
    converted = convert_text_model(model, CAPTIONS, k=4, v=8, layers="ffn", max_rows=512)
    save_lut_model(converted, tmp_path / "minilm-lut")
    reloaded = load_lut_model(tmp_path / "minilm-lut")
    texts = ["a slow air in a minor key"]
    assert np.allclose(reloaded.encode_text(texts), converted.encode_text(texts), atol=1e-5)
    assert not np.allclose(converted.encode_text(texts), model.encode_text(texts), atol=1e-3)
