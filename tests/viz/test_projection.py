"""Projections: shapes, PCA fallback, UMAP on a real-sized set, and the on-disk cache (no pickle)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import musicsearch as ms
from musicsearch.errors import QueryError
from musicsearch.viz import projection


def _clusters(count: int = 120, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 3
    centres = rng.normal(size=(3, dim)) * 5
    return (centres[labels] + rng.normal(size=(count, dim))).astype(np.float32), labels


@pytest.mark.parametrize("dims", [2, 3])
def test_small_sets_use_pca_with_requested_dims(dims):
    data, _ = _clusters(20)
    coords = ms.project(data, dims=dims)
    assert coords.shape == (20, dims) and coords.dtype == np.float32
    # PCA's first axis carries the most variance.
    assert coords[:, 0].var() >= coords[:, 1].var()


def test_pca_pads_when_fewer_features_than_dims():
    assert ms.project(np.array([[0.0], [1.0], [3.0]]), dims=3, method="pca").shape == (3, 3)


def test_umap_separates_clusters_and_is_cached(musicsearch_home):
    data, labels = _clusters(120)
    coords = ms.project(data, method="umap", n_neighbors=10)
    assert coords.shape == (120, 2)
    centroids = np.stack([coords[labels == c].mean(axis=0) for c in range(3)])
    within = np.mean([np.linalg.norm(coords[labels == c] - centroids[c], axis=1).mean() for c in range(3)])
    between = np.mean(
        [np.linalg.norm(centroids[a] - centroids[b]) for a in range(3) for b in range(a + 1, 3)]
    )
    assert between > 2 * within
    folder = musicsearch_home / "cache" / "projections"
    key = projection.projection_key(
        data, {"method": "umap", "dims": 2, "n_neighbors": 10, "min_dist": 0.1, "metric": "cosine", "seed": 0}
    )
    assert (folder / f"{key}.npy").is_file()
    assert json.loads((folder / f"{key}.json").read_text())["points"] == 120
    # The cached array is returned as is: poison it and see it come back.
    np.save(folder / f"{key}.npy", np.zeros((120, 2), np.float32))
    assert not ms.project(data, method="umap", n_neighbors=10).any()
    assert ms.project(data, method="umap", n_neighbors=10, cache=False).any()


def test_cache_key_depends_on_data_and_parameters():
    data, _ = _clusters(10)
    key = projection.projection_key(data, {"method": "pca"})
    assert key == projection.projection_key(data.copy(), {"method": "pca"})
    assert key != projection.projection_key(data + 1e-3, {"method": "pca"})
    assert key != projection.projection_key(data, {"method": "pca", "dims": 3})


def test_damaged_cache_entry_is_recomputed(musicsearch_home):
    data, _ = _clusters(12, seed=5)
    first = ms.project(data, method="pca")
    key = projection.projection_key(data, {"method": "pca", "dims": 2})
    (musicsearch_home / "cache" / "projections" / f"{key}.npy").write_bytes(b"not a numpy file")
    np.testing.assert_allclose(ms.project(data, method="pca"), first, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{"dims": 4}, {"method": "tsne"}])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(QueryError):
        ms.project(np.ones((5, 3)), **kwargs)


def test_empty_input_is_refused():
    with pytest.raises(QueryError, match="non-empty"):
        ms.project(np.zeros((0, 4)))
