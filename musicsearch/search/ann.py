"""Nearest-neighbour structures over embeddings: faiss exact, IVF and HNSW indexes behind one small API.

Everything a caller passes is checked here *before* faiss sees it (shape, dtype, finite values, ``k``),
because faiss answers bad input with an abort or a C++ exception that names nothing useful.

Three kinds, all scoring by inner product (= cosine on L2-normalised embeddings):

- ``flat``: exact search, the default; right for up to a few hundred thousand vectors.
- ``ivf``: inverted lists over k-means cells; ``nprobe`` cells are scanned per query.
- ``hnsw``: a navigable small-world graph; ``ef_search`` candidates are kept per query.

Example:
    >>> import numpy as np
    >>> vectors = np.eye(4, dtype="float32")
    >>> index = build_faiss(vectors, "flat")
    >>> scores, ids = search_faiss(index, vectors[:1], k=2)
    >>> ids[0].tolist()[0]
    0
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import ArtifactError, QueryError

KINDS = ("flat", "ivf", "hnsw")


@dataclass
class ANNParams:
    """Build and search settings of an approximate index; ``None`` picks a size-dependent default."""

    nlist: int | None = None  # IVF cells; default 4·sqrt(N), capped so each cell gets >= 39 training points
    nprobe: int | None = None  # IVF cells scanned per query (default sqrt(nlist)); more = better recall, slower
    hnsw_m: int = 32  # HNSW neighbours per node; 32 keeps recall@10 >= 0.95 on 1M clustered vectors
    ef_construction: int = 80  # HNSW build beam; higher builds slower but a better graph
    ef_search: int = 64  # HNSW search beam; more = better recall, slower
    train_size: int = 200_000  # IVF k-means sample; training on all of 1M vectors adds minutes, not recall
    kmeans_iterations: int = 10  # IVF k-means passes; faiss's 25 took 3x longer for the same recall@10 (100k vectors)
    extra: dict[str, Any] = field(default_factory=dict)  # kept for forward compatibility of manifests

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any] | None) -> ANNParams:
        known = {name: value for name, value in (payload or {}).items() if name in cls.__dataclass_fields__}
        return cls(**known)


def check_kind(kind: str) -> str:
    """Return ``kind`` if it names an index kind, else raise :class:`QueryError` listing the choices."""
    if kind not in KINDS:
        raise QueryError(f"unknown index kind {kind!r}; choose one of {', '.join(KINDS)}.")
    return kind


def as_matrix(vectors: Any, *, dim: int | None = None, what: str = "vectors") -> np.ndarray:
    """Validate and convert to the C-contiguous float32 ``(N, D)`` array faiss needs.

    Raises:
        QueryError: not 2-D (a single vector is promoted), empty, wrong width, or not finite.
    """
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise QueryError(f"{what} must be numbers, got {type(vectors).__name__} ({error}).") from error
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise QueryError(f"{what} must be a non-empty (N, D) array, got shape {array.shape}.")
    if dim is not None and array.shape[1] != dim:
        raise QueryError(f"{what} have dimension {array.shape[1]} but the index holds dimension {dim}; "
                         "encode them with the model the index was built with.")
    if not np.isfinite(array).all():
        raise QueryError(f"{what} contain NaN or infinite values; check the encoder's output.")
    return np.ascontiguousarray(array)


def check_k(k: Any, count: int) -> int:
    """Validate ``k`` and clamp it to the number of indexed items (documented: larger k returns all)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise QueryError(f"k must be a whole number, got {k!r}.")
    if k <= 0:
        raise QueryError(f"k must be at least 1, got {k}.")
    return int(min(k, count))


def default_nlist(count: int) -> int:
    """IVF cell count: ~4·sqrt(N) (faiss's guideline), never more cells than N/39 training points allow."""
    return max(1, min(int(4 * math.sqrt(count)), count // 39))


def build_faiss(vectors: Any, kind: str = "flat", params: ANNParams | None = None, *, seed: int = 0) -> Any:
    """Build a faiss index of ``kind`` over ``vectors`` (N, D), scoring by inner product.

    Args:
        vectors: the embeddings, ideally L2-normalised.
        kind: ``"flat"``, ``"ivf"`` or ``"hnsw"``.
        params: ANN settings; resolved defaults are written back into it.
        seed: k-means seed of IVF, for reproducible cells.

    Returns:
        The faiss index, already holding the vectors with ids 0..N-1.
    """
    import faiss

    check_kind(kind)
    matrix = as_matrix(vectors)
    params = params if params is not None else ANNParams()
    count, dim = matrix.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
    else:
        params.nlist = min(params.nlist or default_nlist(count), count)
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, params.nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.cp.niter = params.kmeans_iterations
        sample = matrix
        if count > params.train_size:
            rows = np.random.default_rng(seed).choice(count, params.train_size, replace=False)
            sample = matrix[np.sort(rows)]
        index.train(sample)
    index.add(matrix)
    set_search_params(index, kind, params)
    return index


def set_search_params(index: Any, kind: str, params: ANNParams) -> None:
    """Apply ``nprobe`` / ``ef_search`` (the speed-recall knobs) to a built or loaded index."""
    import faiss

    if kind == "ivf":
        ivf = faiss.extract_index_ivf(index)
        if params.nprobe is None:
            # sqrt(nlist) cells (~5% of 450 cells, ~1.6% of 4000): the recall/latency knee on clustered
            # embeddings; measure your own with search_eval.sweep().
            params.nprobe = max(1, min(ivf.nlist, math.ceil(math.sqrt(ivf.nlist))))
        ivf.nprobe = max(1, min(int(params.nprobe), ivf.nlist))
    elif kind == "hnsw":
        index.hnsw.efSearch = max(1, int(params.ef_search))


def search_faiss(index: Any, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` inner-product search with validated input; ``k`` is clamped to the index size.

    Returns:
        ``(scores, ids)``, each ``(Q, k)``; ids of ``-1`` (an approximate index found fewer than k) are
        left for the caller to drop.
    """
    if index.ntotal == 0:
        raise QueryError("the index is empty; build it from at least one tune.")
    matrix = as_matrix(queries, dim=index.d, what="query vectors")
    k = check_k(k, index.ntotal)
    scores, ids = index.search(matrix, k)
    return scores, ids


def reconstruct(index: Any, ids: np.ndarray) -> np.ndarray:
    """Stored vectors of ``ids`` (for exact re-scoring of candidates), for any of the three kinds."""
    import faiss

    ids = np.asarray(ids, dtype=np.int64)
    try:
        return index.reconstruct_batch(ids)
    except RuntimeError:
        # IVF keeps no id -> list map until asked; build it once, then reconstruction works.
        faiss.extract_index_ivf(index).make_direct_map()
        return index.reconstruct_batch(ids)


def serialize(index: Any) -> bytes:
    """The index as bytes (faiss's own format, no pickle)."""
    import faiss

    return faiss.serialize_index(index).tobytes()


def deserialize(data: bytes, source: str) -> Any:
    """Inverse of :func:`serialize`, turning faiss's C++ errors into an :class:`ArtifactError`."""
    import faiss

    try:
        return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    except Exception as error:  # faiss raises RuntimeError with a C++ backtrace
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ArtifactError(f"{source} is not a readable faiss index ({first_line}); "
                            "delete the index folder and rebuild it with `musicsearch index`.") from error


def bytes_per_vector(index: Any) -> float:
    """Size on disk divided by the number of vectors: the memory cost of one more tune."""
    import faiss

    # Through a file, not serialize(): a 1M-vector index would otherwise be copied twice in memory.
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "index.faiss")
        faiss.write_index(index, path)
        return os.path.getsize(path) / max(1, index.ntotal)
