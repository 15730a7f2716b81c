"""Honest metrics: non-finite embeddings are refused, every metric is range-checked, ties are averaged."""

from __future__ import annotations

import numpy as np
import pytest

from musicsearch.data.corpus import Corpus
from musicsearch.evaluation.ann import measure_index, synthetic_embeddings
from musicsearch.evaluation.checks import EvaluationError, NonFiniteValues, check_metric, check_metrics
from musicsearch.evaluation.metrics import ndcg_at_k, own_item_metrics, own_item_ranks
from musicsearch.evaluation.retrieval import caption_retrieval, evaluate_retrieval
from musicsearch.evaluation.zeroshot import evaluate_zero_shot
from musicsearch.search.ann import ANNParams
from tests.helpers.model import tiny_corpus
from tests.helpers.search import FakeModel, make_many_records


class _NaNModel(FakeModel):
    """What a diverged model does: every embedding is NaN (optionally only on one side)."""

    def __init__(self, music: bool = True, text: bool = True) -> None:
        super().__init__()
        self.nan_music, self.nan_text = music, text

    def encode_music(self, items, **options):
        vectors = super().encode_music(items, **options)
        return np.full_like(vectors, np.nan) if self.nan_music else vectors

    def encode_text(self, texts, **options):
        vectors = super().encode_text(texts, **options)
        return np.full_like(vectors, np.nan) if self.nan_text else vectors


class _ConstantModel(FakeModel):
    """Embeds everything to the same vector: every score ties, so no tune can rank better than chance."""

    def encode_music(self, items, **options):
        return np.ones((len(list(items)), self.dim), np.float32) / np.sqrt(self.dim)

    def encode_text(self, texts, **options):
        texts = [texts] if isinstance(texts, str) else list(texts)
        return np.ones((len(texts), self.dim), np.float32) / np.sqrt(self.dim)


def test_nan_similarities_are_refused_not_ranked_first():
    scores = np.full((4, 4), np.nan)
    with pytest.raises(NonFiniteValues, match="similarity scores hold non-finite values .* 4 of 4 rows"):
        own_item_metrics(scores)
    partly = np.eye(3)
    partly[1, 2] = np.inf
    with pytest.raises(NonFiniteValues, match="1 of 3 rows .*row 1"):
        own_item_ranks(partly)
    with pytest.raises(NonFiniteValues, match="document scores"):
        ndcg_at_k(np.array([np.nan, 1.0]), np.array([True, False]))


def test_ranks_average_ties_and_stay_within_the_documents():
    ranks = own_item_ranks(np.array([[1.0, 1.0, 0.0], [2.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    # Query 0 ties one other document (rank 1.5); query 1 has one better, one tied (2.5); query 2 ties all.
    np.testing.assert_array_equal(ranks, [1.5, 2.5, 2.0])
    assert ((ranks >= 1) & (ranks <= 3)).all()


@pytest.mark.parametrize(("name", "value"), [("mrr", 2.0), ("hit@1", -0.1), ("ndcg@10", 1.5), ("median_rank", 0.5),
                                             ("macro_f1", 1.01), ("accuracy", float("nan")), ("recall", 2),
                                             ("mrr", float("inf")), ("p50_ms", float("nan"))])
def test_impossible_metric_values_are_errors(name, value):
    with pytest.raises(EvaluationError, match=f"where: {name} = .* is impossible"):
        check_metric(name, value, where="where")


def test_possible_metric_values_pass_unchanged():
    metrics = {"mrr": 1.0, "hit@10": 0.0, "ndcg@10 (model)": 0.5, "median_rank": 1.0, "macro_f1": 0.3,
               "tunes": 12, "corpus": "small", "ndcg@10_mean": None}
    assert check_metrics(metrics) == metrics


def test_retrieval_refuses_a_nan_model_naming_the_embeddings():
    corpus = tiny_corpus()
    with pytest.raises(NonFiniteValues, match=r"music embeddings of the evaluated tunes .* 48 of 48 rows "
                                              r"\(first: 'ryansMammoth/reel0.abc'\).*lower learning rate"):
        evaluate_retrieval(_NaNModel(), corpus)
    with pytest.raises(NonFiniteValues, match="text embeddings of the query captions"):
        evaluate_retrieval(_NaNModel(music=False), corpus)
    with pytest.raises(NonFiniteValues, match="music embeddings"):
        caption_retrieval(_NaNModel(), list(corpus)[:8])


def test_per_collection_mrr_of_a_constant_model_is_not_perfect():
    report = evaluate_retrieval(_ConstantModel(), tiny_corpus())
    caption = report["caption_retrieval"]["model"]
    assert caption["median_rank"] == pytest.approx((48 + 1) / 2)  # every tune ties with all 47 others
    assert report["caption_retrieval_by_collection"]
    for row in report["caption_retrieval_by_collection"].values():
        assert row["mrr"] == pytest.approx(caption["mrr"])  # the same averaged ties, not rank 1


def test_zero_shot_refuses_nan_embeddings_on_either_side():
    corpus = Corpus(make_many_records(280), "many")
    with pytest.raises(NonFiniteValues, match="music embeddings of the zero-shot tunes"):
        evaluate_zero_shot(_NaNModel(), corpus, tasks=("meter",), min_count=5)
    with pytest.raises(NonFiniteValues, match="text embeddings of the meter labels"):
        evaluate_zero_shot(_NaNModel(music=False), corpus, tasks=("meter",), min_count=5)


def test_ann_measurement_refuses_nan_vectors():
    vectors = synthetic_embeddings(300, 16, seed=0)
    vectors[7, 3] = np.nan
    with pytest.raises(NonFiniteValues, match="indexed vectors .* 1 of 300 rows .*row 7"):
        measure_index(vectors, vectors[:5], "flat", k=5, params=ANNParams())
