"""The music encoder: CLaMP's design at laptop size.

A tune is a sequence of bar patches (64 characters × 98 symbols, see :mod:`musicsearch.data.patches`). Each
one-hot patch goes through one linear layer (``patch_embedding``), gets a learned position embedding,
and the sequence runs through a pre-norm transformer encoder; masked mean pooling over the real patches
gives one vector per tune. Every matrix is an ``nn.Linear`` (attention included, unlike
``nn.MultiheadAttention``), so the lookup-table conversion can swap any of them.

The one-hot product is computed as a sum of 64 gathered columns (``embedding_bag``), which is the same
arithmetic as ``Linear(one_hot(patch))`` without building the 6272-wide one-hot input: this is what
makes encoding hundreds of tunes per second on two cores possible.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.patches import PATCH_LENGTH, VOCAB_SIZE
from ._dropout import FastDropout, attention


class _Block(nn.Module):
    """Pre-norm transformer block with plain ``nn.Linear`` projections."""

    def __init__(self, hidden: int, heads: int, intermediate: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.norm2 = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, intermediate)
        self.fc2 = nn.Linear(intermediate, hidden)
        self.dropout = FastDropout(dropout)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(batch, length, 3, self.heads, hidden // self.heads).unbind(2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if self.training and self.dropout.p > 0:
            attended = attention(q, k, v, attn_mask, self.dropout.p)  # the cheaper mask (models/_dropout.py)
        else:
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        x = x + self.dropout(self.out(attended.transpose(1, 2).reshape(batch, length, hidden)))
        return x + self.dropout(self.fc2(F.gelu(self.fc1(self.norm2(x)))))


class MusicEncoder(nn.Module):
    """Bar patches ``(B, P, 64)`` + patch mask ``(B, P)`` → pooled features ``(B, hidden)``.

    Args:
        hidden_size, num_layers, num_heads, intermediate_size, dropout: transformer sizes.
        max_patches: number of learned positions (tunes are truncated to this many patches first).

    Example:
        >>> encoder = MusicEncoder(32, 2, 2, 64, 0.0, max_patches=16)
        >>> patches = torch.randint(1, 96, (3, 10, 64))
        >>> encoder(patches, torch.ones(3, 10, dtype=torch.bool)).shape
        torch.Size([3, 32])
    """

    def __init__(self, hidden_size: int, num_layers: int, num_heads: int, intermediate_size: int,
                 dropout: float, *, max_patches: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.max_patches = max_patches
        self.patch_embedding = nn.Linear(PATCH_LENGTH * VOCAB_SIZE, hidden_size)
        nn.init.normal_(self.patch_embedding.weight, std=0.02)  # CLaMP's init of the patch embedding
        self.position_embedding = nn.Embedding(max_patches, hidden_size)
        nn.init.normal_(self.position_embedding.weight, std=0.02)
        self.blocks = nn.ModuleList(
            _Block(hidden_size, num_heads, intermediate_size, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(hidden_size)
        self.dropout = FastDropout(dropout)
        # Column offset of character slot i in the flattened one-hot input: i * 98.
        self.register_buffer("_offsets", torch.arange(PATCH_LENGTH) * VOCAB_SIZE, persistent=False)

    def set_dropout(self, probability: float) -> None:
        """Dropout of every layer (embeddings, attention, MLP): a training setting, it shapes no weight."""
        for module in self.modules():
            if isinstance(module, nn.Dropout):
                module.p = probability

    def embed_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """``patch_embedding(one_hot(patches))`` for ``(B, P, 64)`` integer patches → ``(B, P, hidden)``."""
        batch, length, width = patches.shape
        if type(self.patch_embedding) is nn.Linear:
            # Gather-and-sum of the 64 active columns: identical to the one-hot matmul, ~100x cheaper.
            flat = (patches.long() + self._offsets).reshape(batch * length, width)
            # A contiguous (columns, hidden) copy: on the transposed view embedding_bag takes a generic path
            # about 3x slower forward and backward, with bit-identical results (benchmarks/training_step.py).
            columns = self.patch_embedding.weight.t().contiguous()
            summed = F.embedding_bag(flat, columns, mode="sum")
            return (summed + self.patch_embedding.bias).view(batch, length, -1)
        # A replaced layer (e.g. a lookup table) gets the literal one-hot input.
        one_hot = F.one_hot(patches.long(), VOCAB_SIZE).reshape(batch, length, width * VOCAB_SIZE)
        return self.patch_embedding(one_hot.to(self.position_embedding.weight.dtype))

    def forward(self, patches: torch.Tensor, mask: torch.Tensor, *, return_hidden: bool = False):
        """Encode a batch.

        Args:
            patches: ``(B, P, 64)`` integer patches, ``P <= max_patches``.
            mask: ``(B, P)`` bool, True on real patches (at least one per tune).
            return_hidden: also return the per-patch states ``(B, P, hidden)`` (for the masked music model).

        Returns:
            Pooled ``(B, hidden)`` features, or ``(pooled, hidden_states)``.
        """
        length = patches.shape[1]
        if length > self.max_patches:
            raise ValueError(f"{length} patches exceed the encoder's {self.max_patches} positions; truncate first.")
        x = self.embed_patches(patches) + self.position_embedding.weight[:length]
        x = self.dropout(x)
        mask = mask.bool()
        # (B, 1, 1, P) boolean: every query may attend to the real patches of its own tune.
        attn_mask = mask[:, None, None, :]
        for block in self.blocks:
            x = block(x, attn_mask)
        x = self.norm(x)
        weights = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return (pooled, x) if return_hidden else pooled
