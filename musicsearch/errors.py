"""The project's own exceptions: every error a user can cause is one of these, with a message that
names the file or field at fault and says what to do."""

from __future__ import annotations

import math


class MusicSearchError(Exception):
    """Base class of every error musicsearch raises on purpose."""


class ABCError(MusicSearchError, ValueError):
    """ABC text that cannot be cleaned or patched (empty, binary, no music)."""


class CorpusError(MusicSearchError, ValueError):
    """A corpus source (folder, table, cache) that cannot be read."""


class ArtifactError(MusicSearchError, OSError):
    """A saved model or index that is missing, corrupted, or from an incompatible version."""


class QueryError(MusicSearchError, ValueError):
    """A search or classification request that cannot be answered as given."""


class LLMError(MusicSearchError, RuntimeError):
    """A language-model backend that cannot be reached or gave unusable output."""


class TrainingDiverged(MusicSearchError, RuntimeError):
    """A training run whose loss or weights stopped being finite numbers; nothing non-finite was saved.

    Attributes:
        stage: "contrastive training", "masked-music pretraining", "evaluation", "checkpoint" or "save".
        step: the optimisation step that diverged, counted from 1 in each stage.
        loss: the loss of that step (may be nan or inf).
    """

    def __init__(self, message: str, *, stage: str = "", step: int = 0, loss: float = math.nan) -> None:
        super().__init__(message)
        self.stage, self.step, self.loss = stage, step, loss

    def extended(self, note: str) -> TrainingDiverged:
        """The same error with ``note`` appended to its message (what was kept, what was not saved)."""
        return TrainingDiverged(f"{self} {note}", stage=self.stage, step=self.step, loss=self.loss)


class EvaluationError(MusicSearchError, ValueError):
    """A measurement refused: its inputs are not finite, or a metric came out where it cannot be."""


class NonFiniteValues(EvaluationError):
    """Embeddings or scores holding NaN or infinity (typically a model whose training diverged)."""
