"""MusicTextModel: the embedding contract, saving/loading, fingerprints and bad input."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import musicsearch as ms
from musicsearch import artifacts
from musicsearch.errors import ABCError, ArtifactError, QueryError
from musicsearch.models.config import MINILM, PRESETS, ModelConfig, get_model_config
from musicsearch.models.loading import load_model
from musicsearch.models.model import MusicTextModel
from musicsearch.models.music_encoder import MusicEncoder
from tests.helpers.model import FLAT_PRESETS, TUNES, tiny_corpus

ABC = [abc for abc, _ in TUNES.values()]


@pytest.fixture(scope="module")
def tiny_model():
    return MusicTextModel("tiny")


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))


def test_encode_shapes_norms_and_input_kinds(tiny_model):
    text = tiny_model.encode_text(["a jig in six-eight", "a slow air in a minor key"])
    assert text.shape == (2, tiny_model.dim) and text.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    assert tiny_model.encode_text("a reel").shape == (1, tiny_model.dim)
    corpus = tiny_corpus()
    from_strings = tiny_model.encode_music([record.abc for record in corpus[:5]])
    np.testing.assert_allclose(tiny_model.encode_music(list(corpus[:5])), from_strings, atol=1e-6)
    np.testing.assert_allclose(tiny_model.encode_music(corpus)[:5], from_strings, atol=1e-5)
    raw = tiny_model.encode_music(ABC[:1], normalize=False)
    assert not np.isclose(np.linalg.norm(raw), 1.0)


def test_batching_and_length_sorting_do_not_change_results(tiny_model):
    tunes = ABC + [ABC[0] * 3]
    np.testing.assert_allclose(tiny_model.encode_music(tunes, batch_size=1), tiny_model.encode_music(tunes, batch_size=64),
                               atol=1e-5)
    texts = ["a reel", "a slow air in a minor key from Scotland", "a jig"]
    np.testing.assert_allclose(tiny_model.encode_text(texts, batch_size=1), tiny_model.encode_text(texts), atol=1e-5)


def test_long_tunes_are_truncated_to_max_patches(tiny_model):
    long_tune = "L:1/8\nK:D\n" + "|dfa afd" * 200 + "|"
    start = "L:1/8\nK:D\n" + "|dfa afd" * (tiny_model.config.max_patches - 2) + "|"
    np.testing.assert_allclose(tiny_model.encode_music([long_tune]), tiny_model.encode_music([start]), atol=1e-5)


def test_bad_inputs_raise_clear_errors(tiny_model):
    with pytest.raises(QueryError, match="text 1 is empty"):
        tiny_model.encode_text(["a jig", "   "])
    with pytest.raises(QueryError, match="not a string"):
        tiny_model.encode_text([3])
    with pytest.raises(ABCError, match="item 1"):
        tiny_model.encode_music(["K:D\nabc|", ""])
    with pytest.raises(ABCError, match="pass ABC strings"):
        tiny_model.encode_music([42])


def test_captions_longer_than_limit_warn_and_truncate(tiny_model):
    long_text = "a reel " * 400
    with pytest.warns(UserWarning, match="truncated"):
        vector = tiny_model.encode_text([long_text])
    assert vector.shape == (1, tiny_model.dim)


def test_truncation_warns_once_per_call_not_per_batch(tiny_model):
    import warnings

    texts = [f"a reel number {number} " + "and a jig " * 300 for number in range(5)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tiny_model.encode_text(texts, batch_size=2)
    messages = [str(w.message) for w in caught if "truncated" in str(w.message)]
    assert len(messages) == 1 and messages[0].startswith("5 text(s)")


def test_save_and_load_round_trip(tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path / "m")
    payload = json.loads((artifacts.current_version(tmp_path / "m", "model") / "config.json").read_text())
    assert payload["kind"] == "music-text-model" and payload["format_version"] >= 1 and "torch" in payload["versions"]
    again = load_model(tmp_path / "m")
    assert again.fingerprint == tiny_model.fingerprint
    np.testing.assert_allclose(again.encode_music(ABC), tiny_model.encode_music(ABC), atol=1e-6)
    np.testing.assert_allclose(again.encode_text(["a jig"]), tiny_model.encode_text(["a jig"]), atol=1e-6)


def test_fingerprint_changes_with_weights_and_is_deterministic():
    first, second = MusicTextModel("tiny"), MusicTextModel("tiny")
    assert first.fingerprint == second.fingerprint  # same seed, same weights
    with torch.no_grad():
        second.music_proj.bias.add_(1.0)
    assert first.fingerprint != second.fingerprint
    assert MusicTextModel("tiny", seed=1).fingerprint != first.fingerprint


def test_default_model_missing_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSEARCH_MODEL", str(tmp_path / "mine"))
    with pytest.raises(ArtifactError, match="no model at .*mine.*MUSICSEARCH_MODEL environment variable"):
        load_model()


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_broken_released_model_says_how_to_repair_the_install(damage, tiny_model, tmp_path, monkeypatch):
    from musicsearch import paths

    released = tmp_path / "released"
    if damage == "truncated":
        weights = artifacts.current_version(tiny_model.save_pretrained(released), "model") / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:100])
    monkeypatch.setattr(paths, "released_model_dir", lambda: released)
    monkeypatch.delenv("MUSICSEARCH_MODEL", raising=False)
    assert paths.default_model_dir() == released
    with pytest.raises(ArtifactError, match="released model shipped with musicsearch .* broken install.*"
                                            "force-reinstall"):
        load_model()


def test_corrupted_weights_newer_format_and_mismatched_weights(tiny_model, tmp_path):
    folder = tiny_model.save_pretrained(tmp_path / "m")
    weights = artifacts.current_version(folder, "model") / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    with pytest.raises(ArtifactError, match="model.safetensors.*corrupted"):
        load_model(folder)
    weights.write_bytes(good)
    config_path = weights.parent / "config.json"
    payload = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**payload, "format_version": 99}))
    with pytest.raises(ArtifactError, match="newer"):
        load_model(folder)
    payload["config"]["architecture"]["hidden_size"] = 64
    payload["config"]["architecture"]["intermediate_size"] = 64
    config_path.write_text(json.dumps(payload))
    with pytest.raises(ArtifactError, match="wrong shapes"):
        load_model(folder)
    payload["config"]["architecture"]["from_the_future"] = 1
    config_path.write_text(json.dumps(payload))
    with pytest.raises(ArtifactError, match="from_the_future"):
        load_model(folder)


def test_folder_saved_with_the_old_flat_config_still_loads(tiny_model, tmp_path):
    folder = tiny_model.save_pretrained(tmp_path / "old")
    config_path = artifacts.current_version(folder, "model") / "config.json"
    payload = json.loads(config_path.read_text())
    # The layout written before the architecture/training split: every field in one flat dict, and a
    # fingerprint computed over all of them (the indexes built with such a model hold that one).
    old_config = {**FLAT_PRESETS["tiny"], "holdout": 0.2, "split_seed": 5}
    config_path.write_text(json.dumps({**payload, "config": old_config, "fingerprint": "0123456789ab"}))
    old = load_model(folder)
    assert old.config == tiny_model.config
    np.testing.assert_allclose(old.encode_music(ABC), tiny_model.encode_music(ABC), atol=1e-6)
    np.testing.assert_allclose(old.encode_text(["a jig"]), tiny_model.encode_text(["a jig"]), atol=1e-6)
    assert old.training_settings["epochs"] == 1.0 and old.heldout_split == {"holdout": 0.2, "seed": 5}
    assert old.fingerprint == "0123456789ab"  # so an index built with it still accepts it
    with torch.no_grad():
        old.music_proj.bias.add_(1.0)
    assert old.fingerprint not in ("0123456789ab", tiny_model.fingerprint)  # other weights, another fingerprint
    config_path.write_text(json.dumps({**payload, "config": {**old_config, "from_the_future": 1}}))
    with pytest.raises(ArtifactError, match="from_the_future"):
        load_model(folder)


def _flatten_to_the_layout_before_versions(folder):
    version = artifacts.current_version(folder, "model")
    for entry in version.iterdir():
        if not entry.name.startswith("."):
            entry.rename(folder / entry.name)
    for entry in list(folder.iterdir()):
        if entry.name.startswith(("v-", ".")) or entry.name == "CURRENT":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def test_a_folder_written_before_versions_loads_and_the_next_saves_migrate_it(tiny_model, tmp_path):
    folder = tiny_model.save_pretrained(tmp_path / "m")
    _flatten_to_the_layout_before_versions(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert load_model(folder).fingerprint == tiny_model.fingerprint
    other = MusicTextModel("tiny", seed=1)
    other.save_pretrained(folder)  # the old files stay: a reader that started on them can finish
    assert (folder / "config.json").is_file() and load_model(folder).fingerprint == other.fingerprint
    tiny_model.save_pretrained(folder)  # the write after that removes them
    assert not (folder / "config.json").exists() and load_model(folder).fingerprint == tiny_model.fingerprint
    assert len([p for p in folder.iterdir() if p.name.startswith("v-")]) == 2


def test_a_model_is_never_written_into_an_index_or_corpus_folder(tiny_model, tmp_path):
    with artifacts.publish(tmp_path / "index", "index") as staging:
        (staging / "manifest.json").write_text("{}")
    with pytest.raises(ArtifactError, match="holds an index, not a model"):
        tiny_model.save_pretrained(tmp_path / "index")
    with pytest.raises(ArtifactError, match="holds an index, not a model"):
        load_model(tmp_path / "index")
    (tmp_path / "old-corpus").mkdir()
    (tmp_path / "old-corpus" / "records.parquet").write_bytes(b"")  # a corpus folder from before versions
    with pytest.raises(ArtifactError, match="holds a corpus, not a model"):
        tiny_model.save_pretrained(tmp_path / "old-corpus")
    assert sorted(p.name for p in (tmp_path / "old-corpus").iterdir()) == ["records.parquet"]


def test_non_finite_weights_are_never_saved(tmp_path):
    model = MusicTextModel("tiny")
    model.save_pretrained(tmp_path / "m")
    with torch.no_grad():
        model.music_proj.weight[0, 0] = float("nan")
    with pytest.raises(ArtifactError, match="music_proj.weight.*NaN"):
        model.save_pretrained(tmp_path / "m")
    assert not np.isnan(load_model(tmp_path / "m").music_proj.weight.detach().numpy()).any()
    assert [p.name for p in (tmp_path / "m").iterdir() if p.name.startswith(".staging")] == []


def test_an_untrained_model_has_no_training_settings(tiny_model):
    assert tiny_model.training_settings == {} and tiny_model.heldout_split == {}


def test_presets_and_config_validation():
    assert set(PRESETS) == {"tiny", "quick", "quick-static", "release", "base"}
    assert PRESETS["quick"].text_model == MINILM and PRESETS["quick"].text_mode == "frozen"
    assert PRESETS["tiny"].hidden_size == 32 and PRESETS["tiny"].num_layers == 2
    assert ms.get_config("quick", epochs=1.0).training.epochs == 1.0
    with pytest.raises(ms.MusicSearchError, match="unknown preset"):
        get_model_config("huge")
    with pytest.raises(ms.MusicSearchError, match="divisible"):
        get_model_config("tiny", num_heads=3)
    with pytest.raises(ms.MusicSearchError, match="divisible"):
        ms.get_config("tiny", num_heads=3)
    assert ModelConfig.from_dict(PRESETS["quick"].to_dict()) == PRESETS["quick"]


def test_music_encoder_gather_equals_one_hot_linear():
    encoder = MusicEncoder(16, 1, 2, 32, 0.0, max_patches=8).eval()
    patches = torch.randint(0, 98, (3, 5, 64))
    fast = encoder.embed_patches(patches)
    one_hot = nn.functional.one_hot(patches, 98).reshape(3, 5, -1).float()
    torch.testing.assert_close(fast, encoder.patch_embedding(one_hot), atol=1e-5, rtol=1e-5)
    # A swapped-in layer (e.g. a lookup table) receives the literal one-hot input.
    encoder.patch_embedding = nn.Sequential(encoder.patch_embedding)
    torch.testing.assert_close(encoder.embed_patches(patches), fast, atol=1e-5, rtol=1e-5)
    assert all(isinstance(m, nn.Linear) for m in MusicEncoder(16, 1, 2, 32, 0.0, max_patches=8).blocks[0].children()
               if not isinstance(m, (nn.LayerNorm, nn.Dropout)))


def test_music_encoder_gather_trains_the_patch_embedding_like_the_one_hot_linear():
    # The gather reads a contiguous copy of the columns: the gradient must still reach the weight itself.
    encoder = MusicEncoder(16, 1, 2, 32, 0.0, max_patches=8).train()
    patches = torch.randint(0, 98, (3, 5, 64))
    upstream = torch.randn(3, 5, 16)
    (encoder.embed_patches(patches) * upstream).sum().backward()
    gathered = encoder.patch_embedding.weight.grad.clone()
    encoder.patch_embedding.weight.grad = None
    one_hot = nn.functional.one_hot(patches, 98).reshape(3, 5, -1).float()
    (encoder.patch_embedding(one_hot) * upstream).sum().backward()
    assert gathered.abs().sum() > 0
    torch.testing.assert_close(gathered, encoder.patch_embedding.weight.grad, atol=1e-5, rtol=1e-5)


def test_padding_does_not_change_a_tunes_embedding(tiny_model):
    short = ABC[2]
    alone = tiny_model.encode_music([short])
    with_long_neighbour = tiny_model.encode_music([short, ABC[0] * 4])[:1]
    np.testing.assert_allclose(alone, with_long_neighbour, atol=1e-5)


def test_frozen_text_cache_is_reused_and_keyed_by_model(tmp_path):
    config = get_model_config("tiny", text_mode="frozen")
    model = MusicTextModel(config)
    texts = [f"a reel number {i}" for i in range(40)]
    first = model.encode_text(texts)
    files = list((tmp_path / "home" / "cache" / "text").rglob("*.npz"))
    assert len(files) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(MusicTextModel(config).encode_text(texts), first, atol=1e-6)
    other = MusicTextModel(config, seed=3)
    other.encode_text(texts)
    assert len({path.parent for path in (tmp_path / "home" / "cache" / "text").rglob("*.npz")}) == 2
    files[0].write_bytes(b"broken")
    with pytest.warns(UserWarning, match="damaged"):
        MusicTextModel(config).encode_text(texts[:2])


@pytest.mark.slow
def test_minilm_frozen_model_saves_small_and_reloads(tmp_path):
    config = get_model_config("tiny", text_model=MINILM, text_mode="frozen")
    model = MusicTextModel(config)
    folder = model.save_pretrained(tmp_path / "m")
    assert (artifacts.current_version(folder, "model") / "model.safetensors").stat().st_size < 5_000_000  # no MiniLM
    again = load_model(folder)
    assert again.fingerprint == model.fingerprint
    vectors = again.encode_text(["a jig in six-eight", "a Bach chorale"])
    assert vectors.shape == (2, config.embed_dim)
