"""Dropout whose mask costs a quarter of a random draw per element: the music encoder's training hot spot.

``torch.nn.Dropout`` on CPU draws one Bernoulli sample per element (``bernoulli_``), about 12% of a release
training step (26 calls: embeddings, attention weights and two residual branches per block, for the tunes
and for the melody objective's fragments). Here one 64-bit random integer gives four 16-bit lanes, and an
element is dropped when its lane falls below ``round(p * 65536)``: the same independent Bernoulli mask
(probability within 1/131072 of ``p``) for about a third of the cost, drawn from the same seeded CPU
generator, so a seed still fixes a run (benchmarks/training_step.py measures it).

The attention weights go through the same mask, which needs attention written out (``softmax(QKᵀ/√d)V``,
the path ``scaled_dot_product_attention`` itself takes on CPU when it applies dropout); without dropout
(inference, ``eval()``) the encoder keeps the fused call.

Example:
    >>> layer = FastDropout(0.5).train()
    >>> out = layer(torch.ones(2, 1000))
    >>> sorted({round(value, 3) for value in out.unique().tolist()})
    [0.0, 2.0]
"""

from __future__ import annotations

import math

import torch
from torch import nn

_LANES = 65536  # values of one 16-bit lane of the random integers


def dropout_mask(shape: torch.Size | tuple[int, ...], probability: float, *, device=None) -> torch.Tensor:
    """A boolean keep-mask of ``shape``: each element is False (dropped) with ``probability``, independently.

    Example:
        >>> mask = dropout_mask((100_000,), 0.25)
        >>> abs(1 - mask.float().mean().item() - 0.25) < 0.01
        True
    """
    count = math.prod(shape)
    # The full 64-bit range: ``random_()`` alone leaves the sign bit 0, which would bias one lane in four.
    words = torch.empty((count + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None)
    lanes = words.view(torch.int16)[:count].view(shape)
    return lanes >= round(probability * _LANES) - _LANES // 2


def fast_dropout(x: torch.Tensor, probability: float, training: bool = True) -> torch.Tensor:
    """``F.dropout(x, probability, training)`` with :func:`dropout_mask`: kept values scaled by 1/keep-rate."""
    if not training or probability <= 0.0:
        return x
    dropped = round(probability * _LANES)
    if dropped >= _LANES:
        return x * 0.0
    keep = dropout_mask(x.shape, probability, device=x.device)
    return x * keep.to(x.dtype).mul_(_LANES / (_LANES - dropped))


class FastDropout(nn.Dropout):
    """``nn.Dropout`` drawing its mask with :func:`dropout_mask` (a subclass, so ``set_dropout`` finds it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fast_dropout(x, self.p, self.training)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_mask: torch.Tensor,
              dropout: float) -> torch.Tensor:
    """``F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p=dropout)`` with :func:`fast_dropout`.

    Args:
        q, k, v: ``(B, heads, P, head_size)``.
        attn_mask: boolean, broadcastable to ``(B, heads, P, P)``, True where a query may attend (every row
            must allow at least one key, as the encoder's padding mask does).
        dropout: probability of dropping an attention weight.
    """
    scores = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
    weights = torch.softmax(scores.masked_fill(~attn_mask, float("-inf")), dim=-1)
    return fast_dropout(weights, dropout) @ v
