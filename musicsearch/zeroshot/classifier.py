"""Zero-shot classification: labels you invent × prompt templates → a classifier, no training.

open_clip's recipe: embed every template filled with every label, average the (normalised) embeddings
of each label's templates (prompt ensembling), normalise again; the columns are the classifier's
weights. A tune's class scores are the cosine of its music embedding with each column.

Example:
    >>> classifier = ZeroShotClassifier(model, ["jig", "reel", "hornpipe"])  # doctest: +SKIP
    >>> classifier.predict(["X:1\\nM:6/8\\nK:D\\n|:dfa afd|..."])  # doctest: +SKIP
    ['jig']
    >>> classifier.predict_proba(corpus[:2]).shape  # doctest: +SKIP
    (2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import QueryError
from .templates import Template, apply_template, templates_for

DEFAULT_LOGIT_SCALE = 100.0  # CLIP's learnt temperature ceiling; softmax of cosines needs a sharp scale


def _check_labels(labels: Sequence[str]) -> list[str]:
    if isinstance(labels, str):
        labels = [part for part in labels.split(",")]
    cleaned = [str(label).strip() for label in labels]
    if len(cleaned) < 2 or any(not label for label in cleaned):
        raise QueryError(f"zero-shot classification needs at least two non-empty labels, got {list(labels)!r}; "
                         "e.g. labels=['jig', 'reel', 'hornpipe'].")
    if len(set(cleaned)) != len(cleaned):
        raise QueryError(f"labels must be distinct, got {cleaned!r}.")
    return cleaned


def _check_templates(templates: Sequence[Template] | str | None, task: str | None = None) -> list[Template]:
    if templates is None:
        return templates_for(task)
    if isinstance(templates, str) or callable(templates):
        templates = [templates]
    templates = list(templates)
    for template in templates:
        if isinstance(template, str) and template.count("{}") != 1:
            raise QueryError(f"template {template!r} must contain '{{}}' exactly once, where the label goes; "
                             "e.g. 'a {} from Ireland'.")
        if not isinstance(template, str) and not callable(template):
            raise QueryError(f"a template must be a string or a callable, got {type(template).__name__}.")
    if not templates:
        raise QueryError("no templates given; pass at least one, e.g. ['a {}'].")
    return templates


def build_zero_shot_classifier(model: Any, labels: Sequence[str], templates: Sequence[Template] | None = None,
                               *, batch_size: int = 64) -> np.ndarray:
    """Classifier weights ``(D, L)`` from label × template text embeddings (open_clip's function).

    Args:
        model: anything with ``encode_text`` returning ``(N, D)`` arrays.
        labels: class names, e.g. ``["jig", "reel", "hornpipe"]``.
        templates: strings with ``{}`` or callables; ``None`` uses :data:`prompts.GENERIC_TEMPLATES`.

    Example:
        >>> build_zero_shot_classifier(model, ["jig", "reel"], ["a {}"]).shape  # doctest: +SKIP
        (256, 2)
    """
    labels = _check_labels(labels)
    templates = _check_templates(templates)
    texts = [apply_template(template, label) for label in labels for template in templates]
    embeddings = np.asarray(model.encode_text(texts, batch_size=batch_size, normalize=True), dtype=np.float32)
    embeddings = embeddings.reshape(len(labels), len(templates), -1)
    embeddings /= np.linalg.norm(embeddings, axis=-1, keepdims=True).clip(min=1e-12)
    weights = embeddings.mean(axis=1)
    weights /= np.linalg.norm(weights, axis=-1, keepdims=True).clip(min=1e-12)
    return np.ascontiguousarray(weights.T)


class ZeroShotClassifier:
    """Sort tunes into labels by their similarity to label prompts.

    Args:
        model: a :class:`MusicTextModel` (``encode_text`` / ``encode_music``).
        labels: class names.
        templates: prompt templates (see :mod:`musicsearch.zeroshot.templates`); ``None`` = those of ``task``.
        task: ``"tune_type"``, ``"origin"``, ``"mode"`` or ``"meter"`` picks matching default templates.
        logit_scale: multiplies cosines before the softmax of :meth:`predict_proba`.
    """

    def __init__(self, model: Any, labels: Sequence[str], templates: Sequence[Template] | str | None = None, *,
                 task: str | None = None, logit_scale: float = DEFAULT_LOGIT_SCALE) -> None:
        self.model = model
        self.labels = _check_labels(labels)
        self.templates = _check_templates(templates, task)
        self.logit_scale = float(logit_scale)
        self.weights = build_zero_shot_classifier(model, self.labels, self.templates)

    def __repr__(self) -> str:
        return f"ZeroShotClassifier(labels={self.labels!r}, templates={len(self.templates)})"

    def embed(self, items: Any) -> np.ndarray:
        """Music embeddings of ``items``: ABC strings, records, a corpus, or an ``(N, D)`` array as is."""
        if isinstance(items, np.ndarray):
            embeddings = items[None, :] if items.ndim == 1 else items
        else:
            if isinstance(items, str) or (hasattr(items, "abc") and not hasattr(items, "__len__")):
                items = [items]
            items = list(items)
            if not items:
                return np.zeros((0, self.weights.shape[0]), dtype=np.float32)
            embeddings = self.model.encode_music(items, normalize=True)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.weights.shape[0]:
            raise QueryError(f"embeddings of shape {embeddings.shape} do not match the classifier's dimension "
                             f"{self.weights.shape[0]}; use the model the classifier was built with.")
        return embeddings

    def logits(self, items: Any) -> np.ndarray:
        """Scaled cosine similarities ``(N, L)``."""
        return self.logit_scale * (self.embed(items) @ self.weights)

    def predict_proba(self, items: Any) -> np.ndarray:
        """Class probabilities ``(N, L)`` (softmax of :meth:`logits`), columns in ``labels`` order."""
        logits = self.logits(items)
        logits -= logits.max(axis=1, keepdims=True) if len(logits) else 0
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, items: Any) -> list[str]:
        """The most likely label of each item."""
        return [self.labels[i] for i in self.logits(items).argmax(axis=1)]

