"""Small real tasks and models to measure lookup-table conversion on, trained in seconds on a laptop.

* :func:`origin_task`: which country a folk tune comes from (Germany, China, Lorraine, Luxembourg in the
  Essen collection), from its ABC bar patches: for the transformer the patches themselves, for the MLP
  hashed character-bigram counts of the patches. Needs the corpus (a small slice builds in seconds).
* :func:`digits_task`: scikit-learn's 8x8 handwritten digits, the fallback that needs no corpus.

Example:
    >>> task = digits_task()
    >>> task.features_train.shape[1], len(task.labels)
    (64, 10)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..lut.centroids import run_model


@dataclass
class Task:
    """A classification task; ``patches``/``mask`` exist only for music tasks."""

    name: str  # short description shown in tables and plots
    labels: list[str]  # class names, index = class id
    features_train: torch.Tensor  # (N, F) float features for the MLP
    features_test: torch.Tensor
    y_train: torch.Tensor  # (N,) int64 class ids
    y_test: torch.Tensor
    patches_train: torch.Tensor | None = None  # (N, P, 64) int64 bar patches for the transformer
    mask_train: torch.Tensor | None = None  # (N, P) bool, True on real patches
    patches_test: torch.Tensor | None = None
    mask_test: torch.Tensor | None = None

    def inputs(self, model_kind: str, split: str = "train") -> Any:
        """The model input of ``split``: a feature tensor ("mlp") or a ``(patches, mask)`` tuple."""
        if model_kind == "mlp":
            return getattr(self, f"features_{split}")
        return getattr(self, f"patches_{split}"), getattr(self, f"mask_{split}")


def patch_bigram_features(patches: torch.Tensor, dim: int = 512) -> torch.Tensor:
    """Hashed counts of character bigrams inside bar patches, ``log1p`` and L2-normalised: ``(N, dim)``."""
    first, second = patches[..., :-1].long(), patches[..., 1:].long()
    valid = (first > 0) & (second > 0)
    buckets = ((first * 98 + second) * 2654435761) % dim  # Knuth's multiplicative hash spreads the codes
    counts = torch.zeros(patches.shape[0], dim)
    counts.scatter_add_(1, buckets.reshape(len(patches), -1), valid.reshape(len(patches), -1).float())
    return F.normalize(torch.log1p(counts), dim=-1)


def _split(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(n * (1 - holdout)))
    return order[:cut], order[cut:]


def origin_task(corpus: Any = None, *, classes: tuple[str, ...] = ("Germany", "China", "Lorraine", "Luxembourg"),
                per_class: int = 400, max_patches: int = 32, feature_dim: int = 512, holdout: float = 0.25,
                seed: int = 0) -> Task:
    """Country of origin of Essen folk tunes from their bar patches (balanced classes).

    Args:
        corpus: a Corpus; None loads a small slice of the music21 Essen collection.
        classes: origins to tell apart.
        per_class: tunes per class (fewer if the corpus has fewer).
        max_patches: patches kept per tune.
        feature_dim: size of the hashed bigram features.
        holdout: test fraction.
        seed: sampling and split seed.
    """
    from ..data.patches import abc_to_patches, collate_patches

    if corpus is None:
        from ..data.corpus_io import load_corpus

        corpus = load_corpus("music21", collections=["essenFolksong"], limit=300, include_scores=False,
                             progress=False)
    rng = np.random.default_rng(seed)
    chosen: list[tuple[str, int]] = []
    for label, origin in enumerate(classes):
        abc = [record.abc for record in corpus if record.origin == origin]
        for index in rng.permutation(len(abc))[:per_class]:
            chosen.append((abc[index], label))
    if len({label for _, label in chosen}) < 2:
        from ..errors import CorpusError

        raise CorpusError(f"the corpus has fewer than two of the origins {classes}; found "
                          f"{Counter(r.origin for r in corpus).most_common(5)}. Pass a corpus with Essen tunes.")
    patches, mask = collate_patches([abc_to_patches(abc, max_patches=max_patches) for abc, _ in chosen])
    features = patch_bigram_features(patches, feature_dim)
    y = torch.tensor([label for _, label in chosen])
    train, test = _split(len(chosen), holdout, seed)
    return Task(f"origin of {len(chosen)} Essen tunes", list(classes), features[train], features[test],
                y[train], y[test], patches[train], mask[train], patches[test], mask[test])


def digits_task(holdout: float = 0.25, seed: int = 0) -> Task:
    """scikit-learn's handwritten digits (1797 images of 8x8 pixels), standardised."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    y = torch.tensor(data.target)
    train, test = _split(len(y), holdout, seed)
    return Task("handwritten digits", [str(d) for d in range(10)], x[train], x[test], y[train], y[test])


def mlp_classifier(in_features: int, classes: int, *, hidden: int = 1024, depth: int = 3, seed: int = 0) -> nn.Sequential:
    """``depth`` hidden layers of width ``hidden`` with ReLU: the middle ones are what LUT conversion swaps."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, classes))


class PatchClassifier(nn.Module):
    """The project's music encoder (bar-patch transformer) with a linear classification head."""

    def __init__(self, classes: int, *, hidden: int = 128, layers: int = 2, heads: int = 4,
                 intermediate: int = 512, max_patches: int = 32, seed: int = 0) -> None:
        super().__init__()
        from ..models.music_encoder import MusicEncoder

        torch.manual_seed(seed)
        self.encoder = MusicEncoder(hidden, layers, heads, intermediate, 0.1, max_patches=max_patches)
        self.head = nn.Linear(hidden, classes)

    def forward(self, patches: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(patches, mask))


def batches_of(inputs: Any, size: int, y: torch.Tensor | None = None, order: np.ndarray | None = None) -> list:
    """Split a tensor or a tuple of tensors into batches (optionally reordered, optionally with labels)."""
    count = len(inputs[0] if isinstance(inputs, tuple) else inputs)
    order = np.arange(count) if order is None else order
    result = []
    for start in range(0, count, size):
        rows = torch.as_tensor(order[start:start + size])
        batch = tuple(t[rows] for t in inputs) if isinstance(inputs, tuple) else inputs[rows]
        result.append(batch if y is None else (batch, y[rows]))
    return result


def train_classifier(model: nn.Module, task: Task, model_kind: str, *, epochs: int = 10, lr: float = 1e-3,
                     batch_size: int = 64, seed: int = 0) -> list[float]:
    """Train ``model`` on the task with AdamW and cross-entropy; returns the mean loss per epoch."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    inputs = task.inputs(model_kind, "train")
    history = []
    model.train()
    for _ in range(epochs):
        losses = []
        for batch, y in batches_of(inputs, batch_size, task.y_train, rng.permutation(len(task.y_train))):
            loss = F.cross_entropy(run_model(model, batch), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        history.append(float(np.mean(losses)))
    model.eval()
    return history


def task_accuracy(model: nn.Module, task: Task, model_kind: str, split: str = "test") -> float:
    """Top-1 accuracy in percent on ``split``."""
    y = getattr(task, f"y_{split}")
    with torch.inference_mode():
        predictions = torch.cat([run_model(model, batch).argmax(-1)
                                 for batch in batches_of(task.inputs(model_kind, split), 256)])
    return 100.0 * float((predictions == y).float().mean())
