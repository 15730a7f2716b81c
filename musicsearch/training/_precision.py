"""Mixed precision for the training forward passes: bfloat16 matmuls, float32 weights, optimiser and losses.

``TrainingConfig.bf16_autocast`` runs the model's forward under ``torch.autocast(dtype=bfloat16)``: matrix
products and attention take bfloat16 inputs, while the weights, their gradients and AdamW's moments stay
float32. The outputs are cast back to float32 before any loss, so the contrastive logits (cosines times a
scale of up to 100) are not rounded to bfloat16's three significant digits.

Why: on CPUs with bfloat16 dot products (``avx512_bf16`` or AMX) a release step is about 1.7x faster
(``benchmarks/training_step.py``); without them autocast is emulated and slower, so it stays off by default
and :func:`warn_if_emulated` says so when a run asks for it on such a CPU.
A seed still fixes a run on one machine; the figures differ slightly from a float32 run's.

Example:
    >>> with forward_precision(torch.device("cpu"), enabled=True):
    ...     product = torch.ones(2, 3) @ torch.ones(3, 2)
    >>> product.dtype, as_float32({"x": product})["x"].dtype
    (torch.bfloat16, torch.float32)
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from pathlib import Path

import torch


def forward_precision(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """The context a training forward pass runs in: bfloat16 autocast on ``device`` when ``enabled``."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def as_float32(outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``outputs`` with every floating tensor in float32 (float32 ones are returned as they are, not copied)."""
    return {name: value.float() if value.is_floating_point() else value for name, value in outputs.items()}


def warn_if_emulated(device: torch.device, enabled: bool, *, cpu_flags: str | None = None) -> bool:
    """Warn when bfloat16 autocast is asked for on a CPU without bfloat16 dot products; True if it warned.

    ``cpu_flags`` (the flags line of ``/proc/cpuinfo``) is read from the machine when None; where it cannot
    be read (not Linux), nothing is said.

    Example:
        >>> warn_if_emulated(torch.device("cpu"), True, cpu_flags="fpu avx512f avx512_bf16")
        False
    """
    if not enabled or device.type != "cpu":
        return False
    flags = set((_cpu_flags() if cpu_flags is None else cpu_flags).split())
    if not flags or flags & {"avx512_bf16", "amx_bf16"}:
        return False
    warnings.warn(
        "bf16_autocast=True on a CPU without bfloat16 dot products (no avx512_bf16 or amx_bf16 in /proc/cpuinfo): "
        "autocast is emulated there and slower than float32. Train with bf16_autocast=False "
        "(`--set bf16_autocast=false`, or `ms.train(..., bf16_autocast=False)`).", stacklevel=3)
    return True


@functools.cache
def _cpu_flags() -> str:
    """The ``flags`` line of ``/proc/cpuinfo`` ('' where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line.partition(":")[2]
    except OSError:
        pass
    return ""
