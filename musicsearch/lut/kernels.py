"""The three primitives of lookup-table inference: nearest centroids, int8 tables, the fused lookup.

Kept apart from :mod:`musicsearch.lut.layer` so the layer reads as the method and this file as the
engineering. Every choice here was measured on a 2-core Xeon (see ``benchmarks/lut.py``):

* distances ``||c||^2 - 2 x.c`` as one ``baddbmm`` over codebooks beats ``cdist``, broadcasting and
  ``einsum``; ``||x||^2`` is left out because it does not change the argmin;
* the int8 table is stored as FBGEMM's "byte rowwise" layout (``uint8`` values followed by a float
  scale and bias per row) so ``torch.ops.quantized.embedding_bag_byte_rowwise_offsets`` gathers and
  sums it in one fused call: 3-4x faster than the fp32 ``embedding_bag`` from batch 8 up, because the
  table it reads is 4x smaller. Per-tensor and per-codebook symmetric scales are special cases of
  per-row (scale, bias) pairs, so one kernel serves both;
* ``torch.compile`` of the encoder (inductor, gcc) measured slower than eager and costs ~15 s to
  compile, so it is not used;
* faster still is one fused pass per row, nearest centroids then the int8 gather-add, compiled by numba
  (:func:`lookup_int8`, kernels in ``_numba_kernels.py``): at batch 1 it reads the table rows at close to the
  machine's memory bandwidth, 3x faster than the two torch calls above. :func:`lookup_int8_numpy` is its
  reference and the fallback without numba.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

# Rows per chunk when finding nearest centroids: keeps the (C, rows, K) distance block in L2 cache.
CHUNK_ROWS = 256
_BAG_OP = None  # torch.ops.quantized.embedding_bag_byte_rowwise_offsets, resolved once (a lookup costs µs)


def nearest_codes(rows: torch.Tensor, centroids_t: torch.Tensor, norms: torch.Tensor) -> torch.Tensor:
    """Index of the nearest centroid of each sub-vector.

    Args:
        rows: ``(N, C*V)`` float inputs.
        centroids_t: ``(C, V, K)`` centroids, transposed for the batched matmul.
        norms: ``(C, 1, K)`` squared centroid norms.

    Returns:
        ``(N, C)`` int64 codes.

    Example:
        >>> cents = torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])  # C=1, K=2, V=2
        >>> nearest_codes(torch.tensor([[0.9, 1.2]]), cents.transpose(1, 2), (cents ** 2).sum(-1)[:, None])
        tensor([[1]])
    """
    codebooks, v, _ = centroids_t.shape
    if rows.shape[0] > CHUNK_ROWS:
        return torch.cat([nearest_codes(chunk, centroids_t, norms) for chunk in rows.split(CHUNK_ROWS)])
    sub = rows.reshape(-1, codebooks, v).transpose(0, 1)  # (C, N, V), a view
    distances = torch.baddbmm(norms, sub, centroids_t, alpha=-2.0)  # (C, N, K)
    return distances.argmin(-1).t()


def lookup_forward(rows: torch.Tensor, centroids_t: torch.Tensor, norms: torch.Tensor, column_offsets: torch.Tensor,
                   bag_offsets: torch.Tensor, packed: torch.Tensor | None, table: torch.Tensor | None,
                   bias: torch.Tensor | None) -> torch.Tensor:
    """The whole inference pass of a frozen layer, with as few tensor operations as possible.

    At batch 1 a 768x3072 layer takes ~40 µs of which a third was bookkeeping around the two real
    operations, hence this single flat function (the module call adds a few µs more).

    Args:
        rows: ``(N, C*V)`` contiguous inputs.
        centroids_t, norms: as in :func:`nearest_codes`.
        column_offsets: ``(C, 1)`` int64, ``c * K``: turns code k of codebook c into table row ``c*K + k``.
        bag_offsets: int64 ``0, C, 2C, ...`` with at least N entries (the start of each row's bag).
        packed: byte-rowwise int8 table (or None to use ``table``).
        table: ``(C*K, out)`` fp32 table.
        bias: ``(out,)`` or None.

    Returns:
        ``(N, out)`` float32.
    """
    global _BAG_OP
    count, codebooks = rows.shape[0], centroids_t.shape[0]
    if count > CHUNK_ROWS:
        return torch.cat([lookup_forward(chunk, centroids_t, norms, column_offsets, bag_offsets, packed, table, bias)
                          for chunk in rows.split(CHUNK_ROWS)])
    sub = rows.view(count, codebooks, -1).transpose(0, 1)  # (C, N, V)
    codes = torch.baddbmm(norms, sub, centroids_t, alpha=-2.0).argmin(-1)  # (C, N)
    indices = codes.add_(column_offsets).t().reshape(-1)  # a view at N = 1, one small copy otherwise
    offsets = bag_offsets[:count]
    if packed is not None:
        if _BAG_OP is None:
            _BAG_OP = torch.ops.quantized.embedding_bag_byte_rowwise_offsets
        out = _BAG_OP(packed, indices, offsets, False, 0, False, None, None, False)
    else:
        out = torch.nn.functional.embedding_bag(indices, table, offsets, mode="sum")
    return out if bias is None else out.add_(bias)


def quantize_table(table: torch.Tensor, scale: str = "codebook") -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 quantization of a ``(C, K, out)`` table.

    Args:
        table: fp32 table.
        scale: "tensor" (one scale) or "codebook" (one per codebook: codebooks whose inputs are small
            keep their precision instead of sharing the range of the largest one).

    Returns:
        ``(int8 table of the same shape, scales (1,) or (C,))``; ``table ≈ q * scale``.

    Example:
        >>> q, s = quantize_table(torch.tensor([[[1.0, -2.0]], [[0.5, 0.25]]]), "codebook")
        >>> q.flatten().tolist(), [round(x, 4) for x in s.tolist()]
        ([64, -127, 127, 64], [0.0157, 0.0039])
    """
    codebooks = table.shape[0]
    if scale == "tensor":
        peak = table.abs().amax().reshape(1)
    else:
        peak = table.abs().reshape(codebooks, -1).amax(1)
    scales = (peak / 127.0).clamp_min(1e-12)
    shape = (-1,) + (1,) * (table.dim() - 1)
    quantized = torch.round(table / scales.view(shape) if scale == "codebook" else table / scales)
    return quantized.clamp(-127, 127).to(torch.int8), scales.float()


def pack_int8_rows(qtable: torch.Tensor, row_scales: torch.Tensor) -> torch.Tensor:
    """FBGEMM byte-rowwise layout: per row ``out`` uint8 values (q + 128), then float32 scale and bias.

    The kernel dequantizes ``value * scale + bias``; with ``bias = -128 * scale`` that is ``q * scale``.

    Args:
        qtable: ``(rows, out)`` int8.
        row_scales: ``(rows,)`` float scale of every row.

    Returns:
        ``(rows, out + 8)`` uint8.
    """
    values = (qtable.to(torch.int16) + 128).to(torch.uint8)
    scale = row_scales.float().reshape(-1, 1).contiguous()
    bias = (-128.0 * scale).contiguous()
    return torch.cat([values, scale.view(torch.uint8), bias.view(torch.uint8)], dim=1).contiguous()


@functools.lru_cache(maxsize=1)
def int8_bag_available() -> bool:
    """Whether this torch build has the fused int8 ``embedding_bag`` (FBGEMM); else fp32 fallback."""
    try:
        packed = pack_int8_rows(torch.tensor([[1, -2]], dtype=torch.int8), torch.tensor([0.5]))
        out = torch.ops.quantized.embedding_bag_byte_rowwise_offsets(
            packed, torch.tensor([0]), torch.tensor([0]), False, 0, False, None, None, False)
        return torch.allclose(out, torch.tensor([[0.5, -1.0]]))
    except (RuntimeError, AttributeError, NotImplementedError):
        return False


# ----- the fused int8 kernel (numba, with a NumPy fallback) -------------------------------------------
KERNELS = ("numba", "numpy")
_NUMBA = None  # (numba, serial kernel, parallel kernel), imported on first use: numba takes ~0.3 s to import
PARALLEL_MIN_ROWS = 8  # below this, waking a second thread costs more than the rows it would take


@functools.lru_cache(maxsize=1)
def numba_available() -> bool:
    """Whether numba is installed (it comes with umap-learn); else the NumPy kernel is used."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def lookup_int8_numpy(x: np.ndarray, centroids_t: np.ndarray, norms: np.ndarray, qtable: np.ndarray,
                      row_scales: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Reference (and fallback) of the fused kernel in plain NumPy; same arguments as :func:`lookup_int8`.

    Example:
        >>> cents = np.array([[[0.0, 1.0], [0.0, 1.0]]], np.float32)  # C=1, V=2, K=2: centroids (0,0), (1,1)
        >>> table = np.array([[1, 2], [3, 4]], np.int8)
        >>> lookup_int8_numpy(np.array([[0.9, 1.2]], np.float32), cents, (cents ** 2).sum(1), table,
        ...                   np.ones(2, np.float32), np.zeros(2, np.float32)).tolist()
        [[3.0, 4.0]]
    """
    count = x.shape[0]
    codebooks, v, k = centroids_t.shape
    out = np.empty((count, qtable.shape[1]), np.float32)
    for start in range(0, count, 16):  # 16 rows at a time keep the gathered (rows, C, out) block small
        sub = x[start:start + 16].reshape(-1, codebooks, v)
        distances = norms[None] - 2.0 * np.einsum("ncv,cvk->nck", sub, centroids_t)
        rows = distances.argmin(-1) + np.arange(codebooks) * k  # (n, C) table rows
        gathered = qtable[rows].astype(np.float32) * row_scales[rows][..., None]
        out[start:start + 16] = gathered.sum(1) + bias
    return out


def lookup_int8(x: np.ndarray, centroids_t: np.ndarray, norms: np.ndarray, qtable: np.ndarray,
                row_scales: np.ndarray, bias: np.ndarray, *, kernel: str = "numba", threads: int = 1) -> np.ndarray:
    """Fused nearest-centroid search and int8 gather-add: the inference pass of a frozen int8 layer.

    Args:
        x: ``(N, C*V)`` float32 inputs (C-contiguous).
        centroids_t: ``(C, V, K)`` float32 centroids.
        norms: ``(C, K)`` float32 squared centroid norms.
        qtable: ``(C*K, out)`` int8 table.
        row_scales: ``(C*K,)`` float32 scale of each table row.
        bias: ``(out,)`` float32 (zeros for a layer without bias).
        kernel: "numba" (compiled, falls back to "numpy" when numba is missing) or "numpy".
        threads: numba threads; rows are split between them from :data:`PARALLEL_MIN_ROWS` rows.

    Returns:
        ``(N, out)`` float32.
    """
    global _NUMBA
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}.")
    if kernel == "numpy" or not numba_available():
        return lookup_int8_numpy(x, centroids_t, norms, qtable, row_scales, bias)
    if _NUMBA is None:  # resolved once: an import statement per call costs a noticeable share of 15 µs
        import numba

        from . import _numba_kernels
        _NUMBA = (numba, _numba_kernels.lookup_serial, _numba_kernels.lookup_parallel)
    numba, serial, parallel = _NUMBA
    out = np.empty((x.shape[0], qtable.shape[1]), np.float32)
    if threads > 1 and x.shape[0] >= PARALLEL_MIN_ROWS:
        threads = min(threads, numba.config.NUMBA_NUM_THREADS)
        numba.set_num_threads(threads)
        parallel(x, centroids_t, norms, qtable, row_scales, bias, out, threads)
    else:
        serial(x, centroids_t, norms, qtable, row_scales, bias, out)
    return out
