"""Training: held-out split, determinism, resume, text dropout, sampling ratios, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musicsearch.artifacts import artifact_exists, current_version
from musicsearch.cli import main
from musicsearch.data.texts import query_caption, training_texts, untitled
from musicsearch.errors import ArtifactError, CorpusError, MusicSearchError
from musicsearch.models.loading import load_model
from musicsearch.training.loop import train
from musicsearch.training.sampling import CollectionSampler, collection_shares
from tests.helpers.model import tiny_corpus

STEPS = {"max_steps": 6, "batch_size": 8, "eval_every": 3, "eval_size": 8}


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))


def _weights(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.music_encoder.parameters()])


def test_train_returns_model_and_history_and_is_deterministic():
    corpus = tiny_corpus()
    model, history = train("tiny", corpus, progress=False, **STEPS)
    assert len(history.steps) == 6 and history.evals and history.evals[-1]["step"] == 6
    assert {"loss", "lr", "tunes_per_s", "logit_scale"} <= set(history.steps[0])
    assert history.info["heldout_tunes"] == len(corpus.split(0.1, 0)[1])
    assert history.info["peak_memory_mb"] > 10  # the process's peak resident memory, recorded for the figures
    again, _ = train("tiny", corpus, progress=False, **STEPS)
    np.testing.assert_array_equal(_weights(model), _weights(again))
    assert model.fingerprint == again.fingerprint
    other, _ = train("tiny", corpus, progress=False, seed=1, **STEPS)
    assert other.fingerprint != model.fingerprint


def test_masked_music_pretraining_stage_runs_first_on_length_sorted_batches(monkeypatch):
    corpus = tiny_corpus()
    drawn = []
    original = CollectionSampler.length_batch

    def spy(self, size, lengths, pool=4):
        batch = original(self, size, lengths, pool)
        drawn.append(batch)
        return batch

    monkeypatch.setattr(CollectionSampler, "length_batch", spy)
    model, history = train("tiny", corpus, progress=False, mlm_pretrain_steps=3, length_buckets=4, **STEPS)
    assert [entry["step"] for entry in history.pretrain] == [0, 1, 2]
    assert all(np.isfinite(entry["mlm_loss"]) for entry in history.pretrain)
    # The 3 pretraining batches and the 6 contrastive ones all come from the length-sorted sampler.
    assert len(drawn) == 9
    plain, _ = train("tiny", corpus, progress=False, **STEPS)
    assert model.fingerprint != plain.fingerprint


def test_training_never_sees_held_out_tunes(monkeypatch):
    corpus = tiny_corpus()
    seen = []
    import musicsearch.training.run as run_module

    original = run_module.build_training_set
    monkeypatch.setattr(run_module, "build_training_set",
                        lambda records, **kw: seen.extend(r.id for r in records) or original(records, **kw))
    train("tiny", corpus, progress=False, **STEPS)
    held_out = set(corpus.split(0.1, 0)[1].ids)
    assert seen and not held_out & set(seen)


def test_resume_from_checkpoint_matches_uninterrupted_run(tmp_path):
    corpus = tiny_corpus()
    settings = {**STEPS, "checkpoint_every": 3, "mlm_weight": 0.5}
    full, _ = train("tiny", corpus, out=tmp_path / "full", progress=False, **settings)
    # Interrupt after the first checkpoint: train 3 steps of a 6-step schedule, then resume.
    import musicsearch.training.loop as train_module

    class _Stop(Exception):
        pass

    calls = {"n": 0}

    def stop_after_checkpoint(*args, **kwargs):
        calls["n"] += 1
        original(*args, **kwargs)
        if calls["n"] == 1:
            raise _Stop

    import musicsearch.training.checkpoints as checkpoint_module

    original = checkpoint_module.save_checkpoint
    checkpoint_module.save_checkpoint = stop_after_checkpoint
    try:
        with pytest.raises(_Stop):
            train("tiny", corpus, out=tmp_path / "cut", progress=False, **settings)
    finally:
        checkpoint_module.save_checkpoint = original
    assert train_module  # the loop imports save_checkpoint from the module at call time
    assert (tmp_path / "cut" / "checkpoint").is_dir() and not (tmp_path / "full" / "checkpoint").exists()
    with pytest.raises(ArtifactError, match="another config"):
        train("tiny", corpus, out=tmp_path / "cut", progress=False, **{**settings, "learning_rate": 0.1})
    resumed, history = train("tiny", corpus, out=tmp_path / "cut", progress=False, **settings)
    assert len(history.steps) == 6
    np.testing.assert_allclose(_weights(resumed), _weights(full), atol=1e-6)
    # A finished run keeps the model only; its checkpoint is gone.
    assert not (tmp_path / "cut" / "checkpoint").exists() and artifact_exists(tmp_path / "cut", "model")


def test_saved_model_and_history_files(tmp_path):
    model, _ = train("tiny", tiny_corpus(), out=tmp_path / "m", progress=False, **STEPS)
    payload = json.loads((current_version(tmp_path / "m", "model") / "config.json").read_text())
    assert payload["preset"] == "tiny" and payload["training"]["steps"] == 6
    assert payload["config"]["architecture"]["hidden_size"] == 32 and payload["config"]["training"]["max_steps"] == 6
    assert json.loads((tmp_path / "m" / "history.json").read_text())["steps"]
    loaded = load_model(tmp_path / "m")
    assert loaded.fingerprint == model.fingerprint
    assert loaded.training_settings["eval_every"] == 3 and loaded.heldout_split == {"holdout": 0.1, "seed": 0}


def test_fingerprint_covers_architecture_and_weights_not_training_settings(tmp_path):
    corpus = tiny_corpus()
    model, _ = train("tiny", corpus, out=tmp_path / "a", progress=False, **STEPS)
    other, _ = train("tiny", corpus, out=tmp_path / "b", progress=False, **{**STEPS, "eval_every": 2})
    np.testing.assert_array_equal(_weights(model), _weights(other))  # evaluating more often changes no weight
    assert model.training_settings["eval_every"] != other.training_settings["eval_every"]
    assert model.fingerprint == other.fingerprint
    assert load_model(tmp_path / "a").fingerprint == load_model(tmp_path / "b").fingerprint == model.fingerprint


def test_tunes_without_captions_are_skipped_with_warning_or_refused():
    corpus = tiny_corpus()
    from musicsearch.data.corpus import Corpus, Record

    records = [Record(**{**r.to_dict(), "captions": [], "caption_parts": []}) if i % 2 else r
               for i, r in enumerate(corpus)]
    with pytest.warns(UserWarning, match="no caption"):
        train("tiny", Corpus(records, "half"), progress=False, max_steps=1, batch_size=4, eval_size=4)
    empty = Corpus([Record(**{**r.to_dict(), "captions": [], "caption_parts": []}) for r in corpus], "none")
    with pytest.raises(CorpusError, match="nothing to train on"), pytest.warns(UserWarning):
        train("tiny", empty, progress=False, max_steps=1)


def test_text_dropout_and_untitled_texts():
    import random

    captions = ['A reel, in D major, titled "Drowsy Maggie".', "reel, D major", "Drowsy Maggie, in Ryan's"]
    parts = ["a reel", "in D major", 'titled "Drowsy Maggie"', "from Ireland"]
    assert untitled(captions, parts) == ["A reel, in D major.", "reel, D major"]
    texts = training_texts(captions, parts, random.Random(0), variants=5, max_parts=2)
    assert all("Drowsy" not in text for text in texts)
    assert any(len(text.split(", ")) <= 2 and text not in captions for text in texts)

    from types import SimpleNamespace

    assert query_caption(SimpleNamespace(caption_parts=parts, captions=captions)) == "A reel, in D major, from Ireland."


def test_collection_sampling_ratios():
    collections = ["big"] * 900 + ["small"] * 100
    shares = collection_shares(collections, power=0.0)
    assert shares == pytest.approx({"big": 0.5, "small": 0.5})
    assert collection_shares(collections, power=1.0)["small"] == pytest.approx(0.1)
    explicit = collection_shares(collections, ratios={"small": 3.0, "big": 1.0})
    assert explicit["small"] == pytest.approx(0.75)
    sampler = CollectionSampler(collections, power=0.0, seed=0)
    drawn = [collections[i] for _ in range(40) for i in sampler.batch(50)]
    assert 0.4 < drawn.count("small") / len(drawn) < 0.6
    state = sampler.state()
    follow = sampler.length_batch(16, list(range(1000)), pool=4)
    sampler.load_state(json.loads(json.dumps(state)))
    assert sampler.length_batch(16, list(range(1000)), pool=4) == follow
    with pytest.raises(MusicSearchError, match="not in the corpus"):
        collection_shares(collections, ratios={"nowhere": 1.0})


def test_cli_train_and_eval(tmp_path, capsys):
    folder = tmp_path / "corpus"
    folder.mkdir()
    from musicsearch.data.corpus_store import save_corpus

    save_corpus(tiny_corpus(), folder)
    out = tmp_path / "model"
    code = main(["train", "--preset", "tiny", "--out", str(out), "--corpus", str(folder), "--quiet",
                 "--set", "max_steps=2", "--set", "batch_size=8"])
    assert code == 0 and (out / "eval.json").is_file()
    assert "bm25" in capsys.readouterr().out
    assert main(["eval", "--model", str(out), "--corpus", str(folder), "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["caption_retrieval"]["random"]["mrr"] > 0
    assert main(["eval", "--model", str(tmp_path / "missing"), "--corpus", str(folder), "--quiet"]) == 2
    capsys.readouterr()
    assert main(["train", "--preset", "tiny", "--out", str(tmp_path / "typo"), "--corpus", str(folder), "--quiet",
                 "--set", "epoch=2"]) == 2
    assert "['epoch']" in capsys.readouterr().err and not (tmp_path / "typo").exists()


def test_training_into_another_artifacts_folder_is_refused_before_any_step(tmp_path, monkeypatch):
    import musicsearch.training.loop as loop
    from musicsearch.search.index import SearchIndex
    from tests.helpers.search import FakeModel, make_records

    index_dir = tmp_path / "idx"
    SearchIndex.build(FakeModel(), make_records()).save(index_dir)
    monkeypatch.setattr(loop, "prepare_data", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(ArtifactError, match="holds an index, not a model"):
        train("tiny", tiny_corpus(), out=index_dir, max_steps=1, progress=False)
    assert artifact_exists(index_dir, "index") and not artifact_exists(index_dir, "model")
