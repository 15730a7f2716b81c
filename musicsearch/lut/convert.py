"""Whole-model conversion to lookup tables, in the shape of open_clip's ``replace_linear``.

:func:`convert` is the one call most users need: pick the linear layers, capture their inputs on
calibration data, swap them for :class:`~musicsearch.LUTLinear`, k-means the centroids, optionally
learn them by distillation, freeze. The original model is left untouched. Converted modules save and
load with :mod:`musicsearch.lut.storage`; converting, saving and loading a whole
:class:`~musicsearch.MusicTextModel` is :mod:`musicsearch.models.lut_model`'s job (this package knows no models).

Example:
    >>> mlp = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    >>> small = convert(mlp, torch.randn(256, 8), k=16, v=8)
    >>> type(small[2]).__name__, type(small[0]).__name__  # first and last layers stay dense
    ('LUTLinear', 'Linear')
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .centroids import capture_inputs, finetune, freeze_model, kmeans_init
from .layer import LUTLinear, check_lut_shape, copy_linear_weights


def _matches(name: str, patterns: Sequence[str]) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(leaf, p) for p in patterns)


def select_linear_layers(model: nn.Module, include_modules: Sequence[str] | None = None,
                         exclude: Sequence[str] = (), keep_first_last: bool = True) -> list[str]:
    """Qualified names of the ``nn.Linear`` layers a conversion would replace.

    Args:
        model: any module.
        include_modules: glob patterns matched against the full name or its last part (``"fc*"``,
            ``"blocks.0.*"``); None = every linear layer.
        exclude: patterns to leave dense.
        keep_first_last: leave the first and last linear layers (in registration order) dense: LUT-NN does
            too, they see raw inputs / produce the outputs and are the most sensitive to approximation.

    Example:
        >>> select_linear_layers(nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4)))
        ['1']
    """
    names = [name for name, module in model.named_modules() if type(module) is nn.Linear]
    keep = {names[0], names[-1]} if keep_first_last and names else set()
    return [name for name in names if name not in keep and not _matches(name, exclude)
            and (include_modules is None or _matches(name, include_modules))]


def set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    """Put ``module`` at the qualified ``name`` (``"blocks.0.fc1"``) inside ``model``."""
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def replace_linear(model: nn.Module, linear_replacement: Callable[..., nn.Module] = LUTLinear,
                   include_modules: Sequence[str] | None = None, *, exclude: Sequence[str] = (),
                   keep_first_last: bool = True, copy_weights: bool = True, **layer_kwargs: Any) -> list[str]:
    """Swap ``nn.Linear`` layers of ``model`` in place (open_clip's ``replace_linear``, with name patterns).

    Args:
        model: the module to modify.
        linear_replacement: class or factory called as ``(in_features, out_features, bias, **layer_kwargs)``.
        include_modules, exclude, keep_first_last: which layers, see :func:`select_linear_layers`.
        copy_weights: copy weight and bias of each replaced layer.
        **layer_kwargs: e.g. ``k=16, v=8, table_dtype="int8"`` for :class:`LUTLinear`.

    Returns:
        The replaced names.

    Raises:
        LUTError: a selected layer's input size is not divisible by ``v`` (nothing is replaced then).
    """
    names = select_linear_layers(model, include_modules, exclude, keep_first_last)
    if isinstance(linear_replacement, type) and issubclass(linear_replacement, LUTLinear):
        for name in names:  # check all first, so a failure leaves the model untouched
            check_lut_shape(model.get_submodule(name).in_features, layer_kwargs.get("k", 16),
                            layer_kwargs.get("v", 8), name=name)
    for name in names:
        old = model.get_submodule(name)
        new = linear_replacement(old.in_features, old.out_features, old.bias is not None, **layer_kwargs)
        if copy_weights:
            copy_linear_weights(old, new)
        set_submodule(model, name, new.to(old.weight.device))
    return names


def _as_batches(inputs: Any, batch_size: int) -> list[Any]:
    if isinstance(inputs, torch.Tensor):
        return list(inputs.split(batch_size))
    return list(inputs)


def convert(model: nn.Module, calibration_inputs: Any, k: int = 16, v: int = 8, *,
            include_modules: Sequence[str] | None = None, exclude: Sequence[str] = (),
            keep_first_last: bool = True, table_dtype: str = "int8", scale: str = "codebook",
            finetune_epochs: int = 0, loss: str = "mse", lr: float = 3e-3, weight_lr: float = 1e-4,
            reconstruction_weight: float = 0.0, freeze: bool = True, batch_size: int = 64,
            max_rows: int = 10000, seed: int = 0, progress: bool = False) -> nn.Module:
    """A lookup-table copy of ``model`` (the original is not modified).

    Args:
        model: a trained model (any ``nn.Module`` with ``nn.Linear`` layers).
        calibration_inputs: a tensor of inputs (split into ``batch_size`` rows) or a list of batches
            (tensors, argument tuples or keyword dicts). Used for k-means and, if asked, centroid learning.
        k, v: centroids per codebook and sub-vector length.
        include_modules, exclude, keep_first_last: which layers, see :func:`select_linear_layers`.
        table_dtype, scale: table storage, see :class:`LUTLinear`.
        finetune_epochs: epochs of centroid learning (distillation from ``model``); 0 = k-means only.
        loss, lr, weight_lr, reconstruction_weight: see :func:`~musicsearch.lut.centroids.finetune`.
        freeze: return the fast inference form (set False to keep training it yourself).
        batch_size: rows per batch when ``calibration_inputs`` is a tensor.
        max_rows: calibration rows kept per layer for k-means.
        seed: seed of sampling, k-means and batch order.
        progress: show progress bars.

    Returns:
        The converted model, in eval mode.
    """
    from tqdm.auto import tqdm

    batches = _as_batches(calibration_inputs, batch_size)
    student = copy.deepcopy(model)
    names = select_linear_layers(student, include_modules, exclude, keep_first_last)
    activations = capture_inputs(model, names, batches, max_rows=max_rows, seed=seed)
    replace_linear(student, LUTLinear, include_modules, exclude=exclude, keep_first_last=keep_first_last,
                   k=k, v=v, table_dtype=table_dtype, scale=scale)
    for name in tqdm(names, desc="k-means", disable=not progress, leave=False):
        kmeans_init(student.get_submodule(name), activations[name], seed=seed)
    if finetune_epochs > 0:
        finetune(student, model, batches, epochs=finetune_epochs, loss=loss, lr=lr, weight_lr=weight_lr,
                 reconstruction_weight=reconstruction_weight, seed=seed, progress=progress)
    return freeze_model(student) if freeze else student.eval()


convert_to_lut = convert  # the name exported as ``ms.convert_to_lut`` (``musicsearch.data.formats`` is a module)
