"""Where musicsearch keeps its artifacts: one folder, ``MUSICSEARCH_HOME``.

The default is ``~/.cache/musicsearch``; set the environment variable to move everything (corpora,
models, indexes, caches) somewhere else, e.g. a shared drive in a workshop.

Layout::

    MUSICSEARCH_HOME/
        corpora/<name>-<hash>/   built corpus (Parquet) + build report (JSON)
        models/<name>/           config.json + model.safetensors (models you train)
        indexes/<name>/          faiss index + records + manifest.json
        cache/                   text-embedding cache, projections, generated captions, ONNX exports
        default-model            which model is the default, when you chose one (``musicsearch model use``)

Which model is "the default" (what ``ms.load_model()``, ``ms.load_index()`` and every command use when
given no model), first match wins: the ``MUSICSEARCH_MODEL`` environment variable (a model folder), the
choice recorded by ``musicsearch model use DIR``, else the released model shipped inside the package
(:func:`released_model_dir`).

Each corpus, model and index folder holds its files in versions: ``CURRENT`` names the current
``v-<time>-<random>/`` folder, which holds the files listed above (see
:mod:`musicsearch.artifacts.versions`); a folder written by an older musicsearch, with the files directly
in it, still reads and is migrated by the next save.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MODEL_NAME = "default"
DEFAULT_INDEX_NAME = "default"
MODEL_VARIABLE = "MUSICSEARCH_MODEL"  # environment variable naming the default model's folder
DEFAULT_CHOICE_FILE = "default-model"  # in MUSICSEARCH_HOME: the folder `musicsearch model use` chose
RELEASED = "released"  # the name `musicsearch model use` takes for the shipped model


def home() -> Path:
    """Return the artifacts root, creating it if needed.

    Example:
        >>> home().name  # doctest: +SKIP
        'musicsearch'
    """
    root = os.environ.get("MUSICSEARCH_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "musicsearch")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _subdir(name: str) -> Path:
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def corpora_dir() -> Path:
    """Folder of built corpora."""
    return _subdir("corpora")


def models_dir() -> Path:
    """Folder of trained models."""
    return _subdir("models")


def indexes_dir() -> Path:
    """Folder of search indexes."""
    return _subdir("indexes")


def cache_dir() -> Path:
    """Folder of caches (embeddings, projections, generated captions)."""
    return _subdir("cache")


def released_model_dir() -> Path:
    """The model shipped inside the package (``make release-model`` writes it).

    Example:
        >>> released_model_dir().name
        'released'
    """
    return Path(__file__).parent / "models" / RELEASED


def default_model_dir() -> Path:
    """The folder of the default model: ``MUSICSEARCH_MODEL``, else your choice, else the released model.

    Example:
        >>> default_model_dir() == released_model_dir()  # with no variable and no choice  # doctest: +SKIP
        True
    """
    variable = os.environ.get(MODEL_VARIABLE, "").strip()
    if variable:
        return Path(variable).expanduser()
    chosen = chosen_default_model()
    return chosen if chosen is not None else released_model_dir()


def chosen_default_model() -> Path | None:
    """The folder recorded by ``musicsearch model use``, or None (the released model is the default)."""
    try:
        text = default_choice_file().read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return Path(text) if text and text != RELEASED else None


def default_choice_file() -> Path:
    """The file that records your default model (written by :func:`musicsearch.models.loading.use_model`)."""
    return home() / DEFAULT_CHOICE_FILE


def trained_model_dir(name: str = DEFAULT_MODEL_NAME) -> Path:
    """Where ``make model`` and ``musicsearch model build --train`` put a model you train (``models/<name>``)."""
    return models_dir() / name


def default_index_dir() -> Path:
    """Where the default index lives (built on demand for the default model by ``ms.load_index()``)."""
    return indexes_dir() / DEFAULT_INDEX_NAME
