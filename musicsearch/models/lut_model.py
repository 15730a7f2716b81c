"""Lookup-table versions of a :class:`~musicsearch.MusicTextModel`: convert its music encoder, save, load.

The generic machinery (choosing layers, k-means, centroid learning, saving any converted module) lives in
:mod:`musicsearch.lut`, which knows no models; this module applies it to the music encoder. A converted
MusicTextModel is saved with its own ``save_pretrained`` plus the list of layers that are tables
(``lut_layers`` in ``config.json``), so :func:`musicsearch.load_model` opens it like any model.

Example:
    >>> small = convert_music_model(model, corpus.sample(512), k=16, v=8)  # doctest: +SKIP
    >>> save_lut_model(small, "models/quick-lut")  # doctest: +SKIP
    >>> load_lut_model("models/quick-lut").encode_music(["X:1\\nK:D\\n|dfa|"]).shape  # doctest: +SKIP
    (1, 256)
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.patches import collate_patches, patchify
from ..lut.convert import convert
from ..lut.storage import (
    LUT_MODEL_KIND,
    install_lut_layers,
    load_lut_module,
    lut_specs,
    read_lut_specs,
    save_lut_module,
)
from .model import MusicTextModel


def music_batches(model: Any, items: Any, *, batch_size: int = 32) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(patches, mask)`` batches of a MusicTextModel's music encoder for ABC strings/Records/a Corpus.

    Tunes are sorted by length first, so a batch pads little.
    """
    patch_list = sorted(patchify(list(items), model.config.max_patches), key=len)
    return [collate_patches(patch_list[i:i + batch_size]) for i in range(0, len(patch_list), batch_size)]


def convert_music_model(model: Any, items: Any, k: int = 16, v: int = 8, **kwargs: Any) -> Any:
    """A copy of a :class:`~musicsearch.MusicTextModel` whose music encoder is converted to lookup tables.

    Args:
        model: the dense model.
        items: calibration tunes (ABC strings, Records or a Corpus), a few hundred are enough.
        k, v, **kwargs: passed to :func:`musicsearch.lut.convert.convert` (e.g. ``finetune_epochs=2``).
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


def save_lut_model(model: nn.Module, directory: str | os.PathLike) -> Path:
    """Save a converted model: ``config.json`` (with its LUT layer specs) + ``model.safetensors``, published
    as one new version of ``directory``.

    A converted :class:`~musicsearch.MusicTextModel` goes through its own ``save_pretrained`` so its
    config (and the frozen MiniLM digest) is kept; other modules save their full state dict.
    """
    if isinstance(model, MusicTextModel):
        directory = Path(directory)
        model.save_pretrained(directory, lut_layers=lut_specs(model))
        return directory
    return save_lut_module(model, directory)


def load_lut_model(directory: str | os.PathLike, model: nn.Module | None = None) -> nn.Module:
    """Load a model written by :func:`save_lut_model`.

    Args:
        directory: the folder.
        model: for generic modules, a freshly built dense model of the same architecture (its linear layers
            are replaced by empty tables, then the weights are loaded). Not needed for a MusicTextModel.

    Raises:
        ArtifactError: missing/corrupted files, no ``lut_layers`` in the config, or weights that do not fit.
    """
    from ..artifacts import MODEL, read_artifact

    def read(version: Path) -> nn.Module:
        specs, payload = read_lut_specs(version)
        if payload.get("kind") == LUT_MODEL_KIND:
            return load_lut_module(version, model)
        music_model, payload = MusicTextModel.empty_from_pretrained(version)
        install_lut_layers(music_model, specs, version)
        music_model.load_pretrained_weights(version, payload)
        return music_model

    return read_artifact(Path(directory), MODEL, read, missing="convert a model first (musicsearch lut convert)")
