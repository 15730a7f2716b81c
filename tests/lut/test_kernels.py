"""The fused int8 lookup kernel: numba and NumPy agree with each other and with the torch path, any shape."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from musicsearch.lut import kernels
from musicsearch.lut.kernels import lookup_int8, lookup_int8_numpy, numba_available
from musicsearch.lut.layer import LUTError, LUTLinear

KERNELS = ["numba", "numpy"]


def _problem(codebooks: int, k: int, v: int, out: int, rows: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Random centroids and table, and inputs near a known centroid of each codebook (no near-ties, so every
    implementation must pick the same rows whatever its summation order)."""
    rng = np.random.default_rng(seed)
    centroids = rng.standard_normal((codebooks, k, v)).astype(np.float32) * 3
    chosen = rng.integers(0, k, (rows, codebooks))
    x = centroids[np.arange(codebooks), chosen] + 0.01 * rng.standard_normal((rows, codebooks, v))
    qtable = rng.integers(-127, 128, (codebooks * k, out)).astype(np.int8)
    scales = (rng.random(codebooks * k) + 0.5).astype(np.float32) * 0.01
    bias = rng.standard_normal(out).astype(np.float32)
    expected = (qtable[chosen + np.arange(codebooks) * k] * scales[chosen + np.arange(codebooks) * k][..., None]).sum(1)
    arrays = (x.reshape(rows, -1).astype(np.float32), np.ascontiguousarray(centroids.transpose(0, 2, 1)),
              (centroids ** 2).sum(-1), qtable, scales, bias)
    return arrays, expected + bias


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(("codebooks", "k", "v", "out", "rows"),
                         [(4, 16, 8, 32, 1), (7, 8, 4, 33, 3), (96, 16, 8, 64, 9), (3, 32, 2, 5, 20)])
def test_fused_kernel_matches_the_definition(kernel, codebooks, k, v, out, rows):
    arrays, expected = _problem(codebooks, k, v, out, rows)
    got = lookup_int8(*arrays, kernel=kernel)
    assert got.shape == (rows, out) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_parallel_rows_match_serial():
    arrays, expected = _problem(12, 16, 8, 48, 37)  # more rows than PARALLEL_MIN_ROWS, not a multiple of 2
    np.testing.assert_allclose(lookup_int8(*arrays, threads=2), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(lookup_int8(*arrays, threads=1), expected, rtol=1e-5, atol=1e-4)


def test_unknown_kernel_is_refused():
    arrays, _ = _problem(2, 4, 2, 3, 1)
    with pytest.raises(ValueError, match="kernel must be one of"):
        lookup_int8(*arrays, kernel="cuda")
    with pytest.raises(LUTError, match="kernel must be one of"):
        LUTLinear(8, 4, k=4, v=2).freeze().use_kernel("cuda")


@pytest.mark.parametrize("scale", ["tensor", "codebook"])
@pytest.mark.parametrize("bias", [True, False])
def test_layer_kernels_agree(scale, bias):
    torch.manual_seed(0)
    dense = nn.Linear(64, 40, bias=bias)
    layer = LUTLinear.from_linear(dense, k=16, v=8, table_dtype="int8", scale=scale)
    with torch.no_grad():
        layer.centroids.mul_(3)  # well separated centroids: inputs near them have no near-ties
    layer.freeze()
    chosen = torch.randint(0, 16, (25, layer.codebooks))
    x = (layer.centroids[torch.arange(layer.codebooks), chosen] + 0.01 * torch.randn(25, layer.codebooks, 8))
    x = x.reshape(25, 64)
    outputs = {kernel: layer.use_kernel(kernel)(x) for kernel in ("torch", "numba", "numpy", "auto")}
    for kernel, out in outputs.items():
        assert out.shape == (25, 40)
        assert torch.allclose(out, outputs["torch"], atol=1e-4), kernel


def test_layer_without_numba_falls_back(monkeypatch):
    layer = LUTLinear(16, 8, k=4, v=4).freeze()
    x = torch.randn(3, 16)
    expected = layer.use_kernel("numpy")(x)
    monkeypatch.setattr(kernels, "numba_available", lambda: False)
    monkeypatch.setattr("musicsearch.lut.layer.numba_available", lambda: False)
    assert layer.use_kernel("auto").__dict__["_fused"] is None  # "auto": FBGEMM's torch path instead
    assert torch.allclose(layer(x), expected, atol=1e-4)
    # an explicit "numba" without numba runs the NumPy reference
    assert torch.allclose(layer.use_kernel("numba")(x), expected, atol=1e-4)


def test_inputs_that_need_gradients_take_the_torch_path():
    layer = LUTLinear(16, 8, k=4, v=4).freeze()
    x = torch.randn(2, 16)
    # NumPy cannot see a tensor that requires grad: the torch path answers, with the same values.
    assert torch.allclose(layer(x.clone().requires_grad_(True)).detach(), layer(x), atol=1e-4)


def test_numpy_reference_doc_example_and_numba_flag():
    assert isinstance(numba_available(), bool)
    arrays, expected = _problem(2, 4, 2, 3, 40)
    np.testing.assert_allclose(lookup_int8_numpy(*arrays), expected, rtol=1e-5, atol=1e-4)


def test_a_copied_layer_uses_its_own_buffers():
    import copy

    layer = LUTLinear(16, 8, k=4, v=4).freeze()
    x = torch.randn(3, 16)
    twin = copy.deepcopy(layer)
    assert torch.allclose(twin(x), layer(x))
    if twin.__dict__["_fused"] is not None:
        assert np.shares_memory(twin.__dict__["_fused"][2], twin.qtable.numpy())
        assert not np.shares_memory(twin.__dict__["_fused"][2], layer.qtable.numpy())
