"""Zero-shot classification: classifier weights, predictions, templates, and the evaluation against baselines."""

from __future__ import annotations

import numpy as np
import pytest

import musicsearch as ms
from musicsearch.data.corpus import Corpus
from musicsearch.evaluation.zeroshot import METHODS
from musicsearch.zeroshot.templates import PROMPT_TEMPLATES, apply_template, describe_templates
from tests.helpers.search import FakeModel, make_many_records, make_records


@pytest.fixture(scope="module")
def model():
    return FakeModel()


def test_weights_are_normalised_means_of_template_embeddings(model):
    labels, templates = ["jig", "reel", "waltz"], ["a {}", "{} music", lambda label: f"dance a {label}"]
    weights = ms.build_zero_shot_classifier(model, labels, templates)
    assert weights.shape == (model.dim, 3) and weights.dtype == np.float32
    assert np.allclose(np.linalg.norm(weights, axis=0), 1, atol=1e-5)
    manual = model.encode_text(["a reel", "reel music", "dance a reel"]).mean(axis=0)
    assert np.allclose(weights[:, 1], manual / np.linalg.norm(manual), atol=1e-5)


def test_predicts_the_tune_type_the_encoder_hears(model):
    records = [r for r in make_records() if r.metadata["meter"] in ("6/8", "4/4", "3/4")]
    truth = {"6/8": "jig", "4/4": "reel", "3/4": "waltz"}
    classifier = ms.ZeroShotClassifier(model, ["jig", "reel", "waltz"], ["a {}", "a {} tune"])
    predicted = classifier.predict(records)
    accuracy = np.mean([p == truth[r.metadata["meter"]] for p, r in zip(predicted, records)])
    assert accuracy >= 0.9


def test_predict_proba_and_input_forms(model):
    records = make_records()
    classifier = ms.ZeroShotClassifier(model, "jig, reel ,waltz")
    assert classifier.labels == ["jig", "reel", "waltz"]
    probabilities = classifier.predict_proba(records)
    assert probabilities.shape == (len(records), 3)
    assert np.allclose(probabilities.sum(axis=1), 1) and (probabilities >= 0).all()
    assert classifier.predict(records) == [classifier.labels[i] for i in probabilities.argmax(axis=1)]
    embeddings = model.encode_music(records)
    assert classifier.predict(embeddings) == classifier.predict(Corpus(records))
    assert classifier.predict(records[0]) == classifier.predict(records[0].abc) == classifier.predict(embeddings[0])
    assert classifier.predict_proba([]).shape == (0, 3)
    with pytest.raises(ms.QueryError, match="dimension"):
        classifier.predict(np.ones((2, 5), np.float32))


@pytest.mark.parametrize("labels, message", [(["jig"], "at least two"), (["jig", ""], "at least two"),
                                             (["jig", "jig"], "distinct"), ("", "at least two")])
def test_bad_labels(model, labels, message):
    with pytest.raises(ms.QueryError, match=message):
        ms.ZeroShotClassifier(model, labels)


@pytest.mark.parametrize("templates, message", [(["no placeholder"], "exactly once"), (["{} and {}"], "exactly once"),
                                                ([], "no templates"), ([3], "string or a callable")])
def test_bad_templates(model, templates, message):
    with pytest.raises(ms.QueryError, match=message):
        ms.ZeroShotClassifier(model, ["jig", "reel"], templates)


def test_prompt_templates_are_data_that_format_every_task():
    for task, templates in PROMPT_TEMPLATES.items():
        assert len(templates) >= 2, task
        for template in templates:
            text = apply_template(template, "6/8" if task == "meter" else "reel")
            assert text.strip() and "{}" not in text
    assert apply_template(PROMPT_TEMPLATES["meter"][0], "6/8") == "in six-eight time"
    assert describe_templates(["a {}"]) == ["a {label}"]


def test_task_templates_are_the_default_for_a_task(model):
    classifier = ms.ZeroShotClassifier(model, ["major", "minor"], task="mode")
    assert classifier.templates == PROMPT_TEMPLATES["mode"]


def test_evaluation_reports_every_method_against_the_baselines(model):
    corpus = Corpus(make_many_records(280), "many")
    results = ms.evaluate_zero_shot(model, corpus, tasks=("tune_type", "meter", "origin"), min_count=5)
    assert set(results) == {"tune_type", "meter", "origin"}
    meter = results["meter"]
    assert set(meter.scores) == set(METHODS)
    for scores in meter.scores.values():
        assert 0 <= scores["accuracy"] <= 1 and 0 <= scores["macro_f1"] <= 1
    assert meter.scores["linear probe"]["accuracy"] >= meter.scores["majority"]["accuracy"]
    # The fake encoder hears the meter, so zero-shot on meter beats always guessing the majority.
    assert meter.scores["zero-shot (ensemble)"]["macro_f1"] > meter.scores["majority"]["macro_f1"]
    matrix = np.array(meter.confusion)
    assert matrix.shape == (len(meter.labels),) * 2 and matrix.sum() == meter.n_test
    table = ms.format_zero_shot_results(results)
    assert table.count("\n") == 1 + len(results) and "linear probe" in table


def test_evaluation_rejects_unknown_tasks(model):
    with pytest.raises(ValueError, match="unknown task"):
        ms.evaluate_zero_shot(model, Corpus(make_records()), tasks=("tempo",))
    with pytest.raises(ms.QueryError, match="unknown task"):
        ms.evaluate_zero_shot(model, Corpus(make_records()), tasks=("tempo",))


def test_evaluation_holds_out_the_split_the_model_was_trained_without():
    corpus = Corpus(make_many_records(280), "many")
    default = FakeModel()
    trained = FakeModel()
    trained.heldout_split = {"holdout": 0.3, "seed": 1}  # as MusicTextModel.heldout_split gives it
    expected = len(corpus.split(holdout=0.3, seed=1)[1])
    assert len(corpus.split(holdout=0.1, seed=0)[1]) != expected
    for model, holdout, seed in ((trained, None, None), (default, 0.3, 1)):
        results = ms.evaluate_zero_shot(model, corpus, tasks=("meter",), min_count=5, holdout=holdout, seed=seed)
        assert results["meter"].n_test == expected  # every held-out tune has a meter among the classes


@pytest.mark.slow
def test_real_tiny_model_zero_shot(small_corpus):
    import torch

    from musicsearch.models.model import MusicTextModel

    corpus = small_corpus

    torch.manual_seed(0)
    model = MusicTextModel("tiny")
    classifier = ms.ZeroShotClassifier(model, ["jig", "reel", "hornpipe"], task="tune_type")
    probabilities = classifier.predict_proba(corpus)
    assert probabilities.shape == (len(corpus), 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    results = ms.evaluate_zero_shot(model, corpus, tasks=("meter", "mode"), min_count=2)
    assert all(set(result.scores) == set(METHODS) for result in results.values())


def test_template_comparison_and_heldout_examples(model):
    corpus = Corpus(make_many_records(280), "many")
    tunes, truth = ms.heldout_examples(corpus, "meter", ["6/8", "4/4", "3/4"])
    assert tunes and set(truth) <= {"6/8", "4/4", "3/4"} and len(tunes) == len(truth)
    words = {"6/8": "jig", "4/4": "reel", "3/4": "waltz"}
    rows = ms.compare_templates(model, tunes, [words[t] for t in truth], ["jig", "reel", "waltz"], ["a {}", "{}"])
    assert [row["template"] for row in rows] == ["a {label}", "{label}", "ensemble (all templates)"]
    assert all(0 <= row["accuracy"] <= 1 for row in rows)
