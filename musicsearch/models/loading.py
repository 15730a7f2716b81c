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

from ..artifacts import CONFIG_NAME, read_json
from ..errors import ArtifactError
from ..lut.storage import LUT_MODEL_KIND
from .clamp import CLAMP_KIND, ClampModel
from .lut_model import load_lut_model
from .model import MusicTextModel


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

    Raises:
        ArtifactError: no model there (run ``make model`` or ``musicsearch train``), or an unreadable one.

    Example:
        >>> model = load_model()  # doctest: +SKIP
        >>> model.dim  # doctest: +SKIP
        256
    """
    from ..paths import default_model_dir

    if directory is None:
        directory = default_model_dir()
        if not (Path(directory) / CONFIG_NAME).is_file():
            raise ArtifactError(
                f"no trained model in {directory}; run `make model` (or `musicsearch train --preset quick "
                f"--out {directory}`) to train the default model first.")
    directory = Path(directory)
    payload = _saved_payload(directory)
    kind = payload.get("kind")
    if payload.get("lut_layers") and kind != LUT_MODEL_KIND:
        # A music model converted by `musicsearch lut convert`: same API, linear layers are lookup tables.
        return load_lut_model(directory)
    if kind == CLAMP_KIND:
        return ClampModel.from_pretrained(directory)
    return MusicTextModel.from_pretrained(directory)
