"""The text-head refit stage: a linear head while the music side learns, the architecture's head fitted last."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import musicsearch as ms
from musicsearch.errors import MusicSearchError
from musicsearch.models.losses import LogitScale
from musicsearch.models.text_head import build_text_head
from musicsearch.training.config import get_config
from musicsearch.training.head_refit import contrastive_architecture, fit_head
from musicsearch.training.sampling import CollectionSampler
from tests.helpers.model import tiny_corpus

REFIT = {"text_mode": "frozen", "text_head_layers": 1, "text_head_width": 16, "head_refit_steps": 6}


def test_contrastive_training_uses_a_linear_head_only_when_a_refit_follows():
    staged = get_config("tiny", **REFIT)
    assert contrastive_architecture(staged).text_head_layers == 0
    assert contrastive_architecture(staged).hidden_size == staged.architecture.hidden_size
    joint = get_config("tiny", **{**REFIT, "head_refit_steps": 0})
    assert contrastive_architecture(joint) is joint.architecture


def test_a_refit_needs_a_frozen_text_encoder_and_steps_are_counted():
    with pytest.raises(MusicSearchError, match="head_refit_steps.*text_mode"):
        get_config("tiny", head_refit_steps=5)  # tiny fine-tunes its text encoder
    with pytest.raises(MusicSearchError, match="head_refit_steps must be >= 0"):
        get_config("tiny", text_mode="frozen", head_refit_steps=-1)


def test_fit_head_learns_a_mapping_it_can_learn():
    generator = torch.Generator().manual_seed(0)
    music = torch.nn.functional.normalize(torch.randn(48, 8, generator=generator), dim=-1)
    mixing = torch.randn(8, 12, generator=generator)
    text_pool = torch.tanh(music @ mixing)  # each tune's one text is a nonlinear function of its music
    torch.manual_seed(0)
    head = build_text_head(12, 8, hidden_layers=1, width=32)
    losses = fit_head(head, torch.nn.Identity(), music, text_pool, [[i] for i in range(48)], CollectionSampler(["c"] * 48, seed=0),
                      random.Random(0), steps=300, batch_size=16, learning_rate=3e-3, weight_decay=0.0,
                      warmup_ratio=0.05, logit_scale=LogitScale(10.0, 100.0))
    assert len(losses) == 300
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    with torch.no_grad():
        scores = torch.nn.functional.normalize(head(text_pool), dim=-1) @ music.T
    assert (scores.argmax(1) == torch.arange(48)).float().mean() > 0.8


def test_training_with_a_refit_ends_with_the_architectures_head_and_repeats(tmp_path):
    corpus = tiny_corpus()
    unrefitted, _ = ms.train("tiny", corpus, progress=False, **{**REFIT, "head_refit_steps": 0,
                                                               "text_head_layers": 0})
    first, history = ms.train("tiny", corpus, out=tmp_path / "a", progress=False, **REFIT)
    # Contrastive training was the same (a linear head, same seed): the music encoder is identical; the
    # refit changed the music projection.
    for name, tensor in unrefitted.music_encoder.state_dict().items():
        assert torch.equal(tensor, first.music_encoder.state_dict()[name]), name
    assert not torch.equal(unrefitted.music_proj.weight, first.music_proj.weight)
    assert first.config.text_head_layers == 1 and isinstance(first.text_proj, torch.nn.Sequential)
    assert history.info["head_refit"]["steps"] == 6
    again, _ = ms.train("tiny", corpus, progress=False, **REFIT)
    for (name, a), (_, b) in zip(first.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), name
    loaded = ms.load_model(tmp_path / "a")
    assert loaded.config.text_head_layers == 1 and loaded.fingerprint == first.fingerprint
    texts = ["a reel in D", "a jig"]
    assert np.allclose(loaded.encode_text(texts), first.encode_text(texts), atol=1e-6)
