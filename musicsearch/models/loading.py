"""``load_model``: open any saved model folder, whatever kind it holds; ``use_model``: choose the default.

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

from ..artifacts import CONFIG_NAME, MODEL, read_artifact, read_json
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
    """Load a saved model; with no folder, the default one (see :func:`musicsearch.paths.default_model_dir`).

    The default is the released model shipped inside the package, unless ``MUSICSEARCH_MODEL`` names a
    folder or ``musicsearch model use DIR`` (:func:`use_model`) chose one of yours.
    Models converted to lookup tables (``musicsearch lut convert``) and official CLaMP checkpoints converted
    by :func:`musicsearch.load_clamp_checkpoint` load through the same call. Every one of them has the
    :class:`~musicsearch.MusicTextModel` interface (``encode_text``, ``encode_music``, ``fingerprint``).
    The folder's current version is read as a whole, so a model saved meanwhile is never half-read.

    Raises:
        ArtifactError: no model there (train one: ``musicsearch train --out DIR``), a folder holding another
            kind of artifact, an unreadable model (the message names the file and field), or a missing or
            damaged released model (the message says how to repair the install).

    Example:
        >>> model = load_model()  # doctest: +SKIP
        >>> model.dim  # doctest: +SKIP
        256
    """
    from ..paths import MODEL_VARIABLE, default_model_dir, released_model_dir

    if directory is not None:
        return read_artifact(Path(directory), MODEL, _load_version, missing=MISSING_MODEL_HINT)
    directory = default_model_dir()
    if directory != released_model_dir():
        how = (f"the {MODEL_VARIABLE} environment variable" if os.environ.get(MODEL_VARIABLE, "").strip()
               else "`musicsearch model use` (back to the released model: `musicsearch model use released`)")
        return read_artifact(directory, MODEL, _load_version,
                             missing=f"it is the default model, chosen by {how}; train it first "
                                     f"(`musicsearch train --out {directory}`) or choose another")
    try:
        return read_artifact(directory, MODEL, _load_version, missing=MISSING_MODEL_HINT)
    except ArtifactError as error:
        raise ArtifactError(
            f"the released model shipped with musicsearch ({directory}) is missing or damaged, a broken "
            f"install: {error} Repair it: `pip install --force-reinstall --no-deps musicsearch` (in a clone: "
            "`git checkout -- musicsearch/models/released`, or rebuild it with `make release-model`), or use "
            f"a model of your own: {MODEL_VARIABLE}=DIR.") from error


def use_model(directory: str | os.PathLike | None) -> Path:
    """Make ``directory`` the default model (``None`` or ``"released"``: the released model again).

    Checks that the folder holds a loadable model first, so a typo never becomes the default. The
    ``MUSICSEARCH_MODEL`` environment variable, when set, still wins.

    Returns:
        The default model's folder from now on.

    Raises:
        ArtifactError: the folder holds no loadable model.

    Example:
        >>> use_model("~/.cache/musicsearch/models/default")  # doctest: +SKIP
        PosixPath('/root/.cache/musicsearch/models/default')
    """
    from ..artifacts import atomic_write_bytes
    from ..paths import RELEASED, default_choice_file, default_model_dir

    if directory is None or str(directory) == RELEASED:
        text = RELEASED
    else:
        folder = Path(directory).expanduser().resolve()
        load_model(folder)
        text = str(folder)
    atomic_write_bytes(default_choice_file(), (text + "\n").encode())
    return default_model_dir()


def _load_version(version: Path) -> MusicTextModel:
    payload = _saved_payload(version)
    kind = payload.get("kind")
    if payload.get("lut_layers") and kind != LUT_MODEL_KIND:
        # A music model converted by `musicsearch lut convert`: same API, linear layers are lookup tables.
        return load_lut_model(version)
    if kind == CLAMP_KIND:
        return ClampModel.from_pretrained(version)
    return MusicTextModel.from_pretrained(version)
