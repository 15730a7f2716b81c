"""Measuring lookup tables: latency, memory bandwidth, the cost model, and the layer-level benchmark.

Every comparison is measured in one process with one thread count, methods interleaved round by round
(so a burst of load from another program slows all of them alike), and reported as the median. Each
kernel's achieved bytes/s is set against the machine's copy bandwidth measured in the same run
(:func:`copy_bandwidth`): a batch-1 layer is bound by reading its weights or table rows.

Example:
    >>> rows = bench_layers([(256, 1024)], [1], repeats=5)  # doctest: +SKIP
    >>> sorted(rows[0])[:3]  # doctest: +SKIP
    ['batch', 'dense_us', 'encode_macs']
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from .kernels import lookup_int8
from .layer import LUTLinear

DEFAULT_SHAPES = ((256, 1024), (768, 3072), (1024, 4096))  # (in, out): BERT-small, BERT-base, BERT-large FFN
DEFAULT_BATCHES = (1, 8, 64)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` intra-op threads (None: leave as is); yields the count in use."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def time_calls(functions: dict[str, Callable[[], Any]], *, repeats: int = 50, warmup: int = 3,
               min_sample_s: float = 2e-4) -> dict[str, float]:
    """Median warm-cache wall time in microseconds of each function, measured round-robin.

    Each sample runs a function enough times in a row to last ``min_sample_s`` (so microsecond calls are
    not dominated by the timer) after one untimed call (so every method is timed with its own weights in
    cache, as in a serving loop, not with the previous method's), and the rounds interleave the functions
    so that load from other programs hits all of them alike.

    Example:
        >>> sorted(time_calls({"noop": lambda: None}, repeats=3))
        ['noop']
    """
    inner = {}
    with torch.inference_mode():
        for name, function in functions.items():
            for _ in range(warmup):
                function()
            start = time.perf_counter()
            function()
            once = max(time.perf_counter() - start, 1e-7)
            inner[name] = max(1, int(min_sample_s / once))
        samples: dict[str, list[float]] = {name: [] for name in functions}
        for _ in range(repeats):
            for name, function in functions.items():
                function()  # untimed: reload this method's weights into cache after the others evicted them
                start = time.perf_counter()
                for _ in range(inner[name]):
                    function()
                samples[name].append((time.perf_counter() - start) / inner[name])
    return {name: 1e6 * sorted(values)[len(values) // 2] for name, values in samples.items()}


def copy_bandwidth(megabytes: float = 128.0, *, repeats: int = 10) -> dict[str, float]:
    """STREAM-style copy bandwidth of one thread: ``np.copyto`` between two arrays, bytes read + written.

    Args:
        megabytes: size of each array; 128 MB is well beyond the L3 caches of current CPUs (main memory),
            a few MB measures the cache the LUT tables of one layer live in.
        repeats: copies timed; ``best`` is the machine's bound, ``median`` what a loaded machine gives.

    Returns:
        ``{"megabytes", "best_gbs", "median_gbs"}`` in GB/s (1e9 bytes).

    Example:
        >>> copy_bandwidth(4, repeats=3)["best_gbs"] > 0
        True
    """
    import numpy as np

    source = np.ones(int(megabytes * 2**20) // 4, np.float32)
    target = np.empty_like(source)
    np.copyto(target, source)  # first touch: page faults are not bandwidth
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        seconds.append(time.perf_counter() - start)
    moved = 2 * source.nbytes
    return {"megabytes": megabytes, "best_gbs": round(moved / min(seconds) / 1e9, 2),
            "median_gbs": round(moved / sorted(seconds)[len(seconds) // 2] / 1e9, 2)}


def numba_compile_seconds() -> dict[str, float | None]:
    """First-call cost of the fused kernel in a fresh process: compiling (empty cache) and loading it from the
    on-disk cache (``cache=True``), each including ``import numba``. None when numba is not installed.
    """
    from .kernels import numba_available

    if not numba_available():
        return {"cold_s": None, "cached_s": None}
    code = ("import time, numpy as np; start = time.perf_counter(); "
            "from musicsearch.lut.kernels import lookup_int8; "
            "c = np.zeros((4, 8, 16), np.float32); "
            "lookup_int8(np.zeros((1, 32), np.float32), c, np.zeros((4, 16), np.float32), "
            "np.zeros((64, 8), np.int8), np.ones(64, np.float32), np.zeros(8, np.float32)); "
            "print(time.perf_counter() - start)")
    result = {}
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold_s", "cached_s"):  # the first run fills the empty cache, the second reads it
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                                  check=True)
            result[label] = round(float(done.stdout.strip().splitlines()[-1]), 3)
    return result


def lut_cost(in_features: int, out_features: int, *, k: int = 16, v: int = 8, batch: int = 1) -> dict[str, int]:
    """Operation and byte counts of one dense and one lookup-table layer call.

    Returns:
        ``dense_macs`` N·D·out; ``encode_macs`` N·D·K (distances to every centroid); ``lookup_adds``
        N·C·out; ``dense_bytes`` (fp32 weight); ``table_bytes_fp32``/``table_bytes_int8`` (C·K·out entries);
        ``read_bytes_int8``: table bytes a batch can touch at most, min(N·C, C·K) rows of ``out`` bytes;
        ``row_bytes_int8``: C·out, the int8 table bytes one input row reads (the fused kernel's batch-1 bound).

    Example:
        >>> lut_cost(768, 3072, k=16, v=8)["encode_macs"]
        12288
    """
    codebooks = in_features // v
    entries = codebooks * k * out_features
    return {"dense_macs": batch * in_features * out_features, "encode_macs": batch * in_features * k,
            "lookup_adds": batch * codebooks * out_features, "dense_bytes": 4 * in_features * out_features,
            "table_bytes_fp32": 4 * entries, "table_bytes_int8": entries,
            "read_bytes_int8": min(batch * codebooks, codebooks * k) * out_features,
            "row_bytes_int8": codebooks * out_features}


def int8_dynamic(module: nn.Module) -> nn.Module | None:
    """PyTorch's int8 dynamic quantization of the ``nn.Linear`` layers (None if this torch lacks it).

    ``torch.ao.quantization.quantize_dynamic`` is deprecated in favour of torchao but still ships (and is
    the fastest int8 CPU path without ``torch.compile``) in torch 2.13.
    """
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8)
        except (RuntimeError, AssertionError, NotImplementedError):
            return None


def torchao_int8(module: nn.Module) -> nn.Module | None:
    """torchao's replacement of the API above (int8 dynamic activations, int8 weights), if installed.

    Not a musicsearch dependency; measured on torch 2.13 / torchao 0.18 in eager mode on CPU it was slower than
    ``quantize_dynamic`` (445 vs 117 µs for 768x3072 at batch 1), so it is an extra column, not the baseline.
    """
    import copy
    import importlib.util

    if importlib.util.find_spec("torchao") is None:
        return None
    try:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

        quantized = copy.deepcopy(module)
        quantize_(quantized, Int8DynamicActivationInt8WeightConfig())
        return quantized
    except Exception:  # an optional baseline must never break the benchmark
        return None


def _random_lut(linear: nn.Linear, k: int, v: int, table_dtype: str, seed: int, kernel: str = "auto") -> LUTLinear:
    # Random centroids give uniformly spread codes, the usual case once k-means has balanced the clusters.
    generator = torch.Generator().manual_seed(seed)
    layer = LUTLinear.from_linear(linear, k=k, v=v, table_dtype=table_dtype)
    with torch.no_grad():
        layer.centroids.copy_(torch.randn(layer.centroids.shape, generator=generator))
    return layer.freeze().use_kernel(kernel)


def _bandwidth_columns(row: dict[str, Any], times: dict[str, float], bandwidth_gbs: float | None) -> None:
    """Achieved GB/s of each method (the bytes it must read: weights, or table rows) and, for the fused
    kernel, its time against the bound ``batch·C·out / bandwidth``."""
    d_in, d_out, batch = row["in_features"], row["out_features"], row["batch"]
    read = {"dense": 4 * d_in * d_out, "int8_dynamic": d_in * d_out, "lut_int8": batch * row["row_bytes_int8"],
            "lut_fused": batch * row["row_bytes_int8"], "lut_fused_kernel": batch * row["row_bytes_int8"]}
    for name, count in read.items():
        if name in times:
            row[f"{name}_gbs"] = round(count / times[name] / 1e3, 2)  # bytes per µs / 1e3 = GB/s
    if bandwidth_gbs:
        bound_us = batch * row["row_bytes_int8"] / bandwidth_gbs / 1e3
        row["lut_fused_bound_us"] = round(bound_us, 2)
        for name in ("lut_fused", "lut_fused_kernel"):
            if name in times:
                row[f"{name}_x_bound"] = round(times[name] / bound_us, 2)


def bench_layers(shapes: Sequence[tuple[int, int]] = DEFAULT_SHAPES, batch_sizes: Sequence[int] = DEFAULT_BATCHES,
                 *, k: int = 16, v: int = 8, threads: int | None = 1, repeats: int = 50, seed: int = 0,
                 bandwidth_gbs: float | None = None, progress: bool = False) -> list[dict[str, Any]]:
    """One layer, five ways: ``nn.Linear``, int8 dynamic quantization, LUT with an fp32 table, LUT with an
    int8 table through FBGEMM's embedding_bag (``lut_int8``) and through the fused numba kernel
    (``lut_fused``; the NumPy reference when numba is missing), plus torchao's int8 when it is installed.

    Args:
        shapes: ``(in_features, out_features)`` pairs.
        batch_sizes: rows per call.
        k, v: LUT centroids and sub-vector length.
        threads: torch threads for all measurements, the fused kernel's numba threads too (1 = comparable
            between machines and undisturbed by other processes on a shared laptop; None = torch's default).
        repeats: timing rounds (median reported).
        seed: seed of weights, centroids and inputs.
        bandwidth_gbs: the machine's copy bandwidth (:func:`copy_bandwidth`), for the bound columns.
        progress: show a progress bar.

    Returns:
        One dict per (shape, batch): times in µs, speed-ups (>1 = LUT faster), achieved GB/s and
        :func:`lut_cost` counts.
    """
    from tqdm.auto import tqdm

    rows = []
    with torch_threads(threads) as used:
        for d_in, d_out in tqdm(shapes, desc="layer shapes", disable=not progress, leave=False):
            torch.manual_seed(seed)
            dense = nn.Linear(d_in, d_out).eval()
            methods = {"dense": dense, "int8_dynamic": int8_dynamic(nn.Sequential(dense)),
                       "torchao_int8": torchao_int8(nn.Sequential(dense)),
                       "lut_fp32": _random_lut(dense, k, v, "fp32", seed),
                       "lut_int8": _random_lut(dense, k, v, "int8", seed, kernel="torch"),
                       "lut_fused": _random_lut(dense, k, v, "int8", seed, kernel="numba")}
            methods = {name: module for name, module in methods.items() if module is not None}
            for batch in batch_sizes:
                x = torch.randn(batch, d_in, generator=torch.Generator().manual_seed(seed))
                calls = {name: (lambda m=module, x=x: m(x)) for name, module in methods.items()}
                fused = methods["lut_fused"].__dict__.get("_fused")
                if fused is not None:  # the kernel alone, without the module call around it
                    array = x.numpy()
                    calls["lut_fused_kernel"] = lambda f=fused, a=array: lookup_int8(a, *f[:-1], kernel=f[-1],
                                                                                     threads=used)
                times = time_calls(calls, repeats=repeats)
                row: dict[str, Any] = {"shape": f"{d_in}x{d_out}", "in_features": d_in, "out_features": d_out,
                                       "batch": batch, "k": k, "v": v, "threads": used}
                row.update({f"{name}_us": round(value, 2) for name, value in times.items()})
                for name in ("lut_fp32", "lut_int8", "lut_fused"):
                    row[f"speedup_{name}"] = round(times["dense"] / times[name], 3)
                    if "int8_dynamic" in times:
                        row[f"{name}_vs_int8_dynamic"] = round(times["int8_dynamic"] / times[name], 3)
                row.update(lut_cost(d_in, d_out, k=k, v=v, batch=batch))
                _bandwidth_columns(row, times, bandwidth_gbs)
                rows.append(row)
    return rows


def model_bytes(model: nn.Module) -> int:
    """Bytes of the saved state (parameters and persistent buffers, quantized packed weights included)."""
    def size(value: Any) -> int:
        if isinstance(value, torch.Tensor):
            return value.numel() * value.element_size()
        if isinstance(value, (tuple, list)):  # int8 dynamic layers keep (weight, bias) packed in a tuple
            return sum(size(item) for item in value)
        return 0

    return sum(size(value) for value in model.state_dict().values())


def format_layer_table(rows: Sequence[dict[str, Any]]) -> str:
    """The layer benchmark as a fixed-width text table: ``fused`` is the fused-kernel layer (module call
    included), ``kernel`` the kernel alone; ``x dense`` / ``x int8dyn`` are the fused layer's speed-ups,
    ``GB/s`` the table bytes the kernel reads per second, ``x bound`` its time over the bandwidth bound
    (when measured), ``ops x`` the cost model's predicted speed-up (dense multiply-adds over encoding
    multiply-adds plus lookup additions)."""
    nan = float("nan")
    header = (f"{'shape':>10} {'K/V':>5} {'thr':>3} {'batch':>5} {'dense µs':>9} {'int8dyn µs':>10} {'LUT fp32':>9} "
              f"{'LUT int8':>9} {'fused':>8} {'kernel':>8} {'x dense':>8} {'x int8dyn':>9} {'GB/s':>6} {'x bound':>7} {'ops x':>6}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['shape']:>10} {str(r['k']) + '/' + str(r['v']):>5} {r.get('threads') or '-':>3} {r['batch']:>5} "
                     f"{r['dense_us']:>9.1f} {r.get('int8_dynamic_us', nan):>10.1f} {r['lut_fp32_us']:>9.1f} "
                     f"{r['lut_int8_us']:>9.1f} {r['lut_fused_us']:>8.1f} {r.get('lut_fused_kernel_us', nan):>8.1f} "
                     f"{r['speedup_lut_fused']:>8.2f} "
                     f"{r.get('lut_fused_vs_int8_dynamic', nan):>9.2f} {r.get('lut_fused_kernel_gbs', nan):>6.1f} "
                     f"{r.get('lut_fused_kernel_x_bound', nan):>7.2f} "
                     f"{r['dense_macs'] / (r['encode_macs'] + r['lookup_adds']):>6.1f}")
    return "\n".join(lines)
