"""The model a search encodes its queries with: the ONNX export when it is usable, else PyTorch.

A search only needs a model's two query encoders, not torch: :func:`load_query_encoder` returns the
:class:`~musicsearch.models.onnx_runtime.OnnxModel` of a model folder when its export exists and checks
out (same fingerprint, same weights, same onnxruntime, intact files), and the PyTorch model otherwise.
Both have the same ``encode_text`` / ``encode_music`` / ``fingerprint``, and the export was refused at
build time unless it agreed with PyTorch (cosine ≥ 0.999), so results do not depend on the path.

When PyTorch had to be loaded because the export was missing, stale or damaged, the export is written
then (a few seconds, said on stderr), so the *next* process starts fast; a stale or damaged export, and a
missing onnxruntime, also give a warning naming the fallback. ``MUSICSEARCH_ONNX=0`` forces PyTorch
(no export either).

Example:
    >>> encoder = load_query_encoder()  # doctest: +SKIP
    >>> getattr(encoder, "backend", "torch"), encoder.encode_text(["a jig"]).shape  # doctest: +SKIP
    ('onnx', (1, 256))
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from ..errors import ArtifactError

ONNX_VARIABLE = "MUSICSEARCH_ONNX"  # "0" / "off" / "false": always PyTorch, never export


def onnx_enabled() -> bool:
    """Whether searches may use (and write) ONNX exports: not when ``MUSICSEARCH_ONNX`` is 0/off/false."""
    return os.environ.get(ONNX_VARIABLE, "").strip().lower() not in ("0", "off", "false", "no")


def load_query_encoder(model_dir: str | os.PathLike | None = None, *, export: bool = True) -> Any:
    """The fastest usable encoder of the model in ``model_dir`` (``None`` = the default model).

    Args:
        model_dir: a model folder; ``None`` = :func:`musicsearch.paths.default_model_dir`.
        export: when PyTorch had to be loaded for want of a usable export, write the export for next time.

    Returns:
        An :class:`~musicsearch.models.onnx_runtime.OnnxModel`, or the PyTorch model
        (:func:`musicsearch.models.loading.load_model`); both encode queries the same way.

    Raises:
        ArtifactError: no model in ``model_dir`` (as :func:`~musicsearch.models.loading.load_model`).

    Example:
        >>> load_query_encoder("models/default").fingerprint  # doctest: +SKIP
        '63e02c42b435'
    """
    from ..models.onnx_runtime import load_onnx_model
    from ..paths import default_model_dir

    folder = Path(model_dir) if model_dir is not None else default_model_dir()
    problem: ArtifactError | None = None
    if onnx_enabled():
        try:
            return load_onnx_model(folder)
        except ArtifactError as error:  # OnnxUnavailable, or a damaged pointer in the cache
            problem = error
    from ..models.loading import load_model

    model = load_model(model_dir)  # a missing model folder is reported here, with its own message
    reason = getattr(problem, "reason", "damaged") if problem is not None else None
    if reason in ("runtime", "stale", "damaged"):
        warnings.warn(f"the ONNX query encoder cannot be used ({problem}); searching with PyTorch instead.",
                      stacklevel=2)
    if export and reason in ("missing", "stale", "damaged"):
        _export(model, folder)
    return model


def prepare_query_encoder(model: Any, model_dir: str | os.PathLike) -> Path | None:
    """Make sure the model saved in ``model_dir`` has a usable ONNX export (``musicsearch index`` calls it).

    Returns:
        The export's cache folder, or None when there is none to make (``MUSICSEARCH_ONNX=0``, no
        onnxruntime, a kind of model the ONNX path does not cover) or the export failed (with a warning).

    Example:
        >>> prepare_query_encoder(model, "models/default").parent.name  # doctest: +SKIP
        'onnx'
    """
    from ..models.onnx_runtime import load_onnx_model

    if not onnx_enabled():
        return None
    try:
        return load_onnx_model(model_dir).folder.parent
    except ArtifactError as error:
        if getattr(error, "reason", None) in ("runtime", "kind"):
            return None
    return _export(model, Path(model_dir))


def _export(model: Any, folder: Path) -> Path | None:
    """Write the export for the next process; a failure leaves PyTorch in use, with a warning."""
    from ..models.onnx_export import export_onnx

    try:
        return export_onnx(model, folder)
    except (ArtifactError, ImportError, RuntimeError, OSError, ValueError) as error:
        warnings.warn(f"exporting the query encoder to ONNX failed ({str(error)[:300]}); searches keep using "
                      "PyTorch.", stacklevel=3)
        return None
