"""Anything with weights on disk: ``config.json`` + ``model.safetensors`` in one version of a model folder.

Every artifact's config carries a format version and the library versions that wrote it, so a file from
a newer musicsearch is refused with a clear message instead of being misread; it is read through the
schema check (:mod:`musicsearch.artifacts.schema`). Non-finite weights are never written. Nothing here
unpickles. The writers call these functions inside :func:`~musicsearch.artifacts.versions.publish`, on the
staging folder; given a model folder instead of one of its versions, the readers read its current version.

Example:
    >>> with publish("models/demo", "model") as staging:  # doctest: +SKIP
    ...     save_weights(staging, model.state_dict()); save_config(staging, "demo", {"size": 4})
    >>> load_config("models/demo", "demo")["config"]  # doctest: +SKIP
    {'size': 4}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ArtifactError
from .files import atomic_write_bytes, read_json, write_json
from .kinds import MODEL
from .schema import Field, check, field_error
from .versions import resolve_version

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

CONFIG_SCHEMA = {
    "kind": Field(str),
    "format_version": Field(int, minimum=0),
    "versions": Field(dict, required=False, values=Field(str)),
    "config": Field(dict),
}


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape an artifact, recorded in every config."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("musicsearch", "torch", "numpy", "transformers", "safetensors"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def save_config(directory: str | os.PathLike, kind: str, config: Mapping[str, Any], **extra: Any) -> Path:
    """Write ``config.json`` with the artifact kind, format version and library versions."""
    payload = {"kind": kind, "format_version": FORMAT_VERSION, "versions": library_versions(),
               "config": dict(config), **extra}
    path = Path(directory) / CONFIG_NAME
    write_json(path, payload)
    return path


def load_config(directory: str | os.PathLike, kind: str) -> dict[str, Any]:
    """Read and check ``config.json`` written by :func:`save_config`.

    Raises:
        ArtifactError: the folder or file is missing, of another kind, from a newer format, or a field has
            the wrong type (the message names the file and the field).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"{directory} is not a folder; pass the folder written by save_pretrained().")
    path = resolve_version(directory, MODEL) / CONFIG_NAME
    payload = read_json(path)
    if not isinstance(payload, dict) or "config" not in payload:
        raise ArtifactError(f"{path} has no 'config' field; it was not written by musicsearch.")
    if payload.get("kind") != kind:
        raise field_error(path, "kind", payload.get("kind"), f"{kind!r}: this folder holds another kind of model; "
                          "check which folder you passed", missing="kind" not in payload)
    found = payload.get("format_version")
    if isinstance(found, int) and not isinstance(found, bool) and found > FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: field 'format_version' is {found}, newer than this musicsearch "
            f"understands ({FORMAT_VERSION}); upgrade musicsearch (pip install -U musicsearch).")
    return check(payload, CONFIG_SCHEMA, path, hint="Fix the field or save the model again.")


def nonfinite_tensors(tensors: Mapping[str, Any]) -> list[str]:
    """Names of the floating-point tensors holding NaN or infinity."""
    import torch

    return [name for name, tensor in tensors.items()
            if torch.is_tensor(tensor) and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]


def save_weights(directory: str | os.PathLike, tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None) -> Path:
    """Write a ``{name: torch.Tensor}`` mapping as ``model.safetensors``, atomically.

    Raises:
        ArtifactError: a tensor holds NaN or infinity (named); nothing is written.
    """
    from safetensors.torch import save

    contiguous = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
    bad = nonfinite_tensors(contiguous)
    if bad:
        raise ArtifactError(f"refusing to save {Path(directory) / WEIGHTS_NAME}: tensor(s) {', '.join(bad[:5])}"
                            f"{' ...' if len(bad) > 5 else ''} hold NaN or infinity (a diverged training run?). "
                            "Lower the learning rate and train again.")
    path = Path(directory) / WEIGHTS_NAME
    atomic_write_bytes(path, save(contiguous, metadata=dict(metadata or {})))
    return path


def load_weights(directory: str | os.PathLike, filename: str = WEIGHTS_NAME) -> dict[str, Any]:
    """Read a safetensors file into ``{name: torch.Tensor}`` with a clear error when it is corrupted."""
    from safetensors.torch import load

    path = resolve_version(directory, MODEL) / filename
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as error:
        raise ArtifactError(f"{path} does not exist; the folder holds no weights. Re-run save_pretrained().") from error
    try:
        return load(data)
    except Exception as error:  # safetensors raises its own SafetensorError with no file name
        raise ArtifactError(
            f"{path} is not a readable safetensors file ({error}); it may be truncated or corrupted. "
            "Delete the folder and train or convert the model again.") from error


def load_state_dict_strict(module: Any, state: Mapping[str, Any], source: str | os.PathLike) -> None:
    """Load ``state`` into a torch module, turning missing/extra keys and shape mismatches into one clear error."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = [f"{name}: file {tuple(state[name].shape)} vs model {tuple(expected[name].shape)}"
                   for name in expected if name in state and tuple(state[name].shape) != tuple(expected[name].shape)]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if wrong_shape:
            parts.append(f"wrong shapes {wrong_shape[:3]}")
        raise ArtifactError(
            f"{source} does not match the model built from its config: {'; '.join(parts)}. "
            "The weights and config.json come from different models; re-save the model.")
    module.load_state_dict(dict(state), strict=True)

