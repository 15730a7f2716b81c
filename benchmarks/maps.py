"""Map figures: UMAP of the full default corpus (cold, then from the cache) and the plotly figure build.

Usage: python benchmarks/maps.py [--captions N]   (writes benchmarks/results/maps.json)
Target on 2 cores: cold UMAP of the full corpus <= 60 s; the cached projection loads in well under a second.
Uses the default index (`make model`) when there is one; otherwise synthetic 256-d vectors of the same
count stand in for the embeddings (the records, hover texts and colours are the real corpus's).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def _embeddings(ms, captions: int):
    import numpy as np

    try:
        index = ms.load_index()
    except Exception as error:  # no default model or index: time the same sizes on synthetic vectors
        print(f"no default index ({str(error).splitlines()[0][:90]}...); using synthetic embeddings")
        corpus = ms.load_corpus("music21", progress=False)
        vectors = ms.synthetic_embeddings(len(corpus) + captions, 256, seed=0)
        rows = np.concatenate(
            [np.arange(len(corpus)), np.random.default_rng(0).choice(len(corpus), captions, False)]
        )
        return list(corpus), vectors, rows, "synthetic (no default index)"
    model = index.model
    records = list(index.records)
    chosen = np.random.default_rng(0).choice(len(records), captions, replace=False)
    text = model.encode_text([(records[i].captions or [""])[0] for i in chosen])
    vectors = np.concatenate([index.embeddings(), text]).astype(np.float32)
    return records, vectors, np.concatenate([np.arange(len(records)), chosen]), "default index"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--captions", type=int, default=1000, help="caption points placed next to the tunes")
    arguments = parser.parse_args()
    import numpy as np

    import musicsearch as ms
    from musicsearch.artifacts import write_json
    from musicsearch.viz import projection
    from musicsearch.viz.maps import MapPoints

    records, vectors, rows, source = _embeddings(ms, arguments.captions)
    params = {"method": "umap", "dims": 2, "n_neighbors": 15, "min_dist": 0.1, "metric": "cosine", "seed": 0}
    key = projection.projection_key(vectors, params)
    for suffix in (".npy", ".json"):  # a cold run: drop this exact entry, keep every other cache
        (projection._cache_folder() / f"{key}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    import umap  # noqa: F401  (numba compiles on import: part of what a first map costs)

    import_seconds = time.perf_counter() - start
    start = time.perf_counter()
    coords = ms.project(vectors, method="umap")
    cold = time.perf_counter() - start
    start = time.perf_counter()
    cached = ms.project(vectors, method="umap")
    warm = time.perf_counter() - start
    assert np.array_equal(coords, cached)

    kinds = ["music"] * len(records) + ["text"] * (len(rows) - len(records))
    points = MapPoints(
        coords=coords,
        embeddings=vectors,
        kinds=kinds,
        rows=rows,
        records=records,
        texts=[(records[row].captions or [""])[0] for row in rows],
        method="umap",
    )
    start = time.perf_counter()
    figure = ms.plot_map(points, color_by="tune_type")
    figure_seconds = time.perf_counter() - start
    start = time.perf_counter()
    payload = figure.to_json()
    json_seconds = time.perf_counter() - start

    results = {
        "embeddings": source,
        "tunes": len(records),
        "points": len(points),
        "dim": int(vectors.shape[1]),
        "cpu_count": os.cpu_count(),
        "umap_import_seconds": round(import_seconds, 2),
        "umap_cold_seconds": round(cold, 2),
        "umap_cold_target_seconds": 60,
        "cached_load_seconds": round(warm, 4),
        "figure_build_seconds": round(figure_seconds, 2),
        "figure_traces": len(figure.data),
        "figure_json_mb": round(len(payload) / 1e6, 1),
        "figure_json_seconds": round(json_seconds, 2),
    }
    for name, value in results.items():
        print(f"{name:>26}: {value}")
    out = Path(__file__).parent / "results" / "maps.json"
    write_json(out, results)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
