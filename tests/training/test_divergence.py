"""A diverged run stops: non-finite losses or weights end training with a clear error, keep the last good
checkpoint and never save a model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import musicsearch.training.contrastive as contrastive_module
from musicsearch.artifacts import artifact_exists
from musicsearch.training.checkpoints import checkpoint_run
from musicsearch.training.config import get_config
from musicsearch.training.divergence import TrainingDiverged, check_step
from musicsearch.training.loop import save_trained_model, train
from musicsearch.training.run import build_run, prepare_data
from tests.helpers.model import tiny_corpus

STEPS = {"max_steps": 6, "batch_size": 8, "eval_size": 8}


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))


def _files(folder):
    """Every file under ``folder`` with its bytes (whatever layout the checkpoint writer uses)."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _weights(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def _nan_loss_at(monkeypatch, step: int) -> None:
    """Make the contrastive loss of one step NaN, as a bad batch or an overflow would."""
    original, calls = contrastive_module.clip_loss, {"n": 0}

    def clip_loss(*args, **kwargs):
        calls["n"] += 1
        loss = original(*args, **kwargs)
        return loss * float("nan") if calls["n"] == step else loss

    monkeypatch.setattr(contrastive_module, "clip_loss", clip_loss)


def test_an_absurd_learning_rate_stops_the_run_and_saves_nothing(tmp_path):
    out = tmp_path / "d"
    with pytest.raises(TrainingDiverged, match=r"contrastive training diverged at step \d: the loss is nan; the "
                                               r"update was not applied\. Try a lower learning rate \(this run "
                                               r"used learning_rate=1e\+12.*No model was saved") as caught:
        train("tiny", tiny_corpus(), out=out, progress=False, learning_rate=1e12, **STEPS)
    assert caught.value.step >= 2 and math.isnan(caught.value.loss)
    assert not out.exists() or not any(path.is_file() for path in out.rglob("*"))  # no model, no checkpoint


def test_a_non_finite_loss_keeps_the_last_good_checkpoint_which_resumes(tmp_path, monkeypatch):
    settings = {**STEPS, "checkpoint_every": 2}
    full, _ = train("tiny", tiny_corpus(), out=tmp_path / "full", progress=False, **settings)
    _nan_loss_at(monkeypatch, 5)
    out = tmp_path / "cut"
    with pytest.raises(TrainingDiverged, match=r"diverged at step 5: the loss is nan.*The last good checkpoint "
                                               r"\(step 4\) is kept in .*checkpoint.*No model was saved"):
        train("tiny", tiny_corpus(), out=out, progress=False, **settings)
    assert not artifact_exists(out, "model")
    monkeypatch.undo()
    resumed, history = train("tiny", tiny_corpus(), out=out, progress=False, **settings)
    assert len(history.steps) == 6 and all(math.isfinite(step["loss"]) for step in history.steps)
    np.testing.assert_allclose(_weights(resumed), _weights(full), atol=1e-6)


def test_non_finite_weights_after_a_step_stop_the_run(monkeypatch):
    original = torch.optim.AdamW.step
    calls = {"n": 0}

    def step(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 3:  # an update that overflows one tensor, with a finite loss and gradient
            with torch.no_grad():
                self.param_groups[0]["params"][0].fill_(float("inf"))
        return result

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    with pytest.raises(TrainingDiverged, match=r"diverged at step 3: weights are no longer finite \(.+\) after a "
                                               r"step with loss \d"):
        train("tiny", tiny_corpus(), progress=False, **STEPS)


def test_masked_music_pretraining_is_checked_the_same_way():
    with pytest.raises(TrainingDiverged, match=r"masked-music pretraining diverged at step \d.*lower learning rate") \
            as caught:
        train("tiny", tiny_corpus(), progress=False, mlm_pretrain_steps=4, learning_rate=1e12, **STEPS)
    assert caught.value.stage == "masked-music pretraining"


def test_overflowing_embeddings_at_an_evaluation_are_a_divergence(monkeypatch):
    original = contrastive_module.contrastive_step

    def step_then_blow_up(run):
        record = original(run)
        if run.step == 3:  # finite but enormous weights: the forward pass overflows to NaN
            with torch.no_grad():
                for parameter in run.model.music_encoder.parameters():
                    parameter.mul_(1e30)
        return record

    import musicsearch.training.loop as loop_module

    monkeypatch.setattr(loop_module, "contrastive_step", step_then_blow_up)
    with pytest.raises(TrainingDiverged, match=r"diverged by step 3: the held-out evaluation found that the "
                                               r"model's music embeddings .* non-finite"):
        train("tiny", tiny_corpus(), progress=False, eval_every=3, **STEPS)


def _run():
    config = get_config("tiny", **STEPS)
    data, held_out = prepare_data(config, tiny_corpus())
    return build_run(config, data, held_out, tiny_corpus(), progress=False)


def test_a_checkpoint_is_never_overwritten_with_non_finite_state(tmp_path):
    run = _run()
    folder = tmp_path / "checkpoint"
    checkpoint_run(run, folder)
    before = _files(folder)
    with torch.no_grad():
        next(run.model.music_encoder.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match=r"refusing to write a checkpoint of step 0: .* not finite"):
        checkpoint_run(run, folder)
    assert _files(folder) == before


def test_a_non_finite_model_is_never_saved(tmp_path):
    run = _run()
    with torch.no_grad():
        run.model.music_proj.bias.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match=r"refusing to save a model .*music_proj\.bias is not finite"):
        save_trained_model(run.model, run.history, tmp_path / "m")
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


def test_step_check_names_the_gradient_when_the_loss_is_finite():
    check_step(1.0, 0.5, step=1, stage="contrastive training", learning_rate=1e-3)
    with pytest.raises(TrainingDiverged, match="the gradient norm is inf \\(loss 1\\)"):
        check_step(1.0, float("inf"), step=7, stage="contrastive training", learning_rate=1e-3)
