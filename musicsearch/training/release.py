"""The released default model: trained once with the ``release`` preset and shipped inside the package.

``make release-model`` (``musicsearch model release``) reproduces it: it trains the ``release`` preset on
music21's corpus (or takes a folder that training already wrote, ``--from DIR``), rounds the weights to
float16 when that changes no held-out figure measurably, and writes the package folder
(:func:`musicsearch.paths.released_model_dir`; ``CURRENT`` names the version folder holding)::

    config.json          architecture + training settings, fingerprint (as every saved model)
    model.safetensors    the weights, float16 on disk (they load back into float32)
    training.json        the run: steps, wall time, machine, preset
    eval.json            held-out figures of the shipped weights: caption retrieval (MRR, Hit@k), category
                         nDCG@10, zero-shot macro-F1 per task; and of the float32 weights, for comparison

The files are published as one version of the folder (:func:`musicsearch.artifacts.publish`): a reader
sees the previous release or the new one, never a mix.

Example:
    >>> report = release_model(trained="/tmp/release/run")  # doctest: +SKIP
    >>> round(report["shipped"]["mrr"], 3)  # doctest: +SKIP
    0.41
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import ArtifactError

RELEASE_PRESET = "release"
MAX_RELEASE_BYTES = 25 * 1024 * 1024  # what the package may carry
HALF_TOLERANCE = 0.002  # largest change of a held-out figure that float16 storage may cause (else float32)


def release_model(*, trained: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
                  run_dir: str | os.PathLike | None = None, corpus: Any = None, progress: bool = True) -> dict[str, Any]:
    """Train (or take) the release model, evaluate it and write the package folder.

    Args:
        trained: a model folder already trained with the ``release`` preset; None trains one now
            (about an hour on two CPU cores; resumable from ``run_dir``'s checkpoint).
        out: the folder to write; None = :func:`musicsearch.paths.released_model_dir`.
        run_dir: where a new training run keeps its checkpoints (default: ``MUSICSEARCH_HOME/models/release-run``).
        corpus: the corpus (default: music21's, as the preset was trained on).
        progress: progress bars.

    Returns:
        The evaluation report written to ``eval.json``.

    Raises:
        ArtifactError: the stored model would exceed :data:`MAX_RELEASE_BYTES`.
    """
    from .. import paths
    from ..data.corpus_io import load_corpus
    from ..models.loading import load_model

    corpus = corpus if corpus is not None else load_corpus("music21", progress=progress)
    started = time.perf_counter()
    if trained is None:
        from .loop import train

        run_dir = Path(run_dir) if run_dir is not None else paths.models_dir() / "release-run"
        train(RELEASE_PRESET, corpus, out=run_dir, progress=progress)
        trained = run_dir
    model = load_model(trained)
    summary = _training_summary(Path(trained), time.perf_counter() - started)
    full = held_out_figures(model, corpus, progress=progress)
    _round_to_half(model)
    half = held_out_figures(model, corpus, progress=progress)
    use_half = all(abs(half[name] - full[name]) <= HALF_TOLERANCE for name in full)
    if not use_half:
        model = load_model(trained)  # keep float32: rounding moved a figure more than the tolerance
    report = {"shipped": half if use_half else full, "float32": full, "float16": half,
              "weights_dtype": "float16" if use_half else "float32", "half_tolerance": HALF_TOLERANCE,
              "fingerprint": model.fingerprint, "protocol": "held-out tunes of music21's corpus (the split the "
              "model never trained on); caption = own caption without title; category = typed category queries; "
              "zero-shot = prompt ensemble, macro-F1 per task"}
    _write_folder(model, Path(out) if out is not None else paths.released_model_dir(), report, summary,
                  half=use_half)
    return report


def held_out_figures(model: Any, corpus: Any, *, progress: bool = False, intervals: bool = False) -> dict[str, Any]:
    """The figures a release is judged by, flat: MRR, Hit@1/10/100, category nDCG@10, zero-shot macro-F1.

    With ``intervals``, ``category_ndcg@10_interval95`` is added: the bounds of a 95% bootstrap interval of
    the category figure over its queries (a mean of about 16 queries; see
    :func:`musicsearch.evaluation.metrics.bootstrap_interval`).

    Example:
        >>> sorted(held_out_figures(model, corpus))[:3]  # doctest: +SKIP
        ['category_ndcg@10', 'hit@1', 'hit@10']
    """
    from ..evaluation.retrieval import evaluate_retrieval
    from ..evaluation.zeroshot import evaluate_zero_shot

    retrieval = evaluate_retrieval(model, corpus, progress=progress)
    caption = retrieval["caption_retrieval"]["model"]
    figures = {"mrr": caption["mrr"], **{f"hit@{k}": caption[f"hit@{k}"] for k in (1, 10, 100)},
               "category_ndcg@10": retrieval["category_retrieval"]["ndcg@10_mean"]["model"]}
    for task, result in evaluate_zero_shot(model, corpus, progress=progress).items():
        figures[f"zeroshot_{task}_macro_f1"] = result.scores["zero-shot (ensemble)"]["macro_f1"]
    figures = {name: round(float(value), 4) for name, value in figures.items()}
    if intervals:
        figures["category_ndcg@10_interval95"] = retrieval["category_retrieval"]["ndcg@10_interval95"]
    return figures


def _round_to_half(model: Any) -> None:
    import torch

    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())


def _training_summary(trained: Path, seconds: float) -> dict[str, Any]:
    from ..artifacts import MODEL, current_version, read_json

    payload = read_json(current_version(trained, MODEL) / "config.json")
    return {"preset": RELEASE_PRESET, "trained_in": str(trained), "run": payload.get("training"),
            "config": payload.get("config"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "seconds_this_call": round(seconds, 1)}


def _write_folder(model: Any, out: Path, report: dict[str, Any], summary: dict[str, Any], *, half: bool) -> None:
    """Publish the weights, config and reports as one new version of ``out`` (readers see old or new)."""
    from ..artifacts import MODEL, current_version, publish, write_json

    with tempfile.TemporaryDirectory(prefix="musicsearch-release-") as scratch:
        model.save_pretrained(Path(scratch), half=half)
        saved = current_version(Path(scratch), MODEL)
        size = (saved / "model.safetensors").stat().st_size
        if size > MAX_RELEASE_BYTES:
            raise ArtifactError(f"the release weights are {size / 2**20:.1f} MB, over the package's "
                                f"{MAX_RELEASE_BYTES / 2**20:.0f} MB; use a smaller release preset.")
        with publish(out, MODEL) as staging:
            for name in ("config.json", "model.safetensors"):
                shutil.copy2(saved / name, staging / name)
            write_json(staging / "training.json", summary)
            write_json(staging / "eval.json", report)
