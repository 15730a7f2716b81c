"""The fused int8 lookup kernel, compiled by numba (imported only by :mod:`musicsearch.lut.kernels`).

One pass per input row: find the nearest centroid of every sub-vector, then add the chosen int8 table rows,
each times its scale, into the output. Nothing is written to memory between the two steps (the codes live in
a ``C``-long scratch array), so a row reads ``C·out`` table bytes plus its own input and writes ``out``
floats — the bound the benchmark compares against. ``fastmath`` lets LLVM vectorise the int8 → float
multiply-adds (AVX2/AVX-512); ``cache=True`` keeps the compiled code on disk, so only the first call after
an install pays the compilation (about 2 s).

Layouts (all C-contiguous): ``x (N, C·V)`` float32, ``centroids_t (C, V, K)`` float32, ``norms (C, K)`` float32,
``qtable (C·K, out)`` int8, ``row_scales (C·K,)`` float32, ``bias (out,)`` float32, ``out (N, out)`` float32.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Four table rows per pass over the output: the output row is loaded and stored a quarter as often.
_UNROLL = 4
_MINUS_TWO = np.float32(-2.0)


@njit(cache=True, fastmath=True, nogil=True)
def _row_codes(x, n, centroids_t, norms, codes, distances):  # pragma: no cover - compiled
    # ||c||² - 2 x·c for the K centroids of each codebook; the K-long inner loop vectorises.
    codebooks, v_len, k_len = centroids_t.shape
    for c in range(codebooks):
        for k in range(k_len):
            distances[k] = norms[c, k]
        for v in range(v_len):
            value = _MINUS_TWO * x[n, c * v_len + v]  # a float32 constant: float64 would halve the SIMD width
            for k in range(k_len):
                distances[k] += value * centroids_t[c, v, k]
        best = 0
        for k in range(1, k_len):
            if distances[k] < distances[best]:  # strict: the first of equal centroids, as torch's argmin
                best = k
        codes[c] = c * k_len + best


@njit(cache=True, fastmath=True, nogil=True)
def _gather_add(qtable, row_scales, codes, bias, out, n):  # pragma: no cover - compiled
    width = qtable.shape[1]
    count = codes.shape[0]
    for m in range(width):
        out[n, m] = bias[m]
    c = 0
    while c + _UNROLL <= count:
        r0, r1, r2, r3 = codes[c], codes[c + 1], codes[c + 2], codes[c + 3]
        s0, s1, s2, s3 = row_scales[r0], row_scales[r1], row_scales[r2], row_scales[r3]
        for m in range(width):
            out[n, m] += s0 * qtable[r0, m] + s1 * qtable[r1, m] + s2 * qtable[r2, m] + s3 * qtable[r3, m]
        c += _UNROLL
    while c < count:
        r0 = codes[c]
        s0 = row_scales[r0]
        for m in range(width):
            out[n, m] += s0 * qtable[r0, m]
        c += 1


@njit(cache=True, fastmath=True, nogil=True)
def lookup_serial(x, centroids_t, norms, qtable, row_scales, bias, out):  # pragma: no cover - compiled
    """All rows on the calling thread (batch 1 has nothing to share between threads)."""
    codes = np.empty(centroids_t.shape[0], np.int64)
    distances = np.empty(centroids_t.shape[2], np.float32)
    for n in range(x.shape[0]):
        _row_codes(x, n, centroids_t, norms, codes, distances)
        _gather_add(qtable, row_scales, codes, bias, out, n)


@njit(cache=True, fastmath=True, parallel=True)
def lookup_parallel(x, centroids_t, norms, qtable, row_scales, bias, out, chunks):  # pragma: no cover - compiled
    """Rows split into ``chunks`` contiguous blocks, one per thread, each run by :func:`lookup_serial`.

    Contiguous row slices keep numba's C-layout types, so each block runs the same vectorised code as the
    serial kernel (a parallel loop over single elements measured 10x slower: its arrays lose their layout).
    """
    rows = x.shape[0]
    step = (rows + chunks - 1) // chunks
    for chunk in prange(chunks):
        start = chunk * step
        stop = min(rows, start + step)
        if start < stop:
            lookup_serial(x[start:stop], centroids_t, norms, qtable, row_scales, bias, out[start:stop])
