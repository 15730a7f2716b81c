"""Resumable checkpoints of musicsearch's own training runs, without pickle: tensors in safetensors, the rest in JSON.

(Foreign, published checkpoints of CLaMP are read by :mod:`musicsearch.models.clamp` instead.)

A checkpoint folder (``OUT/checkpoint``) holds ``model.safetensors`` (every parameter and buffer of the
training module), ``optimizer/model.safetensors`` (the AdamW moments, flattened as ``state.<i>.<name>``, and
the torch random state) and
``state.json`` (step, scheduler, sampler and random states, history so far, the config). A run started
again with the same ``out`` and the same config continues from the last checkpoint and, on CPU, ends
with the same weights as an uninterrupted run. :func:`save_checkpoint` / :func:`load_checkpoint` move the
pieces; :func:`checkpoint_run` / :func:`resume_run` do it for a whole
:class:`~musicsearch.training.run.TrainingRun`.

Example:
    >>> checkpoint_run(run, "models/quick/checkpoint")  # doctest: +SKIP
    >>> resume_run(fresh_run, "models/quick/checkpoint")  # doctest: +SKIP
    True
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..artifacts import load_state_dict_strict, load_weights, read_json, save_weights, write_json
from ..errors import ArtifactError, MusicSearchError
from .config import RunConfig
from .history import TrainingHistory

if TYPE_CHECKING:
    from .run import TrainingRun

STATE_NAME = "state.json"


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if torch.is_tensor(value):
                tensors[f"state.{index}.{name}"] = value
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    for key, value in info.get("scalars", {}).items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": info["param_groups"]}


def save_checkpoint(folder: str | Path, *, weights: dict[str, torch.Tensor], optimizer, scheduler, step: int,
                    extra: dict[str, Any], py_rng: random.Random) -> Path:
    """Write a checkpoint; ``state.json`` is written last, so it only ever names complete weight files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(folder, weights)
    tensors, info = _flatten_optimizer(optimizer.state_dict())
    tensors["torch_rng"] = torch.get_rng_state()
    save_weights(folder / "optimizer", tensors)
    version, internal, gauss = py_rng.getstate()
    write_json(folder / STATE_NAME, {
        "step": step, "optimizer": info, "scheduler": scheduler.state_dict(),
        "python_rng": [version, list(internal), gauss], **extra})
    return folder


def load_checkpoint(folder: str | Path, *, optimizer, scheduler,
                    py_rng: random.Random) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Restore optimizer, scheduler and random states; returns ``(weights, state.json payload)``.

    The caller loads the weights into its module (with ``load_state_dict_strict``).

    Raises:
        ArtifactError: a file is missing, corrupted or does not fit the run (the message names it).
    """
    folder = Path(folder)
    state = read_json(folder / STATE_NAME)
    weights = load_weights(folder)
    tensors = load_weights(folder / "optimizer")
    torch.set_rng_state(tensors.pop("torch_rng"))
    try:
        optimizer.load_state_dict(_unflatten_optimizer(tensors, state["optimizer"]))
    except (ValueError, KeyError) as error:
        raise ArtifactError(f"{folder / 'optimizer'} does not fit this training run ({error}); "
                            "delete the checkpoint folder to start over.") from error
    scheduler.load_state_dict(state["scheduler"])
    version, internal, gauss = state["python_rng"]
    py_rng.setstate((version, tuple(internal), gauss))
    return weights, state


def checkpoint_run(run: TrainingRun, folder: str | Path) -> Path:
    """Save everything :func:`resume_run` needs to continue ``run`` exactly where it is."""
    return save_checkpoint(folder, weights=run.unwrapped().weights_to_save(), optimizer=run.optimizer,
                           scheduler=run.scheduler, step=run.step, py_rng=run.py_rng,
                           extra={"config": run.config.to_dict(), "sampler": run.sampler.state(),
                                  "mask_generator": run.mask_generator.get_state().tolist(),
                                  "history": run.history.to_dict()})


def _same_config(saved: Any, config: RunConfig) -> bool:
    # Checkpoints written before the architecture/training split hold a flat config: compare its meaning.
    try:
        return isinstance(saved, dict) and RunConfig.from_dict(saved).to_dict() == config.to_dict()
    except (MusicSearchError, TypeError):
        return False


def resume_run(run: TrainingRun, folder: str | Path) -> bool:
    """Continue ``run`` from the checkpoint in ``folder``; False when there is none.

    Raises:
        ArtifactError: the checkpoint belongs to a run with another config, or its files are damaged.
    """
    folder = Path(folder)
    if not (folder / STATE_NAME).is_file():
        return False
    weights, state = load_checkpoint(folder, optimizer=run.optimizer, scheduler=run.scheduler, py_rng=run.py_rng)
    if not _same_config(state.get("config"), run.config):
        raise ArtifactError(f"{folder} was written by a run with another config; delete it or choose "
                            "another output folder.")
    module = run.unwrapped()
    kept = module.weights_to_save()
    full = {**{k: v for k, v in module.state_dict().items() if k not in kept}, **weights}
    load_state_dict_strict(module, full, folder / "model.safetensors")
    run.sampler.load_state(state["sampler"])
    run.mask_generator.set_state(torch.tensor(state["mask_generator"], dtype=torch.uint8))
    run.history = TrainingHistory.from_dict(state["history"])
    run.step = state["step"]
    return True
