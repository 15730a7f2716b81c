"""Time of one release-preset training step, with the patch embedding's two gather paths, in the same run.

Usage: python benchmarks/training_step.py [--steps 20] [--rounds 2]
(writes benchmarks/results/training_step.json).

The music encoder sums 64 gathered columns of its patch embedding (``embedding_bag``) instead of
multiplying a 6,272-wide one-hot input. Gathering from the weight's transposed *view* sends
``embedding_bag`` down a generic path; gathering from a contiguous copy of the columns (what the encoder
does now) is the same arithmetic on a faster path. Both are timed here on the release preset's real
length-bucketed batches:

- ``gather``: forward + backward of the patch embedding alone on one batch, best of 10, and whether the
  outputs and gradients are bit-identical;
- ``step``: whole contrastive steps (the release recipe: melody objective on), each variant
  built afresh from the same seed, rounds interleaved; the losses of both must agree bit for bit.

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
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of both variants")
    arguments = parser.parse_args()
    from musicsearch.data.corpus_io import load_corpus
    from musicsearch.models.music_encoder import MusicEncoder
    from musicsearch.training.config import get_config
    from musicsearch.training.contrastive import contrastive_step
    from musicsearch.training.run import build_run, prepare_data

    load_before = os.getloadavg()
    corpus = load_corpus("music21", progress=False)
    config = get_config("release")
    data, held_out = prepare_data(config, corpus)
    contiguous_gather = MusicEncoder.embed_patches
    variants = {"transposed_view": transposed_view_gather, "contiguous": contiguous_gather}
    step_seconds: dict[str, list[float]] = {name: [] for name in variants}
    losses: dict[str, list[float]] = {}
    gather = None
    try:
        for _ in range(arguments.rounds):
            for name, method in variants.items():
                MusicEncoder.embed_patches = method
                run = build_run(config, data, held_out, corpus, progress=False)
                run.module.train()
                if gather is None:
                    gather = _gather_figures(run, contiguous_gather)
                contrastive_step(run)  # the first step allocates; it is not timed
                started = time.perf_counter()
                records = [contrastive_step(run) for _ in range(arguments.steps)]
                step_seconds[name].append((time.perf_counter() - started) / arguments.steps)
                losses[name] = [record["loss"] for record in records]
    finally:
        MusicEncoder.embed_patches = contiguous_gather
    old, new = statistics.median(step_seconds["transposed_view"]), statistics.median(step_seconds["contiguous"])
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                   f"{torch.get_num_threads()} threads",
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "preset": "release", "steps_per_round": arguments.steps, "rounds": arguments.rounds,
        "gather": gather,
        "step_s": {"transposed_view": round(old, 3), "contiguous": round(new, 3),
                   "per_round": {name: [round(s, 3) for s in values] for name, values in step_seconds.items()}},
        "step_speedup": round(old / new, 3),
        "losses_bit_identical": losses["transposed_view"] == losses["contiguous"],
    }
    # Contrastive steps only: the masked-music steps before them are lighter and gain too, uncounted here.
    training = config.training
    result["release_contrastive_steps"] = math.ceil(training.epochs * len(data) / training.batch_size)
    result["projected_saving_s"] = round((old - new) * result["release_contrastive_steps"])
    out = Path(__file__).parent / "results" / "training_step.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
