"""Contrastive training of a :class:`~musicsearch.MusicTextModel` on a corpus: ``ms.train("quick", corpus)``.

:func:`train` reads as its steps:

1. **prepare the data** — a held-out split by tune (``Corpus.split``, stratified by collection, fixed seed)
   that is never trained on; bar patches and candidate texts of the rest (:mod:`.run`, :mod:`.data`);
2. **build the run** — model, masked-music decoder, AdamW with warm-up and cosine decay, samplers with
   explicit per-collection ratios, seeded random states, frozen text embeddings (:mod:`.run`);
3. **resume** from ``out/checkpoint`` when one exists (:mod:`.checkpoints`), otherwise **pretrain** the music
   encoder on masked music when ``mlm_pretrain_steps > 0`` (:mod:`.masked_music`);
4. **the contrastive loop** — symmetric InfoNCE (plus the masked-music loss when ``mlm_weight > 0`` and the
   fragment-to-tune loss when ``melody_weight > 0``, :mod:`.melody_objective`), gradient clipping, a
   progress bar with loss and tunes/s (:mod:`.contrastive`), with periodic held-out **evaluation** and
   resumable **checkpoints**;
4b. **fit the text head** against the frozen music side when ``head_refit_steps > 0`` (:mod:`.head_refit`;
   contrastive training then ran with a linear head);
5. **finish** — a last evaluation, run facts, the saved model.

With ``init=`` the run is a **fine-tune** (:mod:`.finetune`): the model starts from a trained one (its
architecture, a fresh optimiser), and the init and fine-tuned models are evaluated on the same held-out
tunes of ``corpus`` in one report (``history.info["finetune"]``, ``finetune.json`` beside the model).

A step whose loss or weights stop being finite ends the run with
:class:`~musicsearch.training.divergence.TrainingDiverged` (:mod:`.divergence`): the last good checkpoint
stays, and no model is saved.

Same seed, same model on CPU. With several GPUs, ``accelerate launch`` runs the same code data-parallel
(each process draws its own batches; negatives stay per process).

Example:
    >>> model, history = train("tiny", corpus, progress=False)  # doctest: +SKIP
    >>> history.evals[-1]["mrr"] > 0  # doctest: +SKIP
    True
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ..models.config import ModelConfig
from ..models.model import MusicTextModel
from ._precision import warn_if_emulated
from .checkpoints import checkpoint_run, resume_run
from .config import RunConfig, get_config
from .contrastive import contrastive_step, draw_batch
from .divergence import TrainingDiverged
from .head_refit import refit_text_head
from .history import TrainingHistory
from .masked_music import pretrain_masked_music
from .run import TrainingRun, build_run, prepare_data
from .sampling import CollectionSampler


def save_trained_model(model: MusicTextModel, history: TrainingHistory, out: str | os.PathLike) -> Path:
    """Save a model with its run's facts (preset, corpus, training summary) and ``history.json`` beside it.

    Example:
        >>> model, history = train("tiny", corpus, max_steps=2)  # doctest: +SKIP
        >>> save_trained_model(model, history, "models/tiny")  # doctest: +SKIP

    Raises:
        TrainingDiverged: a weight is NaN or infinite; nothing is written.
    """
    from ..artifacts import nonfinite_tensors, write_json

    # Before save_pretrained (which refuses too): this message says what happened and what was kept.
    bad = nonfinite_tensors(model.state_dict())
    if bad:
        raise TrainingDiverged(f"refusing to save a model to {out}: {', '.join(bad[:3])} "
                               f"{'is' if len(bad) == 1 else 'are'} not finite (its training diverged).",
                               stage="save")
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


def _pretrain_music(run: TrainingRun, progress: bool) -> None:
    """Step 3b: masked-music pretraining of the music encoder alone, when the config asks for it."""
    training = run.config.training
    if training.mlm_pretrain_steps <= 0:
        return
    sampler = CollectionSampler(run.data.collections, power=training.sampling_power,
                                ratios=training.collection_ratios, seed=training.seed + 7)
    run.history.pretrain = pretrain_masked_music(
        # Length-sorted batches as in the contrastive stage: random batches pad to the longest tune and
        # cost about twice as much per step for the same number of real patches.
        run.model.music_encoder,
        lambda _: draw_batch(run, sampler.length_batch(training.batch_size, run.lengths, training.length_buckets)),
        steps=training.mlm_pretrain_steps, learning_rate=training.learning_rate, ratio=training.mask_ratio,
        decoder_width=training.decoder_size, seed=training.seed, bf16_autocast=training.bf16_autocast,
        progress=progress)


def _evaluate(run: TrainingRun, progress: bool, callback) -> None:
    """Held-out caption retrieval of the model as it is now, appended to the history (rank 0 only)."""
    from tqdm.auto import tqdm

    from ..evaluation.checks import NonFiniteValues
    from ..evaluation.retrieval import caption_retrieval

    if not run.eval_records or run.rank != 0:
        return
    try:
        metrics = caption_retrieval(run.model, run.eval_records)
    except NonFiniteValues as error:
        # Finite but huge weights (one step at an absurd learning rate) overflow in the forward pass.
        loss = run.history.steps[-1]["loss"] if run.history.steps else float("nan")
        raise TrainingDiverged(f"training diverged by step {run.step}: the held-out evaluation found that {error}",
                               stage="evaluation", step=run.step, loss=loss) from None
    run.history.evals.append({"step": run.step, **metrics})
    if progress:
        tqdm.write(f"step {run.step}: held-out MRR {metrics['mrr']:.3f}, HitRate@10 {metrics['hit@10']:.3f} "
                   f"({len(run.eval_records)} tunes)")
    if callback:
        callback(run.history, "eval")


def _contrastive_training(run: TrainingRun, checkpoint: Path | None, progress: bool, callback) -> None:
    """Step 4: contrastive steps until the run's total, with periodic evaluations and checkpoints."""
    from tqdm.auto import tqdm

    training = run.config.training
    if run.step == 0 and training.eval_every:
        _evaluate(run, progress, callback)
    bar = tqdm(total=run.total, initial=run.step, desc="training", disable=not progress or run.rank != 0)
    run.module.train()
    speed = None
    while run.step < run.total:
        tick = time.perf_counter()
        record = contrastive_step(run)
        elapsed = time.perf_counter() - tick
        rate = training.batch_size / elapsed
        speed = rate if speed is None else 0.9 * speed + 0.1 * rate
        record.update(tunes_per_s=round(speed, 1), elapsed_s=round(time.perf_counter() - run.started, 2))
        run.history.steps.append(record)
        bar.update(1)
        bar.set_postfix(loss=f"{record['loss']:.3f}", tunes_s=f"{speed:.0f}", refresh=False)
        if callback:
            callback(run.history, "step")
        unfinished = run.step < run.total
        if training.eval_every and run.step % training.eval_every == 0 and unfinished:
            _evaluate(run, progress, callback)
            run.module.train()
        # No checkpoint at the last step: the finished model is saved by _finish and the checkpoint removed.
        if checkpoint is not None and run.rank == 0 and training.checkpoint_every and unfinished and (
                run.step % training.checkpoint_every == 0):
            checkpoint_run(run, checkpoint)
            run.checkpointed_step = run.step
    bar.close()


def _finish(run: TrainingRun, out: str | os.PathLike | None, checkpoint: Path | None, progress: bool,
            callback) -> tuple[MusicTextModel, TrainingHistory]:
    """Step 5: final evaluation, run facts, the saved model (the checkpoint of a finished run is dropped)."""
    run.model.eval()
    history = run.history
    if run.eval_records and (not history.evals or history.evals[-1]["step"] != run.step):
        _evaluate(run, progress, callback)
    history.info["wall_time_s"] = round(time.perf_counter() - run.started, 2)
    peak = peak_memory_mb()
    if peak is not None:
        history.info["peak_memory_mb"] = peak
    if out is not None and run.rank == 0:
        save_trained_model(run.model, history, out)
        if checkpoint is not None and checkpoint.is_dir():
            # Only an interrupted run needs it; a finished one would carry ~3x the model's size for nothing.
            import shutil

            shutil.rmtree(checkpoint, ignore_errors=True)
    return run.model, history


def train(config_or_preset: RunConfig | ModelConfig | str = "quick", corpus=None, *,
          out: str | os.PathLike | None = None, progress: bool = True, callback=None, resume: bool = True,
          init: MusicTextModel | str | os.PathLike | None = None, **overrides: Any,
          ) -> tuple[MusicTextModel, TrainingHistory]:
    """Train a model on ``corpus`` and return ``(model, history)``.

    Args:
        config_or_preset: a preset name ("tiny", "quick", "base"), a :class:`RunConfig` from
            :func:`musicsearch.get_config`, or a :class:`~musicsearch.ModelConfig` (see ``get_config``).
        corpus: a :class:`~musicsearch.Corpus`; None loads ``load_corpus("music21")``.
        out: folder for checkpoints and the final model (``save_pretrained``); None keeps it in memory.
        progress: show progress bars.
        callback: called as ``callback(history, event)`` after each step (``event="step"``) and each
            evaluation (``"eval"``); :class:`musicsearch.viz.training_plots.LivePlot` draws live curves.
        resume: continue from ``out/checkpoint`` when it exists (same config required).
        init: fine-tune this trained model (a model, its folder, or ``"default"``) instead of starting from
            random weights: its architecture is kept, the training settings come from ``config_or_preset``
            and ``overrides`` (see :mod:`musicsearch.training.finetune`).
        **overrides: architecture or training fields to change, e.g. ``epochs=1``.

    Returns:
        ``(model, history)``: the trained :class:`MusicTextModel` (eval mode) and a :class:`TrainingHistory`.

    Raises:
        CorpusError: no tune has both music and a caption.
        ArtifactError: ``out`` holds a checkpoint of a different config or of another corpus.
        TrainingDiverged: a loss or weight stopped being finite; the last good checkpoint is kept and no
            model is saved.
        MusicSearchError: an unknown preset or field; with ``init``, a missing init folder, a model that
            cannot be fine-tuned, or an architecture field that differs from the init model's.
    """
    start = None
    if init is not None:
        from .finetune import finetune_config, load_init

        start, init_name = load_init(init)
        config = finetune_config(start, config_or_preset, init_name, **overrides)
    else:
        config = get_config(config_or_preset, **overrides)
    if out is not None:
        from ..artifacts import check_writable

        check_writable(out, "model")  # an index (or corpus) folder given as --out is refused before training
    if config.training.num_threads:
        torch.set_num_threads(config.training.num_threads)
    if corpus is None:
        from ..data.corpus_io import load_corpus

        corpus = load_corpus("music21", progress=progress)
    started = time.perf_counter()
    data, held_out = prepare_data(config, corpus)
    if start is not None:
        from .finetune import before_training

        config, before = before_training(start, init_name, config, data, held_out, progress=progress)
    run = build_run(config, data, held_out, corpus, progress=progress, started=started, init=start)
    warn_if_emulated(run.device, config.training.bf16_autocast)
    if start is not None:
        run.history.info["init"] = init_name
    checkpoint = Path(out) / "checkpoint" if out is not None else None
    try:
        if checkpoint is not None and resume and resume_run(run, checkpoint):
            run.checkpointed_step = run.step
        else:
            _pretrain_music(run, progress)
        run.distribute()
        _contrastive_training(run, checkpoint, progress, callback)
        refit_text_head(run, progress)
        if start is None:
            return _finish(run, out, checkpoint, progress, callback)
        from .finetune import after_training, write_report

        report = after_training(run, before, held_out, progress=progress)
        model, history = _finish(run, out, checkpoint, progress, callback)
        if out is not None and run.rank == 0:
            write_report(report, out)
        return model, history
    except TrainingDiverged as error:
        raise error.extended(_what_was_kept(run, out, checkpoint)) from None


def _what_was_kept(run: TrainingRun, out: str | os.PathLike | None, checkpoint: Path | None) -> str:
    if run.checkpointed_step and checkpoint is not None:
        kept = (f"The last good checkpoint (step {run.checkpointed_step}) is kept in {checkpoint}; it resumes "
                "only with the same config, so delete it to start over with other settings.")
    else:
        kept = "No checkpoint was written."
    return f"{kept} No model was saved{f' to {out}' if out is not None else ''}."
