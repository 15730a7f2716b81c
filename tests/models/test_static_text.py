"""The static (model2vec) text tower: NumPy encoding, the distillation cache, and a model trained with it.

A fake distillation (a seeded random table over MiniLM's vocabulary) stands in for model2vec, so these run
in seconds; the one slow test distils the real MiniLM and compares with model2vec's own encoder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import musicsearch as ms
import musicsearch.models.static_text as static_text
from musicsearch.errors import ArtifactError
from musicsearch.models.config import PRESETS, STATIC_MINILM, get_model_config
from musicsearch.models.loading import load_model
from musicsearch.models.model import MusicTextModel
from musicsearch.models.static_text import (
    DISTILL_SETTINGS,
    StaticEmbedding,
    StaticQueryEncoder,
    minilm_tokenizer,
    static_minilm_table,
)
from musicsearch.training.loop import train
from tests.helpers.model import tiny_corpus

REAL_DISTILL = static_text.distill_minilm  # before the autouse fixture replaces it (and the width)
REAL_DIMS = DISTILL_SETTINGS["pca_dims"]
try:
    from model2vec.distill import distill as REAL_MODEL2VEC
except ImportError:  # the optional extra is not installed: only the slow test needs it
    REAL_MODEL2VEC = None
DIMS = 8  # the fake table's width (the real one has DISTILL_SETTINGS["pca_dims"] = 256): small files, fast tests
TEXTS = ["a slow air in a minor key", "A reel from Ireland in D major", "jig"]


@pytest.fixture(scope="module")
def tokenizer():
    return minilm_tokenizer()


@pytest.fixture(scope="module")
def fake_table(tokenizer):
    """A seeded (vocab, DIMS) table; [UNK] unknown, like a distilled one."""
    rng = np.random.default_rng(0)
    table = rng.standard_normal((tokenizer.get_vocab_size(), DIMS)).astype(np.float32)
    known = np.ones(len(table), dtype=bool)
    known[tokenizer.token_to_id("[UNK]")] = False
    return table, known


@pytest.fixture(autouse=True)
def fake_distill(tmp_path, monkeypatch, fake_table):
    """An empty MUSICSEARCH_HOME and a distillation that counts its calls instead of running MiniLM."""
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))
    monkeypatch.setitem(DISTILL_SETTINGS, "pca_dims", DIMS)
    calls = []

    def distill(folder, *, progress=False):
        calls.append(folder)
        return fake_table[0].copy(), fake_table[1].copy()

    monkeypatch.setattr(static_text, "distill_minilm", distill)
    return calls


def _static_config(**overrides):
    return get_model_config("tiny", text_model=STATIC_MINILM, text_mode="frozen", **overrides)


def test_a_sentence_is_the_normalised_mean_of_its_known_token_rows(fake_table, tokenizer):
    table, known = fake_table
    tower = StaticEmbedding(table, known, tokenizer)
    vectors = tower.encode(TEXTS)
    assert vectors.shape == (3, DIMS) and vectors.dtype == np.float32
    ids = tokenizer.encode(TEXTS[0], add_special_tokens=False).ids
    expected = table[ids].mean(axis=0)
    np.testing.assert_allclose(vectors[0], expected / np.linalg.norm(expected), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # Order and batch do not matter: each text is encoded alone.
    np.testing.assert_array_equal(tower.encode(TEXTS[::-1])[::-1], vectors)


def test_unknown_tokens_are_skipped_and_an_all_unknown_text_is_zeros(fake_table, tokenizer):
    table, known = fake_table
    tower = StaticEmbedding(table, known, tokenizer)
    unknown = "\U0001f3b5"  # a character MiniLM's WordPiece maps to [UNK]
    assert tokenizer.encode(unknown, add_special_tokens=False).ids == [tokenizer.token_to_id("[UNK]")]
    np.testing.assert_array_equal(tower.encode([f"jig {unknown}"]), tower.encode(["jig"]))
    assert not tower.encode([unknown]).any()


def test_max_length_cuts_tokens_and_reports_the_texts(fake_table, tokenizer):
    tower = StaticEmbedding(*fake_table, tokenizer)
    truncated: list[str] = []
    long_text = "reel " * 50
    cut = tower.encode([long_text, "jig"], max_length=5, truncated=truncated)
    assert truncated == [long_text]
    np.testing.assert_allclose(cut[0], tower.encode(["reel " * 5])[0], rtol=1e-6)


def test_a_table_that_does_not_fit_the_tokenizer_is_refused(tokenizer):
    with pytest.raises(ArtifactError, match="does not fit the tokenizer"):
        StaticEmbedding(np.zeros((10, 4), np.float32), np.ones(10, bool), tokenizer)


def test_the_table_is_distilled_once_then_read_from_the_cache(fake_distill, fake_table, tmp_path, monkeypatch):
    table, known = static_minilm_table()
    again_table, again_known = static_minilm_table()
    assert len(fake_distill) == 1
    np.testing.assert_array_equal(again_table, fake_table[0])
    np.testing.assert_array_equal(again_known, fake_table[1])
    folders = list((tmp_path / "home" / "cache" / "static").iterdir())
    assert len(folders) == 1 and ms.artifacts.artifact_exists(folders[0], "model")
    # Other distillation settings are another table.
    monkeypatch.setitem(DISTILL_SETTINGS, "sif_coefficient", 0.5)
    static_minilm_table()
    assert len(fake_distill) == 2 and len(list((tmp_path / "home" / "cache" / "static").iterdir())) == 2


def test_without_model2vec_distillation_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "model2vec.distill", None)  # import fails as if not installed
    with pytest.raises(ArtifactError, match=r"musicsearch\[static\]"):
        REAL_DISTILL("/nonexistent")


def test_the_static_tower_refuses_finetune_and_has_a_preset():
    with pytest.raises(ms.MusicSearchError, match="frozen"):
        get_model_config("tiny", text_model=STATIC_MINILM, text_mode="finetune")
    assert PRESETS["quick-static"].text_model == STATIC_MINILM
    quick, static = ms.get_config("quick"), ms.get_config("quick-static")
    assert static.training == quick.training  # the text tower is the only difference
    assert {**static.architecture.to_dict(), "text_model": quick.architecture.text_model,
            "preset": "quick"} == quick.architecture.to_dict()


def test_training_and_queries_embed_texts_the_same_way():
    model = MusicTextModel(_static_config())
    pooled = model.text_encoder.embed(TEXTS)  # what training feeds text_proj (frozen text pool)
    with torch.no_grad():
        expected = torch.nn.functional.normalize(model.text_proj(pooled), dim=-1).numpy()
    np.testing.assert_allclose(model.encode_text(TEXTS), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(pooled.numpy(), model.text_encoder.static.encode(TEXTS))


def test_a_trained_static_model_saves_its_table_and_reloads_without_distilling(fake_distill, tmp_path):
    model, history = train(_static_config(), tiny_corpus(), out=tmp_path / "m", progress=False, max_steps=3,
                           batch_size=8, eval_every=0)
    assert len(history.steps) == 3 and len(fake_distill) == 1
    assert model.text_encoder.hidden_size == DIMS and model.encode_text(TEXTS).shape == (3, model.dim)
    for folder in (tmp_path / "home" / "cache" / "static").iterdir():  # the cache is gone: the model has its table
        shutil.rmtree(folder)
    loaded = load_model(tmp_path / "m")
    assert len(fake_distill) == 1
    assert loaded.fingerprint == model.fingerprint
    np.testing.assert_allclose(loaded.encode_text(TEXTS), model.encode_text(TEXTS), atol=1e-6)
    # The NumPy query encoder (no torch) gives the model's own query vectors.
    numpy_encoder = StaticQueryEncoder.from_pretrained(tmp_path / "m")
    np.testing.assert_allclose(numpy_encoder.encode_text(TEXTS), model.encode_text(TEXTS), rtol=1e-5, atol=1e-6)
    script = ("import sys; from musicsearch.models.static_text import StaticQueryEncoder; "
              f"print(StaticQueryEncoder.from_pretrained({str(tmp_path / 'm')!r}).encode_text(['a jig']).shape, "
              "'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] == "False", done.stdout + done.stderr


def test_the_numpy_query_encoder_refuses_other_models_and_bad_input(tmp_path):
    folder = MusicTextModel("tiny").save_pretrained(tmp_path / "tiny")
    with pytest.raises(ArtifactError, match="not 'model2vec-minilm'"):
        StaticQueryEncoder.from_pretrained(folder)
    static = MusicTextModel(_static_config()).save_pretrained(tmp_path / "static")
    with pytest.raises(ms.QueryError, match="empty"):
        StaticQueryEncoder.from_pretrained(static).encode_text(["  "])


def test_a_fresh_model_holds_its_table_so_fingerprint_and_saved_weights_are_stable(fake_table, tmp_path):
    model = MusicTextModel(_static_config())
    first = model.fingerprint
    model.encode_text(TEXTS)
    assert model.fingerprint == first == MusicTextModel(_static_config()).fingerprint  # same seed, same model
    folder = model.save_pretrained(tmp_path / "fresh")
    np.testing.assert_array_equal(ms.artifacts.load_weights(folder)["text_encoder.table"].numpy(), fake_table[0])


def test_long_texts_warn_once_and_are_truncated():
    model = MusicTextModel(_static_config(max_text_length=4))
    with pytest.warns(UserWarning, match="truncated"):
        model.encode_text(["a reel in D major with a long long title", "a jig"])


@pytest.mark.slow
def test_the_real_distillation_matches_model2vec_and_is_cached(monkeypatch):
    distillation = pytest.importorskip("model2vec.distill")
    monkeypatch.setattr(static_text, "distill_minilm", REAL_DISTILL)
    monkeypatch.setitem(DISTILL_SETTINGS, "pca_dims", REAL_DIMS)
    made = []  # model2vec's own StaticModel, kept by a spy so MiniLM is distilled once (about 2 minutes)

    def spy(**kwargs):
        made.append(REAL_MODEL2VEC(**kwargs))
        return made[-1]

    monkeypatch.setattr(distillation, "distill", spy)
    table, known = static_minilm_table()
    queries = TEXTS + ["Schubert Lied \u00fcber die Nacht", "caf\u00e9 \U0001f3b5 hornpipe", "hornpipe"]
    cosines = (StaticEmbedding(table, known).encode(queries) * made[0].encode(queries)).sum(axis=1)
    assert cosines.min() > 0.9999
    cached, _ = static_minilm_table()  # from the cache: the same bytes, no second distillation
    assert len(made) == 1
    np.testing.assert_array_equal(cached, table)
