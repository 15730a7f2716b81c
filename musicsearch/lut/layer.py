"""LUT-NN lookup-table linear layer: ``x @ W.T`` becomes "find the nearest centroid, add up table rows".

The input (dimension D) is cut into C = D / V sub-vectors of length V. Codebook c holds K centroids; the
table ``T[c, k] = W[:, cV:(c+1)V] @ centroid[c, k]`` (shape ``(C, K, out)``) is computed once. At
inference each sub-vector is replaced by the index of its nearest centroid and the output is
``sum_c T[c, index_c] + bias``: N·D·K multiply-adds to find the indices and N·C·out additions instead of
N·D·out multiply-adds. With K = 16 and V = 8 that is 8x fewer operations and, at batch 1, 8x (fp32
table) or 32x (int8 table) fewer bytes read than the dense matrix.

The layer has two states. *Trainable* (after :func:`~musicsearch.replace_linear`): it keeps the dense
weight and learns centroids, weight and an inverse temperature with a straight-through soft assignment
(:meth:`LUTLinear.forward`, LUT-NN section 4). *Frozen* (after :meth:`LUTLinear.freeze`): only the table
(int8 or fp32), the centroids and the bias remain, and the forward pass of an int8 table is one fused
pass per row compiled by numba (nearest centroids, then the gather-add; :meth:`LUTLinear.use_kernel`), or
without numba one batched matmul for the distances, an argmin and one ``embedding_bag``. Training helpers
live in :mod:`musicsearch.lut.centroids`.

Example:
    >>> layer = LUTLinear(16, 4, k=8, v=4)
    >>> layer.freeze().forward(torch.randn(3, 16)).shape
    torch.Size([3, 4])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import MusicSearchError
from .kernels import (
    CHUNK_ROWS,
    int8_bag_available,
    lookup_forward,
    lookup_int8,
    nearest_codes,
    numba_available,
    pack_int8_rows,
    quantize_table,
)

TABLE_DTYPES = ("int8", "fp32")
SCALE_MODES = ("tensor", "codebook")
# Inference kernels of a frozen int8 layer: "auto" = the fused numba kernel when numba is installed, else
# "torch" (FBGEMM's int8 embedding_bag after a batched-matmul centroid search); "numpy" is the reference.
LUT_KERNELS = ("auto", "numba", "numpy", "torch")


class LUTError(MusicSearchError, ValueError):
    """A lookup-table layer or conversion that cannot be built as asked (shapes, K, V, dtype)."""


def check_lut_shape(in_features: int, k: int, v: int, name: str = "layer") -> int:
    """Validate K and V for an input of ``in_features``; returns the number of codebooks C = D / V.

    Raises:
        LUTError: V does not divide D (no silent padding: a padded sub-vector would waste a codebook
            on zeros), or K/V are not positive.

    Example:
        >>> check_lut_shape(768, 16, 8)
        96
    """
    if k < 1 or v < 1:
        raise LUTError(f"{name}: k and v must be >= 1, got k={k}, v={v}.")
    if in_features % v:
        divisors = [d for d in range(1, min(in_features, 32) + 1) if in_features % d == 0]
        raise LUTError(
            f"{name}: input dimension {in_features} is not divisible by v={v}; choose v among {divisors} "
            "or exclude this layer from the conversion.")
    return in_features // v


class LUTLinear(nn.Module):
    """Drop-in replacement of ``nn.Linear`` computed by table lookups (LUT-NN).

    Args:
        in_features, out_features, bias: as in ``nn.Linear``.
        k: centroids per codebook (16 fits one SIMD register of int8 in LUT-NN's kernels).
        v: sub-vector length; C = in_features / v codebooks.
        table_dtype: "int8" (4x smaller table, quantized with ``scale``) or "fp32".
        scale: int8 scale granularity, "tensor" (one scale) or "codebook" (one per codebook).

    Example:
        >>> layer = LUTLinear(768, 3072, k=16, v=8)
        >>> layer.table_shape
        (96, 16, 3072)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, k: int = 16, v: int = 8,
                 table_dtype: str = "int8", scale: str = "codebook") -> None:
        super().__init__()
        if table_dtype not in TABLE_DTYPES:
            raise LUTError(f"table_dtype must be one of {TABLE_DTYPES}, got {table_dtype!r}.")
        if scale not in SCALE_MODES:
            raise LUTError(f"scale must be one of {SCALE_MODES}, got {scale!r}.")
        self.codebooks = check_lut_shape(in_features, k, v)
        self.in_features, self.out_features, self.k, self.v = in_features, out_features, k, v
        self.table_dtype, self.scale = table_dtype, scale
        self.frozen = False
        self.kernel = "auto"  # a runtime choice (not saved): see use_kernel
        self.track_reconstruction = False  # set by lut_train.finetune for the per-layer loss
        self.reconstruction_loss: torch.Tensor | None = None
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.centroids = nn.Parameter(torch.randn(self.codebooks, k, v))
        # Learned inverse temperature of the soft assignment, one per layer, kept positive via exp.
        self.log_inv_temperature = nn.Parameter(torch.zeros(()))
        self.reset_parameters()
        self.register_load_state_dict_post_hook(lambda module, _keys: module._prepare())

    @property
    def table_shape(self) -> tuple[int, int, int]:
        """``(C, K, out)``."""
        return (self.codebooks, self.k, self.out_features)

    def reset_parameters(self) -> None:
        """``nn.Linear``'s initialisation (weights are normally copied from a trained layer instead)."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)

    @classmethod
    def from_linear(cls, linear: nn.Linear, *, copy_weights: bool = True, **kwargs) -> LUTLinear:
        """A trainable LUT layer with the shape (and by default the weights) of ``linear``."""
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None, **kwargs)
        if copy_weights:
            copy_linear_weights(linear, layer)
        return layer.to(linear.weight.device)

    def lookup_table(self) -> torch.Tensor:
        """The fp32 table ``(C, K, out)``: each centroid multiplied by its slice of the weight (differentiable)."""
        if self.frozen:
            return self._dequantized().view(self.table_shape)
        weight = self.weight.view(self.out_features, self.codebooks, self.v)
        return torch.einsum("ckv,ocv->cko", self.centroids, weight)

    # ----- trainable state -----------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Hard lookup in the forward pass; gradients of the soft assignment in the backward pass."""
        rows = x.reshape(-1, self.in_features)
        out = self._forward_frozen(rows) if self.frozen else self._forward_trainable(rows)
        return out.view(*x.shape[:-1], self.out_features)

    def _forward_trainable(self, rows: torch.Tensor) -> torch.Tensor:
        sub = rows.view(-1, self.codebooks, self.v).transpose(0, 1)  # (C, N, V)
        norms = (self.centroids * self.centroids).sum(-1).unsqueeze(1)  # (C, 1, K)
        distances = torch.baddbmm(norms, sub, self.centroids.transpose(1, 2), alpha=-2.0)  # (C, N, K)
        soft = torch.softmax(-distances * self.log_inv_temperature.exp(), dim=-1)
        hard = F.one_hot(distances.argmin(-1), self.k).to(soft.dtype)
        assignment = soft - (soft - hard).detach()  # value: hard one-hot; gradient: soft
        table = self.lookup_table()
        if self.table_dtype == "int8":  # train against the table that inference will use
            table = table + (self._fake_quantize(table) - table).detach()
        flat_assignment = assignment.transpose(0, 1).reshape(rows.shape[0], -1)  # (N, C*K)
        out = flat_assignment @ table.reshape(-1, self.out_features)
        if self.bias is not None:
            out = out + self.bias
        if self.track_reconstruction:
            self.reconstruction_loss = F.mse_loss(out, F.linear(rows, self.weight, self.bias).detach())
        return out

    def _fake_quantize(self, table: torch.Tensor) -> torch.Tensor:
        quantized, scales = quantize_table(table.detach(), self.scale)
        return (quantized.float() * scales.view(-1, 1, 1)).view_as(table)

    # ----- frozen state ----------------------------------------------------------------------------
    def freeze(self) -> LUTLinear:
        """Replace weight, centroids and temperature by the inference form: table + centroids + bias."""
        if self.frozen:
            return self
        with torch.no_grad():
            table = self.lookup_table().detach()
            centroids = self.centroids.detach().clone()
        self._make_frozen_structure()
        self.centroids.copy_(centroids)
        if self.table_dtype == "int8":
            quantized, scales = quantize_table(table, self.scale)
            self.qtable.copy_(quantized.view_as(self.qtable))
            self.table_scale.copy_(scales)
        else:
            self.table.copy_(table.view_as(self.table))
        self._prepare()
        return self

    def _make_frozen_structure(self) -> None:
        """Swap parameters for (empty) inference buffers; used by :meth:`freeze` and when loading."""
        device = self.weight.device
        del self.weight, self.centroids, self.log_inv_temperature
        rows = self.codebooks * self.k
        self.register_buffer("centroids", torch.zeros(self.codebooks, self.k, self.v, device=device))
        if self.table_dtype == "int8":
            scales = 1 if self.scale == "tensor" else self.codebooks
            self.register_buffer("qtable", torch.zeros(rows, self.out_features, dtype=torch.int8, device=device))
            self.register_buffer("table_scale", torch.ones(scales, device=device))
        else:
            self.register_buffer("table", torch.zeros(rows, self.out_features, device=device))
        if self.bias is not None:  # a plain buffer: the frozen layer has no trainable state
            bias = self.bias.detach().clone()
            del self.bias
            self.register_buffer("bias", bias)
        self.frozen = True

    def _prepare(self) -> None:
        """Derived, non-saved buffers of the fast path (recomputed after freeze and after loading)."""
        if not self.frozen:
            return
        derived = {
            "_centroids_t": self.centroids.transpose(1, 2).contiguous(),  # (C, V, K) for the bmm
            "_norms": (self.centroids * self.centroids).sum(-1).unsqueeze(1),  # (C, 1, K)
            "_column_offsets": (torch.arange(self.codebooks, device=self.centroids.device) * self.k).unsqueeze(1),
            "_bag_offsets": torch.arange(0, CHUNK_ROWS * self.codebooks, self.codebooks, device=self.centroids.device),
            "_packed": None, "_fp32_table": self.table if self.table_dtype == "fp32" else None,
            "_row_scale_values": None}
        if self.table_dtype == "int8":
            if self._fused_kernel() is not None:
                derived["_row_scale_values"] = self._row_scales().float().contiguous()
            elif int8_bag_available():
                derived["_packed"] = pack_int8_rows(self.qtable, self._row_scales())
            else:
                derived["_fp32_table"] = self._dequantized()  # no fused int8 kernel in this torch build
        for name, value in derived.items():  # buffers, so .to(device) moves them, but never saved
            self.register_buffer(name, value, persistent=False)
        self._refresh_fast_path()

    def _refresh_fast_path(self) -> None:
        # One plain attribute holding the fast path's tensors: nn.Module's buffer lookup costs ~0.5 µs per
        # name, a noticeable share of a 40 µs call.
        table = self._fp32_table
        if self._packed is None and table is None:  # fused-kernel layer moved off the CPU: plain fp32 bag there
            table = self._dequantized()
        self.__dict__["_fast"] = (self._centroids_t, self._norms, self._column_offsets, self._bag_offsets,
                                  self._packed, table, self.bias)
        fused = None
        if self._row_scale_values is not None and self.qtable.device.type == "cpu":
            # NumPy views of the buffers (no copy), in the layouts of kernels.lookup_int8.
            bias = self.bias if self.bias is not None else torch.zeros(self.out_features)
            fused = (self._centroids_t.numpy(), self._norms.reshape(self.codebooks, self.k).numpy(),
                     self.qtable.numpy(), self._row_scale_values.numpy(), bias.float().contiguous().numpy(),
                     self._fused_kernel())
        self.__dict__["_fused"] = fused

    def _fused_kernel(self) -> str | None:
        if self.table_dtype != "int8" or self.kernel == "torch":
            return None
        if self.kernel == "auto" and not numba_available():
            return None
        return "numpy" if self.kernel == "numpy" else "numba"

    def use_kernel(self, kernel: str) -> LUTLinear:
        """Choose the inference kernel of the frozen int8 table (see :data:`LUT_KERNELS`); returns the layer.

        "numba" without numba installed runs the NumPy reference (slower, same result).

        Example:
            >>> LUTLinear(16, 4, k=8, v=4).freeze().use_kernel("torch").kernel
            'torch'
        """
        if kernel not in LUT_KERNELS:
            raise LUTError(f"kernel must be one of {LUT_KERNELS}, got {kernel!r}.")
        self.kernel = kernel
        self._prepare()
        return self

    def __getstate__(self) -> dict:
        # The fast-path tuples hold NumPy views of the buffers; a copy rebuilds them over its own buffers.
        state = dict(self.__dict__)
        state.pop("_fast", None)
        state.pop("_fused", None)
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if self.frozen:
            self._refresh_fast_path()

    def _apply(self, fn, recurse: bool = True):
        result = super()._apply(fn, recurse)
        if self.frozen:
            self._refresh_fast_path()  # .to(device) / .half() replaced the buffers
        return result

    def _row_scales(self) -> torch.Tensor:
        return self.table_scale.repeat_interleave(self.codebooks * self.k // self.table_scale.numel())

    def _dequantized(self) -> torch.Tensor:
        if self.table_dtype == "fp32":
            return self.table
        return self.qtable.float() * self._row_scales().unsqueeze(1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest-centroid index of every sub-vector: ``(..., D)`` → ``(N, C)`` int64."""
        rows = x.reshape(-1, self.in_features)
        if self.frozen:
            return nearest_codes(rows, self._centroids_t, self._norms)
        centroids = self.centroids.detach()
        return nearest_codes(rows, centroids.transpose(1, 2).contiguous(), (centroids ** 2).sum(-1).unsqueeze(1))

    def _forward_frozen(self, rows: torch.Tensor) -> torch.Tensor:
        fused = self.__dict__.get("_fused")
        if fused is not None and rows.dtype == torch.float32 and rows.device.type == "cpu" \
                and not rows.requires_grad:
            *arrays, kernel = fused
            out = lookup_int8(rows.contiguous().numpy(), *arrays, kernel=kernel, threads=torch.get_num_threads())
            return torch.from_numpy(out)
        return lookup_forward(rows.contiguous(), *self._fast)

    def table_bytes(self) -> int:
        """Bytes of the stored table (int8: one byte per entry plus scales)."""
        entries = self.codebooks * self.k * self.out_features
        return entries + 4 * (1 if self.scale == "tensor" else self.codebooks) if self.table_dtype == "int8" \
            else 4 * entries

    def spec(self) -> dict:
        """Constructor arguments + state, enough to rebuild an empty layer before loading weights."""
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": self.bias is not None,
                "k": self.k, "v": self.v, "table_dtype": self.table_dtype, "scale": self.scale,
                "frozen": self.frozen}

    @classmethod
    def from_spec(cls, spec: dict) -> LUTLinear:
        """Empty layer in the state ``spec`` describes (weights to be loaded)."""
        layer = cls(spec["in_features"], spec["out_features"], spec["bias"], k=spec["k"], v=spec["v"],
                    table_dtype=spec["table_dtype"], scale=spec["scale"])
        if spec.get("frozen"):
            layer._make_frozen_structure()
        return layer

    def extra_repr(self) -> str:
        state = "frozen" if self.frozen else "trainable"
        return (f"in_features={self.in_features}, out_features={self.out_features}, k={self.k}, v={self.v}, "
                f"codebooks={self.codebooks}, table={self.table_dtype}/{self.scale}, {state}")


def copy_linear_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy ``weight`` (and ``bias`` when there is one) from one linear-shaped layer into another."""
    with torch.no_grad():
        target.weight.copy_(source.weight)
        if source.bias is not None:
            target.bias.copy_(source.bias)
