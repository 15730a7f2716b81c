"""Search figures: warm query latency, index build time, hybrid tuning, and ANN indexes at 1M vectors.

Usage: python benchmarks/search.py [--quick] [--model DIR] [--skip-corpus] [--skip-synthetic]
(writes benchmarks/results/search.json, or search-quick.json with --quick).

Targets on 2 cores: warm text query end to end (encode + search) p50 <= 15 ms on the default corpus;
IVF/HNSW p50 <= 5 ms at recall@10 >= 0.95 against exact search on 1,000,000 vectors.

Baselines measured in the same run: exact (flat) search for the ANN indexes, content-only search for
hybrid search, and the encode-only / search-only parts of a query.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

TYPES = ["jig", "reel", "hornpipe", "slow air", "polka", "waltz", "march", "love song", "lullaby", "ballad",
         "strathspey", "drinking song", "chorale", "dance tune"]
PLACES = ["Ireland", "Scotland", "Germany", "China", "Lorraine", "Poland", "England", "Austria"]
KEYS = ["D major", "G major", "A minor", "E minor", "F major", "B-flat major", "D dorian", "A mixolydian"]


def realistic_queries(count: int, seed: int = 0) -> list[str]:
    """Distinct queries of the kinds people type (type, key, place, meter, mood), shuffled."""
    shapes = [lambda t, k, p: f"a {t} in {k}", lambda t, k, p: f"a {t} from {p}",
              lambda t, k, p: f"{t} in {k} from {p}", lambda t, k, p: f"a lively {t} in six-eight time",
              lambda t, k, p: f"a slow sad {t} from {p} in {k}"]
    texts = list(dict.fromkeys(shape(t, k, p) for shape, t, k, p in itertools.product(shapes, TYPES, KEYS, PLACES)))
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.permutation(len(texts))[:count]]


def percentiles(times_ms: list[float] | np.ndarray) -> dict[str, float]:
    values = np.asarray(times_ms)
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p99_ms": round(float(np.percentile(values, 99)), 3),
            "mean_ms": round(float(values.mean()), 3), "n": int(len(values))}


def timed(function, items) -> list[float]:
    times = []
    for item in items:
        start = time.perf_counter()
        function(item)
        times.append((time.perf_counter() - start) * 1000)
    return times


def corpus_figures(args: argparse.Namespace) -> dict:
    import musicsearch as ms
    from musicsearch.evaluation import ann as search_eval
    from musicsearch.search import ann, hybrid
    model = _model(args.model)
    corpus = ms.load_corpus("music21", progress=False)
    if args.quick:
        corpus = corpus.sample(2000, seed=0)
    records = list(corpus)
    start = time.perf_counter()
    music = model.encode_music(records, progress=False)
    music_s = time.perf_counter() - start
    start = time.perf_counter()
    metadata = model.encode_text([hybrid.metadata_text(r) for r in records], progress=False)
    metadata_s = time.perf_counter() - start
    start = time.perf_counter()
    index = ms.SearchIndex.from_embeddings(music, records, model=model, metadata_vectors=metadata)
    faiss_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        index.save(Path(folder) / "index")
        save_s = time.perf_counter() - start
        start = time.perf_counter()
        ms.load_index(Path(folder) / "index", model=model)
        load_s = time.perf_counter() - start
    build = {"records": len(records), "music_encoding_s": round(music_s, 2), "tunes_per_s": round(len(records) / music_s),
             "metadata_encoding_s": round(metadata_s, 2), "faiss_flat_s": round(faiss_s, 3),
             "total_s": round(music_s + metadata_s + faiss_s, 2), "save_s": round(save_s, 3), "load_s": round(load_s, 3)}
    print("build:", build)

    # Warm model, cold text cache: point the embedding cache at an empty folder so no query is a cache hit.
    os.environ["MUSICSEARCH_HOME"] = tempfile.mkdtemp(prefix="musicsearch-bench-cache-")
    # Disjoint query sets, so no measurement profits from the text cache another one filled.
    pool = realistic_queries(3 * args.queries + 20)
    warmup, queries = pool[:20], pool[20:20 + args.queries]
    hybrid_queries, encode_queries = pool[20 + args.queries:20 + 2 * args.queries], pool[20 + 2 * args.queries:]
    for query in warmup:
        index.search(query, k=10, mode="hybrid")
    # Encoding is timed before anything else sees these queries: a second pass would be a text-cache hit.
    encode_only = percentiles(timed(lambda q: model.encode_text([q]), encode_queries))
    vectors = model.encode_text(encode_queries)
    latency = {
        "content_end_to_end": percentiles(timed(lambda q: index.search(q, k=10), queries)),
        "hybrid_end_to_end": percentiles(timed(lambda q: index.search(q, k=10, mode="hybrid"), hybrid_queries)),
        "encode_only": encode_only,
        "search_only_flat": percentiles(timed(lambda v: index.search_vectors(v[None, :], k=10), vectors)),
        "content_cached_text": percentiles(timed(lambda q: index.search(q, k=10), queries)),
    }
    latency["target_p50_ms"] = 15
    print("latency:", latency)

    # Approximate indexes on the real embeddings, with the real text queries.
    exact = search_eval.exact_neighbours(music, vectors, 10)
    real_ann = []
    for kind in ("ivf", "hnsw"):
        params = ann.ANNParams()
        built = ann.build_faiss(music, kind, params)
        real_ann.append(search_eval.measure_index(music, vectors, kind, params=params, exact_ids=exact, built=built))
        values = [4, 8, 16, 32, 64] if kind == "ivf" else [16, 32, 64, 128]
        real_ann[-1]["sweep"] = search_eval.sweep(built, kind, vectors, exact, values)
    print("ann on corpus embeddings:", [(r["kind"], r["recall"], r["p50_ms"]) for r in real_ann])
    return {"model": str(args.model or ms.default_model_dir()), "model_fingerprint": index.fingerprint,
            "dim": index.dim, "build": build, "latency": latency, "ann_on_corpus": real_ann,
            "hybrid": hybrid_figures(index, corpus, args)}


def hybrid_figures(index, corpus, args: argparse.Namespace) -> dict:
    """Tune fusion weights on a dev half of held-out-tune queries, report nDCG@10 on the other half."""
    from musicsearch.search import ann, hybrid
    _, heldout = corpus.split(holdout=0.1, seed=0)
    order = np.random.default_rng(0).permutation(len(heldout))
    dev_records = [heldout[int(i)] for i in order[: len(order) // 2]]
    test_records = [heldout[int(i)] for i in order[len(order) // 2:]]
    per_kind = 20 if args.quick else 60
    dev = hybrid.make_dev_queries(dev_records, pool=index.records, per_kind=per_kind, seed=0)
    test = hybrid.make_dev_queries(test_records, pool=index.records, per_kind=per_kind, seed=1)
    start = time.perf_counter()
    best, table = hybrid.tune_fusion_weights(index, dev, grid=(0.0, 0.25, 0.5, 1.0, 2.0))
    tune_s = time.perf_counter() - start
    vectors = ann.as_matrix(index.model.encode_text([q.text for q in test]))
    prepared = [hybrid.signals(index, q.text, v) for q, v in zip(test, vectors)]
    candidates = {"content only": hybrid.FusionWeights(1, 0, 0, 0), "tuned": best, "current default": hybrid.FusionWeights()}
    report = {}
    for kind in ("title", "composer", "type", "caption", "all"):
        rows = [i for i, q in enumerate(test) if kind in ("all", q.kind)]
        report[kind] = {"queries": len(rows), **{name: round(hybrid.mean_ndcg(
            index, [test[i] for i in rows], [prepared[i] for i in rows], weights), 4) for name, weights in candidates.items()}}
    result = {"dev_queries": len(dev), "test_queries": len(test), "grid_points": len(table), "tune_s": round(tune_s, 1),
              "best_weights": vars(best), "dev_top5": table[:5], "test_ndcg@10": report}
    print("hybrid:", {k: v for k, v in result.items() if k != "dev_top5"})
    return result


def synthetic_figures(args: argparse.Namespace, dim: int) -> dict:
    from musicsearch.evaluation import ann as search_eval
    from musicsearch.search import ann
    count = 100_000 if args.quick else args.count
    query_count = 200 if args.quick else 500
    start = time.perf_counter()
    data = search_eval.synthetic_embeddings(count + query_count, dim, seed=0)
    vectors, queries = data[:count], data[count:]
    generate_s = time.perf_counter() - start
    start = time.perf_counter()
    flat = ann.build_faiss(vectors, "flat")
    flat_build = time.perf_counter() - start
    start = time.perf_counter()
    _, exact = ann.search_faiss(flat, queries, 10)
    exact_batch_s = time.perf_counter() - start
    exact_latency = percentiles(search_eval.latency_ms(flat, queries[:50], 10, warmup=2))
    exact_figures = {"build_s": round(flat_build, 2), **exact_latency, "batch_ground_truth_s": round(exact_batch_s, 1),
                     "bytes_per_vector": round(ann.bytes_per_vector(flat), 1)}
    del flat
    gc.collect()
    print("exact:", exact_figures)
    result = {"count": count, "dim": dim, "queries": query_count, "generate_s": round(generate_s, 1),
              "data": "clustered synthetic embeddings (search_eval.synthetic_embeddings: count/1000 centres, "
                      "32-dim within-cluster variation, isotropic noise), queries drawn from the same distribution",
              "exact": exact_figures, "target_p50_ms": 5, "target_recall": 0.95}
    for kind, values in (("ivf", [8, 16, 32, 64, 128]), ("hnsw", [16, 32, 64, 128, 256])):
        params = ann.ANNParams()
        start = time.perf_counter()
        built = ann.build_faiss(vectors, kind, params)
        build_s = time.perf_counter() - start
        rows = search_eval.sweep(built, kind, queries, exact, values)
        chosen = search_eval.first_reaching(rows, 0.95)
        result[kind] = {"build_s": round(build_s, 1), "bytes_per_vector": round(ann.bytes_per_vector(built), 1),
                        "params": params.to_dict(), "sweep": rows, "chosen": chosen,
                        "p50_speedup_vs_exact": round(exact_latency["p50_ms"] / chosen["p50_ms"], 1) if chosen else None}
        print(f"{kind}: build {build_s:.1f}s, chosen {chosen}")
        del built
        gc.collect()
    return result


def _model(path):
    import musicsearch as ms

    if path == "tiny":  # an untrained tiny model: checks the script, not a figure to report
        import torch

        from musicsearch.models.model import MusicTextModel

        torch.manual_seed(0)
        return MusicTextModel("tiny")
    from musicsearch.models.loading import load_model

    return load_model(path or ms.default_model_dir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 tunes and 100,000 synthetic vectors")
    parser.add_argument("--model", default=None, help="model folder (default: the default model); 'tiny' = untrained")
    parser.add_argument("--count", type=int, default=1_000_000, help="synthetic vectors (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=300, help="timed text queries")
    parser.add_argument("--skip-corpus", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import faiss
    import torch

    results = {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
               "faiss_threads": faiss.omp_get_max_threads(), "load_average_at_start": list(os.getloadavg()),
               "quick": args.quick}
    dim = 256
    if not args.skip_corpus:
        results["corpus"] = corpus_figures(args)
        dim = results["corpus"]["dim"]
    if not args.skip_synthetic:
        results["synthetic"] = synthetic_figures(args, dim)
    results["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["load_average_at_end"] = list(os.getloadavg())
    from musicsearch.artifacts import write_json

    out = Path(__file__).parent / "results" / ("search-quick.json" if args.quick else "search.json")
    if out.is_file():  # a part skipped in this run keeps its figures from the previous run
        import json

        previous = json.loads(out.read_text())
        for part in ("corpus", "synthetic"):
            if part not in results and part in previous:
                results[part] = previous[part]
    write_json(out, results)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
