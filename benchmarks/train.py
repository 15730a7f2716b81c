"""Training and encoding speed of the quick preset, on this machine, as a table and JSON.

Measures, each against a baseline timed in the same run:

* training throughput (tunes/s) of the quick preset's steps, vs the same steps with CLaMP's literal
  one-hot patch embedding (the arithmetic our gather replaces);
* music encoding throughput (target >= 300 tunes/s on 2 cores), vs the literal one-hot path;
* text encoding throughput of MiniLM, uncached vs through the embedding cache;
* peak resident memory (target <= 4 GB for quick);
* wall time of a full quick training run: with ``--full`` it trains one (about 10 minutes on 2 idle
  cores), otherwise it reports the run recorded in the default model's config.json, if any.

Usage: ``python benchmarks/train.py [--quick] [--full]``; writes ``benchmarks/results/train.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see musicsearch/__init__.py
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from torch import nn

import musicsearch as ms
from musicsearch.artifacts import current_version, read_json, write_json
from musicsearch.training.loop import peak_memory_mb


class _OneHotLinear(nn.Module):
    """Wraps the patch embedding so the encoder takes its literal one-hot path (CLaMP's arithmetic)."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear

    def forward(self, x):
        return self.linear(x)


def _timed(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _train_steps(model, batches, steps: int) -> float:
    from musicsearch.models.losses import clip_loss

    model.train()
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-4)
    text = torch.randn(len(batches[0][0]), model.text_encoder.hidden_size)

    def step(index=[0]):  # noqa: B006 - a counter across calls
        patches, mask = batches[index[0] % len(batches)]
        index[0] += 1
        loss = clip_loss(model.music_features(patches, mask), model.text_proj(text), model.logit_scale())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()  # warm-up
    seconds = _timed(step, steps)
    return len(batches[0][0]) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer tunes and repeats (about a minute)")
    parser.add_argument("--full", action="store_true", help="also train the full quick preset and time it")
    args = parser.parse_args()
    tunes = 256 if args.quick else 1024
    repeats = 3 if args.quick else 8
    corpus = ms.load_corpus("music21", progress=False).sample(tunes, seed=0)
    config = ms.get_config("quick")
    architecture, training = config.architecture, config.training
    model = ms.MusicTextModel(architecture, seed=training.seed)
    # Train as the quick preset does: its dropout, its trainable text layers.
    model.configure_training(dropout=training.dropout, text_trainable_layers=training.text_trainable_layers)
    from musicsearch.data.patches import collate_patches, patchify

    patch_list = sorted(patchify(corpus, architecture.max_patches), key=len)
    batch_size = training.batch_size
    batches = [collate_patches(patch_list[i:i + batch_size]) for i in range(0, len(patch_list), batch_size)]
    results = {"machine": {"threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                           "load_average_1min": os.getloadavg()[0]}, "tunes": tunes}

    fast = _train_steps(model, batches, repeats)
    encoder = model.music_encoder
    encoder.patch_embedding = _OneHotLinear(encoder.patch_embedding)
    literal = _train_steps(model, batches, max(2, repeats // 2))
    music_literal = tunes / _timed(lambda: model.encode_music(corpus, batch_size=128), 1)
    encoder.patch_embedding = encoder.patch_embedding.linear
    music_fast = tunes / _timed(lambda: model.encode_music(corpus, batch_size=128), 3)
    results["training_tunes_per_s"] = {"gather": fast, "one_hot_baseline": literal, "ratio": fast / literal}
    results["music_encoding_tunes_per_s"] = {"gather": music_fast, "one_hot_baseline": music_literal,
                                             "ratio": music_fast / music_literal, "target": 300}

    texts = [record.captions[0] for record in corpus]
    home = os.environ.get("MUSICSEARCH_HOME")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["MUSICSEARCH_HOME"] = cache  # an empty cache, so the first pass really runs MiniLM
        model.text_encoder._cache = None
        uncached = len(texts) / _timed(lambda: model.encode_text(texts, batch_size=128), 1)
        cached = len(texts) / _timed(lambda: model.encode_text(texts, batch_size=128), 3)
    if home is None:
        os.environ.pop("MUSICSEARCH_HOME", None)
    else:
        os.environ["MUSICSEARCH_HOME"] = home
    results["text_encoding_texts_per_s"] = {"cached": cached, "uncached_baseline": uncached, "ratio": cached / uncached}

    default = ms.default_model_dir()
    if args.full:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            cpu = time.process_time()
            _, history = ms.train("quick", ms.load_corpus("music21", progress=False), out=out, progress=False)
            results["quick_preset"] = {"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
                                       **history.summary()}
    elif ms.artifact_exists(default, "model"):
        saved_config = current_version(default, "model") / "config.json"
        training = read_json(saved_config).get("training", {})
        results["quick_preset"] = {"wall_s": training.get("wall_time_s"), "source": str(saved_config),
                                   "peak_memory_mb": training.get("peak_memory_mb"),
                                   "final_eval": training.get("final_eval")}
    peak = peak_memory_mb()
    # The target is about training the quick preset: its own peak when known, else this process's.
    quick_peak = results.get("quick_preset", {}).get("peak_memory_mb")
    results["peak_memory_mb"] = {"value": quick_peak or peak, "target": 4096,
                                 "measured": "quick preset training" if quick_peak else "this benchmark process",
                                 "benchmark_process": peak}

    print(f"{'measure':34}{'value':>12}{'baseline':>12}{'ratio':>8}")
    rows = [("training tunes/s", results["training_tunes_per_s"], "gather", "one_hot_baseline"),
            ("music encoding tunes/s", results["music_encoding_tunes_per_s"], "gather", "one_hot_baseline"),
            ("text encoding texts/s", results["text_encoding_texts_per_s"], "cached", "uncached_baseline")]
    for name, values, key, base in rows:
        print(f"{name:34}{values[key]:12.1f}{values[base]:12.1f}{values['ratio']:8.1f}")
    memory = results["peak_memory_mb"]
    print(f"{'peak memory MB (' + memory['measured'] + ')':34}{memory['value']:12.0f}")
    if "quick_preset" in results and results["quick_preset"].get("wall_s"):
        print(f"{'quick preset wall time s':34}{results['quick_preset']['wall_s']:12.0f}")
    out = Path(__file__).parent / "results" / "train.json"
    write_json(out, results)
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
