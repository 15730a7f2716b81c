"""The record of a training run: per-step losses and speed, periodic held-out evaluations, run facts.

Example:
    >>> history = TrainingHistory(steps=[{"step": 1, "loss": 4.1, "tunes_per_s": 200.0}])
    >>> history.summary()["final_loss"]
    4.1
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TrainingHistory:
    """What :func:`musicsearch.train` returns next to the model (JSON-ready through :meth:`to_dict`)."""

    steps: list[dict[str, Any]] = field(default_factory=list)  # one dict per optimisation step
    evals: list[dict[str, Any]] = field(default_factory=list)  # held-out caption retrieval every eval_every steps
    pretrain: list[dict[str, Any]] = field(default_factory=list)  # masked-music pretraining steps, if any
    info: dict[str, Any] = field(default_factory=dict)  # tunes, unique texts, timings
    config: dict[str, Any] = field(default_factory=dict)  # the run's config: {"architecture": ..., "training": ...}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingHistory:
        return cls(**{key: values.get(key, default) for key, default in
                      (("steps", []), ("evals", []), ("pretrain", []), ("info", {}), ("config", {}))})

    def summary(self) -> dict[str, Any]:
        """Final loss, last evaluation, median training speed and run facts, for config.json."""
        speeds = sorted(step["tunes_per_s"] for step in self.steps if "tunes_per_s" in step)
        return {
            **self.info,
            "steps": len(self.steps),
            "final_loss": self.steps[-1]["loss"] if self.steps else None,
            "final_eval": self.evals[-1] if self.evals else None,
            "median_tunes_per_s": speeds[len(speeds) // 2] if speeds else None,
        }
