"""CLaMP's masked music model (M3): rebuild corrupted bar patches from their context.

45% of a tune's patches are selected; of those, 80% become all-``[MASK]`` patches, 10% have their
characters shuffled and 10% stay as they are. A small decoder reads the encoder's state at each selected
patch and predicts its 64 characters. The music encoder thereby learns what bars look like before (or
while) it learns to match captions: it is available as a pretraining stage
(``TrainingConfig.mlm_pretrain_steps``) and as an auxiliary loss (``TrainingConfig.mlm_weight``).

Example:
    >>> patches = torch.randint(1, 96, (2, 6, 64)); mask = torch.ones(2, 6, dtype=torch.bool)
    >>> corrupted, selected = corrupt_patches(patches, mask, torch.Generator().manual_seed(0))
    >>> corrupted.shape == patches.shape and selected.dtype == torch.bool
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.patches import MASK_ID, PAD_ID, PATCH_LENGTH, VOCAB_SIZE
from ._precision import forward_precision
from .divergence import check_step, check_weights, trainable

# Character ids of real ABC text (ASCII 32-126 -> 1-95); PAD, MASK and END are not shuffled.
_FIRST_TEXT_ID, _LAST_TEXT_ID = 1, 95


def corrupt_patches(patches: torch.Tensor, mask: torch.Tensor, generator: torch.Generator,
                    ratio: float = 0.45) -> tuple[torch.Tensor, torch.Tensor]:
    """Select and corrupt patches as in CLaMP's M3.

    Args:
        patches: ``(B, P, 64)`` integer patches.
        mask: ``(B, P)`` bool, True on real patches (padding is never selected).
        generator: torch random generator (seeded by the caller, for reproducible runs).
        ratio: share of real patches selected.

    Returns:
        ``(corrupted, selected)``: corrupted copy of ``patches`` and a ``(B, P)`` bool of the selected ones.
        At least one patch is selected per batch.
    """
    batch, length, width = patches.shape
    draws = torch.rand(batch, length, generator=generator)
    selected = (draws < ratio) & mask.bool()
    if not selected.any():  # a batch of very short tunes: still give the loss something to predict
        first = mask.bool().nonzero()[0]
        selected[first[0], first[1]] = True
    kind = torch.rand(batch, length, generator=generator)
    masked = selected & (kind < 0.8)
    shuffled = selected & (kind >= 0.8) & (kind < 0.9)
    corrupted = patches.clone()
    corrupted[masked] = MASK_ID
    if shuffled.any():
        rows = corrupted[shuffled]
        is_text = (rows >= _FIRST_TEXT_ID) & (rows <= _LAST_TEXT_ID)
        # Random keys for text characters, keys above 1 in order for PAD/END: sorting permutes the text
        # characters among themselves and leaves the patch's tail where it was.
        keys = torch.rand(rows.shape, generator=generator)
        keys = torch.where(is_text, keys, 2.0 + torch.arange(width, dtype=keys.dtype))
        corrupted[shuffled] = torch.gather(rows, 1, keys.argsort(dim=1))
    return corrupted, selected


class PatchDecoder(nn.Module):
    """Encoder state of one patch ``(N, hidden)`` → character logits ``(N, 64, 98)``, all positions at once.

    Deliberately small (CLaMP's M3 decoder is a character transformer): its job is to make the encoder's
    states informative, not to be a good generator.
    """

    def __init__(self, hidden_size: int, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.expand = nn.Linear(hidden_size, PATCH_LENGTH * width)
        self.position = nn.Parameter(torch.zeros(PATCH_LENGTH, width))
        nn.init.normal_(self.position, std=0.02)
        self.norm = nn.LayerNorm(width)
        self.mix = nn.Linear(width, width)
        self.out = nn.Linear(width, VOCAB_SIZE)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        x = self.expand(states).view(-1, PATCH_LENGTH, self.width) + self.position
        x = x + F.gelu(self.mix(self.norm(x)))
        return self.out(x)


def masked_music_loss(encoder: nn.Module, decoder: PatchDecoder, patches: torch.Tensor, mask: torch.Tensor,
                      generator: torch.Generator, ratio: float = 0.45) -> tuple[torch.Tensor, float]:
    """Cross-entropy of the selected patches' characters (padding ignored) and the character accuracy.

    Example:
        >>> from musicsearch.models.music_encoder import MusicEncoder
        >>> encoder, decoder = MusicEncoder(16, 1, 2, 32, 0.0, max_patches=8), PatchDecoder(16, 8)
        >>> patches = torch.randint(1, 96, (2, 5, 64)); mask = torch.ones(2, 5, dtype=torch.bool)
        >>> loss, accuracy = masked_music_loss(encoder, decoder, patches, mask, torch.Generator())
        >>> loss.ndim, 0.0 <= accuracy <= 1.0
        (0, True)
    """
    corrupted, selected = corrupt_patches(patches, mask, generator, ratio)
    _, hidden = encoder(corrupted, mask, return_hidden=True)
    logits = decoder(hidden[selected]).float()  # the cross-entropy in float32 under autocast too
    targets = patches[selected].long()
    loss = F.cross_entropy(logits.reshape(-1, VOCAB_SIZE), targets.reshape(-1), ignore_index=PAD_ID)
    with torch.no_grad():
        real = targets != PAD_ID
        accuracy = ((logits.argmax(-1) == targets) & real).sum().item() / max(int(real.sum()), 1)
    return loss, accuracy


def pretrain_masked_music(encoder: nn.Module, batches, *, steps: int, learning_rate: float = 1e-3,
                          ratio: float = 0.45, decoder_width: int = 32, seed: int = 0,
                          bf16_autocast: bool = False, progress: bool = True) -> list[dict]:
    """Pretrain a music encoder with the masked music objective alone.

    Args:
        encoder: a :class:`~musicsearch.models.music_encoder.MusicEncoder` (trained in place).
        batches: callable ``step -> (patches, mask)`` giving collated training batches.
        steps: optimisation steps.
        learning_rate, ratio, decoder_width, seed: optimiser, masking and decoder settings.
        bf16_autocast: run the forward passes in bfloat16 autocast (losses in float32; see ``_precision``).
        progress: show a progress bar.

    Returns:
        History: one ``{"step", "mlm_loss", "mlm_accuracy"}`` dict per step.

    Raises:
        TrainingDiverged: a step's loss, gradient norm or weights stopped being finite.
    """
    from tqdm.auto import tqdm

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        decoder = PatchDecoder(encoder.hidden_size, decoder_width)
    parameters = list(encoder.parameters()) + list(decoder.parameters())
    named = [(f"encoder.{name}", p) for name, p in trainable(encoder)] + [
        (f"decoder.{name}", p) for name, p in trainable(decoder)]
    optimizer = torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    encoder.train()
    history = []
    bar = tqdm(range(steps), desc="masked-music pretraining", disable=not progress)
    for step in bar:
        patches, mask = batches(step)
        with forward_precision(patches.device, bf16_autocast):
            loss, accuracy = masked_music_loss(encoder, decoder, patches, mask, generator, ratio)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        divergence = {"step": step + 1, "stage": "masked-music pretraining", "learning_rate": learning_rate}
        check_step(loss.item(), float(grad_norm), **divergence)
        optimizer.step()
        check_weights(named, loss=loss.item(), **divergence)
        schedule.step()
        history.append({"step": step, "mlm_loss": loss.item(), "mlm_accuracy": accuracy})
        bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{accuracy:.2f}")
    return history
