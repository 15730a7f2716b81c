"""Training the lookup tables: k-means initialisation from real activations, then centroid learning.

1. :func:`capture_inputs` runs calibration batches through the dense model with forward hooks and keeps
   the inputs every chosen ``nn.Linear`` sees.
2. :func:`kmeans_init` fits, per codebook, K centroids to those sub-vectors (faiss k-means) and sets the
   layer's inverse temperature from the typical nearest-centroid distance.
3. :func:`finetune` is LUT-NN's differentiable centroid learning: the converted model is distilled from
   the dense one (its outputs are the targets), centroids, weights and temperatures train through the
   straight-through soft assignment of :class:`~musicsearch.LUTLinear`, optionally with a per-layer
   reconstruction loss.
4. :func:`freeze_model` turns every layer into its inference form.

A *batch* is whatever the model takes: a tensor, a tuple of positional arguments or a dict of keyword
arguments; a model output may be a tensor or a tuple/dict whose first tensor is used.

Example:
    >>> acts = capture_inputs(model, ["fc"], [x])  # doctest: +SKIP
    >>> kmeans_init(lut_layer, acts["fc"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .layer import LUTLinear


def run_model(model: nn.Module, batch: Any) -> torch.Tensor:
    """Call ``model`` on a batch (tensor, tuple of args or dict of kwargs) and return its main tensor."""
    if isinstance(batch, dict):
        output = model(**batch)
    elif isinstance(batch, (tuple, list)):
        output = model(*batch)
    else:
        output = model(batch)
    while not isinstance(output, torch.Tensor):
        output = next(iter(output.values())) if isinstance(output, dict) else output[0]
    return output


def lut_layers(model: nn.Module) -> dict[str, LUTLinear]:
    """``{qualified name: layer}`` of every :class:`LUTLinear` inside ``model``."""
    return {name: module for name, module in model.named_modules() if isinstance(module, LUTLinear)}


def capture_inputs(model: nn.Module, names: Sequence[str], batches: Iterable[Any], *, max_rows: int = 10000,
                   seed: int = 0) -> dict[str, torch.Tensor]:
    """Inputs seen by the named linear layers on calibration data, as ``(rows, in_features)`` tensors.

    Args:
        model: the dense model.
        names: qualified module names (as in ``model.named_modules()``).
        batches: calibration batches.
        max_rows: keep at most this many rows per layer (a seeded random subset); k-means needs far fewer.
        seed: seed of the subset.

    Example:
        >>> capture_inputs(nn.Sequential(nn.Linear(4, 2)), ["0"], [torch.randn(5, 4)])["0"].shape
        torch.Size([5, 4])
    """
    modules = dict(model.named_modules())
    captured: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    handles = []
    for name in names:
        def hook(_module, inputs, name=name):
            captured[name].append(inputs[0].detach().reshape(-1, inputs[0].shape[-1]).float().cpu())
        handles.append(modules[name].register_forward_pre_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in batches:
                run_model(model, batch)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    generator = torch.Generator().manual_seed(seed)
    result = {}
    for name, chunks in captured.items():
        rows = torch.cat(chunks)
        if rows.shape[0] > max_rows:
            rows = rows[torch.randperm(rows.shape[0], generator=generator)[:max_rows]]
        result[name] = rows
    return result


def _fit_codebooks(data: np.ndarray, k: int, niter: int, seed: int) -> np.ndarray:
    """``(rows, C, V)`` sub-vectors → ``(C, K, V)`` centroids, one k-means per codebook."""
    import faiss

    codebooks, v = data.shape[1], data.shape[2]
    centroids = np.empty((codebooks, k, v), dtype=np.float32)
    for c in range(codebooks):
        sub = np.ascontiguousarray(data[:, c])
        distinct = np.unique(sub, axis=0)
        if len(distinct) <= k:
            # Repeat the last one to fill K slots: argmin picks the first of equal centroids.
            centroids[c] = np.concatenate([distinct, np.repeat(distinct[-1:], k - len(distinct), 0)])
            continue
        kmeans = faiss.Kmeans(v, k, niter=niter, seed=seed + c, verbose=False, min_points_per_centroid=1,
                              max_points_per_centroid=256)
        kmeans.train(sub)
        centroids[c] = kmeans.centroids
    return centroids


def kmeans_init(layer: LUTLinear, activations: torch.Tensor, *, niter: int = 20, seed: int = 0) -> LUTLinear:
    """Set the centroids of every codebook by k-means on calibration sub-vectors.

    When a codebook sees at most K distinct sub-vectors they become the centroids exactly, so a layer
    whose inputs take few values reproduces the dense output (the basis of the exactness test).

    Args:
        layer: a trainable LUT layer.
        activations: ``(rows, in_features)`` inputs captured from the dense model.
        niter: k-means iterations.
        seed: faiss seed (codebook c uses seed + c).
    """
    import faiss

    data = activations.float().reshape(-1, layer.codebooks, layer.v).numpy()
    threads = faiss.omp_get_max_threads()
    # Tiny problems (thousands of V-dim points): OpenMP start-up and spinning cost 100x the work itself.
    faiss.omp_set_num_threads(1)
    try:
        centroids = _fit_codebooks(data, layer.k, niter, seed)
    finally:
        faiss.omp_set_num_threads(threads)
    with torch.no_grad():
        layer.centroids.copy_(torch.from_numpy(centroids))
        # Inverse temperature ~ 1 / typical squared distance to the nearest centroid: the soft assignment
        # starts neither uniform nor already hard, so gradients reach the centroids from the first step.
        sample = torch.from_numpy(data[:2048]).transpose(0, 1)  # (C, rows, V)
        distances = torch.cdist(sample, layer.centroids) ** 2  # (C, rows, K)
        nearest = distances.min(-1).values.mean().clamp_min(1e-6)
        layer.log_inv_temperature.fill_(float(-torch.log(nearest)))
    return layer


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, kind: str = "mse",
                      temperature: float = 2.0) -> torch.Tensor:
    """``"mse"`` on outputs (embeddings, regressions) or ``"kl"`` between softened class distributions."""
    if kind == "kl":
        return F.kl_div(F.log_softmax(student / temperature, -1), F.log_softmax(teacher / temperature, -1),
                        reduction="batchmean", log_target=True) * temperature ** 2
    return F.mse_loss(student, teacher)


def finetune(model: nn.Module, teacher: nn.Module, batches: Sequence[Any], *, epochs: int = 3,
             lr: float = 3e-3, weight_lr: float = 1e-4, loss: str = "mse", reconstruction_weight: float = 0.0,
             train_all: bool = False, seed: int = 0, progress: bool = False) -> list[float]:
    """Differentiable centroid learning by distillation from the dense model.

    Args:
        model: a converted model with trainable :class:`LUTLinear` layers (modified in place).
        teacher: the dense model whose outputs are the targets.
        batches: training batches (re-iterated every epoch, shuffled with ``seed``).
        epochs: passes over ``batches``.
        lr: learning rate of centroids and temperatures.
        weight_lr: learning rate of the weights and biases (small: they start trained).
        loss: ``"mse"`` or ``"kl"`` (for classifier logits), see :func:`distillation_loss`.
        reconstruction_weight: weight of the mean per-layer MSE between LUT and dense outputs.
        train_all: also train the parameters outside the LUT layers (norms, embeddings, dense layers).
        seed: seed of the batch order.
        progress: show a progress bar.

    Returns:
        Mean loss of each epoch.
    """
    from tqdm.auto import tqdm

    layers = list(lut_layers(model).values())
    centroid_params = [p for layer in layers for p in (layer.centroids, layer.log_inv_temperature)]
    weight_params = [p for layer in layers for p in (layer.weight, layer.bias) if p is not None]
    groups = [{"params": centroid_params, "lr": lr}, {"params": weight_params, "lr": weight_lr}]
    if train_all:
        taken = {id(p) for p in centroid_params + weight_params}
        others = [p for p in model.parameters() if id(p) not in taken and p.requires_grad]
        groups.append({"params": others, "lr": weight_lr})
    optimizer = torch.optim.Adam(groups)
    for layer in layers:
        layer.track_reconstruction = reconstruction_weight > 0
    teacher.eval()
    model.eval()  # no dropout: the targets are deterministic, the noise would only slow learning
    rng = np.random.default_rng(seed)
    history = []
    try:
        for _ in tqdm(range(epochs), desc="centroid learning", disable=not progress, leave=False):
            total = 0.0
            for index in rng.permutation(len(batches)):
                batch = batches[index]
                with torch.no_grad():
                    target = run_model(teacher, batch)
                value = distillation_loss(run_model(model, batch), target, loss)
                if reconstruction_weight > 0:
                    value = value + reconstruction_weight * torch.stack(
                        [layer.reconstruction_loss for layer in layers]).mean()
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
                total += float(value.detach())
            history.append(total / max(len(batches), 1))
    finally:
        for layer in layers:
            layer.track_reconstruction = False
            layer.reconstruction_loss = None
    return history


def freeze_model(model: nn.Module) -> nn.Module:
    """Freeze every :class:`LUTLinear` of ``model`` into its inference form; returns ``model``."""
    for layer in lut_layers(model).values():
        layer.freeze()
    model.eval()
    return model


finetune_lut = finetune  # the name exported as ``ms.finetune_lut``
