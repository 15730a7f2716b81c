"""Which encoder a search uses: ONNX when its export is usable, PyTorch otherwise (with a warning and a
rebuild when the export is stale or damaged), and the same hits either way."""

from __future__ import annotations

import json
import shutil
import warnings

import pytest

import musicsearch as ms
from musicsearch.models import onnx_runtime
from musicsearch.models.onnx_runtime import OnnxModel, onnx_dir
from musicsearch.search.query_encoder import ONNX_VARIABLE, load_query_encoder, prepare_query_encoder
from tests.helpers.model import tiny_corpus

QUERIES = ["a reel in D", "a slow air in A minor", "a jig", "hornpipe in A", "Tune 4"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny saved model (no export yet) and an index built with it."""
    import torch

    from musicsearch.models.loading import load_model
    from musicsearch.models.model import MusicTextModel

    root = tmp_path_factory.mktemp("query_encoder")
    torch.manual_seed(0)
    MusicTextModel("tiny", seed=3).save_pretrained(root / "model")
    model = load_model(root / "model")
    index = ms.SearchIndex.build(model, tiny_corpus(), progress=False)
    index.model_dir = str(root / "model")
    index.save(root / "index")
    return root, model


def _is_torch(encoder):
    return not isinstance(encoder, OnnxModel)


def test_first_load_falls_back_to_pytorch_and_exports_then_onnx_is_used(saved, capsys):
    root, _ = saved
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing export is not a problem worth a warning
        first = load_query_encoder(root / "model")
    assert _is_torch(first)
    assert "exporting the query encoders" in capsys.readouterr().err
    second = load_query_encoder(root / "model")
    assert isinstance(second, OnnxModel) and second.fingerprint == first.fingerprint


def test_a_loaded_index_searches_with_onnx_and_finds_what_pytorch_finds(saved):
    root, model = saved
    prepare_query_encoder(model, root / "model")
    fast = ms.load_index(root / "index")
    assert isinstance(fast.model, OnnxModel)  # lazily loaded, the index's fingerprint check held
    slow = ms.load_index(root / "index", model=model)
    for mode in ("content", "hybrid"):
        assert [[h.id for h in hits] for hits in fast.search_batch(QUERIES, k=10, mode=mode)] == \
               [[h.id for h in hits] for hits in slow.search_batch(QUERIES, k=10, mode=mode)]
    like = tiny_corpus()[0].abc
    assert [h.id for h in fast.search_music(like, k=5, mode="content")] == \
           [h.id for h in slow.search_music(like, k=5, mode="content")]


def test_the_environment_variable_forces_pytorch(saved, monkeypatch):
    root, model = saved
    prepare_query_encoder(model, root / "model")
    monkeypatch.setenv(ONNX_VARIABLE, "0")
    assert _is_torch(load_query_encoder(root / "model"))
    assert prepare_query_encoder(model, root / "model") is None


def test_a_damaged_export_warns_falls_back_and_is_rebuilt(saved):
    root, model = saved
    prepare_query_encoder(model, root / "model")
    cache = onnx_dir(root / "model")
    version = ms.artifacts.current_version(cache, "model")
    text = version / "text.onnx"
    text.write_bytes(text.read_bytes()[:1000])
    with pytest.warns(UserWarning, match="truncated or modified.*searching with PyTorch"):
        encoder = load_query_encoder(root / "model")
    assert _is_torch(encoder)
    assert isinstance(load_query_encoder(root / "model"), OnnxModel)  # exported again


def test_a_stale_export_warns_and_is_rebuilt(saved):
    root, model = saved
    prepare_query_encoder(model, root / "model")
    version = ms.artifacts.current_version(onnx_dir(root / "model"), "model")
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["fingerprint"] = "0123456789ab"
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.warns(UserWarning, match="stale export"):
        assert _is_torch(load_query_encoder(root / "model"))
    assert isinstance(load_query_encoder(root / "model"), OnnxModel)


def test_missing_onnxruntime_warns_and_uses_pytorch_without_exporting(saved, monkeypatch):
    root, _ = saved

    def absent(name):
        raise onnx_runtime.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(onnx_runtime.metadata, "version", absent)
    with pytest.warns(UserWarning, match="onnxruntime is not installed"):
        assert _is_torch(load_query_encoder(root / "model"))


def test_a_failed_export_leaves_pytorch_in_use_with_a_warning(saved, monkeypatch):
    from musicsearch.models import onnx_export

    root, _ = saved
    shutil.rmtree(onnx_dir(root / "model"), ignore_errors=True)

    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(onnx_export, "export_onnx", broken)
    with pytest.warns(UserWarning, match="exporting the query encoder to ONNX failed"):
        assert _is_torch(load_query_encoder(root / "model"))


def test_a_missing_model_is_reported_as_before(tmp_path):
    with pytest.raises(ms.ArtifactError, match="no model"):
        load_query_encoder(tmp_path / "nowhere")
