"""Corpus figures: patching throughput, cold build, warm load, peak memory.

Usage: python benchmarks/corpus.py [--quick]   (writes benchmarks/results/corpus.json)
Targets on 2 cores: patching >= 5,000 tunes/s, cold build <= 3 min, warm load <= 5 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only the ABC collections, no MusicXML")
    arguments = parser.parse_args()
    # A fresh MUSICSEARCH_HOME makes the first load a real cold build.
    os.environ["MUSICSEARCH_HOME"] = tempfile.mkdtemp(prefix="musicsearch-bench-")
    import musicsearch as ms

    options = {"include_scores": not arguments.quick}
    start = time.perf_counter()
    corpus = ms.load_corpus("music21", progress=False, **options)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    ms.load_corpus("music21", progress=False, **options)
    warm = time.perf_counter() - start

    texts = corpus.abc_texts
    start = time.perf_counter()
    patches = sum(len(ms.abc_to_patches(text)) for text in texts)
    patch_seconds = time.perf_counter() - start
    # Baseline in the same run: cleaning the same tunes (the other per-tune text pass of a build).
    start = time.perf_counter()
    for text in texts:
        ms.clean_abc(text)
    clean_seconds = time.perf_counter() - start

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    results = {
        "records": len(corpus), "seen": corpus.report.seen, "skipped": len(corpus.report.skipped),
        "include_scores": options["include_scores"], "cpu_count": os.cpu_count(),
        "cold_build_seconds": round(cold, 2), "cold_build_target_seconds": 180,
        "warm_load_seconds": round(warm, 3), "warm_load_target_seconds": 5,
        "cold_over_warm": round(cold / warm, 1),
        "patching_tunes_per_second": round(len(texts) / patch_seconds), "patching_target_tunes_per_second": 5000,
        "patches_per_tune": round(patches / len(texts), 1),
        "cleaning_tunes_per_second": round(len(texts) / clean_seconds),
        "patching_over_cleaning_time": round(patch_seconds / clean_seconds, 2),
        "peak_memory_mb_main": round(peak), "peak_memory_mb_workers": round(children),
    }
    for name, value in results.items():
        print(f"{name:>32}: {value}")
    out = Path(__file__).parent / "results" / "corpus.json"
    from musicsearch.artifacts import write_json

    write_json(out, results)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
