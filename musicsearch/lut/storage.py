"""Saving and loading converted modules: safetensors weights plus the spec of each lookup-table layer.

A converted module's ``config.json`` lists its :class:`~musicsearch.lut.layer.LUTLinear` layers by name
with their specs (sizes, K, V, table dtype, scale); loading replaces those layers of a freshly built dense
module by empty tables of the same spec (:func:`install_lut_layers`) and then loads the weights strictly.
Any ``nn.Module`` works; a :class:`~musicsearch.MusicTextModel` keeps its own config and goes through
:mod:`musicsearch.models.lut_model`.

Example:
    >>> save_lut_module(small, "small-lut")  # doctest: +SKIP
    >>> load_lut_module("small-lut", fresh_dense_copy)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from ..errors import ArtifactError
from .centroids import lut_layers
from .convert import set_submodule
from .layer import LUTLinear

LUT_MODEL_KIND = "lut-model"


def lut_specs(model: nn.Module) -> dict[str, dict]:
    """``{name: LUTLinear.spec()}`` of a converted model (what save/load needs to rebuild it)."""
    return {name: layer.spec() for name, layer in lut_layers(model).items()}


def install_lut_layers(model: nn.Module, specs: dict[str, dict], source: str | os.PathLike) -> None:
    """Replace the named linear layers of ``model`` by empty lookup tables of the given specs, in place.

    Raises:
        ArtifactError: a named layer is missing or has another shape (the message names ``source``).
    """
    for name, spec in specs.items():
        try:
            old = model.get_submodule(name)
        except AttributeError as error:
            raise ArtifactError(f"{source}: layer {name!r} does not exist in the model to load into.") from error
        if getattr(old, "in_features", None) != spec["in_features"] or \
                getattr(old, "out_features", None) != spec["out_features"]:
            raise ArtifactError(f"{source}: layer {name!r} has another shape in the model to load into.")
        set_submodule(model, name, LUTLinear.from_spec(spec))


def save_lut_module(model: nn.Module, directory: str | os.PathLike) -> Path:
    """Save a converted module: ``config.json`` (its class name and LUT layer specs) + ``model.safetensors``."""
    from ..artifacts import save_config, save_weights

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_weights(directory, model.state_dict(), metadata={"kind": LUT_MODEL_KIND})
    save_config(directory, LUT_MODEL_KIND, {"model_class": type(model).__qualname__}, lut_layers=lut_specs(model))
    return directory


def read_lut_specs(directory: str | os.PathLike) -> tuple[dict[str, dict], dict]:
    """The LUT layer specs of a converted folder and its whole ``config.json`` payload.

    Raises:
        ArtifactError: unreadable config, or no ``lut_layers`` in it (not a converted model).
    """
    from ..artifacts import CONFIG_NAME, read_json

    directory = Path(directory)
    payload = read_json(directory / CONFIG_NAME)
    specs = payload.get("lut_layers") if isinstance(payload, dict) else None
    if not isinstance(specs, dict):
        raise ArtifactError(f"{directory / CONFIG_NAME} lists no lookup-table layers; it is not a converted "
                            "model (load it with ms.load_model, or convert it with `musicsearch lut convert`).")
    return specs, payload


def load_lut_module(directory: str | os.PathLike, model: nn.Module | None) -> nn.Module:
    """Load a module written by :func:`save_lut_module` into ``model``, a fresh dense module of its architecture.

    Raises:
        ArtifactError: missing/corrupted files, not a converted module, no ``model`` given, or weights
            that do not fit it.
    """
    from ..artifacts import WEIGHTS_NAME, load_state_dict_strict, load_weights

    directory = Path(directory)
    specs, payload = read_lut_specs(directory)
    state = load_weights(directory)
    if model is None:
        raise ArtifactError(f"{directory} holds a generic converted module; pass model=<a fresh dense "
                            f"{payload['config'].get('model_class')}> to load it into.")
    install_lut_layers(model, specs, directory)
    load_state_dict_strict(model, state, directory / WEIGHTS_NAME)
    return model.eval()
