"""ANN evaluation: measuring an index kind against exact search, the sweep, and their text form."""

from __future__ import annotations

import musicsearch as ms
from musicsearch.evaluation.ann import exact_neighbours, first_reaching, format_ann_results, sweep
from musicsearch.search import ann


def test_measure_and_sweep_rows_print_as_one_table():
    vectors = ms.synthetic_embeddings(1500, 16, seed=1)
    queries = vectors[:40]
    measured = ms.measure_index(vectors, queries, "hnsw", k=10)
    assert 0 <= measured["recall"] <= 1 and measured["count"] == 1500
    exact = exact_neighbours(vectors, queries, 10)
    rows = sweep(ann.build_faiss(vectors, "ivf"), "ivf", queries, exact, [1, 64])
    assert rows[-1]["recall"] >= rows[0]["recall"] and first_reaching(rows, 0.0) in rows
    table = format_ann_results([measured, *rows]).splitlines()
    assert table[0] == "| kind | value | recall@k | p50 ms | p99 ms | build s | bytes/vector |"
    assert len(table) == 2 + 3 and table[2].startswith("| hnsw |  |") and table[3].startswith("| ivf | 1 |")
    assert ms.format_ann_results([]).count("\n") == 1  # the header alone
