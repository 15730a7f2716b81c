"""Evaluation: retrieval metrics, held-out retrieval, zero-shot and ANN evaluation.
"""
