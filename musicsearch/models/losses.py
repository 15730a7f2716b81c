"""Contrastive loss of the joint space: symmetric InfoNCE (CLIP / CLaMP) with a learnable, clamped scale.

Row ``i`` of the music batch and row ``i`` of the text batch describe the same tune; every other row is a
negative. Two tunes of a batch may share the very same caption ("a reel"): the loss then cannot reach
zero, but it needs no special case, since identical text rows get identical scores and gradients.

Example:
    >>> music, text = torch.randn(4, 8), torch.randn(4, 8)
    >>> float(clip_loss(music, text, torch.tensor(2.0))) > 0
    True
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class LogitScale(nn.Module):
    """``exp(log_scale)`` clamped to ``max_scale``: the inverse temperature of the softmax, learned."""

    def __init__(self, init_scale: float = 1 / 0.07, max_scale: float = 100.0) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(init_scale), dtype=torch.float32))
        self.max_scale = max_scale

    def forward(self) -> torch.Tensor:
        # Clamping the log keeps the gradient at zero past the cap, so the scale cannot run away.
        return self.log_scale.clamp(max=math.log(self.max_scale)).exp()


def clip_loss(music: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor,
              positives: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE between L2-normalised music and text embeddings.

    Args:
        music: ``(B, D)`` music embeddings (any norm; normalised here).
        text: ``(B, D)`` text embeddings of the same tunes, same order.
        logit_scale: scalar inverse temperature (already exponentiated and clamped).
        positives: optional ``(B, B)`` bool, ``[i, j]`` true when text ``j`` describes tune ``i`` too (a
            phrase such as "a march" fits every march of the batch); the diagonal must be true. Each row
            and column then maximises the probability of *any* of its positives, so tunes that share a
            description are not pushed apart. None = the diagonal only (plain InfoNCE).

    Returns:
        Scalar loss: mean of the music→text and text→music cross-entropies.

    Example:
        >>> music, text = torch.randn(3, 8), torch.randn(3, 8)
        >>> eye = torch.eye(3, dtype=torch.bool)
        >>> bool(torch.isclose(clip_loss(music, text, torch.tensor(5.0), eye), clip_loss(music, text, torch.tensor(5.0))))
        True
    """
    music = F.normalize(music.float(), dim=-1)
    text = F.normalize(text.float(), dim=-1)
    logits = logit_scale * music @ text.t()
    if positives is None:
        targets = torch.arange(len(music), device=music.device)
        return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets)) / 2
    matched = logits.masked_fill(~positives, float("-inf"))
    music_to_text = torch.logsumexp(matched, 1) - torch.logsumexp(logits, 1)
    text_to_music = torch.logsumexp(matched, 0) - torch.logsumexp(logits, 0)
    return -(music_to_text.mean() + text_to_music.mean()) / 2


def retrieval_accuracy(music: torch.Tensor, text: torch.Tensor) -> float:
    """Share of texts whose own tune scores highest in the batch (a cheap training-time signal)."""
    scores = F.normalize(text.float(), dim=-1) @ F.normalize(music.float(), dim=-1).t()
    return (scores.argmax(1) == torch.arange(len(scores), device=scores.device)).float().mean().item()
