"""The melodic-identity objective: fragments really are cropped, transposed and noisy; the loss learns; off is off."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import musicsearch.training.contrastive as contrastive_module
from musicsearch.data.melody import parse_melody
from musicsearch.data.patches import collate_patches, patchify, split_bars
from musicsearch.errors import MusicSearchError
from musicsearch.models.music_encoder import MusicEncoder
from musicsearch.training.config import get_config
from musicsearch.training.loop import train
from musicsearch.training.melody_objective import (
    TRANSPOSITIONS,
    _step_letter,
    crop_bars,
    fragment_batch,
    melody_loss,
    move_notes,
    remembered_fragment,
    step_rng,
)
from tests.helpers.model import TUNES, tiny_corpus

TUNE = "X:1\nT:A reel\nL:1/8\nM:4/4\nK:D\n|:d2fd AdFA|d2fd gfed|B2GB A2FA|dfed d4:|\n|:f2af g2bg|a2fa gfed|cdec B2AG|FAGE D4:|"
BODY_BARS = split_bars(TUNE.split("K:D\n")[1].replace("\n", ""))
STEPS = {"max_steps": 4, "batch_size": 8, "eval_every": 0, "eval_size": 8}


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))


def _body(fragment: str) -> str:
    return fragment.split("\n")[-1]


@pytest.mark.parametrize("seed", range(8))
def test_crop_keeps_the_key_fields_and_a_run_of_whole_consecutive_bars(seed):
    fragment = crop_bars(TUNE, random.Random(seed), min_bars=2, max_bars=5)
    header = fragment.split("\n")[:-1]
    assert header == ["L:1/8", "M:4/4", "K:D"]  # titles and X: dropped, what the notes mean kept
    bars = split_bars(_body(fragment))
    assert 2 <= len(bars) <= 5
    joined = "".join(BODY_BARS)
    assert _body(fragment) in joined and len(bars) < len(BODY_BARS)
    assert {bar.strip("|:") for bar in bars} <= {bar.strip("|:") for bar in BODY_BARS}


def test_a_tune_shorter_than_the_crop_is_taken_whole():
    assert crop_bars("K:G\nGAB|cde|", random.Random(0), min_bars=4, max_bars=8) == "K:G\nGAB|cde|"


def test_transposed_fragment_moves_every_note_by_the_same_nonzero_interval():
    moved = 0
    for seed in range(12):
        crop = crop_bars(TUNE, random.Random(seed), min_bars=2, max_bars=4)
        fragment = remembered_fragment(TUNE, random.Random(seed), min_bars=2, max_bars=4, noise=0.0, transpose_share=1.0)
        source, target = parse_melody(crop).pitches.astype(int), parse_melody(fragment).pitches.astype(int)
        shift = set((target - source).tolist())
        assert len(shift) == 1 and shift.pop() in TRANSPOSITIONS
        assert fragment.split("\n")[2] != "K:D"  # the key signature moved with the notes
        moved += 1
    assert moved == 12


def test_untransposed_fragment_without_noise_is_the_crop():
    crop = crop_bars(TUNE, random.Random(5), min_bars=2, max_bars=4)
    assert remembered_fragment(TUNE, random.Random(5), min_bars=2, max_bars=4, noise=0.0, transpose_share=0.0) == crop


def test_note_noise_moves_notes_by_one_letter_step_and_leaves_the_rest():
    abc = 'K:D\n"Bm"d2fd !trill!AdFA|B,cb'
    moved = move_notes(abc, random.Random(0), 1.0)
    assert moved.startswith('K:D\n"Bm"') and "!trill!" in moved  # header, chord symbol, decoration kept
    before, after = parse_melody(abc).pitches.astype(int), parse_melody(moved).pitches.astype(int)
    assert len(before) == len(after) and set(np.abs(after - before).tolist()) <= {1, 2}
    assert move_notes(abc, random.Random(0), 0.0) == abc
    some = move_notes("K:C\n" + "CDEFGAB" * 20, random.Random(1), 0.1)
    changed = sum(a != b for a, b in zip(some, "K:C\n" + "CDEFGAB" * 20))
    assert 3 <= changed <= 30  # about one note in ten


@pytest.mark.parametrize(("letter", "marks", "step", "expected"), [
    ("B", "", 1, "c"), ("c", "", -1, "B"), ("b", "", 1, "c'"), ("C", "", -1, "B,"), ("c", "'", -1, "b"),
    ("D", ",", 1, "E,"), ("A", ",,", -1, "G,,")])
def test_letter_steps_cross_octaves(letter, marks, step, expected):
    assert _step_letter(letter, marks, step) == expected


def test_fragment_batch_is_a_function_of_seed_and_step():
    abcs = [record.abc for record in tiny_corpus()][:6]
    settings = {"min_bars": 2, "max_bars": 4, "noise": 0.2, "transpose_share": 0.5, "max_patches": 32}
    first, mask = fragment_batch(abcs, step_rng(0, 3), **settings)
    again, _ = fragment_batch(abcs, step_rng(0, 3), **settings)
    other, _ = fragment_batch(abcs, step_rng(0, 4), **settings)
    assert first.shape[0] == 6 and mask.dtype == torch.bool and torch.equal(first, again)
    assert not (first.shape == other.shape and torch.equal(first, other))


def test_melody_loss_is_finite_and_decreases_on_a_tiny_corpus():
    torch.manual_seed(0)
    encoder = MusicEncoder(32, 2, 2, 64, 0.0, max_patches=32)  # no dropout: the loss moves with the fragments only
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-2)
    abcs = [abc for abc, _ in TUNES.values()] + [TUNE]
    tunes, tune_mask = collate_patches(patchify(abcs, 32))
    settings = {"min_bars": 1, "max_bars": 3, "noise": 0.05, "transpose_share": 0.5, "max_patches": 32}
    losses = []
    for step in range(30):
        fragments, fragment_mask = fragment_batch(abcs, step_rng(0, step), **settings)
        loss = melody_loss(encoder(fragments, fragment_mask), encoder(tunes, tune_mask), torch.tensor(10.0))
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-8:]) < 0.75 * np.mean(losses[:5])  # from chance (log 5 = 1.6) towards telling tunes apart


def test_training_with_the_objective_records_its_loss_and_changes_the_model():
    corpus = tiny_corpus()
    plain, _ = train("tiny", corpus, progress=False, **STEPS)
    melodic, history = train("tiny", corpus, progress=False, melody_weight=1.0, **STEPS)
    assert all(np.isfinite(step["melody_loss"]) for step in history.steps)
    assert melodic.fingerprint != plain.fingerprint
    again, _ = train("tiny", corpus, progress=False, melody_weight=1.0, **STEPS)
    assert again.fingerprint == melodic.fingerprint  # same seed, same fragments, same model


def test_weight_zero_never_draws_fragments_and_gives_the_same_weights(monkeypatch):
    corpus = tiny_corpus()
    plain, _ = train("tiny", corpus, progress=False, **STEPS)

    def refuse(*args, **kwargs):
        raise AssertionError("fragments drawn with melody_weight=0")

    monkeypatch.setattr(contrastive_module, "_fragment_inputs", refuse)
    # Other melody knobs mean nothing while the objective is off: the run is the run without it.
    off, _ = train("tiny", corpus, progress=False, melody_weight=0.0, melody_noise=0.5, melody_transpose=1.0,
                   melody_max_bars=3, **STEPS)
    for a, b in zip(plain.state_dict().values(), off.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("overrides", [{"melody_weight": -1.0}, {"melody_min_bars": 0},
                                       {"melody_min_bars": 5, "melody_max_bars": 4}, {"melody_noise": 1.5},
                                       {"melody_transpose": -0.1}])
def test_bad_melody_settings_are_refused_with_their_names(overrides):
    with pytest.raises(MusicSearchError, match="melody_"):
        get_config("tiny", **overrides)


def test_a_resumed_run_draws_the_same_fragments_as_an_uninterrupted_one(tmp_path, monkeypatch):
    import musicsearch.training.checkpoints as checkpoint_module

    corpus = tiny_corpus()
    settings = {**STEPS, "checkpoint_every": 2, "melody_weight": 1.0}
    full, _ = train("tiny", corpus, out=tmp_path / "full", progress=False, **settings)

    class _Stop(Exception):
        pass

    original = checkpoint_module.save_checkpoint

    def stop_after_checkpoint(*args, **kwargs):
        original(*args, **kwargs)
        raise _Stop

    monkeypatch.setattr(checkpoint_module, "save_checkpoint", stop_after_checkpoint)
    with pytest.raises(_Stop):
        train("tiny", corpus, out=tmp_path / "cut", progress=False, **settings)
    monkeypatch.setattr(checkpoint_module, "save_checkpoint", original)
    resumed, history = train("tiny", corpus, out=tmp_path / "cut", progress=False, **settings)
    assert len(history.steps) == 4 and "melody_loss" in history.steps[-1]
    assert resumed.fingerprint == full.fingerprint
