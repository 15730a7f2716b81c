"""Whole-model conversion to lookup tables, in the shape of open_clip's ``replace_linear``.

:func:`convert` is the one call most users need: pick the linear layers, capture their inputs on
calibration data, swap them for :class:`~musicsearch.LUTLinear`, k-means the centroids, optionally
learn them by distillation, freeze. The original model is left untouched. Converted models save and
load with safetensors (:func:`save_lut_model`, :func:`load_lut_model`); a converted
:class:`~musicsearch.MusicTextModel` keeps its own ``config.json`` and records which layers are tables.

Example:
    >>> mlp = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    >>> small = convert(mlp, torch.randn(256, 8), k=16, v=8)
    >>> type(small[2]).__name__, type(small[0]).__name__  # first and last layers stay dense
    ('LUTLinear', 'Linear')
"""

from __future__ import annotations

import copy
import fnmatch
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ArtifactError
from .centroids import capture_inputs, finetune, freeze_model, kmeans_init, lut_layers
from .layer import LUTLinear, check_lut_shape, copy_linear_weights

LUT_MODEL_KIND = "lut-model"


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


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
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
        _set_submodule(model, name, new.to(old.weight.device))
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


def lut_specs(model: nn.Module) -> dict[str, dict]:
    """``{name: LUTLinear.spec()}`` of a converted model (what save/load needs to rebuild it)."""
    return {name: layer.spec() for name, layer in lut_layers(model).items()}


def _install_shells(model: nn.Module, specs: dict[str, dict], source: Path) -> None:
    for name, spec in specs.items():
        try:
            old = model.get_submodule(name)
        except AttributeError as error:
            raise ArtifactError(f"{source}: layer {name!r} does not exist in the model to load into.") from error
        if getattr(old, "in_features", None) != spec["in_features"] or \
                getattr(old, "out_features", None) != spec["out_features"]:
            raise ArtifactError(f"{source}: layer {name!r} has another shape in the model to load into.")
        _set_submodule(model, name, LUTLinear.from_spec(spec))


def save_lut_model(model: nn.Module, directory: str | os.PathLike) -> Path:
    """Save a converted model: ``config.json`` (with its LUT layer specs) + ``model.safetensors``.

    A converted :class:`~musicsearch.MusicTextModel` goes through its own ``save_pretrained`` so its
    config (and the frozen MiniLM digest) is kept; other modules save their full state dict.
    """
    from ..artifacts import save_config, save_weights

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    specs = lut_specs(model)
    if hasattr(model, "save_pretrained") and hasattr(model, "music_encoder"):
        model.save_pretrained(directory, lut_layers=specs)
        return directory
    save_weights(directory, model.state_dict(), metadata={"kind": LUT_MODEL_KIND})
    save_config(directory, LUT_MODEL_KIND, {"model_class": type(model).__qualname__}, lut_layers=specs)
    return directory


def load_lut_model(directory: str | os.PathLike, model: nn.Module | None = None) -> nn.Module:
    """Load a model written by :func:`save_lut_model`.

    Args:
        directory: the folder.
        model: for generic modules, a freshly built dense model of the same architecture (its linear layers
            are replaced by empty tables, then the weights are loaded). Not needed for a MusicTextModel.

    Raises:
        ArtifactError: missing/corrupted files, no ``lut_layers`` in the config, or weights that do not fit.
    """
    from ..artifacts import CONFIG_NAME, WEIGHTS_NAME, load_state_dict_strict, load_weights, read_json

    directory = Path(directory)
    payload = read_json(directory / CONFIG_NAME)
    specs = payload.get("lut_layers") if isinstance(payload, dict) else None
    if not isinstance(specs, dict):
        raise ArtifactError(f"{directory / CONFIG_NAME} lists no lookup-table layers; it is not a converted "
                            "model (load it with ms.load_model, or convert it with `musicsearch lut convert`).")
    state = load_weights(directory)
    if payload.get("kind") == LUT_MODEL_KIND:
        if model is None:
            raise ArtifactError(f"{directory} holds a generic converted module; pass model=<a fresh dense "
                                f"{payload['config'].get('model_class')}> to load it into.")
    else:
        from ..models.config import ModelConfig
        from ..models.model import MusicTextModel

        model = MusicTextModel(ModelConfig.from_dict(payload["config"], source=str(directory / CONFIG_NAME)))
        fresh = model.state_dict()  # a frozen MiniLM is not saved: take it from the installed package
        state = {**{n: t for n, t in fresh.items() if n.startswith("text_encoder.") and n not in state}, **state}
    _install_shells(model, specs, directory)
    load_state_dict_strict(model, state, directory / WEIGHTS_NAME)
    return model.eval()


def music_batches(model: Any, items: Any, *, batch_size: int = 32) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(patches, mask)`` batches of a MusicTextModel's music encoder for ABC strings/Records/a Corpus."""
    from ..models.model import collate_patches, patchify

    patch_list = sorted(patchify(list(items), model.config.max_patches), key=len)
    return [collate_patches(patch_list[i:i + batch_size]) for i in range(0, len(patch_list), batch_size)]


def convert_music_model(model: Any, items: Any, k: int = 16, v: int = 8, **kwargs: Any) -> Any:
    """A copy of a :class:`~musicsearch.MusicTextModel` whose music encoder is converted by :func:`convert`.

    Args:
        model: the dense model.
        items: calibration tunes (ABC strings, Records or a Corpus), a few hundred are enough.
        k, v, **kwargs: passed to :func:`convert` (e.g. ``finetune_epochs=2``).
    """
    # Measured on the quick model (hit@10 on held-out tunes): the embedding MSE needs a larger step than the
    # convert() defaults; 3 epochs over 1024 tunes then recover the dense metric.
    kwargs.setdefault("lr", 1e-2)
    kwargs.setdefault("weight_lr", 3e-4)
    batches = music_batches(model, items)
    converted = copy.copy(model)  # shallow: shares the text side and projections, which are not converted
    converted._modules = dict(model._modules)  # its own module table, so the swap below leaves `model` alone
    converted.music_encoder = convert(model.music_encoder, batches, k, v, **kwargs)
    return converted.eval()


convert_to_lut = convert  # the name exported as ``ms.convert_to_lut`` (``musicsearch.data.formats`` is a module)
