"""One contrastive training step: draw a batch, pair each tune with a text, symmetric InfoNCE, update.

A batch holds tunes of similar length drawn with the collection shares of
:mod:`musicsearch.training.sampling`. Each tune gets one of its candidate texts (frozen text encoder: a
row of the pre-computed embeddings; fine-tuning: half the time a fresh text-dropout variant of its
caption parts). With a masked-music decoder, the corrupted patches' reconstruction loss is added with
weight ``mlm_weight``; with ``melody_weight > 0``, the fragment-to-tune loss of
:mod:`musicsearch.training.melody_objective` is added with that weight.

Example:
    >>> record = contrastive_step(run)  # doctest: +SKIP
    >>> sorted(record)[:3]  # doctest: +SKIP
    ['batch_accuracy', 'clip_loss', 'grad_norm']
"""

from __future__ import annotations

from typing import Any

import torch

from ..data.patches import collate_patches
from ..data.texts import short_dropout
from ..models.losses import clip_loss, retrieval_accuracy
from ._precision import as_float32, forward_precision
from .divergence import check_step, check_weights, trainable
from .masked_music import corrupt_patches
from .melody_objective import fragment_batch, melody_loss, step_rng
from .run import TrainingRun


def draw_batch(run: TrainingRun, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collated ``(patches, mask)`` of the training tunes at ``indices``, on the run's device."""
    patches, mask = collate_patches([run.data.patches[i] for i in indices])
    return patches.to(run.device), mask.to(run.device)


def _text_inputs(run: TrainingRun, indices: list[int]) -> dict[str, Any]:
    if run.text_pool is not None:
        chosen = [run.py_rng.choice(run.text_ids[i]) for i in indices]
        return {"text_pooled": run.text_pool[chosen]}
    training, data, rng = run.config.training, run.data, run.py_rng
    texts = [short_dropout(data.parts[i], rng, training.dropout_max_parts, rewording=training.rewording)
             if training.text_dropout and data.parts[i] and rng.random() < 0.5 else rng.choice(data.texts[i])
             for i in indices]
    return {"texts": texts}


def _fragment_inputs(run: TrainingRun, indices: list[int]) -> dict[str, torch.Tensor]:
    # Seeded by step, not drawn from py_rng: turning the objective on leaves the text choices unchanged.
    training = run.config.training
    fragments, fragment_mask = fragment_batch(
        [run.data.abc[i] for i in indices], step_rng(training.seed, run.step), min_bars=training.melody_min_bars,
        max_bars=training.melody_max_bars, noise=training.melody_noise, transpose_share=training.melody_transpose,
        max_patches=run.config.architecture.max_patches)
    return {"fragments": fragments.to(run.device), "fragment_mask": fragment_mask.to(run.device)}


def contrastive_step(run: TrainingRun) -> dict[str, Any]:
    """One optimisation step of ``run``; returns its record (losses, lr, logit scale, gradient norm, ...)."""
    training = run.config.training
    indices = run.sampler.length_batch(training.batch_size, run.lengths, training.length_buckets)
    patches, mask = draw_batch(run, indices)
    inputs = _text_inputs(run, indices)
    if run.decoder is not None:
        corrupted, selected = corrupt_patches(patches.cpu(), mask.cpu(), run.mask_generator, training.mask_ratio)
        inputs.update(corrupted=corrupted.to(run.device), selected=selected.to(run.device))
    if training.melody_weight > 0:
        inputs.update(_fragment_inputs(run, indices))
    with forward_precision(run.device, training.bf16_autocast):
        result = run.module(patches, mask, **inputs)
    result = as_float32(result)  # every loss in float32, whatever precision the forward pass took
    contrastive = clip_loss(result["music"], result["text"], result["scale"])
    loss = contrastive
    record = {"step": run.step + 1, "clip_loss": contrastive.item()}
    if run.decoder is not None:
        targets = patches[inputs["selected"]].reshape(-1)
        mlm = torch.nn.functional.cross_entropy(result["mlm_logits"].reshape(len(targets), -1), targets,
                                                ignore_index=0)
        loss = loss + training.mlm_weight * mlm
        record["mlm_loss"] = mlm.item()
    if training.melody_weight > 0:
        melody = melody_loss(result["fragment_music"], result["music"], result["scale"])
        loss = loss + training.melody_weight * melody
        record["melody_loss"] = melody.item()
    run.optimizer.zero_grad(set_to_none=True)
    run.accelerator.backward(loss) if run.accelerator else loss.backward()
    trained = trainable(run.module)
    grad_norm = torch.nn.utils.clip_grad_norm_([p for _, p in trained], training.grad_clip)
    # A non-finite loss or gradient would poison every weight in one update: stop before applying it.
    divergence = {"step": run.step + 1, "stage": "contrastive training", "learning_rate": training.learning_rate}
    check_step(loss.item(), float(grad_norm), **divergence)
    run.optimizer.step()
    check_weights(trained, loss=loss.item(), **divergence)
    run.scheduler.step()
    run.step += 1
    record.update(loss=loss.item(), lr=run.scheduler.get_last_lr()[0], logit_scale=result["scale"].item(),
                  grad_norm=float(grad_norm), batch_accuracy=retrieval_accuracy(result["music"], result["text"]))
    return record
