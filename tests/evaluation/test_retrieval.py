"""Evaluation: metrics, BM25, category queries and the JSON report, with a fake and a tiny model."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from musicsearch.data.texts import query_caption
from musicsearch.evaluation.metrics import (
    bootstrap_interval,
    ndcg_at_k,
    own_item_metrics,
    random_metrics,
    random_ndcg,
)
from musicsearch.evaluation.retrieval import CATEGORY_QUERIES, evaluate_retrieval, format_report, matches
from musicsearch.search.keywords import KeywordIndex
from tests.helpers.model import tiny_corpus


class _Oracle:
    """Embeds a tune and its own query caption to the same random vector: perfect caption retrieval."""

    dim = 16

    def _vector(self, key: str) -> np.ndarray:
        seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
        vector = np.random.default_rng(seed).normal(size=self.dim).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def encode_music(self, records, **_):
        return np.stack([self._vector(query_caption(record)) for record in records])

    def encode_text(self, texts, **_):
        return np.stack([self._vector(text) for text in ([texts] if isinstance(texts, str) else texts)])


def test_metrics_on_known_rankings():
    assert own_item_metrics(np.eye(4))["mrr"] == 1.0
    reversed_scores = -np.eye(3)  # own item always last
    metrics = own_item_metrics(reversed_scores, ks=(1, 3))
    assert metrics["hit@1"] == 0 and metrics["hit@3"] == 1 and metrics["mrr"] == pytest.approx(1 / 3)
    constant = own_item_metrics(np.zeros((101, 101)), ks=(1,))
    assert constant["median_rank"] == pytest.approx(51)  # ties cost the expected random rank
    assert random_metrics(10, ks=(1, 10))["hit@10"] == 1.0
    assert ndcg_at_k(np.array([1.0, 0.0]), np.array([True, False])) == 1.0
    assert ndcg_at_k(np.array([0.0, 1.0]), np.array([True, False]), k=1) == 0.0
    assert 0 < random_ndcg(5, 100) < 0.1


def test_bm25_prefers_matching_documents():
    bm25 = KeywordIndex(["a slow air in A minor", "a fast reel in D", "a jig"])
    scores = bm25.bm25_matrix(["slow air minor", "reel"])
    assert scores.shape == (2, 3) and scores[0].argmax() == 0 and scores[1].argmax() == 1
    assert bm25.bm25("nothing matches").sum() == 0


def test_bm25_baseline_is_the_search_layers_bm25(monkeypatch):
    corpus = tiny_corpus()
    documents = []
    real = KeywordIndex.__init__

    def spy(self, docs, **options):
        documents.append(list(docs))
        real(self, docs, **options)

    monkeypatch.setattr(KeywordIndex, "__init__", spy)
    report = evaluate_retrieval(_Oracle(), corpus, heldout_only=False)
    assert documents == [[" ".join(record.captions) for record in corpus if query_caption(record)]]
    queries = [query_caption(record) for record in corpus if query_caption(record)]
    expected = own_item_metrics(KeywordIndex(documents[0]).bm25_matrix(queries))
    assert report["caption_retrieval"]["bm25"] == expected


def test_report_with_oracle_and_random_baselines():
    corpus = tiny_corpus()
    report = evaluate_retrieval(_Oracle(), corpus, heldout_only=False)
    caption = report["caption_retrieval"]
    assert caption["model"]["mrr"] > caption["random"]["mrr"]
    assert set(caption) == {"model", "bm25", "random"}
    assert report["tunes"] == len(corpus)
    json.dumps(report)  # JSON-ready
    assert "bm25" in format_report(report)
    queries = {row["query"] for row in report["category_retrieval"]["queries"]}
    assert "a reel" in queries and "a jig in six-eight" in queries
    category = report["category_retrieval"]
    low, high = category["ndcg@10_interval95"]
    assert low <= category["ndcg@10_mean"]["model"] <= high
    assert (low, high) == pytest.approx(bootstrap_interval([row["model"] for row in category["queries"]]), abs=1e-4)


def test_bootstrap_interval_of_a_mean():
    assert bootstrap_interval([0.7, 0.7, 0.7]) == pytest.approx((0.7, 0.7))  # no spread, no width
    spread = [0.0, 1.0] * 8
    low, high = bootstrap_interval(spread)
    assert low < 0.5 < high and high - low > 0.3  # 16 queries of 0 or 1: the mean is far from pinned
    assert bootstrap_interval(spread) == (low, high)  # seeded
    narrow = bootstrap_interval(spread * 25)  # more queries, narrower
    assert narrow[1] - narrow[0] < (high - low) / 3
    with pytest.raises(ValueError, match="at least one value"):
        bootstrap_interval([])
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval([0.5], level=95)
    with pytest.raises(Exception, match="per-query figures"):
        bootstrap_interval([0.5, float("nan")])


def test_category_conditions_read_metadata():
    corpus = tiny_corpus()
    reels = [record for record in corpus if matches(record, {"tune_type": "reel"})]
    assert reels and all(record.tune_type == "reel" for record in reels)
    assert all(isinstance(query, str) and conditions for query, conditions in CATEGORY_QUERIES)


def test_a_meter_condition_counts_common_and_cut_time_as_their_signatures():
    from musicsearch.data.corpus import Record
    from musicsearch.evaluation.zeroshot import TASKS

    def tune(meter: str) -> Record:
        return Record(id=meter, source="t", ref=None, collection="c", abc=f"M:{meter}\nK:D\nd2f|",
                      metadata={"meter": meter})

    assert matches(tune("C"), {"meter": "4/4"}) and matches(tune("4/4"), {"meter": "C"})
    assert matches(tune("C|"), {"meter": ("2/2", "6/8")})
    assert not matches(tune("C|"), {"meter": "4/4"}) and not matches(tune("6/8"), {"meter": "4/4"})
    # zero-shot's meter task: one class for both spellings, not a tune left out
    assert [TASKS["meter"](tune(meter)) for meter in ("C", "4/4", "C|", "none")] == ["4/4", "4/4", "2/2", None]
