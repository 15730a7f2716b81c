"""The music encoder's dropout: a Bernoulli mask at the set rate, seeded, and attention written out as SDPA's."""

import torch
import torch.nn.functional as F

from musicsearch.models._dropout import FastDropout, attention, dropout_mask, fast_dropout
from musicsearch.models.music_encoder import MusicEncoder


def test_every_lane_of_the_random_words_drops_at_the_set_rate():
    torch.manual_seed(0)
    for probability in (0.1, 0.45):
        mask = dropout_mask((200_000, 4), probability)  # column j is lane j of each 64-bit word
        dropped = 1 - mask.float().mean(0)
        assert torch.all((dropped - probability).abs() < 0.006), dropped


def test_kept_values_are_scaled_so_the_expectation_is_unchanged():
    torch.manual_seed(1)
    x = torch.rand(400_000) + 0.5
    out = fast_dropout(x, 0.3)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / (1 - round(0.3 * 65536) / 65536))
    assert abs(out.mean().item() / x.mean().item() - 1) < 0.01


def test_eval_mode_and_zero_rate_leave_the_input_alone_and_rate_one_drops_everything():
    x = torch.randn(5, 7)
    assert FastDropout(0.5).eval()(x) is x
    assert fast_dropout(x, 0.0) is x
    assert torch.count_nonzero(fast_dropout(x, 1.0)) == 0


def test_the_same_seed_draws_the_same_mask_and_another_seed_does_not():
    x = torch.ones(64, 64)
    torch.manual_seed(3)
    first = fast_dropout(x, 0.2)
    torch.manual_seed(3)
    again = fast_dropout(x, 0.2)
    torch.manual_seed(4)
    other = fast_dropout(x, 0.2)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_gradient_flows_through_kept_elements_only():
    torch.manual_seed(5)
    x = torch.randn(30, 30, requires_grad=True)
    out = fast_dropout(x, 0.5)
    out.sum().backward()
    expected = (out.detach() != 0).float() * 2.0
    torch.testing.assert_close(x.grad, expected)


def test_written_out_attention_matches_the_fused_call_without_dropout():
    torch.manual_seed(6)
    q, k, v = (torch.randn(3, 2, 9, 8) for _ in range(3))
    mask = torch.ones(3, 1, 1, 9, dtype=torch.bool)
    mask[0, ..., 5:] = False  # a padded tune
    torch.testing.assert_close(attention(q, k, v, mask, 0.0),
                               F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_the_encoder_uses_the_mask_in_training_and_not_in_eval():
    torch.manual_seed(7)
    encoder = MusicEncoder(32, 2, 2, 64, 0.3, max_patches=16)
    patches, mask = torch.randint(1, 96, (4, 10, 64)), torch.ones(4, 10, dtype=torch.bool)
    encoder.eval()
    assert torch.equal(encoder(patches, mask), encoder(patches, mask))
    encoder.train()
    assert not torch.allclose(encoder(patches, mask), encoder(patches, mask))
    encoder.set_dropout(0.0)
    encoder.eval()
    reference = encoder(patches, mask)
    encoder.train()
    torch.testing.assert_close(encoder(patches, mask), reference)
