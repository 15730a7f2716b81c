"""Model-level study: convert a trained model with several K and V, before and after centroid learning.

Each row of the result is one variant of one model (dense, int8 dynamic quantization, or a LUT with given
K and V) with its metric, end-to-end latency at batch 1 and 32 (all variants of a model timed together,
interleaved, with the same thread count) and its saved size. :mod:`musicsearch.viz.lut_plots` draws them.

Example:
    >>> rows = study_classifier(digits_task(), "mlp", ks=(16,), vs=(8,))  # doctest: +SKIP
    >>> [r["variant"] for r in rows]  # doctest: +SKIP
    ['dense', 'int8 dynamic', 'LUT K=16 V=8']
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..lut.bench import int8_dynamic, model_bytes, time_calls, torch_threads
from ..lut.centroids import finetune, freeze_model, lut_layers, run_model
from ..lut.convert import convert
from ..models.lut_model import music_batches
from .lut_tasks import PatchClassifier, Task, batches_of, mlp_classifier, train_classifier

# Epochs that train each small model to a plateau on the origin task in well under a minute on 2 cores.
_DENSE_EPOCHS = {"mlp": 8, "transformer": 8}


def _variants(model: nn.Module, calibration: list, train_batches: list, *, ks: Sequence[int], vs: Sequence[int],
              finetune_epochs: int, metric: Callable[[nn.Module], tuple[float, float]], seed: int,
              progress: bool, **finetune_kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, nn.Module]]:
    """Convert ``model`` for every (K, V): (metric, fidelity) after k-means and after centroid learning."""
    from tqdm.auto import tqdm

    rows, modules = [], {}
    grid = [(k, v) for k in ks for v in vs]
    for k, v in tqdm(grid, desc="K x V", disable=not progress, leave=False):
        student = convert(model, calibration, k, v, freeze=False, seed=seed)
        before, fidelity_before = metric(freeze_model(copy.deepcopy(student)))
        if finetune_epochs:
            finetune(student, model, train_batches, epochs=finetune_epochs, seed=seed, **finetune_kwargs)
        freeze_model(student)
        name = f"LUT K={k} V={v}"
        modules[name] = student
        value, fidelity = metric(student)
        rows.append({"variant": name, "k": k, "v": v, "metric_kmeans": before, "metric": value,
                     "fidelity_kmeans": fidelity_before, "fidelity": fidelity,
                     "converted_layers": len(lut_layers(student))})
    return rows, modules


def _references(model: nn.Module, metric: Any) -> tuple[dict[str, nn.Module], list[dict[str, Any]]]:
    """The dense model and its int8 dynamic quantization (when this torch has it), with their metric rows."""
    modules: dict[str, nn.Module] = {"dense": model}
    rows: list[dict[str, Any]] = [_reference_row("dense", metric(model))]
    quantized = int8_dynamic(copy.deepcopy(model))
    if quantized is not None:
        modules["int8 dynamic"] = quantized
        rows.append(_reference_row("int8 dynamic", metric(quantized)))
    return modules, rows


def _reference_row(name: str, metric: tuple[float, float]) -> dict[str, Any]:
    return {"variant": name, "k": None, "v": None, "metric": metric[0], "metric_kmeans": metric[0],
            "fidelity": metric[1], "fidelity_kmeans": metric[1], "converted_layers": 0}


def _time_variants(modules: dict[str, nn.Module], inputs_b1: Any, inputs_b32: Any, repeats: int) -> dict:
    result = {}
    for label, inputs in (("b1", inputs_b1), ("b32", inputs_b32)):
        calls = {name: (lambda m=module, x=inputs: run_model(m, x)) for name, module in modules.items()}
        result[label] = time_calls(calls, repeats=repeats)
    return result


def _finish(rows: list[dict[str, Any]], modules: dict[str, nn.Module], model_name: str, metric_name: str,
            times: dict) -> list[dict[str, Any]]:
    dense = rows[0]
    for row in rows:
        name = row["variant"]
        row.update({"model": model_name, "metric_name": metric_name, "metric_dense": dense["metric"],
                    "delta": row["metric"] - dense["metric"], "bytes": model_bytes(modules[name]),
                    "latency_b1_us": round(times["b1"][name], 1), "latency_b32_us": round(times["b32"][name], 1),
                    "speedup_b1": round(times["b1"]["dense"] / times["b1"][name], 3),
                    "speedup_b32": round(times["b32"]["dense"] / times["b32"][name], 3)})
    return rows


def study_classifier(task: Task, model_kind: str = "mlp", *, ks: Sequence[int] = (8, 16, 32),
                     vs: Sequence[int] = (4, 8, 16), finetune_epochs: int = 3, dense_epochs: int | None = None,
                     model: nn.Module | None = None, threads: int | None = 1, repeats: int = 30, seed: int = 0,
                     progress: bool = False) -> list[dict[str, Any]]:
    """Train (or take) a small classifier, convert it for every (K, V), measure accuracy and latency.

    Args:
        task: a :class:`~musicsearch.studies.lut_tasks.Task`.
        model_kind: "mlp" (hashed bigram features) or "transformer" (bar patches; music tasks only).
        ks, vs: grid of centroids per codebook and sub-vector lengths.
        finetune_epochs: epochs of centroid learning (KL distillation from the dense logits).
        dense_epochs: epochs to train the dense model (default: enough for these tasks).
        model: an already trained model instead of training one.
        threads, repeats: timing settings, see :func:`~musicsearch.lut.bench.bench_layers`.
        seed: seed of everything.
        progress: show progress bars.

    Returns:
        Rows for "dense", "int8 dynamic" and each "LUT K=.. V=..": ``metric`` (test accuracy %),
        ``metric_kmeans`` (before centroid learning), ``delta`` vs dense, ``fidelity`` (% of test predictions
        equal to the dense model's: far less noisy than accuracy on a few hundred tunes), latencies,
        speed-ups, bytes.
    """
    with torch_threads(threads):
        if model is None:
            if model_kind == "mlp":
                model = mlp_classifier(task.features_train.shape[1], len(task.labels), seed=seed)
            else:
                model = PatchClassifier(len(task.labels), max_patches=task.patches_train.shape[1], seed=seed)
            train_classifier(model, task, model_kind, epochs=dense_epochs or _DENSE_EPOCHS[model_kind], seed=seed)
        model.eval()

        test = task.inputs(model_kind, "test")
        with torch.inference_mode():
            reference = _predictions(model, test)

        def metric(m: nn.Module) -> tuple[float, float]:
            with torch.inference_mode():
                predictions = _predictions(m, test)
            return (100.0 * float((predictions == task.y_test).float().mean()),
                    100.0 * float((predictions == reference).float().mean()))

        inputs = task.inputs(model_kind, "train")
        train_batches = batches_of(inputs, 64, order=np.random.default_rng(seed).permutation(len(task.y_train)))
        modules, rows = _references(model, metric)
        lut_rows, lut_modules = _variants(model, train_batches, train_batches, ks=ks, vs=vs,
                                          finetune_epochs=finetune_epochs, loss="kl", metric=metric, seed=seed,
                                          progress=progress)
        rows += lut_rows
        modules.update(lut_modules)
        times = _time_variants(modules, batches_of(test, 1)[0], batches_of(test, 32)[0], repeats)
    return _finish(rows, modules, model_kind, "accuracy %", times)


def _predictions(model: nn.Module, inputs: Any) -> torch.Tensor:
    return torch.cat([run_model(model, batch).argmax(-1) for batch in batches_of(inputs, 256)])


def retrieval_recall(model: Any, records: Sequence[Any], k: int = 10) -> float:
    """Caption→tune HitRate@k in percent among ``records`` (the model's held-out evaluation protocol)."""
    from ..evaluation.retrieval import caption_retrieval

    return 100.0 * caption_retrieval(model, records, ks=(k,))[f"hit@{k}"]


def study_music_model(model: Any, calibration: Sequence[Any], evaluation: Sequence[Any], *,
                      ks: Sequence[int] = (8, 16, 32), vs: Sequence[int] = (4, 8, 16), finetune_epochs: int = 3,
                      threads: int | None = 1, repeats: int = 20, seed: int = 0,
                      progress: bool = False) -> list[dict[str, Any]]:
    """The same study for a :class:`~musicsearch.MusicTextModel`'s music encoder.

    Args:
        model: a trained MusicTextModel.
        calibration: tunes (Records) for k-means and centroid learning (MSE distillation of the pooled
            music features).
        evaluation: held-out Records with captions; the metric is caption→tune HitRate@10 among them, the
            fidelity the mean cosine (×100) between the variant's and the dense music embeddings.
        Others: as in :func:`study_classifier`.
    """
    with torch_threads(threads):
        batches = music_batches(model, calibration)
        encoder = model.music_encoder.eval()
        swapped = copy.copy(model)
        swapped._modules = dict(model._modules)

        from ..data.texts import query_caption
        from ..evaluation.metrics import own_item_metrics

        evaluation = [record for record in evaluation if query_caption(record)]
        queries = model.encode_text([query_caption(record) for record in evaluation])
        reference = model.encode_music(evaluation)

        def metric(m: nn.Module) -> tuple[float, float]:
            swapped.music_encoder = m
            music = swapped.encode_music(evaluation)
            hit = own_item_metrics(queries @ music.T, (10,))["hit@10"]
            return 100.0 * hit, 100.0 * float((music * reference).sum(1).mean())

        modules, rows = _references(encoder, metric)
        # Learning rates measured on the quick model, see convert_music_model.
        lut_rows, lut_modules = _variants(encoder, batches, batches, ks=ks, vs=vs, finetune_epochs=finetune_epochs,
                                          loss="mse", lr=1e-2, weight_lr=3e-4, metric=metric, seed=seed,
                                          progress=progress)
        rows += lut_rows
        modules.update(lut_modules)
        evaluation_batches = music_batches(model, evaluation[:32], batch_size=32)
        one = music_batches(model, evaluation[:1], batch_size=1)[0]
        times = _time_variants(modules, one, evaluation_batches[0], repeats)
    return _finish(rows, modules, "music encoder", "hit@10 %", times)


def format_study_table(rows: Sequence[dict[str, Any]]) -> str:
    """Study rows as a fixed-width text table."""
    header = (f"{'model':>14} {'variant':>14} {'metric':>7} {'k-means':>7} {'Δ':>6} {'fid.':>5} {'fid.km':>6} "
              f"{'b1 µs':>9} {'x b1':>5} "
              f"{'b32 µs':>9} {'x b32':>5} {'MB':>6}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['model']:>14} {r['variant']:>14} {r['metric']:>7.1f} {r['metric_kmeans']:>7.1f} "
                     f"{r['delta']:>+6.1f} {r['fidelity']:>5.1f} {r['fidelity_kmeans']:>6.1f} {r['latency_b1_us']:>9.0f} {r['speedup_b1']:>5.2f} "
                     f"{r['latency_b32_us']:>9.0f} {r['speedup_b32']:>5.2f} {r['bytes'] / 1e6:>6.2f}")
    return "\n".join(lines)
