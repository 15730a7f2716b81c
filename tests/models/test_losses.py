"""Symmetric InfoNCE and the learnable, clamped logit scale."""

from __future__ import annotations

import math

import pytest
import torch

from musicsearch.models.losses import LogitScale, clip_loss, retrieval_accuracy


def test_aligned_pairs_have_lower_loss_than_shuffled():
    torch.manual_seed(0)
    music = torch.randn(16, 8)
    aligned = clip_loss(music, music + 0.01 * torch.randn(16, 8), torch.tensor(20.0))
    shuffled = clip_loss(music, music[torch.randperm(16)], torch.tensor(20.0))
    assert aligned < shuffled
    assert retrieval_accuracy(music, music) == 1.0


def test_loss_is_symmetric_and_scale_invariant_in_input_norm():
    torch.manual_seed(1)
    a, b = torch.randn(6, 4), torch.randn(6, 4)
    scale = torch.tensor(5.0)
    assert clip_loss(a, b, scale).item() == pytest.approx(clip_loss(b, a, scale).item(), rel=1e-6)
    assert clip_loss(3 * a, b, scale).item() == pytest.approx(clip_loss(a, b, scale).item(), rel=1e-5)


def test_random_embeddings_give_about_log_batch():
    torch.manual_seed(2)
    loss = clip_loss(torch.randn(64, 32), torch.randn(64, 32), torch.tensor(1.0))
    assert abs(loss.item() - math.log(64)) < 0.2


def test_logit_scale_is_learnable_and_clamped():
    scale = LogitScale(init_scale=1 / 0.07, max_scale=100.0)
    assert scale().item() == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        scale.log_scale.fill_(10.0)
    assert scale().item() == pytest.approx(100.0, rel=1e-5)
    scale().backward()
    assert scale.log_scale.grad.item() == 0.0  # past the cap there is no push further up
    fresh = LogitScale(2.0)
    fresh().backward()
    assert fresh.log_scale.grad.item() > 0
