"""The static (model2vec) text tower against MiniLM: held-out retrieval and query-encoding latency, same run.

Two models trained with the same settings (the quick preset's), differing only in the text tower:

* MiniLM: the default quick model (``--minilm``, default ``MUSICSEARCH_HOME/models/default``);
* static: a ``quick-static`` model (``--static``), trained with the distilled table it is queried with.

Both are evaluated on the held-out tunes of the current music21 corpus (``evaluate_retrieval``: caption MRR,
Hit@k, category nDCG@10), and their query encoding is timed at batch 1 on 200 distinct realistic queries
(``benchmarks/search.py``'s generator; never seen before, so MiniLM's text cache cannot answer), the two
models interleaved query by query so load changes hit both alike. The static tower is also timed through
NumPy alone (``StaticQueryEncoder``: table lookup + projection, no torch), the path a search without
PyTorch takes.

Decision rule (issue 16): the static tower becomes the default only if it loses <= 0.01 held-out MRR.

Usage: ``python benchmarks/static_text.py --static DIR [--minilm DIR] [--queries 200]``;
writes ``benchmarks/results/static_text.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see musicsearch/__init__.py
os.environ.setdefault("HF_HUB_OFFLINE", "1")


sys.path.insert(0, str(Path(__file__).parent))
from search import percentiles, realistic_queries  # noqa: E402  (the project's query generator and percentiles)

MAX_MRR_LOSS = 0.01  # the rule for making the static tower the default


def _figures(report: dict) -> dict:
    caption = report["caption_retrieval"]["model"]
    return {"mrr": round(caption["mrr"], 4), "hit@1": round(caption["hit@1"], 4), "hit@10": round(caption["hit@10"], 4),
            "median_rank": caption["median_rank"],
            "category_ndcg@10": round(report["category_retrieval"]["ndcg@10_mean"]["model"], 4),
            "tunes": report["tunes"]}


def _latency(minilm, static, numpy_static, warmup: list[str], queries: list[str], threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    paths = {"minilm": lambda q: minilm.encode_text([q]), "static": lambda q: static.encode_text([q]),
             "static_numpy": lambda q: numpy_static.encode_text([q])}
    for query in warmup:  # first calls load caches and allocate; never the measured queries (cache hits)
        for encode in paths.values():
            encode(query)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for query in queries:
        for name, encode in paths.items():
            start = time.perf_counter()
            encode(query)
            times[name].append((time.perf_counter() - start) * 1000)
    figures = {name: percentiles(values) for name, values in times.items()}
    figures["speedup_p50_static_vs_minilm"] = round(figures["minilm"]["p50_ms"] / figures["static"]["p50_ms"], 1)
    figures["speedup_p50_static_numpy_vs_minilm"] = round(
        figures["minilm"]["p50_ms"] / figures["static_numpy"]["p50_ms"], 1)
    return figures


def _agreement(static, numpy_static, queries: list[str]) -> float:
    # The NumPy path must give the model's own vectors (same table, same projection).
    expected, numpy_vectors = static.encode_text(queries), numpy_static.encode_text(queries)
    return round(float((expected * numpy_vectors).sum(axis=1).min()), 6)


def main() -> None:
    import torch

    import musicsearch as ms
    from musicsearch.artifacts import write_json
    from musicsearch.evaluation.retrieval import evaluate_retrieval
    from musicsearch.models.loading import load_model
    from musicsearch.models.static_text import StaticQueryEncoder
    from musicsearch.paths import models_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--static", required=True, help="folder of a model trained with --preset quick-static")
    parser.add_argument("--minilm", default=str(models_dir() / "default"), help="the MiniLM quick model")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "static_text.json"))
    args = parser.parse_args()

    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
                     "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    minilm, static = load_model(args.minilm), load_model(args.static)
    started = time.perf_counter()
    numpy_static = StaticQueryEncoder.from_pretrained(args.static)  # the no-torch query path
    results["static_numpy_open_s"] = round(time.perf_counter() - started, 3)
    corpus = ms.load_corpus("music21", progress=False)
    results["corpus_fingerprint"] = corpus.fingerprint
    heldout = {}
    for name, model, folder in (("minilm", minilm, args.minilm), ("static", static, args.static)):
        started = time.perf_counter()
        heldout[name] = {**_figures(evaluate_retrieval(model, corpus)), "model": folder,
                         "text_model": model.config.text_model, "preset": model.config.preset,
                         "fingerprint": model.fingerprint, "evaluate_s": round(time.perf_counter() - started, 1),
                         "trained_on": _trained_on(folder)}
    delta = {key: round(heldout["static"][key] - heldout["minilm"][key], 4)
             for key in ("mrr", "hit@1", "hit@10", "category_ndcg@10")}
    results["heldout"] = {**heldout, "static_minus_minilm": delta}
    # Distinct queries for each thread count: a query MiniLM has seen is answered from its in-memory cache.
    pool, count = realistic_queries(2 * args.queries + 40, seed=7), args.queries
    results["query_encoding_batch1"] = {
        f"{threads}_threads": _latency(minilm, static, numpy_static, pool[20 * part:20 * part + 20],
                                       pool[40 + count * part:40 + count * (part + 1)], threads)
        for part, threads in enumerate((1, 2))}
    results["static_numpy_vs_model_min_cosine"] = _agreement(static, numpy_static, pool[:50])
    loses = -delta["mrr"]
    results["decision"] = (
        f"static tower loses {loses:.3f} held-out MRR (rule: default only if <= {MAX_MRR_LOSS}): "
        + ("make it the default" if loses <= MAX_MRR_LOSS else "keep it a preset (quick-static), not the default"))
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_json(args.out, results)
    print(f"held-out MRR minilm {heldout['minilm']['mrr']} static {heldout['static']['mrr']} (delta {delta['mrr']}); "
          f"category nDCG@10 {heldout['minilm']['category_ndcg@10']} vs {heldout['static']['category_ndcg@10']}")
    for threads, figures in results["query_encoding_batch1"].items():
        print(f"{threads}: p50 minilm {figures['minilm']['p50_ms']} ms, static {figures['static']['p50_ms']} ms, "
              f"static numpy {figures['static_numpy']['p50_ms']} ms")
    print(results["decision"])
    print(f"wrote {args.out}")


def _trained_on(folder: str) -> dict:
    # Which corpus build and how long: a model trained on an older corpus build is flagged, not hidden.
    from musicsearch.artifacts import read_json, resolve_version

    config = read_json(resolve_version(folder, "model") / "config.json")
    training = config.get("training", {})
    return {"corpus_fingerprint": config.get("corpus_fingerprint"), "wall_time_s": training.get("wall_time_s"),
            "steps": training.get("steps")}


if __name__ == "__main__":
    main()
