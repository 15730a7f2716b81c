"""The lookup-table layer: exactness, agreement with nn.Linear, gradients, int8 tables, shape errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from musicsearch.lut.bench import bench_layers, lut_cost, model_bytes, time_calls
from musicsearch.lut.centroids import capture_inputs, finetune, kmeans_init
from musicsearch.lut.kernels import int8_bag_available, nearest_codes, quantize_table
from musicsearch.lut.layer import LUTError, LUTLinear


def _covered_inputs(in_features: int, k: int, v: int, rows: int = 64, seed: int = 0) -> torch.Tensor:
    """Inputs whose sub-vectors take at most k distinct values per codebook."""
    generator = torch.Generator().manual_seed(seed)
    codebooks = in_features // v
    prototypes = torch.randn(codebooks, k, v, generator=generator)
    choice = torch.randint(0, k, (rows, codebooks), generator=generator)
    return prototypes[torch.arange(codebooks), choice].reshape(rows, in_features)


def _layer(dense: nn.Linear, x: torch.Tensor, *, k: int, v: int, table_dtype: str = "fp32",
           scale: str = "codebook") -> LUTLinear:
    layer = LUTLinear.from_linear(dense, k=k, v=v, table_dtype=table_dtype, scale=scale)
    return kmeans_init(layer, x)


def _frozen_fp32_fallback(dense, x, k, v):
    # The int8 table through the plain fp32 embedding_bag (the path of torch builds without FBGEMM).
    layer = _layer(dense, x, k=k, v=v, table_dtype="int8").freeze().use_kernel("torch")
    layer._packed = None
    layer._fp32_table = layer._dequantized()
    layer._refresh_fast_path()
    return layer


def _frozen_int8(kernel):
    return lambda d, x, k, v: _layer(d, x, k=k, v=v, table_dtype="int8").freeze().use_kernel(kernel)


IMPLEMENTATIONS = {
    "trainable fp32": lambda d, x, k, v: _layer(d, x, k=k, v=v),
    "trainable int8": lambda d, x, k, v: _layer(d, x, k=k, v=v, table_dtype="int8"),
    "frozen fp32": lambda d, x, k, v: _layer(d, x, k=k, v=v).freeze(),
    "frozen int8 per-tensor": lambda d, x, k, v: _layer(d, x, k=k, v=v, table_dtype="int8", scale="tensor").freeze(),
    "frozen int8 per-codebook": lambda d, x, k, v: _layer(d, x, k=k, v=v, table_dtype="int8").freeze(),
    "frozen int8 fp32 bag": _frozen_fp32_fallback,
    "frozen int8 torch (FBGEMM)": _frozen_int8("torch"),
    "frozen int8 numba (fused)": _frozen_int8("numba"),
    "frozen int8 numpy (fused reference)": _frozen_int8("numpy"),
}


@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
@pytest.mark.parametrize(("in_features", "out_features", "k", "v"), [(32, 24, 16, 8), (48, 16, 8, 4), (64, 40, 32, 16)])
def test_lut_reproduces_dense_when_centroids_cover_inputs(implementation, in_features, out_features, k, v):
    torch.manual_seed(0)
    dense = nn.Linear(in_features, out_features)
    x = _covered_inputs(in_features, k, v)
    layer = IMPLEMENTATIONS[implementation](dense, x, k, v)
    with torch.no_grad():
        expected, got = dense(x), layer(x)
    # fp32 tables are exact up to summation order; int8 ones within half a quantization step per codebook.
    tolerance = 1e-4 if "fp32" in implementation and "bag" not in implementation else \
        0.02 * expected.abs().max().item()
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=tolerance, rtol=0)


def test_trainable_and_frozen_forward_agree_on_any_input():
    torch.manual_seed(1)
    dense = nn.Linear(32, 16)
    layer = _layer(dense, torch.randn(500, 32), k=16, v=4)
    x = torch.randn(7, 3, 32)  # extra leading dims are kept
    with torch.no_grad():
        trainable = layer(x)
        frozen = layer.freeze()(x)
    assert frozen.shape == (7, 3, 16)
    assert torch.allclose(trainable, frozen, atol=1e-5)


def test_gradients_reach_centroids_temperature_and_weights():
    torch.manual_seed(2)
    layer = _layer(nn.Linear(16, 8), torch.randn(200, 16), k=8, v=4)
    layer(torch.randn(10, 16)).pow(2).sum().backward()
    for name in ("centroids", "log_inv_temperature", "weight", "bias"):
        grad = getattr(layer, name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_int8_and_fp32_tables_agree_within_tolerance():
    torch.manual_seed(3)
    dense = nn.Linear(64, 128)
    calibration = torch.randn(1000, 64)
    fp32 = _layer(dense, calibration, k=16, v=8).freeze()
    x = torch.randn(50, 64)
    with torch.no_grad():
        reference = fp32(x)
        for scale in ("tensor", "codebook"):
            int8 = _layer(dense, calibration, k=16, v=8, table_dtype="int8", scale=scale).freeze()
            error = (int8(x) - reference).abs().max() / reference.abs().max()
            assert error < 0.02, scale


def test_per_codebook_scales_are_finer_than_one_scale():
    table = torch.randn(4, 16, 32) * torch.tensor([100.0, 1.0, 0.1, 0.01]).view(4, 1, 1)
    errors = {}
    for scale in ("tensor", "codebook"):
        quantized, scales = quantize_table(table, scale)
        errors[scale] = (quantized.float() * scales.view(-1, 1, 1) - table)[1:].abs().max()
        assert quantized.dtype == torch.int8 and scales.numel() == (1 if scale == "tensor" else 4)
    assert errors["codebook"] < errors["tensor"]


@pytest.mark.parametrize("kernel", ["auto", "torch", "numba", "numpy"])
def test_int8_kernel_matches_dequantized_table(kernel):
    torch.manual_seed(4)
    layer = _layer(nn.Linear(32, 48), torch.randn(300, 32), k=16, v=8, table_dtype="int8").freeze()
    layer.use_kernel(kernel)
    if kernel == "torch":
        assert (layer._packed is not None) == int8_bag_available()  # FBGEMM's int8 bag when torch has it
    x = torch.randn(20, 32)
    codes = layer.encode(x)
    table = layer.lookup_table()  # (C, K, out), dequantized
    expected = table[torch.arange(layer.codebooks), codes].sum(1) + layer.bias
    assert torch.allclose(layer(x), expected, atol=1e-4)


@pytest.mark.parametrize(("in_features", "v"), [(10, 4), (30, 8), (7, 2)])
def test_indivisible_input_gives_clear_error(in_features, v):
    with pytest.raises(LUTError, match="not divisible by v"):
        LUTLinear(in_features, 4, v=v)


@pytest.mark.parametrize("kwargs", [{"table_dtype": "int4"}, {"scale": "row"}, {"k": 0}])
def test_invalid_options_are_refused(kwargs):
    with pytest.raises(LUTError):
        LUTLinear(16, 4, **kwargs)


def test_freeze_keeps_only_inference_state():
    layer = LUTLinear(32, 8, k=16, v=8, table_dtype="int8").freeze()
    assert sorted(layer.state_dict()) == ["bias", "centroids", "qtable", "table_scale"]
    assert not list(layer.parameters())
    assert layer.table_bytes() == 4 * 16 * 8 + 4 * 4
    assert layer.freeze() is layer  # idempotent
    assert "frozen" in repr(layer)


def test_nearest_codes_chunked_equals_brute_force():
    torch.manual_seed(5)
    centroids = torch.randn(6, 16, 4)
    x = torch.randn(700, 24)  # more rows than one chunk
    codes = nearest_codes(x, centroids.transpose(1, 2).contiguous(), (centroids ** 2).sum(-1).unsqueeze(1))
    brute = torch.cdist(x.view(-1, 6, 4).transpose(0, 1), centroids).argmin(-1).t()
    assert codes.shape == (700, 6)
    assert (codes == brute).float().mean() > 0.999


def test_capture_inputs_sees_inner_layer_inputs():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    captured = capture_inputs(model, ["2"], [torch.randn(5, 4), torch.randn(3, 4)], max_rows=6)
    assert captured["2"].shape == (6, 8)
    assert (captured["2"] >= 0).all()  # after the ReLU


def test_centroid_learning_reduces_distillation_error():
    torch.manual_seed(6)
    teacher = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
    x = torch.randn(512, 16)
    from musicsearch.lut.convert import convert

    student = convert(teacher, x, k=8, v=8, freeze=False)
    with torch.no_grad():
        before = (student(x) - teacher(x)).pow(2).mean()
    history = finetune(student, teacher, list(x.split(64)), epochs=8, lr=1e-2, reconstruction_weight=0.5)
    with torch.no_grad():
        after = (student(x) - teacher(x)).pow(2).mean()
    assert len(history) == 8 and after < before


def test_cost_model_counts():
    cost = lut_cost(768, 3072, k=16, v=8, batch=2)
    assert cost["dense_macs"] == 2 * 768 * 3072
    assert cost["encode_macs"] == 2 * 768 * 16
    assert cost["lookup_adds"] == 2 * 96 * 3072
    assert cost["table_bytes_int8"] * 4 == cost["table_bytes_fp32"] == 4 * 96 * 16 * 3072


def test_layer_benchmark_rows_and_model_bytes():
    rows = bench_layers([(16, 32)], [1, 2], k=8, v=4, repeats=2)
    assert [r["batch"] for r in rows] == [1, 2]
    for row in rows:
        assert row["dense_us"] > 0 and row["lut_int8_us"] > 0 and row["speedup_lut_int8"] > 0
        assert row["lut_fused_us"] > 0 and row["lut_fused_kernel_us"] > 0
        assert row["threads"] == 1
    assert model_bytes(nn.Linear(4, 2)) == 4 * (8 + 2)
    assert set(time_calls({"a": lambda: None}, repeats=2)) == {"a"}
