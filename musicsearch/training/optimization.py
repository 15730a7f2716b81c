"""What the optimiser sees: the model and the masked-music decoder as one module, AdamW groups, the schedule.

The learning rate warms up linearly for ``warmup_ratio`` of the steps, then follows a cosine down to zero.
Matrices decay; biases, norms, positions and the temperature do not; fine-tuned text layers get their own,
smaller learning rate.

Example:
    >>> factor = lr_schedule(total=100, warmup=10)
    >>> round(factor(4), 2), factor(10), round(factor(55), 2), factor(100)
    (0.5, 1.0, 0.5, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ..models.model import MusicTextModel
from .config import TrainingConfig
from .masked_music import PatchDecoder


class TrainingModule(torch.nn.Module):
    """Model + (optional) masked-music decoder behind one ``forward``, so data-parallel wrappers see all.

    Returns a dict: ``music`` and ``text`` features, the logit ``scale``, and ``mlm_logits`` of the selected
    patches when ``corrupted`` patches are given, and ``fragment_music`` features when ``fragments`` are.
    """

    def __init__(self, model: MusicTextModel, decoder: PatchDecoder | None) -> None:
        super().__init__()
        self.model = model
        self.decoder = decoder

    def forward(self, patches, mask, text_pooled=None, texts=None, corrupted=None, selected=None, fragments=None,
                fragment_mask=None):
        model = self.model
        out = {"music": model.music_features(patches, mask), "scale": model.logit_scale()}
        out["text"] = model.text_proj(text_pooled) if text_pooled is not None else model.text_features(texts)
        if corrupted is not None:
            _, hidden = model.music_encoder(corrupted, mask, return_hidden=True)
            out["mlm_logits"] = self.decoder(hidden[selected])
        if fragments is not None:
            out["fragment_music"] = model.music_features(fragments, fragment_mask)
        return out

    def weights_to_save(self) -> dict[str, torch.Tensor]:
        """State of everything that trains (a frozen MiniLM is left out: the package has it)."""
        frozen = self.model.text_encoder.frozen
        return {k: v for k, v in self.state_dict().items() if not (frozen and k.startswith("model.text_encoder."))}


def parameter_groups(module: TrainingModule, training: TrainingConfig) -> list[dict[str, Any]]:
    """AdamW groups: decayed matrices, undecayed vectors/positions/temperature, fine-tuned text layers."""
    groups: dict[str, list[torch.nn.Parameter]] = {"decay": [], "no_decay": [], "text": []}
    for name, parameter in module.named_parameters():
        if not parameter.requires_grad:
            continue
        if name.startswith("model.text_encoder."):
            groups["text"].append(parameter)
        elif parameter.ndim < 2 or "position" in name or "logit_scale" in name:
            groups["no_decay"].append(parameter)  # biases, norms, positions, temperature: no decay
        else:
            groups["decay"].append(parameter)
    return [{"params": groups["decay"], "weight_decay": training.weight_decay, "lr": training.learning_rate},
            {"params": groups["no_decay"], "weight_decay": 0.0, "lr": training.learning_rate},
            {"params": groups["text"], "weight_decay": training.weight_decay, "lr": training.text_learning_rate}]


def lr_schedule(total: int, warmup: int) -> Callable[[int], float]:
    """Factor of the peak learning rate at each step: linear warm-up, then cosine decay to 0 at ``total``."""
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return factor


def build_optimizer(module: TrainingModule, training: TrainingConfig, total: int):
    """AdamW over :func:`parameter_groups` and its :func:`lr_schedule` for a run of ``total`` steps."""
    optimizer = torch.optim.AdamW(parameter_groups(module, training))
    warmup = max(1, int(training.warmup_ratio * total))
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(total, warmup))
