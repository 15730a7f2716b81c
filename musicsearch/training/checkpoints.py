"""Resumable checkpoints of musicsearch's own training runs, without pickle: tensors in safetensors, the rest in JSON.

(Foreign, published checkpoints of CLaMP are read by :mod:`musicsearch.models.clamp` instead.)

A checkpoint folder (``OUT/checkpoint``) holds ``model.safetensors`` (every parameter and buffer of the
training module), ``optimizer/model.safetensors`` (the AdamW moments, flattened as ``state.<i>.<name>``, and
the torch random state) and
``state.json`` (step, scheduler, sampler and random states, history so far, the config, the corpus and
held-out split by fingerprint). A run started again with the same ``out``, config and corpus continues
from the last checkpoint and, on CPU, ends with the same weights as an uninterrupted run; another config
or another corpus is refused, naming both. Non-finite state is never written.
:func:`save_checkpoint` / :func:`load_checkpoint` move the pieces; :func:`checkpoint_run` /
:func:`resume_run` do it for a whole :class:`~musicsearch.training.run.TrainingRun`.

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

from ..artifacts import (
    CHECKPOINT,
    Field,
    artifact_exists,
    check,
    field_error,
    load_state_dict_strict,
    load_weights,
    nonfinite_tensors,
    publish,
    read_artifact,
    read_json,
    save_weights,
    write_json,
)
from ..errors import ArtifactError, MusicSearchError
from .config import RunConfig
from .divergence import TrainingDiverged
from .history import TrainingHistory

if TYPE_CHECKING:
    from .run import TrainingRun

STATE_NAME = "state.json"
_FIX = "Delete the checkpoint folder to start the run over."
_FLOATS = Field(list, items=Field(float))
# What state.json may hold; fields other parts of training add are checked where they are read.
STATE_SCHEMA = {
    "step": Field(int, minimum=0),
    "optimizer": Field(dict, fields={
        "param_groups": Field(list, minimum=1, items=Field(dict, fields={
            "lr": Field(float, minimum=0), "params": Field(list, items=Field(int, minimum=0))})),
        "scalars": Field(dict)}),
    "scheduler": Field(dict, fields={"last_epoch": Field(int, minimum=-1), "base_lrs": _FLOATS,
                                     "_last_lr": Field(list, required=False, items=Field(float)),
                                     "_step_count": Field(int, required=False, minimum=0)}),
    "python_rng": Field(list, length=3, note="[version, 625 integers, gauss or null]"),
    "config": Field(dict),
    "sampler": Field(dict, fields={"rng": Field(dict), "queues": Field(dict, values=Field(list, items=Field(int))),
                                   "ready": Field(list, required=False, items=Field(list, items=Field(int)))}),
    "mask_generator": Field(list, items=Field(int, minimum=0, maximum=255)),
    "history": Field(dict),
    "corpus": Field(dict, required=False),
}


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
    """Publish a checkpoint as the new version of ``folder``: weights, optimizer and ``state.json`` together,
    so a run killed while saving resumes from the previous checkpoint, never from a mix of two."""
    folder = Path(folder)
    tensors, info = _flatten_optimizer(optimizer.state_dict())
    tensors["torch_rng"] = torch.get_rng_state()
    version, internal, gauss = py_rng.getstate()
    with publish(folder, CHECKPOINT) as staging:
        save_weights(staging, weights)
        save_weights(staging / "optimizer", tensors)
        write_json(staging / STATE_NAME, {
            "step": step, "optimizer": info, "scheduler": scheduler.state_dict(),
            "python_rng": [version, list(internal), gauss], **extra})
    return folder


def read_state(version: Path) -> dict[str, Any]:
    """The checked ``state.json`` of one checkpoint version."""
    path = version / STATE_NAME
    state = check(read_json(path), STATE_SCHEMA, path, hint=_FIX)
    rng_version, internal, gauss = state["python_rng"]
    if not (isinstance(rng_version, int) and isinstance(internal, list) and len(internal) == 625
            and all(isinstance(value, int) and not isinstance(value, bool) for value in internal)
            and (gauss is None or isinstance(gauss, float))):
        raise field_error(path, "python_rng", state["python_rng"], "[version, 625 integers, gauss or null] as "
                          "random.getstate() gives", hint=_FIX)
    size = torch.Generator().get_state().numel()
    if len(state["mask_generator"]) != size:
        raise field_error(path, "mask_generator", f"{len(state['mask_generator'])} bytes",
                          f"{size} bytes of torch generator state", hint=_FIX)
    return state


def load_checkpoint(folder: str | Path, *, optimizer, scheduler,
                    py_rng: random.Random) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Restore optimizer, scheduler and random states; returns ``(weights, state.json payload)``.

    The caller loads the weights into its module (with ``load_state_dict_strict``).

    Raises:
        ArtifactError: a file is missing, corrupted or does not fit the run (the message names it).
    """
    folder = Path(folder)

    def read(version: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        return read_state(version), load_weights(version), load_weights(version / "optimizer")

    state, weights, tensors = read_artifact(folder, CHECKPOINT, read, missing=_FIX)
    try:
        torch.set_rng_state(tensors.pop("torch_rng"))
        optimizer.load_state_dict(_unflatten_optimizer(tensors, state["optimizer"]))
    except (ValueError, KeyError, RuntimeError, TypeError) as error:
        raise ArtifactError(f"{folder / 'optimizer'} does not fit this training run ({error}); "
                            "delete the checkpoint folder to start over.") from error
    scheduler.load_state_dict(state["scheduler"])
    rng_version, internal, gauss = state["python_rng"]
    py_rng.setstate((rng_version, tuple(internal), gauss))
    return weights, state


def _corpus_identity(info: dict[str, Any]) -> dict[str, Any]:
    # What the run trains on: the corpus, its held-out split (fixed by the config's holdout and split_seed).
    return {key: info.get(key) for key in ("corpus", "corpus_fingerprint", "heldout_fingerprint", "train_tunes")}


def _refuse_nonfinite(run: TrainingRun, weights: dict[str, torch.Tensor], folder: Path) -> None:
    # The step checks stop a diverging run first; this keeps the last good checkpoint whatever the caller did.
    moments = {f"optimizer state {index}.{name}": value
               for index, values in run.optimizer.state_dict()["state"].items() for name, value in values.items()}
    bad = nonfinite_tensors({**weights, **moments})
    if bad:
        raise TrainingDiverged(f"refusing to write a checkpoint of step {run.step}: {', '.join(bad[:3])} "
                               f"{'is' if len(bad) == 1 else 'are'} not finite. The checkpoint in {folder} "
                               "(if any) is kept as it was.", stage="checkpoint", step=run.step)


def checkpoint_run(run: TrainingRun, folder: str | Path) -> Path:
    """Save everything :func:`resume_run` needs to continue ``run`` exactly where it is.

    Raises:
        TrainingDiverged: a weight or optimizer moment is not finite; nothing is written.
    """
    weights = run.unwrapped().weights_to_save()
    _refuse_nonfinite(run, weights, Path(folder))
    return save_checkpoint(folder, weights=weights, optimizer=run.optimizer,
                           scheduler=run.scheduler, step=run.step, py_rng=run.py_rng,
                           extra={"config": run.config.to_dict(), "sampler": run.sampler.state(),
                                  "mask_generator": run.mask_generator.get_state().tolist(),
                                  "history": run.history.to_dict(),
                                  "corpus": _corpus_identity(run.history.info)})


def _same_config(saved: Any, config: RunConfig) -> bool:
    # Checkpoints written before the architecture/training split hold a flat config: compare its meaning.
    try:
        return isinstance(saved, dict) and RunConfig.from_dict(saved).to_dict() == config.to_dict()
    except (MusicSearchError, TypeError):
        return False


def _describe(identity: dict[str, Any]) -> str:
    return (f"{identity.get('corpus')!r} (fingerprint {identity.get('corpus_fingerprint') or 'unknown'}, "
            f"held-out split {identity.get('heldout_fingerprint') or 'unknown'}, "
            f"{identity.get('train_tunes')} training tunes)")


def _require_same_corpus(state: dict[str, Any], run: TrainingRun, folder: Path) -> None:
    # Checkpoints written before the corpus was recorded still name it in their history's run facts.
    saved = state.get("corpus") or _corpus_identity(state.get("history", {}).get("info", {}))
    current = _corpus_identity(run.history.info)
    differs = [key for key in ("corpus_fingerprint", "heldout_fingerprint", "train_tunes")
               if saved.get(key) not in (None, "") and current.get(key) not in (None, "")
               and saved[key] != current[key]]
    if differs:
        raise ArtifactError(f"{folder} was written by a run on corpus {_describe(saved)}, not on this corpus "
                            f"{_describe(current)}; resuming would continue on other data. Train on the same "
                            "corpus, choose another output folder, or delete the checkpoint folder to start over.")


def resume_run(run: TrainingRun, folder: str | Path) -> bool:
    """Continue ``run`` from the checkpoint in ``folder``; False when there is none.

    Raises:
        ArtifactError: the checkpoint belongs to a run with another config or on another corpus (both are
            named), or its files are damaged.
    """
    folder = Path(folder)
    if not artifact_exists(folder, CHECKPOINT):
        return False
    weights, state = load_checkpoint(folder, optimizer=run.optimizer, scheduler=run.scheduler, py_rng=run.py_rng)
    if not _same_config(state.get("config"), run.config):
        raise ArtifactError(f"{folder} was written by a run with another config; delete it or choose "
                            "another output folder.")
    _require_same_corpus(state, run, folder)
    module = run.unwrapped()
    kept = module.weights_to_save()
    full = {**{k: v for k, v in module.state_dict().items() if k not in kept}, **weights}
    load_state_dict_strict(module, full, folder / "model.safetensors")
    run.sampler.load_state(state["sampler"])
    run.mask_generator.set_state(torch.tensor(state["mask_generator"], dtype=torch.uint8))
    run.history = TrainingHistory.from_dict(state["history"])
    run.step = state["step"]
    return True
