"""How good is zero-shot classification? Held-out tunes, four tasks, against two honest references.

For each task (tune type, origin, mode, meter) the labels are read from the tunes' metadata and notes
(:mod:`musicsearch.data.features`); the classes are the most frequent ones in the training split. On the
held-out split we report accuracy and macro-F1 of

- ``majority``: always the most frequent training class (the floor);
- ``zero-shot (1 template)``: the task's first template only;
- ``zero-shot (ensemble)``: all templates of the task averaged (prompt ensembling);
- ``linear probe``: scikit-learn logistic regression trained on the same music embeddings of the
  training split (the supervised reference zero-shot is measured against).

Example:
    >>> results = evaluate_zero_shot(model, corpus)  # doctest: +SKIP
    >>> print(format_zero_shot_results(results))  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import features
from ..errors import QueryError
from ..zeroshot.classifier import ZeroShotClassifier
from ..zeroshot.templates import templates_for
from .checks import check_metrics, require_finite

METHODS = ("majority", "zero-shot (1 template)", "zero-shot (ensemble)", "linear probe")


def _meter_label(record: Any) -> str | None:
    # "C" and "C|" are 4/4 and 2/2 written another way: the same class (the notes cannot tell them apart)
    match = re.search(r"(\d+)/(\d+)", features.meter_signature(features.record_meter(record.metadata, record.abc)))
    return f"{match.group(1)}/{match.group(2)}" if match else None


# Task name -> function reading the true label of a record (None = unlabelled, left out).
TASKS: dict[str, Callable[[Any], str | None]] = {
    "tune_type": lambda record: features.tune_type(record.metadata),
    "origin": lambda record: features.origin_country(record.metadata, record.collection),
    "mode": lambda record: features.music_features(record.abc, record.metadata)["mode"],
    "meter": _meter_label,
}


@dataclass
class TaskResult:
    """Scores of every method on one task."""

    task: str
    labels: list[str]  # the classes, most frequent first
    n_train: int
    n_test: int
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # method -> {"accuracy", "macro_f1"}
    confusion: list[list[int]] = field(default_factory=list)  # zero-shot (ensemble), rows true, columns predicted
    confusion_probe: list[list[int]] = field(default_factory=list)


def evaluate_zero_shot(model: Any, corpus: Sequence[Any], *, tasks: Sequence[str] = tuple(TASKS),
                       holdout: float | None = None, seed: int | None = None, min_count: int = 10,
                       max_classes: int = 8, max_train: int = 4000, max_test: int = 2000, batch_size: int = 64,
                       progress: bool = False) -> dict[str, TaskResult]:
    """Zero-shot vs majority vs linear probe on held-out tunes, per task.

    Args:
        model: the joint model (``encode_text``, ``encode_music``, ideally ``heldout_split``).
        corpus: a :class:`Corpus`; split by tune with ``corpus.split(holdout, seed)``.
        tasks: names from :data:`TASKS`.
        holdout, seed: the split; ``None`` takes the model's ``heldout_split`` (the tunes its training held
            out, as :func:`~musicsearch.evaluation.retrieval.evaluate_retrieval` does, so the test tunes
            were never trained on), else 0.1 and 0. ``seed`` also seeds the subsamples and the probe.
        min_count: a class needs this many training tunes; max_classes: keep the most frequent ones.
        max_train, max_test: subsample sizes (seeded), to keep the encoding time bounded.
        batch_size, progress: encoding options.

    Returns:
        ``{task: TaskResult}``; a task with fewer than two classes is left out.

    Raises:
        QueryError: a task name not in :data:`TASKS`.
        NonFiniteValues: the model's music or text embeddings hold NaN or infinity; nothing is reported.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    unknown = [task for task in tasks if task not in TASKS]
    if unknown:
        raise QueryError(f"unknown task(s) {unknown}; choose from {list(TASKS)}.")
    trained = getattr(model, "heldout_split", None) or {}
    holdout = holdout if holdout is not None else trained.get("holdout", 0.1)
    seed = seed if seed is not None else trained.get("seed", 0)
    train, test = corpus.split(holdout=holdout, seed=seed)
    rng = np.random.default_rng(seed)
    train = [train[i] for i in sorted(rng.permutation(len(train))[:max_train])]
    test = [test[i] for i in sorted(rng.permutation(len(test))[:max_test])]
    embeddings = require_finite(
        np.asarray(model.encode_music(train + test, batch_size=batch_size, progress=progress), dtype=np.float32),
        "the model's music embeddings of the zero-shot tunes", labels=[record.id for record in train + test])
    train_x, test_x = embeddings[:len(train)], embeddings[len(train):]
    results = {}
    for task in tasks:
        train_y = [TASKS[task](record) for record in train]
        test_y = [TASKS[task](record) for record in test]
        counts = Counter(label for label in train_y if label)
        labels = [label for label, count in counts.most_common(max_classes) if count >= min_count]
        train_rows = [i for i, label in enumerate(train_y) if label in labels]
        test_rows = [i for i, label in enumerate(test_y) if label in labels]
        if len(labels) < 2 or not test_rows:
            continue
        truth = [test_y[i] for i in test_rows]
        predictions = {"majority": [labels[0]] * len(truth)}
        templates = templates_for(task)
        for name, chosen in (("zero-shot (1 template)", templates[:1]), ("zero-shot (ensemble)", templates)):
            predictions[name] = _classifier(model, labels, chosen, f"the {task} labels").predict(test_x[test_rows])
        predictions["linear probe"] = _linear_probe(train_x[train_rows], [train_y[i] for i in train_rows],
                                                    test_x[test_rows], seed)
        result = TaskResult(task, labels, len(train_rows), len(test_rows))
        for method in METHODS:
            result.scores[method] = dict(check_metrics({
                "accuracy": float(accuracy_score(truth, predictions[method])),
                "macro_f1": float(f1_score(truth, predictions[method], labels=labels, average="macro",
                                           zero_division=0))}, where=f"zero-shot {task} ({method})"))
        result.confusion = confusion_matrix(truth, predictions["zero-shot (ensemble)"], labels=labels).tolist()
        result.confusion_probe = confusion_matrix(truth, predictions["linear probe"], labels=labels).tolist()
        results[task] = result
    return results


def _classifier(model: Any, labels: Sequence[str], templates: Sequence[Any], what: str) -> ZeroShotClassifier:
    # The classifier's weights are text embeddings of labels x templates: a NaN text side predicts nonsense.
    classifier = ZeroShotClassifier(model, labels, templates)
    require_finite(classifier.weights, f"the model's text embeddings of {what}", labels=list(labels))
    return classifier


def _linear_probe(train_x: np.ndarray, train_y: list[str], test_x: np.ndarray, seed: int) -> list[str]:
    from sklearn.linear_model import LogisticRegression

    # C=1 on L2-normalised embeddings: the usual CLIP linear-probe setting without a sweep.
    probe = LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
    probe.fit(train_x, train_y)
    return list(probe.predict(test_x))


def format_zero_shot_results(results: dict[str, TaskResult], metric: str = "macro_f1") -> str:
    """A Markdown table: one row per task, one column per method.

    Example:
        >>> print(format_zero_shot_results({}))
        | task | classes | test tunes | majority | zero-shot (1 template) | zero-shot (ensemble) | linear probe |
        |---|---|---|---|---|---|---|
    """
    lines = ["| task | classes | test tunes | " + " | ".join(METHODS) + " |", "|---" * (3 + len(METHODS)) + "|"]
    for task, result in results.items():
        cells = [f"{result.scores[method][metric]:.3f}" for method in METHODS]
        lines.append(f"| {task} | {len(result.labels)} | {result.n_test} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def heldout_examples(corpus: Sequence[Any], task: str, labels: Sequence[str] | None = None, *, holdout: float = 0.1,
                     seed: int = 0, limit: int | None = None) -> tuple[list[Any], list[str]]:
    """Held-out tunes whose ``task`` label is one of ``labels`` (default: any), with those labels.

    Example:
        >>> tunes, truth = heldout_examples(corpus, "tune_type", ["jig", "reel"])  # doctest: +SKIP
    """
    _, test = corpus.split(holdout=holdout, seed=seed)
    pairs = [(record, TASKS[task](record)) for record in test]
    pairs = [(record, label) for record, label in pairs if label and (labels is None or label in labels)]
    pairs = pairs[:limit] if limit else pairs
    return [record for record, _ in pairs], [label for _, label in pairs]


def compare_templates(model: Any, items: Any, truth: Sequence[str], labels: Sequence[str],
                      templates: Sequence[Any]) -> list[dict[str, Any]]:
    """Accuracy and macro-F1 of each template alone and of all of them ensembled, on the same tunes.

    Returns:
        One row per template (``{"template", "accuracy", "macro_f1"}``) and a last row ``"ensemble"``.
    """
    from sklearn.metrics import accuracy_score, f1_score

    from ..zeroshot.templates import describe_templates

    embeddings = require_finite(items if isinstance(items, np.ndarray) else model.encode_music(list(items)),
                                "the music embeddings of the compared tunes")
    rows = []
    names = describe_templates(templates) + ["ensemble (all templates)"]
    for name, chosen in zip(names, [[template] for template in templates] + [list(templates)]):
        predicted = _classifier(model, labels, chosen, "the labels").predict(embeddings)
        rows.append(dict(check_metrics(
            {"template": name, "accuracy": round(float(accuracy_score(truth, predicted)), 4),
             "macro_f1": round(float(f1_score(truth, predicted, labels=list(labels), average="macro",
                                              zero_division=0)), 4)}, where=f"template comparison ({name})")))
    return rows
