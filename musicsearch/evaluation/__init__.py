"""Evaluation: retrieval metrics, held-out retrieval, zero-shot and ANN evaluation.

One shape throughout: an evaluator takes what is measured (a model, or vectors and an index kind), the
data, then keyword-only options (``batch_size``, ``progress`` where it encodes), and returns plain data (a
JSON-ready dict, or dataclasses) that a ``format_*`` function turns into text: ``evaluate_retrieval`` →
``format_report``, ``evaluate_zero_shot`` → ``format_zero_shot_results``, ``measure_index`` / ``sweep`` →
``format_ann_results``. Plots of the results live in :mod:`musicsearch.viz`.
"""
