"""LLM result-page figures: nDCG@10 of the first stage against reranking, page latency, model load time.

Usage: python benchmarks/llm.py [--quick] [--model DIR | --index DIR | --keyword] [--threads N]
(writes benchmarks/results/llm.json, or llm-quick.json with --quick).

Queries are the project's own dev queries (``musicsearch.evaluation.retrieval.CATEGORY_QUERIES``: "a reel", "a slow air
in a minor key", ...), relevance from the tunes' metadata exactly as the model evaluation defines it
(``evaluate.matches``), over held-out tunes when a joint-space model is used. The first stage is that model's
index when one is given or ``make model`` built the default one; otherwise BM25 over metadata (no model),
labelled as such. Every configuration reranks the same first-stage top 20 (measured in the same run):

* first stage: the index's own order (the baseline every ratio is against);
* + rule filters: the page's query understanding without a model (filters from the query, matching hits first);
* pointwise, 20 prompts in one batched call and no generation: query likelihood (the default for local
  models: mean log P(query | tune)) alone, with the rule filters, and interpolated with the first-stage
  score (``first_stage_weight=1``); and yes/no (log P(Yes) vs P(No)) alone and with the rule filters;
* listwise: RankGPT permutation with parse-and-repair (on the first 4 queries with --quick, 8 otherwise:
  it generates ~100 tokens per query).

Latency: whole pages (rewrite, rerank of 20, snippets for 10, answer) with the default model, and the
rerank stage alone, each with 1 and 2 torch threads. Load: dequantising the GGUF versus the cached float32 copy.
The machine's load average is recorded: other processes on the 2 cores slow everything.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import time
from pathlib import Path

import numpy as np

K = 10
CANDIDATES = 20
# Configurations measured on every query (listwise on the first few only), in the order printed.
COLUMNS = ["first stage", "+ rule filters (no LLM)", "likelihood (default pointwise)", "likelihood + rule filters",
           "likelihood + first stage (w=1)", "yes/no", "yes/no + rule filters", "listwise", "listwise + rule filters"]
# Measured only when the first stage is an index with a hybrid mode.
HYBRID_NAMES = ["hybrid first stage (no LLM)", "hybrid + rule filters (no LLM)"]


def ndcg(ids: list[str], relevant: set[str], k: int = K) -> float:
    """Binary nDCG@k of a ranked id list against the set of all relevant ids in the pool."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gains = np.array([identifier in relevant for identifier in ids[:k]], dtype=float)
    ideal = discounts[:min(k, len(relevant))].sum()
    return float((gains * discounts[:len(gains)]).sum() / ideal) if ideal else 0.0


def first_stage(args: argparse.Namespace):
    """(search object, records in its pool, label)."""
    import musicsearch as ms
    from musicsearch.paths import default_index_dir

    if args.quick:
        corpus = ms.load_corpus("music21", collections=["ryansMammoth", "essenFolksong"], limit=300,
                                include_scores=False, progress=False)
    else:
        corpus = ms.load_corpus("music21", progress=False)
    if args.index or (not args.keyword and not args.model and ms.artifact_exists(default_index_dir(), "index")):
        index = ms.load_index(args.index)
        return index, list(index.records), f"joint-space index {args.index or default_index_dir()}"
    if args.model:
        from musicsearch.search.index import SearchIndex

        model = ms.load_model(args.model)
        heldout = list(corpus.split(**model.heldout_split)[1])
        started = time.perf_counter()
        index = SearchIndex.build(model, heldout, progress=False)
        print(f"built the index of {len(heldout)} held-out tunes in {time.perf_counter() - started:.1f} s")
        return index, heldout, f"joint-space model {args.model} (content search, held-out tunes)"
    records = list(corpus)
    return ms.KeywordSearch(records), records, "keyword: BM25 over metadata (no joint-space model available)"


def dev_queries(records: list) -> list[tuple[str, set[str]]]:
    from musicsearch.evaluation.retrieval import CATEGORY_QUERIES, MIN_RELEVANT, matches

    queries = []
    for query, conditions in CATEGORY_QUERIES:
        relevant = {record.id for record in records if matches(record, conditions)}
        if len(relevant) >= MIN_RELEVANT:
            queries.append((query, relevant))
    return queries


def boosted(order: list[int], hits: list, filters: dict) -> list[int]:
    """The page's rule-filter boost: hits matching more of the query's filters first, order kept within."""
    import musicsearch as ms

    matched = [sum(ms.match_filters(filters, hit).values()) for hit in hits]
    return sorted(order, key=lambda index: -matched[index])


def interpolated(scores: list[float], hits: list, weight: float) -> list[int]:
    """Model z-score plus ``weight`` times the first-stage z-score (what ``first_stage_weight`` does)."""
    def z(values):
        values = np.asarray(values, dtype=float)
        return (values - values.mean()) / values.std() if values.std() > 0 else np.zeros_like(values)

    combined = z(scores) + weight * z([hit.score for hit in hits])
    return sorted(range(len(hits)), key=lambda index: (-combined[index], index))


def load_times(threads: int | None) -> tuple[dict, object]:
    import musicsearch as ms
    from musicsearch.llm.backends.weights import _cache_key, default_gguf_path
    from musicsearch.paths import cache_dir

    cached = (cache_dir() / "llm" / _cache_key(default_gguf_path()) / "model.safetensors").is_file()
    times = {}
    started = time.perf_counter()
    ms.TransformersBackend(cache=False)
    times["gguf_dequantise_s"] = round(time.perf_counter() - started, 2)
    if not cached:
        started = time.perf_counter()
        ms.TransformersBackend()
        times["first_load_and_cache_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    backend = ms.TransformersBackend(threads=threads)
    times["cached_load_s"] = round(time.perf_counter() - started, 2)
    times["speedup"] = round(times["gguf_dequantise_s"] / max(times["cached_load_s"], 1e-6), 1)
    return times, backend


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a corpus slice and fewer listwise queries")
    parser.add_argument("--model", default=None, help="joint-space model folder: index its held-out tunes")
    parser.add_argument("--index", default=None, help="an index folder to use as the first stage")
    parser.add_argument("--keyword", action="store_true", help="force the BM25 first stage")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for the model (default: torch's)")
    return parser.parse_args()


def rerank_orders(query: str, hits: list, filters: dict, backend, with_listwise: bool, seconds: dict,
                  repairs: list) -> dict:
    """Every configuration's order of one query's first-stage hits (column name -> indices into ``hits``).

    Appends each reranker's seconds to ``seconds`` and the listwise repair notes to ``repairs``.
    """
    import musicsearch as ms

    identity = list(range(len(hits)))
    orders = {"first stage": identity, "+ rule filters (no LLM)": boosted(identity, hits, filters)}
    for method in ("likelihood", "yes_no"):
        started = time.perf_counter()
        result = ms.rerank_pointwise(query, hits, backend, method=method)
        seconds[method].append(time.perf_counter() - started)
        column = "likelihood (default pointwise)" if method == "likelihood" else "yes/no"
        orders[column] = result.order
        orders[f"{column.split(' (')[0]} + rule filters"] = boosted(result.order, hits, filters)
        if method == "likelihood":
            orders["likelihood + first stage (w=1)"] = interpolated(result.scores, hits, 1.0)
    if with_listwise:
        started = time.perf_counter()
        listwise = ms.rerank_listwise(query, hits, backend)
        seconds["listwise"].append(time.perf_counter() - started)
        orders["listwise"] = listwise.order
        orders["listwise + rule filters"] = boosted(listwise.order, hits, filters)
        repairs += listwise.notes
    return orders


def hybrid_scores(search, query: str, filters: dict, relevant: set[str]) -> dict:
    """nDCG of what build_search_page uses by default on an index: content fused with metadata (no LLM)."""
    if "mode" not in inspect.signature(search.search).parameters:
        return {}
    fused = search.search(query, k=CANDIDATES, mode="hybrid")
    return {"hybrid first stage (no LLM)": round(ndcg([hit.id for hit in fused], relevant), 4),
            "hybrid + rule filters (no LLM)": round(
                ndcg([fused[i].id for i in boosted(list(range(len(fused))), fused, filters)], relevant), 4)}


def ranking_rows(search, queries: list, backend, listwise_queries: int) -> tuple[list[dict], dict, list]:
    """Per-query nDCG@10 of every configuration, the rerank seconds by method, and the listwise repairs."""
    import musicsearch as ms

    rows, seconds, repairs = [], {"likelihood": [], "yes_no": [], "listwise": []}, []
    print("columns: " + " | ".join(COLUMNS))
    for number, (query, relevant) in enumerate(queries):
        hits = search.search(query, k=CANDIDATES)
        filters = ms.rewrite_query(query).filters
        orders = rerank_orders(query, hits, filters, backend, number < listwise_queries, seconds, repairs)
        row = {"query": query, "relevant": len(relevant),
               "recall@20": round(len({h.id for h in hits} & relevant) / min(len(relevant), CANDIDATES), 3)}
        row.update({name: round(ndcg([hits[i].id for i in order], relevant), 4) for name, order in orders.items()})
        row.update(hybrid_scores(search, query, filters, relevant))
        rows.append(row)
        print(f"  {query!r:36} " + " ".join(f"{row.get(name, float('nan')):.3f}" for name in COLUMNS), flush=True)
    return rows, seconds, repairs


def summarise(rows: list[dict], listwise_queries: int) -> tuple[dict, dict]:
    """Mean nDCG@10 per configuration, and each one's ratio to the first stage on the same queries."""
    def mean(name: str, subset: int | None = None) -> float:
        values = [row[name] for row in rows[:subset] if name in row]
        return round(float(np.mean(values)), 4) if values else float("nan")

    table = {name: mean(name) for name in COLUMNS + HYBRID_NAMES if any(name in row for row in rows)}
    table["first stage (listwise queries)"] = mean("first stage", listwise_queries)
    ratios = {name: round(table[name] / table["first stage"], 3) if table["first stage"] else None
              for name in table if name != "first stage"}
    for name in ("listwise", "listwise + rule filters"):
        ratios[name] = (round(table[name] / table["first stage (listwise queries)"], 3)
                        if table["first stage (listwise queries)"] else None)
    return table, ratios


def page_latency(search, queries: list, quick: bool) -> tuple[list, dict, dict]:
    """Whole pages and the rerank stage alone, with 1 and 2 torch threads (1 wins when other work shares the cores).

    Returns the pages, the median seconds of each page stage by thread count, and the median pointwise
    rerank seconds by thread count.
    """
    import musicsearch as ms

    pages, stages_by_threads, rerank_by_threads = [], {}, {}
    for count in (1, 2):
        timed = ms.TransformersBackend(threads=count)
        seconds, timed_pages = [], []
        for query, _ in queries[:3]:
            hits = search.search(query, k=CANDIDATES)
            started = time.perf_counter()
            ms.rerank_pointwise(query, hits, timed)
            seconds.append(time.perf_counter() - started)
        rerank_by_threads[f"{count} thread(s)"] = round(statistics.median(seconds), 3)
        for query, _ in queries[:2 if quick else 4]:
            hits = search.search(query, k=CANDIDATES)
            timed_pages.append(ms.build_search_page(query, hits, timed, k=K, candidates=CANDIDATES))
        stages_by_threads[f"{count} thread(s)"] = {
            stage: round(statistics.median(page.timings[stage] for page in timed_pages), 3)
            for stage in timed_pages[0].timings}
        pages += timed_pages
    return pages, stages_by_threads, rerank_by_threads


def page_behaviour(pages: list, repairs: list) -> dict:
    """How often the model's own snippets and answers made it onto the pages, and what listwise repaired."""
    snippet_share = float(np.mean([hit.snippet_source == "llm" for page in pages for hit in page.hits]))
    answer_share = float(np.mean([not page.answer.startswith("Top results:") for page in pages]))
    return {"snippets_from_model_share": round(snippet_share, 3),
            "answers_from_model_share": round(answer_share, 3),
            "listwise_repairs": sorted(set(note.split(": ", 1)[-1] for note in repairs))[:10],
            "answers": [page.answer for page in pages]}


def main() -> None:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    from musicsearch.artifacts import write_json

    load_before = os.getloadavg()
    search, records, label = first_stage(args)
    queries = dev_queries(records)
    print(f"first stage: {label}; {len(records)} tunes; {len(queries)} dev queries with >= 5 relevant tunes")
    load, backend = load_times(args.threads)
    print(f"model load: {load}")
    listwise_queries = 4 if args.quick else 8
    rows, rerank_seconds, repairs = ranking_rows(search, queries, backend, listwise_queries)
    table, ratios = summarise(rows, listwise_queries)
    pages, stages_by_threads, threads = page_latency(search, queries, args.quick)
    result = {
        "setup": {"first_stage": label, "tunes": len(records), "queries": len(queries), "k": K,
                  "candidates": CANDIDATES, "model": backend.name,
                  "torch_threads": args.threads or torch.get_num_threads(),
                  "cpu_count": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
                  "load_average_after": [round(x, 2) for x in os.getloadavg()], "quick": args.quick,
                  "listwise_queries": min(listwise_queries, len(queries))},
        "ndcg@10": table, "ratio_to_first_stage": ratios, "per_query": rows,
        "latency_s": {"page_stages_median_by_threads": stages_by_threads,
                      "rerank_top20_median": {name: round(statistics.median(v), 3) for name, v in rerank_seconds.items() if v},
                      "pointwise_rerank_by_threads": threads, "target_rerank_top20_s": 5.0},
        "model_load_s": load,
        "behaviour": page_behaviour(pages, repairs),
    }
    print("\nnDCG@10 (mean over dev queries)")
    for name, value in table.items():
        print(f"  {name:40} {value:.4f}  ratio {ratios.get(name, '-')}")
    print(f"latency: page stages {stages_by_threads}; rerank top-20 {result['latency_s']['rerank_top20_median']}; "
          f"pointwise by threads {threads}")
    out = Path(__file__).resolve().parent / "results" / ("llm-quick.json" if args.quick else "llm.json")
    write_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
