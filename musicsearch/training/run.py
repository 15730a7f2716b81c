"""The state of one training run and the steps that set it up: prepare the data, build model and optimiser.

:class:`TrainingRun` holds everything the later steps share (model, optimiser, samplers, random states,
history, step counter), so each step of :func:`musicsearch.training.loop.train` is a function of the run.

Example:
    >>> train_set, held_out = prepare_data(get_config("tiny"), corpus)  # doctest: +SKIP
    >>> run = build_run(get_config("tiny"), train_set, held_out, corpus, progress=False)  # doctest: +SKIP
    >>> run.total  # doctest: +SKIP
    3
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch

from ..models.model import MusicTextModel
from .config import RunConfig
from .data import TrainingSet, build_training_set
from .head_refit import contrastive_architecture
from .history import TrainingHistory
from .masked_music import PatchDecoder
from .optimization import TrainingModule, build_optimizer
from .sampling import CollectionSampler


@dataclass
class TrainingRun:
    """Everything the steps of one training run share. Built by :func:`build_run`."""

    config: RunConfig  # architecture + training settings
    data: TrainingSet  # patches and candidate texts of the training tunes
    model: MusicTextModel  # the model being trained (never wrapped)
    module: torch.nn.Module  # model + decoder; after `distribute`, the data-parallel wrapper around them
    decoder: PatchDecoder | None  # masked-music decoder when the loss has an mlm term
    device: torch.device  # where the batches go
    optimizer: torch.optim.Optimizer
    scheduler: Any  # LambdaLR of the warm-up + cosine schedule
    sampler: CollectionSampler  # which tunes each batch holds
    py_rng: random.Random  # which text of each tune, and text dropout
    mask_generator: torch.Generator  # which patches the masked-music loss corrupts
    history: TrainingHistory
    total: int  # optimisation steps of the whole run
    eval_records: list  # held-out tunes of the periodic evaluation
    started: float  # perf_counter at the start (wall time of the run)
    text_pool: torch.Tensor | None = None  # frozen mode: pooled features of every candidate text, once
    text_ids: list[list[int]] = field(default_factory=list)  # frozen mode: rows of text_pool per tune
    accelerator: Any = None  # accelerate's Accelerator when launched on several devices
    step: int = 0  # optimisation steps done
    checkpointed_step: int = 0  # step of the last checkpoint written or resumed from (0: none)

    @property
    def rank(self) -> int:
        """This process's index (0 without data parallelism); only rank 0 evaluates and saves."""
        return self.accelerator.process_index if self.accelerator else 0

    @cached_property
    def lengths(self) -> list[int]:
        """Patches per training tune (the sampler groups tunes of similar length)."""
        return [len(patches) for patches in self.data.patches]

    def unwrapped(self) -> TrainingModule:
        """The training module itself, without the data-parallel wrapper."""
        return self.accelerator.unwrap_model(self.module) if self.accelerator else self.module

    def distribute(self) -> None:
        """Hand module, optimiser and schedule to accelerate when running on several devices."""
        if self.accelerator:
            self.module, self.optimizer, self.scheduler = self.accelerator.prepare(
                self.module, self.optimizer, self.scheduler)


def _accelerator():
    # Plain single process unless launched on several devices (accelerate/torchrun set WORLD_SIZE).
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from accelerate import Accelerator

        return Accelerator()
    return None


def prepare_data(config: RunConfig, corpus) -> tuple[TrainingSet, Any]:
    """Step 1: split off the held-out tunes (never trained on) and patch the rest with their texts."""
    training = config.training
    train_part, held_out = corpus.split(training.holdout, training.split_seed)
    data = build_training_set(train_part, max_patches=config.architecture.max_patches,
                              variants=training.caption_variants if training.text_dropout else 0,
                              max_parts=training.dropout_max_parts, seed=training.seed,
                              rewording=training.rewording)
    return data, held_out


def _embed_frozen_texts(run: TrainingRun, progress: bool) -> None:
    # Frozen text encoder: embed every candidate text once (cached on disk); fine-tuning tokenises each step.
    from ..paths import cache_dir

    unique = list(dict.fromkeys(text for texts in run.data.texts for text in texts))
    index = {text: i for i, text in enumerate(unique)}
    run.text_ids = [[index[text] for text in texts] for texts in run.data.texts]
    run.text_pool = run.model.text_encoder.embed(unique, batch_size=128, progress=progress,
                                                 cache_root=cache_dir() / "text").to(run.device)
    run.history.info["unique_texts"] = len(unique)


def _copy_of(init: MusicTextModel) -> MusicTextModel:
    import copy

    model = copy.deepcopy(init).cpu()
    model._loaded_fingerprint = None  # the copy's weights change: its fingerprint is computed afresh
    return model


def build_run(config: RunConfig, data: TrainingSet, held_out, corpus, *, progress: bool,
              started: float | None = None, init: MusicTextModel | None = None) -> TrainingRun:
    """Step 2: model, decoder, optimiser and schedule, samplers and random states, frozen text embeddings.

    Every random source is seeded from ``training.seed`` here, so the same seed gives the same run. With
    ``init`` (a fine-tune) the model is a copy of it (``init`` itself is left as it was), trained with a
    fresh optimiser.
    """
    architecture, training = config.architecture, config.training
    accelerator = _accelerator()
    torch.manual_seed(training.seed)  # dropout draws of the whole run start here
    # A text head fitted last (training.head_refit) is linear while the music side learns.
    model = MusicTextModel(contrastive_architecture(config), seed=training.seed) if init is None else _copy_of(init)
    model.configure_training(dropout=training.dropout, text_trainable_layers=training.text_trainable_layers)
    model.training_settings = training.to_dict()
    decoder = None
    if training.mlm_weight > 0:
        with torch.random.fork_rng():
            torch.manual_seed(training.seed + 1)
            decoder = PatchDecoder(architecture.hidden_size, training.decoder_size)
    module = TrainingModule(model, decoder)
    device = accelerator.device if accelerator else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    module.to(device)
    history = TrainingHistory(config=config.to_dict())
    history.info.update(train_tunes=len(data), heldout_tunes=len(held_out), own_text_tunes=data.own_text_tunes,
                        corpus=getattr(corpus, "name", ""),
                        corpus_fingerprint=getattr(corpus, "fingerprint", ""),
                        heldout_fingerprint=getattr(held_out, "fingerprint", ""))
    rank = accelerator.process_index if accelerator else 0
    total = training.max_steps or max(1, math.ceil(training.epochs * len(data) / training.batch_size))
    optimizer, scheduler = build_optimizer(module, training, total)
    run = TrainingRun(
        config=config, data=data, model=model, module=module, decoder=decoder, device=device,
        optimizer=optimizer, scheduler=scheduler,
        sampler=CollectionSampler(data.collections, power=training.sampling_power,
                                  ratios=training.collection_ratios, seed=training.seed + 1000 * rank),
        py_rng=random.Random(training.seed + 1000 * rank),
        mask_generator=torch.Generator().manual_seed(training.seed + 1),
        history=history, total=total, eval_records=[],
        started=time.perf_counter() if started is None else started, accelerator=accelerator)
    text_started = time.perf_counter()
    if model.text_encoder.frozen:
        _embed_frozen_texts(run, progress)
    run.eval_records = list(held_out.sample(training.eval_size, seed=training.seed)) if len(held_out) else []
    history.info["text_embedding_s"] = round(time.perf_counter() - text_started, 2)
    history.info["total_steps"] = total
    return run
