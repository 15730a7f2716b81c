"""The text-head refit stage: a linear head while the music side learns, the architecture's head fitted last."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import musicsearch as ms
from musicsearch.errors import MusicSearchError
from musicsearch.models.losses import LogitScale, clip_loss
from musicsearch.models.text_head import build_text_head
from musicsearch.training.config import get_config
from musicsearch.training.head_refit import caption_phrases, contrastive_architecture, fit_head
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
    with pytest.raises(MusicSearchError, match="head_refit_phrase_share"):
        get_config("tiny", **REFIT, head_refit_phrase_share=1.0)


def test_a_loss_with_shared_descriptions_does_not_push_their_tunes_apart():
    generator = torch.Generator().manual_seed(1)
    music, text = torch.randn(4, 8, generator=generator), torch.randn(4, 8, generator=generator)
    text[1] = text[0]  # tunes 0 and 1 drew the same phrase ("a march"): each is a match for both
    scale, eye = torch.tensor(10.0), torch.eye(4, dtype=torch.bool)
    assert torch.isclose(clip_loss(music, text, scale, eye), clip_loss(music, text, scale))
    shared = eye.clone()
    shared[0, 1] = shared[1, 0] = True
    assert clip_loss(music, text, scale, shared) < clip_loss(music, text, scale)
    # the plain loss pulls tune 0 away from the copy drawn for tune 1; with both as positives it does not
    music.requires_grad_(True)
    plain_gradient = torch.autograd.grad(clip_loss(music, text, scale), music)[0]
    shared_gradient = torch.autograd.grad(clip_loss(music, text, scale, shared), music)[0]
    assert not torch.allclose(plain_gradient, shared_gradient)


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


def test_caption_phrases_are_every_wording_of_every_part():
    phrases = caption_phrases([["a march", "in D minor"], []])
    assert phrases[0][:2] == ["a march", "march"] and "in a minor key" in phrases[0] and "minor" in phrases[0]
    assert phrases[1] == [] and len(phrases[0]) == len(set(phrases[0]))


def _two_kinds(seed: int):
    # 40 tunes of two kinds (the kind is the sign of the music's first coordinate); each has its own caption,
    # and one phrase shared by its kind ("a march" / "a reel").
    generator = torch.Generator().manual_seed(seed)
    music = torch.nn.functional.normalize(torch.randn(40, 8, generator=generator), dim=-1)
    kinds = (music[:, 0] > 0).long()
    captions = torch.tanh(music @ torch.randn(8, 12, generator=generator))
    phrases = torch.randn(2, 12, generator=generator)
    pool = torch.cat([captions, phrases])
    return music, kinds, pool, [[i] for i in range(40)], [[40 + int(kind)] for kind in kinds]


def _fit(music, pool, text_ids, phrase_ids, share):
    torch.manual_seed(0)
    head = build_text_head(12, 8, hidden_layers=1, width=32)
    losses = fit_head(head, torch.nn.Identity(), music, pool, text_ids, CollectionSampler(["c"] * 40, seed=0),
                      random.Random(0), steps=200, batch_size=16, learning_rate=3e-3, weight_decay=0.0,
                      warmup_ratio=0.05, logit_scale=LogitScale(10.0, 100.0), phrase_ids=phrase_ids,
                      phrase_share=share)
    return head, losses


def test_a_refit_with_phrases_learns_what_a_phrase_shared_by_a_kind_means():
    music, kinds, pool, text_ids, phrase_ids = _two_kinds(0)

    def precision_at_10(head) -> float:  # share of each phrase's top ten tunes that are of its kind
        with torch.no_grad():
            scores = torch.nn.functional.normalize(head(pool[40:]), dim=-1) @ music.T  # (2 phrases, 40 tunes)
        return float(np.mean([(kinds[scores[kind].argsort(descending=True)[:10]] == kind).float().mean()
                              for kind in (0, 1)]))

    with_phrases, never_seen = precision_at_10(_fit(music, pool, text_ids, phrase_ids, 0.4)[0]), precision_at_10(
        _fit(music, pool, text_ids, phrase_ids, 0.0)[0])
    assert with_phrases >= 0.9 and with_phrases > never_seen + 0.3  # without phrases they mean nothing (0.45)
    # no phrases: the same fit as before the option existed, draw for draw
    _, without = _fit(music, pool, text_ids, None, 0.0)
    _, unused = _fit(music, pool, text_ids, phrase_ids, 0.0)
    assert without == unused


def test_a_run_with_phrases_embeds_them_once_and_fits_with_them():
    corpus = tiny_corpus()
    plain, _ = ms.train("tiny", corpus, progress=False, **REFIT)
    phrased, history = ms.train("tiny", corpus, progress=False, **REFIT, head_refit_phrase_share=0.5)
    facts = history.info["head_refit"]
    assert facts["phrase_share"] == 0.5 and facts["phrase_texts_added"] > 0
    for name, tensor in plain.music_encoder.state_dict().items():  # contrastive training is untouched
        assert torch.equal(tensor, phrased.music_encoder.state_dict()[name]), name
    assert not torch.equal(plain.music_proj.weight, phrased.music_proj.weight)
