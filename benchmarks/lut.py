"""LUT-NN figures: one layer vs nn.Linear and int8 dynamic quantization; whole models before/after centroid learning.

Usage: python benchmarks/lut.py [--quick] [--threads 1] [--music-model DIR]
Writes benchmarks/results/lut.json (lut-quick.json with --quick) and the plots lut_*.png beside it.

Everything is measured in this one run with the same torch thread count (default 1), methods interleaved.
Targets (LUT-NN): one 768x3072 layer >= 6.8x faster than dense at batch 1; faster than int8 dynamic
quantization at batch 1 and 8; a whole model >= 2x faster at batch 1 losing <= 1 point of its metric after
centroid learning.
Quick mode (~2 min): the three layer shapes, and the MLP on the origin task with K in {8,16,32}, V=8.
Full mode adds V in {4,8,16}, the bar-patch transformer, and the trained music encoder when one exists.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _targets(layer_rows: list[dict], model_rows: list[dict]) -> dict:
    """Each target with the measured value and whether it is met (honest, whatever the result)."""
    def layer(shape, batch):
        return next((r for r in layer_rows if r["shape"] == shape and r["batch"] == batch and r["v"] == 8), None)

    targets = {}
    row = layer("768x3072", 1)
    if row:
        targets["layer_768x3072_b1_speedup_vs_dense"] = {"target": 6.8, "measured": row["speedup_lut_int8"],
                                                         "met": row["speedup_lut_int8"] >= 6.8}
    for batch in (1, 8):
        ratios = {r["shape"]: r.get("lut_int8_vs_int8_dynamic") for r in layer_rows if r["batch"] == batch and r["v"] == 8}
        targets[f"layers_b{batch}_v8_faster_than_int8_dynamic"] = {
            "target": "> 1 for every shape", "measured": ratios,
            "met": all(value is not None and value > 1 for value in ratios.values())}
    for model in dict.fromkeys(r["model"] for r in model_rows):
        luts = [r for r in model_rows if r["model"] == model and r["k"] is not None]
        within = [r for r in luts if r["delta"] >= -1.0]
        best = max(within, key=lambda r: r["speedup_b1"], default=None)
        targets[f"{model}_2x_b1_within_1_point"] = {
            "target": "speedup_b1 >= 2 with delta >= -1 point",
            "best_variant_within_1_point": best and {k: best[k] for k in ("variant", "speedup_b1", "delta", "metric")},
            "met": bool(best and best["speedup_b1"] >= 2.0)}
    return targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer variants and repeats (~2 minutes)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every measurement (default 1)")
    parser.add_argument("--music-model", help="trained MusicTextModel folder (default: the default model, if any)")
    arguments = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import matplotlib

    matplotlib.use("Agg")
    import torch

    import musicsearch as ms

    start = time.perf_counter()
    quick = arguments.quick
    layer_rows = ms.bench_layers(threads=arguments.threads, repeats=30 if quick else 100, progress=False)
    if not quick:  # V=16 halves the rows a batch reads: where the batch-8 comparison with int8 can turn
        layer_rows += ms.bench_layers(threads=arguments.threads, repeats=100, v=16, progress=False)
    print(ms.format_layer_table(layer_rows), flush=True)

    task = ms.origin_task(per_class=600)
    ks, vs = (8, 16, 32), ((8,) if quick else (4, 8, 16))
    model_rows = ms.study_classifier(task, "mlp", ks=ks, vs=vs, finetune_epochs=2 if quick else 3,
                                     threads=arguments.threads, repeats=20 if quick else 50)
    if not quick:
        model_rows += ms.study_classifier(task, "transformer", ks=ks, vs=(8, 16), finetune_epochs=2,
                                          threads=arguments.threads, repeats=30)
        directory = arguments.music_model or ms.default_model_dir()
        if ms.artifact_exists(directory, "model"):
            model = ms.load_model(directory)
            corpus = ms.load_corpus("music21", progress=False)
            train, heldout = corpus.split(**model.heldout_split)
            model_rows += ms.study_music_model(model, train.sample(1024, seed=0), list(heldout.sample(500, seed=0)),
                                               ks=ks, vs=(8, 16), finetune_epochs=3, threads=arguments.threads)
        else:
            print(f"no trained music model in {directory}: music encoder skipped (run `make model`)", file=sys.stderr)
    print(ms.format_study_table(model_rows))

    RESULTS.mkdir(exist_ok=True)
    suffix = "-quick" if quick else ""
    ms.plot_layer_speedups(layer_rows).savefig(RESULTS / f"lut_layers{suffix}.png", dpi=110, bbox_inches="tight")
    ms.plot_pareto(model_rows).savefig(RESULTS / f"lut_pareto{suffix}.png", dpi=110, bbox_inches="tight")
    targets = _targets(layer_rows, model_rows)
    for name, target in targets.items():
        print(f"{'MET ' if target['met'] else 'MISS'} {name}: {target.get('measured', target.get('best_variant_within_1_point'))}")
    from musicsearch.artifacts import write_json
    from musicsearch.lut.kernels import int8_bag_available

    write_json(RESULTS / f"lut{suffix}.json", {
        "mode": "quick" if quick else "full", "threads": arguments.threads, "torch": torch.__version__,
        "cpu_count": os.cpu_count(), "load_average_at_end": os.getloadavg(),
        "int8_kernel": "fbgemm embedding_bag_byte_rowwise" if int8_bag_available() else "fp32 embedding_bag fallback",
        "seconds": round(time.perf_counter() - start, 1), "targets": targets, "layers": layer_rows,
        "models": model_rows})
    print(f"written to {RESULTS / f'lut{suffix}.json'} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
