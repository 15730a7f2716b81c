"""Search speed where users feel it: the cold CLI, warm queries quiet and under load, memory, imports, and
the agreement of the ONNX query path with PyTorch — both paths measured in the same run.

Usage: python benchmarks/search_speed.py [--index DIR] [--model DIR] [--runs 5] [--queries 200] [--quick]
(writes benchmarks/results/search_speed.json, or search_speed-quick.json with --quick).

Figures (targets from issue 16, on 2 cores):
- ``cold``: wall time from starting ``musicsearch search "..."`` to its first printed hit, median of
  ``--runs`` fresh processes, PyTorch path (``MUSICSEARCH_ONNX=0``) and ONNX path interleaved; target
  ONNX <= 2.5 s. Peak RSS of each process (``wait4``'s ``ru_maxrss``).
- ``warm``: p50/p99 of ``index.search`` (encode + search), content and hybrid, for both encoders, quiet and
  while two busy-loop processes load both cores; targets p50 <= 8 ms content / 15 ms hybrid under load.
- ``query_by_example``: p50 of ``index.search_music`` (content and hybrid) after its first call.
- ``imports``: the CLI search process's ``-X importtime`` top entries, and which heavy modules it imported.
- ``agreement``: per-query cosine between ONNX and PyTorch query embeddings (min, mean) and the share of
  queries whose top-10 is identical, content and hybrid; targets cosine >= 0.999, top-10 >= 99 %.

Every figure is taken on whatever else the machine runs: the load average is recorded before and after;
compare the two paths (ratios), not numbers from another run.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from search import timed  # the sibling benchmark script (benchmarks/search.py): one timing loop

ROOT = Path(__file__).resolve().parent.parent
COLD_QUERY = "a slow air"
HEAVY = ("torch", "transformers", "umap", "numba", "sklearn", "scipy", "pandas", "music21", "matplotlib", "plotly")
SHAPES = ("a {t} in {k}", "a {t} from {p}", "a slow sad {t} from {p}", "a lively {t} in {k} from {p}", "{t}")
TYPES = ("jig", "reel", "hornpipe", "slow air", "polka", "waltz", "march", "lullaby", "chorale", "strathspey")
KEYS = ("D major", "G major", "A minor", "E minor", "F major", "D dorian")
PLACES = ("Ireland", "Scotland", "Germany", "China", "England", "Austria")


def benchmark_queries(records: list, count: int, seed: int = 0) -> list[str]:
    """Typed descriptions and titles of indexed tunes, half and half, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    typed = sorted({shape.format(t=t, k=k, p=p) for shape in SHAPES for t in TYPES for k in KEYS for p in PLACES})
    titled = sorted({str(r.metadata.get("title")).split(";")[0].strip() for r in records if r.metadata.get("title")})
    half = count // 2
    picks = [typed[i] for i in rng.permutation(len(typed))[:half]]
    picks += [titled[i] for i in rng.permutation(len(titled))[:count - len(picks)]]
    return [query for query in picks if query.strip()]


def cold_run(command: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn to the first line of output."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    first = process.stdout.readline()
    elapsed = time.perf_counter() - start
    process.stdout.read()
    if process.wait() != 0 or not first:
        raise RuntimeError(f"{' '.join(command)} failed (status {process.returncode})")
    return elapsed


# A child forked from this (large) process would count this process's pages in its ru_maxrss: a small
# launcher runs the search instead and reports its child's peak.
_LAUNCHER = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
             "stderr=subprocess.DEVNULL, check=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def peak_rss_mib(command: list[str], env: dict[str, str]) -> float:
    """Peak resident memory of one search process, in MiB."""
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    return round(int(done.stdout.strip()) / 1024, 1)


def cold(args: argparse.Namespace, env: dict[str, str]) -> dict:
    command = [str(Path(sys.executable).parent / "musicsearch"), "search", COLD_QUERY, "-k", "10"]
    command += ["--index", str(args.index)] if args.index else []
    command += ["--model", str(args.model)] if args.model else []
    paths = {"torch": {**env, "MUSICSEARCH_ONNX": "0"}, "onnx": {**env, "MUSICSEARCH_ONNX": "1"}}
    for name in paths:  # one unmeasured run each: the page cache holds the files for both alike
        cold_run(command, paths[name])
    runs: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.runs):  # interleaved, so a change in load touches both paths alike
        for name, path_env in paths.items():
            runs[name].append(cold_run(command, path_env))
    result = {name: {"median_s": round(statistics.median(values), 3), "runs_s": [round(t, 3) for t in values],
                     "peak_rss_mib": peak_rss_mib(command, paths[name])} for name, values in runs.items()}
    result["speedup"] = round(result["torch"]["median_s"] / result["onnx"]["median_s"], 2)
    result["target_s"], result["command"] = 2.5, " ".join(command[1:])
    return result


def imports(args: argparse.Namespace, env: dict[str, str]) -> dict:
    code = ("from musicsearch.cli import main; import sys; sys.exit(main(sys.argv[1:]))")
    argv = ["search", COLD_QUERY, "-k", "10"] + (["--index", str(args.index)] if args.index else []) \
        + (["--model", str(args.model)] if args.model else [])
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *argv], capture_output=True, text=True,
                          env={**env, "MUSICSEARCH_ONNX": "1"}, cwd=ROOT)
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match.group(2)), int(match.group(1)), len(match.group(3)) // 2, match.group(4)))
    top = sorted(rows, reverse=True)[:15]
    loaded = {name for _, _, _, name in rows}
    return {"top_cumulative_ms": [{"module": name, "cumulative_ms": round(c / 1000, 1), "self_ms": round(s / 1000, 1),
                                   "depth": depth} for c, s, depth, name in top],
            "total_ms": round(sum(s for _, s, _, _ in rows) / 1000, 1),
            "heavy_modules_imported": sorted(name for name in HEAVY if name in loaded)}


def percentiles(times_ms: list[float]) -> dict:
    values = np.asarray(times_ms)
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p99_ms": round(float(np.percentile(values, 99)), 2),
            "n": int(len(values))}


def busy_pair() -> list[subprocess.Popen]:
    """Two processes spinning on a core each: a second job sharing the machine."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]


def warm(index, encoders: dict, queries: list[str], loaded: bool) -> dict:
    result = {}
    loaders = busy_pair() if loaded else []
    try:
        for name, encoder in encoders.items():
            index.model = encoder
            for mode in ("content", "hybrid"):
                index.search(queries[0], k=10, mode=mode)  # first call: lazy parts, caches
                result[f"{name}_{mode}"] = percentiles(timed(lambda q, m=mode: index.search(q, k=10, mode=m), queries))
    finally:
        for process in loaders:
            process.kill()
            process.wait()
    for mode in ("content", "hybrid"):
        result[f"speedup_{mode}_p50"] = round(result[f"torch_{mode}"]["p50_ms"] / result[f"onnx_{mode}"]["p50_ms"], 2)
    return result


def query_by_example(index, encoder, tunes: list[str]) -> dict:
    index.model = encoder
    result = {}
    for mode in ("content", "hybrid"):
        started = time.perf_counter()
        index.search_music(tunes[0], k=10, mode=mode)  # first call parses the stored melody index (hybrid)
        result[f"{mode}_first_ms"] = round((time.perf_counter() - started) * 1000, 1)
        result[mode] = percentiles(timed(lambda abc, m=mode: index.search_music(abc, k=10, mode=m), tunes[1:]))
    return result


def agreement(index, onnx, torch_model, queries: list[str]) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cosine = np.sum(onnx.encode_text(queries) * torch_model.encode_text(queries), axis=1)
    result = {"queries": len(queries), "min_cosine": round(float(cosine.min()), 6),
              "mean_cosine": round(float(cosine.mean()), 6), "target_cosine": 0.999, "target_top10": 0.99}
    for mode in ("content", "hybrid"):
        hits = {}
        for name, encoder in (("onnx", onnx), ("torch", torch_model)):
            index.model = encoder
            hits[name] = [[hit.id for hit in row] for row in index.search_batch(queries, k=10, mode=mode)]
        same = [a == b for a, b in zip(hits["onnx"], hits["torch"])]
        result[f"top10_identical_{mode}"] = round(sum(same) / len(same), 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: the default index)")
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: the index's / default model)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per path for the cold figure")
    parser.add_argument("--queries", type=int, default=200, help="queries for warm latency and agreement")
    parser.add_argument("--quick", action="store_true", help="fewer runs and queries (a smoke test)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--parts", default="warm,agreement,qbe,cold,imports",
                        help="comma-separated parts to run; the others keep their figures from the last run")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.queries = min(args.runs, 2), min(args.queries, 40)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}

    import musicsearch as ms
    from musicsearch.artifacts import write_json
    from musicsearch.models.loading import load_model
    from musicsearch.models.onnx_runtime import load_onnx_model
    from musicsearch.paths import default_model_dir
    from musicsearch.search.query_encoder import prepare_query_encoder

    load_before = os.getloadavg()
    started = time.perf_counter()
    index = ms.load_index(args.index) if args.index else ms.load_index()
    model_dir = args.model or (Path(index.model_dir) if index.model_dir and Path(index.model_dir).is_dir()
                               else default_model_dir())
    torch_model = load_model(model_dir)
    prepare_query_encoder(torch_model, model_dir)  # the export the ONNX path reads (written once)
    onnx = load_onnx_model(model_dir)
    # Three disjoint query sets: PyTorch caches each text it encodes (MUSICSEARCH_HOME/cache/text), so a
    # query timed twice would time a cache lookup; the cache is also moved to an empty folder below.
    queries = benchmark_queries(index.records, 3 * args.queries)
    quiet_queries, loaded_queries, agreement_queries = queries[0::3], queries[1::3], queries[2::3]
    import tempfile

    scratch_home = tempfile.TemporaryDirectory(prefix="musicsearch-bench-")
    os.environ["MUSICSEARCH_HOME"] = scratch_home.name  # loaded above; from here on only caches land there
    rng = np.random.default_rng(1)
    tunes = [index.records[int(i)].abc for i in rng.permutation(len(index))[:max(5, args.queries // 10)]]

    import torch

    result = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "torch_threads": torch.get_num_threads()},
        "load_average_before": [round(x, 2) for x in load_before],
        "index": {"folder": str(args.index or "default"), "tunes": len(index), "dim": index.dim, "kind": index.kind},
        "model": {"folder": str(model_dir), "fingerprint": index.fingerprint},
        "quick": args.quick,
    }
    encoders = {"onnx": onnx, "torch": torch_model}
    parts = set(args.parts.split(","))
    out = args.out or ROOT / "benchmarks" / "results" / ("search_speed-quick.json" if args.quick else "search_speed.json")
    if parts != {"warm", "agreement", "qbe", "cold", "imports"} and out.is_file():
        import json

        result = {**json.loads(out.read_text()), **result}  # parts not run keep their last figures
    result["parts_run_last"] = sorted(parts)
    if "warm" in parts:
        result["warm_quiet"] = warm(index, encoders, quiet_queries, loaded=False)
        print("warm quiet", result["warm_quiet"], flush=True)
        result["warm_loaded"] = warm(index, encoders, loaded_queries, loaded=True)
        print("warm loaded", result["warm_loaded"], flush=True)
    if "agreement" in parts:
        result["agreement"] = agreement(index, onnx, torch_model, agreement_queries)
        print("agreement", result["agreement"], flush=True)
    if "qbe" in parts:
        result["query_by_example"] = {name: query_by_example(index, encoder, tunes) for name, encoder in encoders.items()}
        print("query by example", result["query_by_example"], flush=True)
    del torch_model, index, encoders, onnx  # the cold runs below should not share the machine with this process's memory
    os.environ.pop("MUSICSEARCH_HOME")
    os.environ.update({"MUSICSEARCH_HOME": env["MUSICSEARCH_HOME"]} if "MUSICSEARCH_HOME" in env else {})
    scratch_home.cleanup()
    if "cold" in parts:
        result["cold"] = cold(args, env)
        print("cold", result["cold"], flush=True)
    if "imports" in parts:
        result["imports"] = imports(args, env)
        print("imports", result["imports"]["heavy_modules_imported"], result["imports"]["total_ms"], flush=True)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
