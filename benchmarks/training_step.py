"""Time of one release-preset training step on its earlier and current code paths, in the same run.

Usage: python benchmarks/training_step.py [--steps 20] [--rounds 2]
(writes benchmarks/results/training_step.json).

The music encoder sums 64 gathered columns of its patch embedding (``embedding_bag``) instead of
multiplying a 6,272-wide one-hot input. Gathering from the weight's transposed *view* sends
``embedding_bag`` down a generic path; gathering from a contiguous copy of the columns (what the encoder
does now) is the same arithmetic on a faster path. Both are timed here on the release preset's real
length-bucketed batches:

- ``gather``: forward + backward of the patch embedding alone on one batch, best of 10, and whether the
  outputs and gradients are bit-identical;
- ``dropout``: one dropout call on a batch-sized activation, ``F.dropout`` (a ``bernoulli_`` draw per
  element) against :func:`musicsearch.models._dropout.fast_dropout` (a quarter of a 64-bit draw), best of 10;
- ``step``: whole contrastive steps (the release recipe: melody objective on), each variant built afresh
  from the same seed, rounds interleaved: ``transposed_view`` (the gather and torch's dropout, as before
  both changes), ``contiguous`` (the gather changed; its losses must agree with the first bit for bit),
  ``fast_dropout`` (both changes: another random stream, so other losses) and ``bf16_autocast`` (both,
  and the forward passes in bfloat16 autocast, as the release preset trains now: losses near, not equal).

Compare the ratio, not the seconds: they move with whatever else the machine runs (load average recorded).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F


def transposed_view_gather(encoder, patches: torch.Tensor) -> torch.Tensor:
    """The patch embedding as the encoder computed it before: ``embedding_bag`` on the weight's transposed view."""
    batch, length, width = patches.shape
    flat = (patches.long() + encoder._offsets).reshape(batch * length, width)
    summed = F.embedding_bag(flat, encoder.patch_embedding.weight.t(), mode="sum")
    return (summed + encoder.patch_embedding.bias).view(batch, length, -1)


def torch_attention(q, k, v, attn_mask, dropout):
    """Attention as the encoder computed it before its own dropout: the fused call, torch's dropout inside."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout)


def torch_dropout_forward(layer, x):
    """``nn.Dropout.forward``, for the encoder's ``FastDropout`` layers in the baseline variants."""
    return F.dropout(x, layer.p, layer.training)


def _dropout_figures(hidden: int, batch_shape: list[int]) -> dict:
    from musicsearch.models._dropout import fast_dropout

    x = torch.randn(*batch_shape[:2], hidden)
    seconds = {}
    for name, call in (("torch_ms", lambda: F.dropout(x, 0.1, True)), ("fast_ms", lambda: fast_dropout(x, 0.1))):
        times = []
        for _ in range(10):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        seconds[name] = min(times)
    return {"shape": list(x.shape), **{name: round(1000 * s, 2) for name, s in seconds.items()},
            "speedup": round(seconds["torch_ms"] / seconds["fast_ms"], 2)}


def _gather_figures(run, contiguous_gather) -> dict:
    from musicsearch.training.contrastive import draw_batch

    training = run.config.training
    encoder = run.model.music_encoder
    patches, _ = draw_batch(run, run.sampler.length_batch(training.batch_size, run.lengths, training.length_buckets))
    upstream = torch.randn(*patches.shape[:2], encoder.hidden_size, generator=torch.Generator().manual_seed(0))
    results, seconds = {}, {}
    for name, gather in (("transposed_view", transposed_view_gather), ("contiguous", contiguous_gather)):
        times = []
        for _ in range(10):
            encoder.patch_embedding.weight.grad = None
            started = time.perf_counter()
            output = gather(encoder, patches)
            (output * upstream).sum().backward()
            times.append(time.perf_counter() - started)
        results[name] = (output.detach().clone(), encoder.patch_embedding.weight.grad.clone())
        seconds[name] = min(times)
    old, new = results["transposed_view"], results["contiguous"]
    return {"batch_shape": list(patches.shape), "transposed_view_ms": round(1000 * seconds["transposed_view"], 1),
            "contiguous_ms": round(1000 * seconds["contiguous"], 1),
            "speedup": round(seconds["transposed_view"] / seconds["contiguous"], 2),
            "bit_identical": bool(torch.equal(old[0], new[0]) and torch.equal(old[1], new[1]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant and round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of every variant")
    arguments = parser.parse_args()
    from musicsearch.data.corpus_io import load_corpus
    from musicsearch.models import music_encoder
    from musicsearch.models._dropout import FastDropout, attention
    from musicsearch.models.music_encoder import MusicEncoder
    from musicsearch.training.config import get_config
    from musicsearch.training.contrastive import contrastive_step
    from musicsearch.training.run import build_run, prepare_data

    load_before = os.getloadavg()
    corpus = load_corpus("music21", progress=False)
    float32 = get_config("release", bf16_autocast=False)
    data, held_out = prepare_data(float32, corpus)
    bfloat16 = get_config("release", bf16_autocast=True)
    contiguous_gather, fast_forward = MusicEncoder.embed_patches, FastDropout.forward
    variants = {"transposed_view": (transposed_view_gather, torch_dropout_forward, torch_attention, float32),
                "contiguous": (contiguous_gather, torch_dropout_forward, torch_attention, float32),
                "fast_dropout": (contiguous_gather, fast_forward, attention, float32),
                "bf16_autocast": (contiguous_gather, fast_forward, attention, bfloat16)}
    step_seconds: dict[str, list[float]] = {name: [] for name in variants}
    losses: dict[str, list[float]] = {}
    gather = dropout = None
    try:
        for _ in range(arguments.rounds):
            for name, (embed, dropout_forward, attend, config) in variants.items():
                MusicEncoder.embed_patches, FastDropout.forward, music_encoder.attention = embed, dropout_forward, attend
                run = build_run(config, data, held_out, corpus, progress=False)
                run.module.train()
                if gather is None:
                    gather = _gather_figures(run, contiguous_gather)
                    dropout = _dropout_figures(run.model.music_encoder.hidden_size, gather["batch_shape"])
                contrastive_step(run)  # the first step allocates; it is not timed
                started = time.perf_counter()
                records = [contrastive_step(run) for _ in range(arguments.steps)]
                step_seconds[name].append((time.perf_counter() - started) / arguments.steps)
                losses[name] = [record["loss"] for record in records]
    finally:
        MusicEncoder.embed_patches, FastDropout.forward, music_encoder.attention = (
            contiguous_gather, fast_forward, attention)
    median = {name: statistics.median(values) for name, values in step_seconds.items()}
    old, new = median["transposed_view"], median["bf16_autocast"]
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                   f"{torch.get_num_threads()} threads",
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "preset": "release", "steps_per_round": arguments.steps, "rounds": arguments.rounds,
        "gather": gather, "dropout": dropout,
        "step_s": {**{name: round(value, 3) for name, value in median.items()},
                   "per_round": {name: [round(s, 3) for s in values] for name, values in step_seconds.items()}},
        "step_speedup": {"gather": round(old / median["contiguous"], 3),
                         "dropout": round(median["contiguous"] / median["fast_dropout"], 3),
                         "bf16_autocast": round(median["fast_dropout"] / new, 3), "all": round(old / new, 3)},
        "losses_bit_identical": losses["transposed_view"] == losses["contiguous"],
        "mean_loss": {name: round(statistics.mean(values), 4) for name, values in losses.items()},
        # Same seed and random stream as fast_dropout: how far bfloat16 takes the losses, step by step.
        "bf16_max_relative_loss_gap": round(max(
            abs(a - b) / abs(a) for a, b in zip(losses["fast_dropout"], losses["bf16_autocast"], strict=True)), 4),
    }
    # Contrastive steps only: the masked-music steps before them are lighter and gain too, uncounted here.
    training = bfloat16.training
    result["release_contrastive_steps"] = math.ceil(training.epochs * len(data) / training.batch_size)
    result["projected_saving_s"] = {
        "bf16_autocast": round((median["fast_dropout"] - new) * result["release_contrastive_steps"]),
        "all": round((old - new) * result["release_contrastive_steps"])}
    out = Path(__file__).parent / "results" / "training_step.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
