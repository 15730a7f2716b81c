"""Whole-model conversion: layer selection, structure, save/load, the music model, a real task, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

import musicsearch as ms
from musicsearch import artifacts
from musicsearch.cli import main
from musicsearch.errors import ArtifactError
from musicsearch.lut.bench import torch_threads
from musicsearch.lut.convert import convert, replace_linear, select_linear_layers
from musicsearch.lut.layer import LUTError, LUTLinear
from musicsearch.models.lut_model import convert_music_model, load_lut_model, save_lut_model
from musicsearch.studies.lut_tasks import digits_task, mlp_classifier, task_accuracy, train_classifier
from tests.helpers.model import tiny_corpus


def _mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 3))


def test_selection_keeps_first_and_last_and_follows_patterns():
    model = _mlp()
    assert select_linear_layers(model) == ["2", "4"]
    assert select_linear_layers(model, keep_first_last=False) == ["0", "2", "4", "6"]
    assert select_linear_layers(model, include_modules=["4"]) == ["4"]
    assert select_linear_layers(model, exclude=["2"]) == ["4"]


def test_replace_linear_copies_weights_and_swaps_in_place():
    model = _mlp()
    weight = model[2].weight.detach().clone()
    names = replace_linear(model, LUTLinear, k=8, v=8)
    assert names == ["2", "4"]
    assert isinstance(model[2], LUTLinear) and type(model[0]) is nn.Linear and type(model[6]) is nn.Linear
    assert torch.equal(model[2].weight, weight)


def test_replace_linear_refuses_indivisible_layers_without_touching_the_model():
    model = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 12), nn.Linear(12, 10), nn.Linear(10, 2))
    with pytest.raises(LUTError, match="2: input dimension 12"):
        replace_linear(model, LUTLinear, v=8)
    assert all(type(layer) is nn.Linear for layer in model)


def test_convert_keeps_structure_and_leaves_original_alone():
    model = _mlp()
    x = torch.randn(300, 8)
    before = model(x).detach()
    converted = convert(model, x, k=16, v=8)
    assert [name for name, _ in converted.named_children()] == [name for name, _ in model.named_children()]
    assert [type(m).__name__ for m in converted] == ["Linear", "ReLU", "LUTLinear", "ReLU", "LUTLinear", "ReLU",
                                                     "Linear"]
    assert all(layer.frozen for layer in converted if isinstance(layer, LUTLinear))
    assert torch.equal(model(x), before)  # the dense model is untouched
    assert converted(x).shape == before.shape


def test_converted_model_round_trips_save_and_load(tmp_path):
    model = _mlp()
    x = torch.randn(300, 8)
    converted = convert(model, x, k=8, v=4, table_dtype="int8", scale="tensor")
    save_lut_model(converted, tmp_path / "lut")
    loaded = load_lut_model(tmp_path / "lut", _mlp(seed=1))
    assert [type(m).__name__ for m in loaded] == [type(m).__name__ for m in converted]
    assert torch.equal(loaded(x), converted(x))
    config = json.loads((artifacts.current_version(tmp_path / "lut", "model") / "config.json").read_text())
    assert config["lut_layers"]["2"]["k"] == 8 and config["lut_layers"]["2"]["frozen"] is True


def test_loading_errors_are_clear(tmp_path):
    converted = convert(_mlp(), torch.randn(100, 8), k=8, v=8)
    save_lut_model(converted, tmp_path / "lut")
    with pytest.raises(ArtifactError, match="pass model="):
        load_lut_model(tmp_path / "lut")
    wrong = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16))
    with pytest.raises(ArtifactError):
        load_lut_model(tmp_path / "lut", wrong)
    (artifacts.current_version(tmp_path / "lut", "model") / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ArtifactError, match="corrupted"):
        load_lut_model(tmp_path / "lut", _mlp())
    (tmp_path / "dense").mkdir()
    ms_config = {"kind": "lut-model", "format_version": 1, "config": {}}
    (tmp_path / "dense" / "config.json").write_text(json.dumps(ms_config))
    with pytest.raises(ArtifactError, match="lists no lookup-table layers"):
        load_lut_model(tmp_path / "dense", _mlp())


def test_real_task_accuracy_survives_conversion():
    task = digits_task()
    model = mlp_classifier(64, 10, hidden=128, depth=3)
    with torch_threads(1):  # tiny matrices: one thread avoids oversubscribing a busy machine
        train_classifier(model, task, "mlp", epochs=4)
        dense = task_accuracy(model, task, "mlp")
        converted = convert(model, task.features_train, k=16, v=4, finetune_epochs=2, loss="kl")
    assert dense > 85
    assert task_accuracy(converted, task, "mlp") > dense - 5


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny_model")
    ms.MusicTextModel("tiny").save_pretrained(directory)
    return directory


def test_music_model_converts_saves_and_loads(tiny_model_dir, tmp_path):
    model = ms.load_model(tiny_model_dir)
    tunes = list(tiny_corpus())
    converted = convert_music_model(model, tunes, k=8, v=8, finetune_epochs=1)
    assert isinstance(converted.music_encoder.blocks[0].qkv, LUTLinear)
    assert type(model.music_encoder.blocks[0].qkv) is nn.Linear  # the original is untouched
    dense, lut = model.encode_music(tunes), converted.encode_music(tunes)
    assert lut.shape == dense.shape
    assert float((dense * lut).sum(1).mean()) > 0.9  # normalised embeddings stay close to the dense ones
    save_lut_model(converted, tmp_path / "lut")
    loaded = load_lut_model(tmp_path / "lut")
    assert np.allclose(loaded.encode_music(tunes), lut, atol=1e-5)
    assert np.allclose(loaded.encode_text(["a jig"]), model.encode_text(["a jig"]), atol=1e-5)
    # ms.load_model recognises a converted folder, so search and the CLI take it like any model
    through_load_model = ms.load_model(tmp_path / "lut")
    assert isinstance(through_load_model.music_encoder.blocks[0].qkv, LUTLinear)
    assert np.allclose(through_load_model.encode_music(tunes), lut, atol=1e-5)


def test_cli_bench_json_and_convert(tiny_model_dir, tmp_path, capsys):
    assert main(["lut", "bench", "--shapes", "16x32", "--batch-sizes", "1,2", "--repeats", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["batch"] for row in rows] == [1, 2] and rows[0]["shape"] == "16x32"
    from musicsearch.data.corpus_store import save_corpus

    save_corpus(tiny_corpus(), tmp_path / "corpus")
    assert main(["lut", "convert", "--model", str(tiny_model_dir), "--out", str(tmp_path / "lut"),
                 "--k", "8", "--v", "8", "--corpus", str(tmp_path / "corpus"), "--finetune-epochs", "0"]) == 0
    assert "written to" in capsys.readouterr().out
    assert isinstance(load_lut_model(tmp_path / "lut").music_encoder.blocks[0].fc1, LUTLinear)
    assert main(["lut", "convert", "--model", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    with pytest.raises(SystemExit):
        main(["lut", "bench", "--shapes", "16by32"])
