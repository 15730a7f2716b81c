"""``load_model``: open any saved model folder, whatever kind it holds.

Loading sits above what it builds (open_clip's ``factory.py``): this module reads ``config.json``, decides
which class the folder holds and hands it over. :class:`~musicsearch.models.model.MusicTextModel` knows
nothing of the other kinds.

=====================================  ==========================================================
``config.json`` says                   loaded by
=====================================  ==========================================================
``lut_layers`` (a converted model)     :func:`musicsearch.models.lut_model.load_lut_model`
``kind: clamp-model``                  :meth:`musicsearch.models.clamp.ClampModel.from_pretrained`
anything else                          :meth:`MusicTextModel.from_pretrained` (which checks the kind)
=====================================  ==========================================================

Example:
    >>> model = load_model("models/quick")  # doctest: +SKIP
    >>> model.dim  # doctest: +SKIP
    256
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..artifacts import CONFIG_NAME, MODEL, artifact_exists, read_artifact, read_json
from ..errors import ArtifactError
from ..lut.storage import LUT_MODEL_KIND
from .clamp import CLAMP_KIND, ClampModel
from .lut_model import load_lut_model
from .model import MISSING_MODEL_HINT, MusicTextModel


def _saved_payload(directory: Path) -> dict[str, Any]:
    # A folder without config.json goes on to MusicTextModel.from_pretrained, whose error names what is missing.
    if not (directory / CONFIG_NAME).is_file():
        return {}
    payload = read_json(directory / CONFIG_NAME)
    return payload if isinstance(payload, dict) else {}


def load_model(directory: str | os.PathLike | None = None) -> MusicTextModel:
    """Load a saved model; with no folder, the default one (``MUSICSEARCH_HOME/models/default``).

    Models converted to lookup tables (``musicsearch lut convert``) and official CLaMP checkpoints converted
    by :func:`musicsearch.load_clamp_checkpoint` load through the same call. Every one of them has the
    :class:`~musicsearch.MusicTextModel` interface (``encode_text``, ``encode_music``, ``fingerprint``).
    The folder's current version is read as a whole, so a model saved meanwhile is never half-read.

    Raises:
        ArtifactError: no model there (run ``make model`` or ``musicsearch train``), a folder holding another
            kind of artifact, or an unreadable model (the message names the file and field).

    Example:
        >>> model = load_model()  # doctest: +SKIP
        >>> model.dim  # doctest: +SKIP
        256
    """
    from ..paths import default_model_dir

    if directory is None:
        directory = default_model_dir()
        if not artifact_exists(directory, MODEL):
            raise ArtifactError(
                f"no trained model in {directory}; run `make model` (or `musicsearch train --preset quick "
                f"--out {directory}`) to train the default model first.")
    return read_artifact(Path(directory), MODEL, _load_version, missing=MISSING_MODEL_HINT)


def _load_version(version: Path) -> MusicTextModel:
    payload = _saved_payload(version)
    kind = payload.get("kind")
    if payload.get("lut_layers") and kind != LUT_MODEL_KIND:
        # A music model converted by `musicsearch lut convert`: same API, linear layers are lookup tables.
        return load_lut_model(version)
    if kind == CLAMP_KIND:
        return ClampModel.from_pretrained(version)
    return MusicTextModel.from_pretrained(version)
