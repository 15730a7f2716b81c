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
from typing import Any

from torch import nn

from ..artifacts import Field, check, field_error
from ..errors import ArtifactError
from .centroids import lut_layers
from .convert import set_submodule
from .layer import SCALE_MODES, TABLE_DTYPES, LUTError, LUTLinear

LUT_MODEL_KIND = "lut-model"
_FIX = "Fix the field or convert the model again (musicsearch lut convert)."
LUT_SPEC_SCHEMA = {
    "in_features": Field(int, minimum=1),
    "out_features": Field(int, minimum=1),
    "bias": Field(bool),
    "k": Field(int, minimum=1, maximum=65_536),
    "v": Field(int, minimum=1),
    "table_dtype": Field(str, choices=TABLE_DTYPES),
    "scale": Field(str, choices=SCALE_MODES),
    "frozen": Field(bool, required=False),
}
LUT_CONFIG_SCHEMA = {
    "kind": Field(str),
    "config": Field(dict),
    "lut_layers": Field(dict, values=Field(dict, fields=LUT_SPEC_SCHEMA), note="a mapping of layer name to its spec"),
}


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
        try:
            layer = LUTLinear.from_spec(spec)
        except LUTError as error:  # e.g. a v that does not divide in_features
            raise ArtifactError(f"{source}: layer {name!r}: {error}") from error
        set_submodule(model, name, layer)


def save_lut_module(model: nn.Module, directory: str | os.PathLike) -> Path:
    """Publish a converted module as the new version of ``directory``: ``config.json`` (its class name and
    LUT layer specs) + ``model.safetensors``."""
    from ..artifacts import MODEL, publish, save_config, save_weights

    directory = Path(directory)
    with publish(directory, MODEL) as staging:
        save_weights(staging, model.state_dict(), metadata={"kind": LUT_MODEL_KIND})
        save_config(staging, LUT_MODEL_KIND, {"model_class": type(model).__qualname__}, lut_layers=lut_specs(model))
    return directory


def read_lut_specs(directory: str | os.PathLike) -> tuple[dict[str, dict], dict]:
    """The LUT layer specs of a converted folder and its whole ``config.json`` payload.

    Raises:
        ArtifactError: unreadable config, or no ``lut_layers`` in it (not a converted model).
    """
    from ..artifacts import CONFIG_NAME, CONFIG_SCHEMA, FORMAT_VERSION, MODEL, current_version, read_json

    directory = Path(directory)
    path = current_version(directory, MODEL) / CONFIG_NAME
    payload = read_json(path)
    specs = payload.get("lut_layers") if isinstance(payload, dict) else None
    if specs is None:
        raise ArtifactError(f"{path} lists no lookup-table layers (no field 'lut_layers'); it is not a converted "
                            "model (load it with ms.load_model, or convert it with `musicsearch lut convert`).")
    found = payload.get("format_version")
    if isinstance(found, int) and not isinstance(found, bool) and found > FORMAT_VERSION:
        raise ArtifactError(f"{path}: field 'format_version' is {found}, newer than this musicsearch understands "
                            f"({FORMAT_VERSION}); upgrade musicsearch (pip install -U musicsearch).")
    check(payload, {**CONFIG_SCHEMA, **LUT_CONFIG_SCHEMA}, path, hint=_FIX)
    for name, spec in specs.items():
        _check_spec(spec, path, f"lut_layers.{name}")
    return specs, payload


def _check_spec(spec: dict[str, Any], source: Path, at: str) -> None:
    if spec["in_features"] % spec["v"]:
        raise field_error(source, f"{at}.v", spec["v"], f"a divisor of in_features {spec['in_features']}", hint=_FIX)


def load_lut_module(directory: str | os.PathLike, model: nn.Module | None) -> nn.Module:
    """Load a module written by :func:`save_lut_module` into ``model``, a fresh dense module of its architecture.

    Raises:
        ArtifactError: missing/corrupted files, not a converted module, no ``model`` given, or weights
            that do not fit it.
    """
    from ..artifacts import MODEL, WEIGHTS_NAME, load_state_dict_strict, load_weights, read_artifact

    def read(version: Path) -> nn.Module:
        specs, payload = read_lut_specs(version)
        state = load_weights(version)
        if model is None:
            raise ArtifactError(f"{directory} holds a generic converted module; pass model=<a fresh dense "
                                f"{payload['config'].get('model_class')}> to load it into.")
        install_lut_layers(model, specs, version)
        load_state_dict_strict(model, state, version / WEIGHTS_NAME)
        return model.eval()

    return read_artifact(Path(directory), MODEL, read, missing="convert a model first (musicsearch lut convert)")
