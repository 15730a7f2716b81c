"""Contrastive training of a :class:`~musicsearch.MusicTextModel` on a corpus: ``ms.train("quick", corpus)``.

The loop: a held-out split by tune (``Corpus.split``, stratified by collection, fixed seed) that is never
trained on; batches drawn with explicit per-collection ratios (:mod:`musicsearch.training.sampling`); each tune
paired with one of its texts (captions without title, or a short text-dropout variant); symmetric
InfoNCE, plus the masked-music loss when ``mlm_weight > 0``; AdamW with warm-up and cosine decay,
gradient clipping, a progress bar with loss and tunes/s, periodic held-out evaluation, and resumable
checkpoints in ``out/checkpoint``. Same seed, same model on CPU. With several GPUs, ``accelerate launch``
runs the same code data-parallel (each process draws its own batches; negatives stay per process).

Example:
    >>> model, history = train("tiny", corpus, progress=False)  # doctest: +SKIP
    >>> history.evals[-1]["mrr"] > 0  # doctest: +SKIP
    True
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ..data.texts import short_dropout
from ..models.config import ModelConfig, get_config
from ..models.losses import clip_loss, retrieval_accuracy
from ..models.model import MusicTextModel, collate_patches
from .data import build_training_set
from .history import TrainingHistory
from .masked_music import PatchDecoder, corrupt_patches, pretrain_masked_music
from .sampling import CollectionSampler


class _TrainingModule(torch.nn.Module):
    """Model + (optional) masked-music decoder behind one ``forward``, so data-parallel wrappers see all."""

    def __init__(self, model: MusicTextModel, decoder: PatchDecoder | None) -> None:
        super().__init__()
        self.model = model
        self.decoder = decoder

    def forward(self, patches, mask, text_pooled=None, texts=None, corrupted=None, selected=None):
        model = self.model
        out = {"music": model.music_features(patches, mask), "scale": model.logit_scale()}
        out["text"] = model.text_proj(text_pooled) if text_pooled is not None else model.text_features(texts)
        if corrupted is not None:
            _, hidden = model.music_encoder(corrupted, mask, return_hidden=True)
            out["mlm_logits"] = self.decoder(hidden[selected])
        return out


def _accelerator():
    # Plain single process unless launched on several devices (accelerate/torchrun set WORLD_SIZE).
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from accelerate import Accelerator

        return Accelerator()
    return None


def _parameter_groups(module: _TrainingModule, config: ModelConfig) -> list[dict[str, Any]]:
    groups = {"decay": [], "no_decay": [], "text": []}
    for name, parameter in module.named_parameters():
        if not parameter.requires_grad:
            continue
        if name.startswith("model.text_encoder."):
            groups["text"].append(parameter)
        elif parameter.ndim < 2 or "position" in name or "logit_scale" in name:
            groups["no_decay"].append(parameter)  # biases, norms, positions, temperature: no decay
        else:
            groups["decay"].append(parameter)
    return [{"params": groups["decay"], "weight_decay": config.weight_decay, "lr": config.learning_rate},
            {"params": groups["no_decay"], "weight_decay": 0.0, "lr": config.learning_rate},
            {"params": groups["text"], "weight_decay": config.weight_decay, "lr": config.text_learning_rate}]


def _schedule(total: int, warmup: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return factor


def _weights_to_save(module: _TrainingModule) -> dict[str, torch.Tensor]:
    frozen = module.model.text_encoder.frozen
    return {k: v for k, v in module.state_dict().items() if not (frozen and k.startswith("model.text_encoder."))}


def save_trained_model(model: MusicTextModel, history: TrainingHistory, out: str | os.PathLike) -> Path:
    """Save a model with its run's facts (preset, corpus, training summary) and ``history.json`` beside it.

    Example:
        >>> model, history = train("tiny", corpus, max_steps=2)  # doctest: +SKIP
        >>> save_trained_model(model, history, "models/tiny")  # doctest: +SKIP
    """
    from ..artifacts import write_json

    directory = model.save_pretrained(out, preset=model.config.preset, corpus=history.info.get("corpus"),
                                      corpus_fingerprint=history.info.get("corpus_fingerprint"),
                                      training=history.summary())
    write_json(Path(out) / "history.json", history.to_dict())
    return directory


def peak_memory_mb() -> float | None:
    """The process's peak resident memory so far (it includes whatever ran before training), or None."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def train(config_or_preset: ModelConfig | str = "quick", corpus=None, *, out: str | os.PathLike | None = None,
          progress: bool = True, callback=None, resume: bool = True, **overrides: Any):
    """Train a model on ``corpus`` and return ``(model, history)``.

    Args:
        config_or_preset: a :class:`ModelConfig` or a preset name ("tiny", "quick", "base").
        corpus: a :class:`~musicsearch.Corpus`; None loads ``load_corpus("music21")``.
        out: folder for checkpoints and the final model (``save_pretrained``); None keeps it in memory.
        progress: show progress bars.
        callback: called as ``callback(history, event)`` after each step (``event="step"``) and each
            evaluation (``"eval"``); :class:`musicsearch.viz.training_plots.LivePlot` draws live curves.
        resume: continue from ``out/checkpoint`` when it exists (same config required).
        **overrides: config fields to change, e.g. ``epochs=1``.

    Returns:
        ``(model, history)``: the trained :class:`MusicTextModel` (eval mode) and a :class:`TrainingHistory`.

    Raises:
        CorpusError: no tune has both music and a caption.
        ArtifactError: ``out`` holds a checkpoint of a different config.
    """
    from tqdm.auto import tqdm

    from ..errors import ArtifactError
    from ..evaluation.retrieval import caption_retrieval
    from ..paths import cache_dir
    from .checkpoints import STATE_NAME, load_checkpoint, save_checkpoint

    config = get_config(config_or_preset, **overrides)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    if corpus is None:
        from ..data.corpus import load_corpus

        corpus = load_corpus("music21", progress=progress)
    started = time.perf_counter()
    train_part, held_out = corpus.split(config.holdout, config.split_seed)
    data = build_training_set(train_part, max_patches=config.max_patches,
                              variants=config.caption_variants if config.text_dropout else 0,
                              max_parts=config.dropout_max_parts, seed=config.seed)
    accelerator = _accelerator()
    torch.manual_seed(config.seed)
    model = MusicTextModel(config)
    decoder = None
    if config.mlm_weight > 0:
        with torch.random.fork_rng():
            torch.manual_seed(config.seed + 1)
            decoder = PatchDecoder(config.hidden_size, config.decoder_size)
    module = _TrainingModule(model, decoder)
    device = accelerator.device if accelerator else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    module.to(device)
    history = TrainingHistory(config=config.to_dict())
    history.info.update(train_tunes=len(data), heldout_tunes=len(held_out), corpus=getattr(corpus, "name", ""),
                        corpus_fingerprint=getattr(corpus, "fingerprint", ""))

    # Texts: frozen -> embed every candidate once (cached on disk); fine-tune -> tokenised each step.
    text_started = time.perf_counter()
    pooled = None
    if model.text_encoder.frozen:
        unique = list(dict.fromkeys(text for texts in data.texts for text in texts))
        index = {text: i for i, text in enumerate(unique)}
        text_ids = [[index[text] for text in texts] for texts in data.texts]
        pooled = model.text_encoder.embed(unique, batch_size=128, progress=progress,
                                          cache_root=cache_dir() / "text").to(device)
        history.info["unique_texts"] = len(unique)
    eval_records = list(held_out.sample(config.eval_size, seed=config.seed)) if len(held_out) else []
    history.info["text_embedding_s"] = round(time.perf_counter() - text_started, 2)

    rank = accelerator.process_index if accelerator else 0
    sampler = CollectionSampler(data.collections, power=config.sampling_power, ratios=config.collection_ratios,
                                seed=config.seed + 1000 * rank)
    py_rng = random.Random(config.seed + 1000 * rank)
    mask_generator = torch.Generator().manual_seed(config.seed + 1)
    total = config.max_steps or max(1, math.ceil(config.epochs * len(data) / config.batch_size))
    history.info["total_steps"] = total

    lengths = [len(patches) for patches in data.patches]

    def batch_of(indices):
        return collate_patches([data.patches[i] for i in indices])

    optimizer = torch.optim.AdamW(_parameter_groups(module, config))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(total, max(1, int(config.warmup_ratio * total))))
    step = 0
    checkpoint = Path(out) / "checkpoint" if out is not None else None
    if checkpoint is not None and resume and (checkpoint / STATE_NAME).is_file():
        weights, state = load_checkpoint(checkpoint, optimizer=optimizer, scheduler=scheduler, py_rng=py_rng)
        if state.get("config") != config.to_dict():
            raise ArtifactError(f"{checkpoint} was written by a run with another config; delete it or choose "
                                "another output folder.")
        from ..artifacts import load_state_dict_strict

        full = {**{k: v for k, v in module.state_dict().items() if k not in _weights_to_save(module)}, **weights}
        load_state_dict_strict(module, full, checkpoint / "model.safetensors")
        sampler.load_state(state["sampler"])
        mask_generator.set_state(torch.tensor(state["mask_generator"], dtype=torch.uint8))
        history = TrainingHistory.from_dict(state["history"])
        step = state["step"]
    elif config.mlm_pretrain_steps > 0:
        pretrain_rng = CollectionSampler(data.collections, power=config.sampling_power,
                                         ratios=config.collection_ratios, seed=config.seed + 7)
        history.pretrain = pretrain_masked_music(
            # Length-sorted batches as in the contrastive stage: random batches pad to the longest tune and
            # cost about twice as much per step for the same number of real patches.
            model.music_encoder,
            lambda _: [t.to(device) for t in batch_of(pretrain_rng.length_batch(config.batch_size, lengths,
                                                                                 config.length_buckets))],
            steps=config.mlm_pretrain_steps, learning_rate=config.learning_rate, ratio=config.mask_ratio,
            decoder_width=config.decoder_size, seed=config.seed, progress=progress)
    if accelerator:
        module, optimizer, scheduler = accelerator.prepare(module, optimizer, scheduler)

    def evaluate_now() -> None:
        if not eval_records or rank != 0:
            return
        metrics = caption_retrieval(model, eval_records)
        history.evals.append({"step": step, **metrics})
        if progress:
            tqdm.write(f"step {step}: held-out MRR {metrics['mrr']:.3f}, HitRate@10 {metrics['hit@10']:.3f} "
                       f"({len(eval_records)} tunes)")
        if callback:
            callback(history, "eval")

    if step == 0 and config.eval_every:
        evaluate_now()
    bar = tqdm(total=total, initial=step, desc="training", disable=not progress or rank != 0)
    module.train()
    speed = None
    while step < total:
        tick = time.perf_counter()
        indices = sampler.length_batch(config.batch_size, lengths, config.length_buckets)
        patches, mask = (t.to(device) for t in batch_of(indices))
        if pooled is not None:
            chosen = [py_rng.choice(text_ids[i]) for i in indices]
            inputs = {"text_pooled": pooled[chosen]}
        else:
            texts = [short_dropout(data.parts[i], py_rng, config.dropout_max_parts)
                     if config.text_dropout and data.parts[i] and py_rng.random() < 0.5 else py_rng.choice(data.texts[i])
                     for i in indices]
            inputs = {"texts": texts}
        if decoder is not None:
            corrupted, selected = corrupt_patches(patches.cpu(), mask.cpu(), mask_generator, config.mask_ratio)
            inputs.update(corrupted=corrupted.to(device), selected=selected.to(device))
        result = module(patches, mask, **inputs)
        contrastive = clip_loss(result["music"], result["text"], result["scale"])
        loss = contrastive
        record = {"step": step + 1, "clip_loss": contrastive.item()}
        if decoder is not None:
            targets = patches[inputs["selected"]].reshape(-1)
            mlm = torch.nn.functional.cross_entropy(result["mlm_logits"].reshape(len(targets), -1), targets,
                                                    ignore_index=0)
            loss = loss + config.mlm_weight * mlm
            record["mlm_loss"] = mlm.item()
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss) if accelerator else loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_([p for p in module.parameters() if p.requires_grad],
                                                   config.grad_clip)
        optimizer.step()
        scheduler.step()
        step += 1
        elapsed = time.perf_counter() - tick
        speed = len(indices) / elapsed if speed is None else 0.9 * speed + 0.1 * len(indices) / elapsed
        record.update(loss=loss.item(), lr=scheduler.get_last_lr()[0], logit_scale=result["scale"].item(),
                      grad_norm=float(grad_norm), batch_accuracy=retrieval_accuracy(result["music"], result["text"]),
                      tunes_per_s=round(speed, 1), elapsed_s=round(time.perf_counter() - started, 2))
        history.steps.append(record)
        bar.update(1)
        bar.set_postfix(loss=f"{record['loss']:.3f}", tunes_s=f"{speed:.0f}", refresh=False)
        if callback:
            callback(history, "step")
        if config.eval_every and step % config.eval_every == 0 and step < total:
            evaluate_now()
            module.train()
        # No checkpoint at the last step: the finished model is saved below and the checkpoint removed.
        if checkpoint is not None and rank == 0 and config.checkpoint_every and step < total and (
                step % config.checkpoint_every == 0):
            save_checkpoint(checkpoint, weights=_weights_to_save(module if not accelerator else
                                                                 accelerator.unwrap_model(module)),
                            optimizer=optimizer, scheduler=scheduler, step=step, py_rng=py_rng,
                            extra={"config": config.to_dict(), "sampler": sampler.state(),
                                   "mask_generator": mask_generator.get_state().tolist(),
                                   "history": history.to_dict()})
    bar.close()
    model.eval()
    if eval_records and (not history.evals or history.evals[-1]["step"] != step):
        evaluate_now()
    history.info["wall_time_s"] = round(time.perf_counter() - started, 2)
    peak = peak_memory_mb()
    if peak is not None:
        history.info["peak_memory_mb"] = peak
    if out is not None and rank == 0:
        save_trained_model(model, history, out)
        if checkpoint is not None and checkpoint.is_dir():
            # Only an interrupted run needs it; a finished one would carry ~3x the model's size for nothing.
            import shutil

            shutil.rmtree(checkpoint, ignore_errors=True)
    return model, history
