"""Training curves: loss per step and held-out retrieval (MRR, HitRate@10) per evaluation.

``plot_history(history)`` returns a matplotlib figure; ``LivePlot`` is a ``train(..., callback=...)``
callback that redraws the figure in a notebook while training runs.

Example:
    >>> fig = plot_history(TrainingHistory(steps=[{"step": 1, "loss": 4.0}]))
    >>> len(fig.axes)
    2
"""

from __future__ import annotations

from ..training.history import TrainingHistory


def _smooth(values: list[float], weight: float = 0.9) -> list[float]:
    smoothed, last = [], None
    for value in values:
        last = value if last is None else weight * last + (1 - weight) * value
        smoothed.append(last)
    return smoothed


def plot_history(history: TrainingHistory, *, figure=None):
    """Loss curves (left) and held-out caption-retrieval curves (right) of a run.

    Args:
        history: a :class:`TrainingHistory` (or its dict form).
        figure: redraw into this figure instead of creating one.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    if isinstance(history, dict):
        history = TrainingHistory.from_dict(history)
    if figure is None:
        figure, _ = plt.subplots(1, 2, figsize=(10, 3.5))
    loss_axis, eval_axis = figure.axes[:2]
    loss_axis.clear()
    eval_axis.clear()
    steps = [row["step"] for row in history.steps]
    for key, label in (("loss", "total loss"), ("clip_loss", "InfoNCE"), ("mlm_loss", "masked music")):
        values = [row[key] for row in history.steps if key in row]
        if values and (key != "clip_loss" or any("mlm_loss" in row for row in history.steps)):
            loss_axis.plot(steps[: len(values)], _smooth(values), label=label)
    loss_axis.set_xlabel("step")
    loss_axis.set_ylabel("loss (smoothed)")
    loss_axis.legend(loc="upper right")
    if history.evals:
        eval_steps = [row["step"] for row in history.evals]
        for key in ("mrr", "hit@10"):
            eval_axis.plot(eval_steps, [row.get(key, 0.0) for row in history.evals], marker="o", label=key)
        eval_axis.legend(loc="lower right")
    eval_axis.set_xlabel("step")
    eval_axis.set_ylabel("held-out caption retrieval")
    eval_axis.set_ylim(0, 1)
    figure.tight_layout()
    return figure


class LivePlot:
    """Callback for :func:`musicsearch.train` that redraws :func:`plot_history` every ``every`` steps.

    Example:
        >>> model, history = ms.train("tiny", corpus, callback=LivePlot())  # doctest: +SKIP
    """

    def __init__(self, every: int = 10) -> None:
        self.every = every
        self.figure = None
        self.handle = None

    def __call__(self, history: TrainingHistory, event: str) -> None:
        if event == "step" and len(history.steps) % self.every:
            return
        import matplotlib.pyplot as plt

        if self.figure is None:
            self.figure, _ = plt.subplots(1, 2, figsize=(10, 3.5))
            plt.close(self.figure)  # shown through the display handle only, not again at cell end
        plot_history(history, figure=self.figure)
        try:
            from IPython.display import display

            if self.handle is None:
                self.handle = display(self.figure, display_id=True)
            else:
                self.handle.update(self.figure)
        except ImportError:  # outside IPython there is nothing to refresh
            pass
