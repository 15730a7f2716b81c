"""CLaMP's masked music model: patch selection and corruption, the decoder, pretraining, auxiliary loss."""

from __future__ import annotations

import torch

from musicsearch.data.patches import MASK_ID, PAD_ID, collate_patches, patchify
from musicsearch.models.music_encoder import MusicEncoder
from musicsearch.training.masked_music import (
    PatchDecoder,
    corrupt_patches,
    masked_music_loss,
    pretrain_masked_music,
)

TUNE = "L:1/8\nM:6/8\nK:D\n" + "|:dfa afd|BdB AFA|gfe dcB|A3 A3:|" * 20


def _batch():
    return collate_patches(patchify([TUNE, TUNE[:60], TUNE[:200]], 64))


def test_selection_ratio_and_corruption_kinds():
    patches, mask = collate_patches(patchify([TUNE] * 40, 64))
    corrupted, selected = corrupt_patches(patches, mask, torch.Generator().manual_seed(0), ratio=0.45)
    share = selected.sum().item() / mask.sum().item()
    assert 0.40 < share < 0.50
    assert not (selected & ~mask).any()
    rows_sel, rows_orig = corrupted[selected], patches[selected]
    masked = (rows_sel == MASK_ID).all(1)
    unchanged = (rows_sel == rows_orig).all(1)
    shuffled = ~masked & ~unchanged
    total = len(rows_sel)
    assert 0.74 < masked.sum().item() / total < 0.86
    assert 0.05 < (shuffled.sum().item() + unchanged.sum().item()) / total < 0.26
    # Shuffled patches keep their characters (a permutation) and their padding in place.
    for row, original in zip(rows_sel[shuffled], rows_orig[shuffled]):
        assert sorted(row.tolist()) == sorted(original.tolist())
        assert ((row == PAD_ID) == (original == PAD_ID)).all()
    assert torch.equal(corrupted[~selected], patches[~selected])


def test_same_generator_seed_same_corruption():
    patches, mask = _batch()
    first = corrupt_patches(patches, mask, torch.Generator().manual_seed(3))
    second = corrupt_patches(patches, mask, torch.Generator().manual_seed(3))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_decoder_shapes_and_loss_ignores_padding():
    decoder = PatchDecoder(16, width=8)
    assert decoder(torch.randn(5, 16)).shape == (5, 64, 98)
    encoder = MusicEncoder(16, 1, 2, 32, 0.0, max_patches=64)
    patches, mask = _batch()
    loss, accuracy = masked_music_loss(encoder, decoder, patches, mask, torch.Generator().manual_seed(0))
    assert loss.item() > 0 and 0 <= accuracy <= 1
    loss.backward()
    assert encoder.patch_embedding.weight.grad is not None


def test_pretraining_reduces_reconstruction_loss():
    torch.manual_seed(0)
    encoder = MusicEncoder(32, 1, 2, 64, 0.0, max_patches=64)
    patches, mask = _batch()
    history = pretrain_masked_music(encoder, lambda step: (patches, mask), steps=40, learning_rate=3e-3,
                                    decoder_width=8, progress=False)
    first = sum(row["mlm_loss"] for row in history[:5]) / 5
    last = sum(row["mlm_loss"] for row in history[-5:]) / 5
    assert last < 0.7 * first
