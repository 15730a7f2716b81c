"""Saving and loading anything with weights: ``config.json`` + ``model.safetensors``, written atomically.

Every artifact's config carries a format version and the library versions that wrote it, so a file from
a newer musicsearch is refused with a clear message instead of being misread. Nothing here unpickles.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ArtifactError

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


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


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates files readable by the owner only; artifacts are shared like any other file.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file with an error that names the file when it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path} does not exist; check the folder or rebuild the artifact.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path} is not valid JSON ({error}); delete it and rebuild the artifact.") from error


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
        ArtifactError: the folder or file is missing, of another kind, or from a newer format.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"{directory} is not a folder; pass the folder written by save_pretrained().")
    payload = read_json(directory / CONFIG_NAME)
    if not isinstance(payload, dict) or "config" not in payload:
        raise ArtifactError(f"{directory / CONFIG_NAME} has no 'config' field; it was not written by musicsearch.")
    if payload.get("kind") != kind:
        raise ArtifactError(
            f"{directory / CONFIG_NAME} holds a {payload.get('kind')!r} artifact, not a {kind!r}; "
            "check which folder you passed.")
    found = int(payload.get("format_version", 0))
    if found > FORMAT_VERSION:
        raise ArtifactError(
            f"{directory / CONFIG_NAME} has format version {found}, newer than this musicsearch "
            f"understands ({FORMAT_VERSION}); upgrade musicsearch (pip install -U musicsearch).")
    return payload


def save_weights(directory: str | os.PathLike, tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None) -> Path:
    """Write a ``{name: torch.Tensor}`` mapping as ``model.safetensors``, atomically."""
    from safetensors.torch import save

    contiguous = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
    path = Path(directory) / WEIGHTS_NAME
    atomic_write_bytes(path, save(contiguous, metadata=dict(metadata or {})))
    return path


def load_weights(directory: str | os.PathLike, filename: str = WEIGHTS_NAME) -> dict[str, Any]:
    """Read a safetensors file into ``{name: torch.Tensor}`` with a clear error when it is corrupted."""
    from safetensors.torch import load

    path = Path(directory) / filename
    if not path.is_file():
        raise ArtifactError(f"{path} does not exist; the folder holds no weights. Re-run save_pretrained().")
    try:
        return load(path.read_bytes())
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
