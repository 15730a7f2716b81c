"""Embeddings to 2-D or 3-D coordinates: UMAP (umap-learn), PCA for small sets, cached on disk.

A projection is a pure function of the embeddings and the parameters, so it is cached under
``MUSICSEARCH_HOME/cache/projections/`` keyed by a hash of both: the full corpus takes tens of seconds
the first time and a few milliseconds after. The cache holds a ``.npy`` file (read with
``allow_pickle=False``) and a JSON sidecar, both written atomically; nothing is pickled.

Example:
    >>> coords = project(np.random.default_rng(0).normal(size=(30, 8)), method="pca")
    >>> coords.shape
    (30, 2)
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import atomic_write_bytes, read_json, remove_stale_temporaries, write_json
from ..errors import ArtifactError, QueryError

METHODS = ("auto", "umap", "pca")
# Below this many points UMAP's neighbour graph is too thin to mean much (and it warns or fails on tiny
# sets); PCA is exact, deterministic and instant there.
MIN_UMAP_POINTS = 50
CACHE_VERSION = 1  # bump when the projection code changes what it returns for the same inputs


def projection_key(embeddings: np.ndarray, params: dict[str, Any]) -> str:
    """Hash of the embeddings' bytes, shape and dtype plus the parameters: the cache file name.

    Example:
        >>> len(projection_key(np.zeros((2, 3), np.float32), {"method": "pca"}))
        24
    """
    array = np.ascontiguousarray(embeddings)
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {"shape": array.shape, "dtype": str(array.dtype), "params": params, "version": CACHE_VERSION},
            sort_keys=True,
        ).encode()
    )
    digest.update(array.tobytes())
    return digest.hexdigest()[:24]


def _cache_folder() -> Path:
    from ..paths import cache_dir

    return cache_dir() / "projections"


def _load_cached(folder: Path, key: str, count: int) -> np.ndarray | None:
    array_path, info_path = folder / f"{key}.npy", folder / f"{key}.json"
    if not (array_path.is_file() and info_path.is_file()):
        return None
    try:
        read_json(info_path)
        coords = np.load(array_path, allow_pickle=False)
    except (ArtifactError, ValueError, OSError):
        return None  # a damaged cache entry is recomputed, never trusted
    return coords if coords.ndim == 2 and len(coords) == count else None


def _save_cached(folder: Path, key: str, coords: np.ndarray, info: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    np.save(buffer, coords, allow_pickle=False)
    # Array first, sidecar second: a reader only trusts an entry whose sidecar exists.
    atomic_write_bytes(folder / f"{key}.npy", buffer.getvalue())
    write_json(folder / f"{key}.json", info)
    remove_stale_temporaries(folder)  # what writers killed mid-entry left behind


def _pca(embeddings: np.ndarray, dims: int) -> np.ndarray:
    centred = embeddings - embeddings.mean(axis=0, keepdims=True)
    # SVD of the centred data: the right singular vectors are the principal axes.
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ axes[:dims].T
    if coords.shape[1] < dims:  # fewer features (or points) than dims: pad so callers get (N, dims)
        coords = np.pad(coords, ((0, 0), (0, dims - coords.shape[1])))
    return coords


def _umap(
    embeddings: np.ndarray, dims: int, n_neighbors: int, min_dist: float, metric: str, seed: int | None
):
    import warnings

    import umap

    with warnings.catch_warnings():
        # "n_jobs overridden by setting random_state": expected, a seed makes the map reproducible.
        warnings.filterwarnings("ignore", message=".*n_jobs.*")
        reducer = umap.UMAP(
            n_components=dims,
            n_neighbors=min(n_neighbors, len(embeddings) - 1),
            min_dist=min_dist,
            metric=metric,
            random_state=seed,
            low_memory=True,
        )
        return reducer.fit_transform(embeddings)


def project(
    embeddings: Any,
    *,
    dims: int = 2,
    method: str = "auto",
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "cosine",
    seed: int | None = 0,
    cache: bool = True,
) -> np.ndarray:
    """Project ``(N, D)`` embeddings to ``(N, dims)`` coordinates.

    Args:
        embeddings: the vectors (music and text embeddings stacked, for a joint map).
        dims: 2 or 3.
        method: ``"umap"``, ``"pca"``, or ``"auto"`` (UMAP from :data:`MIN_UMAP_POINTS` points, else PCA).
        n_neighbors, min_dist, metric: UMAP's parameters (local versus global structure).
        seed: UMAP's random state; ``None`` lets it use every core but the map changes run to run.
        cache: read and write ``MUSICSEARCH_HOME/cache/projections``.

    Returns:
        float32 coordinates, one row per input row.

    Raises:
        QueryError: bad ``dims`` or ``method``, or an empty or non-2-D input.

    Example:
        >>> project(np.eye(5), dims=3).shape  # five points: PCA
        (5, 3)
    """
    if dims not in (2, 3):
        raise QueryError(f"dims must be 2 or 3, got {dims!r}.")
    if method not in METHODS:
        raise QueryError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}.")
    array = np.asarray(embeddings, dtype=np.float32)
    if array.ndim != 2 or len(array) == 0:
        raise QueryError(f"embeddings must be a non-empty (N, D) array, got shape {array.shape}.")
    if method == "auto":
        method = "umap" if len(array) >= MIN_UMAP_POINTS else "pca"
    if method == "umap" and len(array) < 3:
        method = "pca"  # UMAP cannot build a neighbour graph from one or two points
    params = {"method": method, "dims": dims}
    if method == "umap":
        params.update(n_neighbors=n_neighbors, min_dist=min_dist, metric=metric, seed=seed)
    key = projection_key(array, params)
    folder = _cache_folder()
    if cache and (cached := _load_cached(folder, key, len(array))) is not None:
        return cached
    if method == "pca":
        coords = _pca(array, dims)
    else:
        coords = _umap(array, dims, n_neighbors, min_dist, metric, seed)
    coords = np.ascontiguousarray(coords, dtype=np.float32)
    if cache and (seed is not None or method == "pca"):  # an unseeded UMAP is not a function of its key
        _save_cached(
            folder, key, coords, {"key": key, "points": len(array), "dim_in": array.shape[1], **params}
        )
    return coords
