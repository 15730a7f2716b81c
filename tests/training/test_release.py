"""The released model's packaging: float16 on disk when it changes nothing, reports beside, loads back."""

from __future__ import annotations

import pytest
import torch

import musicsearch as ms
from musicsearch import artifacts
from musicsearch.models.model import MusicTextModel
from musicsearch.training import release


@pytest.fixture(scope="module")
def trained_tiny(small_corpus, tmp_path_factory):
    model, _ = ms.train("tiny", small_corpus, progress=False, epochs=1)
    return model.save_pretrained(tmp_path_factory.mktemp("release") / "run")


def test_release_writes_half_weights_reports_and_loads_back(trained_tiny, small_corpus, tmp_path):
    out = tmp_path / "released"
    report = release.release_model(trained=trained_tiny, out=out, corpus=small_corpus, progress=False)
    version = artifacts.current_version(out, "model")
    assert sorted(path.name for path in version.iterdir() if not path.name.startswith(".")) == [
        "config.json", "eval.json", "model.safetensors", "training.json"]
    shipped = ms.load_model(out)
    assert shipped.fingerprint == report["fingerprint"]
    assert set(report["shipped"]) >= {"mrr", "hit@1", "hit@10", "hit@100", "category_ndcg@10"}
    assert any(name.startswith("zeroshot_") for name in report["shipped"])
    stored = artifacts.load_weights(out)
    if report["weights_dtype"] == "float16":
        assert all(t.dtype == torch.float16 for t in stored.values() if t.is_floating_point())
        assert report["shipped"] == report["float16"]
        # float16 storage halves the file against the float32 weights of the same model
        assert (version / "model.safetensors").stat().st_size < 0.6 * (
            artifacts.current_version(trained_tiny, "model") / "model.safetensors").stat().st_size
    assert all(0.0 <= value <= 1.0 for value in report["shipped"].values())


def test_rounding_that_moves_a_figure_keeps_float32(trained_tiny, small_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(release, "HALF_TOLERANCE", -1.0)  # no change is small enough
    report = release.release_model(trained=trained_tiny, out=tmp_path / "r", corpus=small_corpus, progress=False)
    assert report["weights_dtype"] == "float32" and report["shipped"] == report["float32"]
    stored = artifacts.load_weights(tmp_path / "r")
    assert all(t.dtype == torch.float32 for t in stored.values() if t.is_floating_point())


def test_a_release_over_the_size_limit_is_refused(trained_tiny, small_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(release, "MAX_RELEASE_BYTES", 1000)
    with pytest.raises(ms.ArtifactError, match="over the package's"):
        release.release_model(trained=trained_tiny, out=tmp_path / "r", corpus=small_corpus, progress=False)
    assert not ms.artifact_exists(tmp_path / "r", "model")


def test_half_weights_load_into_float32_with_the_same_fingerprint(tmp_path):
    model = MusicTextModel("tiny")
    release._round_to_half(model)
    folder = model.save_pretrained(tmp_path / "m", half=True)
    loaded = ms.load_model(folder)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert loaded.fingerprint == model.fingerprint
