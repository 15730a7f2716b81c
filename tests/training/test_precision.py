"""bfloat16 autocast in training: the forward passes round, the weights and losses stay float32, a seed fixes a run."""

from __future__ import annotations

import warnings

import pytest
import torch

from musicsearch.data.patches import collate_patches, patchify
from musicsearch.models.music_encoder import MusicEncoder
from musicsearch.training._precision import warn_if_emulated
from musicsearch.training.config import TrainingConfig, get_config
from musicsearch.training.contrastive import contrastive_step
from musicsearch.training.masked_music import pretrain_masked_music
from musicsearch.training.run import build_run, prepare_data
from tests.helpers.model import tiny_corpus

TUNE = "L:1/8\nM:6/8\nK:D\n" + "|:dfa afd|BdB AFA|gfe dcB|A3 A3:|" * 20


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))


def _losses(bf16: bool, steps: int = 3) -> tuple[list[float], torch.nn.Module]:
    config = get_config("tiny", max_steps=steps, batch_size=8, eval_size=8, melody_weight=0.5, bf16_autocast=bf16)
    data, held_out = prepare_data(config, tiny_corpus())
    run = build_run(config, data, held_out, tiny_corpus(), progress=False)
    run.module.train()
    return [contrastive_step(run)["loss"] for _ in range(steps)], run.module


def test_a_bf16_step_rounds_its_forward_but_tracks_float32_and_keeps_float32_weights():
    float32, _ = _losses(False)
    bfloat16, module = _losses(True)
    assert bfloat16 != float32  # the forward really ran in bfloat16
    for exact, rounded in zip(float32, bfloat16, strict=True):
        assert abs(rounded - exact) < 0.05 * abs(exact)
    assert {parameter.dtype for parameter in module.parameters()} == {torch.float32}
    assert all(torch.isfinite(parameter).all() for parameter in module.parameters())


def test_bf16_training_is_the_same_for_the_same_seed():
    assert _losses(True)[0] == _losses(True)[0]


def test_masked_music_pretraining_in_bf16_learns_and_keeps_float32_weights():
    patches, mask = collate_patches(patchify([TUNE, TUNE[:60], TUNE[:200]], 64))
    histories = {}
    for bf16 in (False, True):
        torch.manual_seed(0)
        encoder = MusicEncoder(32, 1, 2, 64, 0.0, max_patches=64)
        histories[bf16] = [row["mlm_loss"] for row in pretrain_masked_music(
            encoder, lambda step: (patches, mask), steps=40, learning_rate=3e-3, decoder_width=8,
            bf16_autocast=bf16, progress=False)]
        assert {parameter.dtype for parameter in encoder.parameters()} == {torch.float32}
    assert histories[True] != histories[False]
    assert sum(histories[True][-5:]) < 0.7 * sum(histories[True][:5])


def test_configs_written_before_the_field_train_in_float32():
    assert TrainingConfig.from_dict({"epochs": 2.0}).bf16_autocast is False


def test_bf16_on_a_cpu_that_would_emulate_it_is_warned_about_and_otherwise_not():
    cpu = torch.device("cpu")
    with pytest.warns(UserWarning, match=r"without bfloat16 dot products .* bf16_autocast=False"):
        assert warn_if_emulated(cpu, True, cpu_flags="fpu sse avx2 avx512f")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_if_emulated(cpu, True, cpu_flags="fpu avx512f avx512_bf16")
        assert not warn_if_emulated(cpu, True, cpu_flags="fpu amx_bf16")
        assert not warn_if_emulated(cpu, False, cpu_flags="fpu sse")
        assert not warn_if_emulated(cpu, True, cpu_flags="")  # flags unknown (not Linux): nothing to say
