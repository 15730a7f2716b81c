"""The text head: a linear map by default (older folders read as before), an MLP when configured."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from musicsearch.artifacts.schema import ConfigFieldError
from musicsearch.models.config import PRESETS, get_model_config, read_saved_config
from musicsearch.models.loading import load_model
from musicsearch.models.model import MusicTextModel
from musicsearch.models.text_head import build_text_head, last_linear
from tests.helpers.model import tiny_corpus


def test_no_hidden_layer_is_one_linear_map_and_hidden_layers_are_gelu_mlps():
    linear = build_text_head(12, 8, hidden_layers=0, width=99)
    assert type(linear) is nn.Linear and last_linear(linear) is linear
    mlp = build_text_head(12, 8, hidden_layers=2, width=20)
    assert [type(layer).__name__ for layer in mlp] == ["Linear", "GELU", "Linear", "GELU", "Linear"]
    assert mlp(torch.zeros(3, 12)).shape == (3, 8) and last_linear(mlp).in_features == 20
    with pytest.raises(ValueError, match="hidden_layers"):
        build_text_head(12, 8, hidden_layers=-1, width=20)


def test_a_linear_head_keeps_the_saved_names_and_starts_small():
    model = MusicTextModel("tiny", seed=3)
    names = {name for name in model.state_dict() if name.startswith("text_proj.")}
    assert names == {"text_proj.weight", "text_proj.bias"}
    assert float(model.text_proj.weight.detach().std()) == pytest.approx(0.02, rel=0.2)
    assert float(model.text_proj.bias.detach().abs().max()) == 0.0


def test_an_mlp_head_starts_its_last_layer_small_and_same_seed_gives_same_weights():
    config = get_model_config("tiny", text_head_layers=2, text_head_width=24)
    first, second = MusicTextModel(config, seed=1), MusicTextModel(config, seed=1)
    assert float(first.text_proj[-1].weight.detach().std()) == pytest.approx(0.02, rel=0.2)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name
    assert not torch.equal(MusicTextModel(config, seed=2).text_proj[0].weight, first.text_proj[0].weight)


def test_a_config_saved_before_heads_existed_reads_as_a_linear_head():
    saved = PRESETS["quick"].to_dict()
    for name in ("text_head_layers", "text_head_width"):
        saved.pop(name)
    config, _ = read_saved_config({"architecture": saved, "training": {}}, source="old/config.json")
    assert config.text_head_layers == 0


def test_the_static_text_tower_refuses_a_hidden_layer_by_name():
    with pytest.raises(ConfigFieldError, match="text_head_layers"):
        get_model_config("quick-static", text_head_layers=1)
    with pytest.raises(ConfigFieldError, match="text_head_width"):
        get_model_config("tiny", text_head_width=0)


def test_an_mlp_head_survives_saving_loading_and_the_onnx_export(tmp_path):
    pytest.importorskip("onnxruntime")
    from musicsearch.models.onnx_export import export_onnx
    from musicsearch.models.onnx_runtime import load_onnx_model

    folder = tmp_path / "model"
    model = MusicTextModel(get_model_config("tiny", text_head_layers=2, text_head_width=16), seed=0)
    with torch.no_grad():  # the last layer starts near zero; give it weights whose errors would show
        model.text_proj[-1].weight.normal_(0, 0.5)
    model.save_pretrained(folder)
    loaded = load_model(folder)
    assert loaded.config.text_head_layers == 2
    texts = ["a reel in D", "a slow air in A minor", "hornpipe"]
    assert np.array_equal(loaded.encode_text(texts), model.encode_text(texts))
    export_onnx(loaded, folder, quiet=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx = load_onnx_model(folder)
        cosine = np.sum(onnx.encode_text(texts) * loaded.encode_text(texts), axis=1)
    assert cosine.min() >= 0.999
    tunes = list(tiny_corpus(copies=1))
    assert loaded.encode_music(tunes).shape == (len(tunes), loaded.dim)


def test_folders_saved_before_heads_existed_keep_their_fingerprint(tmp_path):
    import json

    model = MusicTextModel("tiny", seed=4)
    folder = model.save_pretrained(tmp_path / "model")
    from musicsearch.artifacts import current_version

    version = current_version(folder, "model")
    config_file = version / "config.json"
    payload = json.loads(config_file.read_text())
    for name in ("text_head_layers", "text_head_width"):  # as a folder written before the fields existed
        payload["config"]["architecture"].pop(name)
    config_file.write_text(json.dumps(payload))
    assert load_model(folder).fingerprint == payload["fingerprint"] == model.fingerprint
    # An MLP head is part of the identity: same weights elsewhere, another fingerprint.
    assert MusicTextModel(get_model_config("tiny", text_head_layers=1), seed=4).fingerprint != model.fingerprint
