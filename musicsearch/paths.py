"""Where musicsearch keeps its artifacts: one folder, ``MUSICSEARCH_HOME``.

The default is ``~/.cache/musicsearch``; set the environment variable to move everything (corpora,
models, indexes, caches) somewhere else, e.g. a shared drive in a workshop.

Layout::

    MUSICSEARCH_HOME/
        corpora/<name>-<hash>/   built corpus (Parquet) + build report (JSON)
        models/<name>/           config.json + model.safetensors
        indexes/<name>/          faiss index + records + manifest.json
        cache/                   text-embedding cache, projections, generated captions

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


def default_model_dir() -> Path:
    """Where ``make model`` writes the default model."""
    return models_dir() / DEFAULT_MODEL_NAME


def default_index_dir() -> Path:
    """Where ``make model`` writes the default index."""
    return indexes_dir() / DEFAULT_INDEX_NAME
