"""A training stage after contrastive training: fit the text head (and the music projection) last.

A frozen MiniLM turns a caption into one mean-pooled vector in which all its phrases ("in D major", "in
six-eight time", "from Lorraine") sit on top of each other, and CLaMP's linear text projection must read
them all out at once. With the first releases' music side held fixed, a text head with two hidden GELU
layers retrieved better than the jointly trained linear one; trained jointly from the start the same head
did worse (held-out MRR 0.44 vs 0.48 at step 800 of a release run: a large head fits the captions before
the music encoder has learned to hear them). So the head comes last:

1. contrastive training runs with a linear text head (:func:`contrastive_architecture`);
2. every training tune is encoded once by the trained music encoder, now frozen (pooled features);
3. a fresh head of the architecture's shape (``text_head_layers``, ``text_head_width``) and the music
   projection (from its trained weights) learn together for ``head_refit_steps`` steps: symmetric
   InfoNCE between batches of distinct tunes (the run's collection shares) and one of each tune's
   candidate texts, whose pooled MiniLM vectors contrastive training already computed. A step is two
   small matrix products on 128 vectors: 16,000 take about 2.5 minutes on two cores.

Chosen on dev tunes (a tenth of the training tunes, left out of the fit; never the held-out split), from
the second release's run: MRR 0.479 with its jointly trained linear head; refitted linear 0.475; two
hidden layers of 512 for 16,000 steps 0.514 (8,000: 0.504; 32,000: 0.517; width 1024: 0.515; three layers:
0.515; batch 256: 0.511); with the music projection refitted too 0.533.

Optionally (``head_refit_phrase_share``, off in every preset) a share of the draws pairs a tune with one
phrase of its caption ("a march", "minor", "in 6/8": every wording, :func:`caption_phrases`) instead of a
whole caption. A phrase describes many tunes, so the loss then counts a text as a match for every tune of
the batch it describes (``clip_loss(..., positives)``): plain InfoNCE would push the batch's other marches
away from "a march". On the same dev tunes, with 30 dev category queries worded unlike the evaluation's,
a share of 0.4 against none, three seeds: category nDCG@10 0.644 → 0.658, 0.625 → 0.669, 0.646 → 0.693;
caption MRR 0.528 → 0.531, 0.527 → 0.526, 0.531 → 0.513; a fourth seed on the fifth release's encoder,
category 0.650 → 0.701 and MRR 0.524 → 0.522. But on dev tunes the phrases also cost zero-shot tune type
(0.686 → 0.611 / 0.539 / 0.592 at shares 0.1 / 0.2 / 0.4), and two release runs with a share of 0.4 lost
held-out MRR and tune type, so it is in no preset (README, "The released model").

Frozen text encoders only (a fine-tuned one changes the pooled vectors the head would be fitted on).

Example:
    >>> config = get_config("release")  # doctest: +SKIP
    >>> contrastive_architecture(config).text_head_layers, config.architecture.text_head_layers  # doctest: +SKIP
    (0, 2)
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import torch

from ..models.config import ModelConfig
from ..models.losses import clip_loss
from ..models.text_head import build_text_head, last_linear, start_small
from .config import RunConfig
from .optimization import lr_schedule
from .sampling import CollectionSampler

_SEED_OFFSET = 3  # the stage's random draws: its own stream, so earlier stages draw what they drew before


def contrastive_architecture(config: RunConfig) -> ModelConfig:
    """The architecture contrastive training builds: the run's, with a linear text head when a refit follows.

    With no refit stage it is the run's architecture itself (a head with hidden layers then trains jointly).
    """
    if config.training.head_refit_steps > 0:
        return dataclasses.replace(config.architecture, text_head_layers=0)
    return config.architecture


def caption_phrases(parts: list[list[str]]) -> list[list[str]]:
    """Each tune's caption phrases, every wording of each ("in D minor", "minor", ...): the refit's phrase texts.

    Example:
        >>> caption_phrases([["a march", "in two-four time"]])[0][:3]
        ['a march', 'march', 'in two-four time']
    """
    from ..data.phrasings import wordings

    return [list(dict.fromkeys(wording for part in tune_parts for wording in wordings(part))) for tune_parts in parts]


def _description_keys(text_ids: list[list[int]], phrase_ids: list[list[int]], texts: int) -> np.ndarray:
    # Every (tune, text that describes it) pair as one sorted int64 key: a batch's (B, B) table of matches
    # is then one searchsorted (a Python set per tune cost ~2 ms a step, half a minute over a refit).
    keys = [tune * texts + row for tune, (own, phrases) in enumerate(zip(text_ids, phrase_ids)) for row in {*own, *phrases}]
    return np.unique(np.asarray(keys, dtype=np.int64))


def fit_head(head: torch.nn.Module, music_proj: torch.nn.Module, music: torch.Tensor, text_pool: torch.Tensor,
             text_ids: list[list[int]], sampler: CollectionSampler, choose: Any, *, steps: int, batch_size: int,
             learning_rate: float, weight_decay: float, warmup_ratio: float, logit_scale: torch.nn.Module,
             phrase_ids: list[list[int]] | None = None, phrase_share: float = 0.0,
             progress: bool = False) -> list[float]:
    """Train ``head`` and ``music_proj`` (and the temperature) so each tune's texts land next to its music.

    Args:
        head: the text head to train (pooled text features → joint space).
        music_proj: the music projection, trained along (``nn.Identity()`` keeps ``music`` as it is).
        music: ``(N, H)`` fixed pooled music features of the training tunes.
        text_pool, text_ids: pooled features of every candidate text, and the rows of each tune's texts.
        sampler: draws the tunes of each batch (distinct tunes, the run's collection shares).
        choose: ``random.Random``-like; picks one candidate text per tune.
        steps, batch_size, learning_rate, weight_decay, warmup_ratio: the optimisation (AdamW, warm-up +
            cosine as in contrastive training).
        logit_scale: the model's learned temperature, trained along.
        phrase_ids: rows of ``text_pool`` holding each tune's caption phrases (:func:`caption_phrases`).
        phrase_share: share of draws that take one of a tune's phrases instead of a candidate text. With
            phrases, a text of the batch counts as a match for every tune it describes (one of its
            candidates or phrases), not only for the tune it was drawn for.

    Returns:
        The loss of every step.
    """
    from tqdm.auto import tqdm

    parameters = list(head.parameters()) + list(music_proj.parameters())
    matrices = [p for p in parameters if p.ndim >= 2]
    vectors = [p for p in parameters if p.ndim < 2] + list(logit_scale.parameters())
    optimizer = torch.optim.AdamW([{"params": matrices, "weight_decay": weight_decay},
                                   {"params": vectors, "weight_decay": 0.0}], lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(steps, max(1, int(warmup_ratio * steps))))
    describes = None
    if phrase_ids is not None and phrase_share > 0:
        describes = _description_keys(text_ids, phrase_ids, len(text_pool))
    head.train()
    losses = []
    for _ in tqdm(range(steps), desc="fitting the text head", disable=not progress, leave=False):
        tunes = sampler.batch(batch_size)
        if describes is None:
            texts = [choose.choice(text_ids[tune]) for tune in tunes]
            positives = None
        else:
            texts = [choose.choice(phrase_ids[tune]) if phrase_ids[tune] and choose.random() < phrase_share
                     else choose.choice(text_ids[tune]) for tune in tunes]
            keys = np.asarray(tunes, dtype=np.int64)[:, None] * len(text_pool) + np.asarray(texts, dtype=np.int64)
            found = np.minimum(np.searchsorted(describes, keys), len(describes) - 1)
            positives = torch.from_numpy(describes[found] == keys).to(music.device)
        loss = clip_loss(music_proj(music[tunes]), head(text_pool[texts]), logit_scale(), positives)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    head.eval()
    return losses


def _with_phrases(run, progress: bool) -> tuple[torch.Tensor, list[list[int]]]:
    """The candidate texts' pooled vectors with the tunes' caption phrases appended, and each tune's phrase rows."""
    from ..paths import cache_dir

    phrases = caption_phrases(run.data.parts)
    known = {text: row for rows, texts in zip(run.text_ids, run.data.texts) for row, text in zip(rows, texts)}
    new = [text for text in dict.fromkeys(p for tune in phrases for p in tune) if text not in known]
    rows = {**known, **{text: len(run.text_pool) + i for i, text in enumerate(new)}}
    extra = run.model.text_encoder.embed(new, batch_size=128, progress=progress, cache_root=cache_dir() / "text")
    pool = torch.cat([run.text_pool.float(), extra.float().to(run.text_pool.device)]) if new else run.text_pool.float()
    return pool, [[rows[text] for text in tune] for tune in phrases]


def pooled_music(model, patches: list, *, batch_size: int, progress: bool = False) -> torch.Tensor:
    """``(N, H)`` pooled features of the frozen music encoder, in the order of ``patches``: what the head fits on."""
    music = torch.zeros(len(patches), model.config.hidden_size, device=model.device)
    for rows, pooled in model.pooled_music_batches(patches, batch_size=batch_size, progress=progress):
        music[torch.as_tensor(rows)] = pooled.float()
    return music


def fresh_text_head(model, architecture: ModelConfig) -> torch.nn.Module:
    """A new text head of ``architecture``'s shape on ``model``'s device, its last layer started small.

    Draws from torch's global generator: seed it first (the stage does, in a forked stream).
    """
    head = build_text_head(model.text_encoder.hidden_size, architecture.embed_dim,
                           hidden_layers=architecture.text_head_layers, width=architecture.text_head_width)
    start_small(last_linear(head))
    return head.to(model.device)


def refit_text_head(run, progress: bool = False) -> None:
    """The stage on a finished contrastive run: swap in the architecture's head, fitted (no-op without steps).

    Afterwards ``run.model`` has the run's architecture (its ``config`` and ``text_proj``), and
    ``run.history.info["head_refit"]`` records steps, losses, seconds and the periodic evaluation's MRR
    with the linear head (the final evaluation, after, is the run's last one).
    """
    import random

    training, architecture = run.config.training, run.config.architecture
    if training.head_refit_steps <= 0:
        return
    started = time.perf_counter()
    model = run.model
    before = None
    if run.eval_records and run.rank == 0:  # reported beside the final evaluation, never used to choose
        from ..evaluation.retrieval import caption_retrieval

        before = caption_retrieval(model, run.eval_records)["mrr"]
    music = pooled_music(model, run.data.patches, batch_size=training.batch_size, progress=progress)
    with torch.random.fork_rng():
        torch.manual_seed(training.seed + _SEED_OFFSET)
        head = fresh_text_head(model, architecture)
        sampler = CollectionSampler(run.data.collections, power=training.sampling_power,
                                    ratios=training.collection_ratios, seed=training.seed + _SEED_OFFSET)
        text_pool, phrase_ids = _with_phrases(run, progress) if training.head_refit_phrase_share > 0 else (
            run.text_pool.float(), None)
        losses = fit_head(head, model.music_proj, music, text_pool, run.text_ids, sampler,
                          random.Random(training.seed + _SEED_OFFSET), steps=training.head_refit_steps,
                          batch_size=training.batch_size, learning_rate=training.learning_rate,
                          weight_decay=training.weight_decay, warmup_ratio=training.warmup_ratio,
                          logit_scale=model.logit_scale, phrase_ids=phrase_ids,
                          phrase_share=training.head_refit_phrase_share, progress=progress)
    model.text_proj = head
    model.config = architecture
    run.history.info["head_refit"] = {"steps": len(losses), "heldout_mrr_linear_head": before,
                                      "first_loss": round(losses[0], 4),
                                      "final_loss": round(sum(losses[-50:]) / len(losses[-50:]), 4),
                                      "seconds": round(time.perf_counter() - started, 1)}
    if phrase_ids is not None:
        run.history.info["head_refit"].update({"phrase_share": training.head_refit_phrase_share,
                                               "phrase_texts_added": len(text_pool) - len(run.text_pool)})
