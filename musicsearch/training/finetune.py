"""Fine-tuning: continue training a trained model on your own tunes and texts (``ms.train(..., init=model)``).

A fine-tune keeps the *architecture* of the model it starts from (its weights mean nothing in another
one) and takes its *training settings* from the preset and overrides, with a fresh optimiser. The data is
yours: a table whose text column (``text``, ``caption`` or ``description``) says what each tune is, or,
when there is none, captions made from its metadata (the run says so). Part of your tunes is held out
(``holdout``, by tune), and the init model and the fine-tuned one are evaluated on it the same way
(:func:`musicsearch.evaluation.retrieval.evaluate_retrieval`), so the report says what the fine-tune
changed on tunes it never saw.

Example:
    >>> corpus = ms.load_corpus("my_tunes.jsonl")  # doctest: +SKIP
    >>> model, history = ms.train("quick", corpus, init="default", out="models/mine", epochs=4)  # doctest: +SKIP
    >>> print(format_finetune_report(history.info["finetune"]))  # doctest: +SKIP
    fine-tuned on 90 tunes with their own texts; held-out: 10 tunes
      MRR      0.210 -> 0.402  (+0.192)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from ..errors import ArtifactError, MusicSearchError
from ..models.config import ModelConfig
from ..models.model import MusicTextModel
from .config import TRAINING_PRESETS, RunConfig, get_config, training_fields

DEFAULT_INIT = "default"  # `--init default`: the default model (the released one unless you chose another)
REPORT_FILE = "finetune.json"
_COMPARED = ("mrr", "hit@1", "hit@10", "hit@100", "median_rank")


def load_init(init: MusicTextModel | str | os.PathLike) -> tuple[MusicTextModel, str]:
    """The model a fine-tune starts from, and how to name it in messages and reports.

    Args:
        init: a loaded model, a model folder, or ``"default"`` (the default model, :func:`musicsearch.load_model`).

    Raises:
        MusicSearchError: the folder is missing or holds no model (the message says what to pass), or the
            model cannot be fine-tuned (a lookup-table or CLaMP model).
    """
    from ..models.loading import load_model

    if isinstance(init, MusicTextModel):
        name = f"the given model ({type(init).__name__}, {init.config.preset} architecture)"
        model = init
    else:
        name = str(init)
        folder = None if name == DEFAULT_INIT else Path(init).expanduser()
        if folder is not None and not folder.exists():
            raise MusicSearchError(
                f"--init {name}: no such folder. Pass the folder of a trained model (one written by "
                "`musicsearch train --out DIR`), or `--init default` for the default model.")
        try:
            model = load_model(folder)
        except ArtifactError as error:
            raise MusicSearchError(f"--init {name}: {error}") from error
    check_finetunable(model, name)
    return model, name


def check_finetunable(model: Any, name: str) -> None:
    """Refuse models whose weights this training loop cannot update, naming what they are.

    Raises:
        MusicSearchError: a CLaMP model, a model with lookup-table layers, or not a MusicTextModel.
    """
    from ..lut.layer import LUTLinear
    from ..models.clamp import ClampModel

    if isinstance(model, ClampModel):
        raise MusicSearchError(f"--init {name}: an official CLaMP checkpoint cannot be fine-tuned here (its music "
                               "encoder is not this package's); fine-tune a musicsearch model instead.")
    if not isinstance(model, MusicTextModel):
        raise MusicSearchError(f"--init {name}: a {type(model).__name__}, not a MusicTextModel; only models trained "
                               "by musicsearch can be fine-tuned.")
    if any(isinstance(module, LUTLinear) for module in model.modules()):
        raise MusicSearchError(f"--init {name}: a lookup-table model (converted by `musicsearch lut convert`) "
                               "cannot be fine-tuned; fine-tune the dense model it was converted from, then "
                               "convert the result again.")


def finetune_config(init: MusicTextModel, config_or_preset: RunConfig | ModelConfig | str, name: str,
                    **overrides: Any) -> RunConfig:
    """The run config of a fine-tune: the init model's architecture, training settings from the preset.

    Args:
        init: the model to start from.
        config_or_preset: a training preset name ("quick", ...), whose training settings are used; or a
            config whose architecture must be the init model's.
        name: how to name the init model in errors.
        **overrides: training fields to change; an architecture field may only repeat the init model's value.

    Raises:
        MusicSearchError: an architecture field (size, text encoder...) that differs from the init model's,
            with both values named; an unknown preset or field.
    """
    architecture = init.config
    if isinstance(config_or_preset, str):
        if config_or_preset not in TRAINING_PRESETS:
            raise MusicSearchError(f"unknown preset {config_or_preset!r}; choose one of {sorted(TRAINING_PRESETS)}.")
        training, asked = TRAINING_PRESETS[config_or_preset], {}
    else:
        given = config_or_preset if isinstance(config_or_preset, RunConfig) else get_config(config_or_preset)
        training, asked = given.training, given.architecture.to_dict()
    asked.update({key: value for key, value in overrides.items() if key not in training_fields()})
    own = architecture.to_dict()
    conflicts = [(key, value, own[key]) for key, value in asked.items()
                 if key in own and key != "preset" and value != own[key]]
    unknown = sorted(key for key in asked if key not in own)
    if unknown:
        get_config("quick", **{key: asked[key] for key in unknown})  # raises, naming the valid fields
    if conflicts:
        listed = "; ".join(f"{key}={value!r} was asked, the init model has {key}={mine!r}"
                           for key, value, mine in conflicts)
        raise MusicSearchError(
            f"--init {name}: fine-tuning keeps the init model's architecture, and {listed}. Drop those settings "
            "to fine-tune, or train a new model of that architecture without --init.")
    run = RunConfig(dataclasses.replace(architecture), training)
    return get_config(run, **{key: value for key, value in overrides.items() if key in training_fields()})


def finetune_report(init_report: dict[str, Any], tuned_report: dict[str, Any], *, init_name: str,
                    train_tunes: int, own_text_tunes: int) -> dict[str, Any]:
    """One JSON-ready report: the init model and the fine-tuned one on the same held-out tunes.

    Example:
        >>> finetune_report({"tunes": 2, "caption_retrieval": {"model": {"mrr": 0.5}}},
        ...                 {"tunes": 2, "caption_retrieval": {"model": {"mrr": 0.75}}}, init_name="m",
        ...                 train_tunes=8, own_text_tunes=8)["change"]
        {'mrr': 0.25}
    """
    before, after = (report["caption_retrieval"]["model"] for report in (init_report, tuned_report))
    texts = ("their own texts (the table's text column)" if own_text_tunes == train_tunes else
             f"their own texts for {own_text_tunes} of them, captions made from metadata for the rest"
             if own_text_tunes else "captions made from their metadata (the table has no text column)")
    return {"init": init_name, "train_tunes": train_tunes, "own_text_tunes": own_text_tunes, "texts": texts,
            "heldout_tunes": tuned_report["tunes"],
            "change": {key: round(after[key] - before[key], 4) for key in _COMPARED if key in before and key in after},
            "before": init_report, "after": tuned_report}


def format_finetune_report(report: dict[str, Any]) -> str:
    """The report as a few lines: what was trained on, then each metric before -> after.

    Example:
        >>> print(format_finetune_report({"train_tunes": 8, "texts": "their own texts", "heldout_tunes": 2,
        ...     "init": "m", "change": {"mrr": 0.25}, "before": {"caption_retrieval": {"model": {"mrr": 0.5}}},
        ...     "after": {"caption_retrieval": {"model": {"mrr": 0.75}}}}))
        fine-tuned m on 8 tunes with their own texts; held out: 2 tunes
          mrr            0.500 -> 0.750  (+0.250)
    """
    before, after = (report[key]["caption_retrieval"]["model"] for key in ("before", "after"))
    lines = [f"fine-tuned {report['init']} on {report['train_tunes']} tunes with {report['texts']}; "
             f"held out: {report['heldout_tunes']} tunes"]
    for key, change in report["change"].items():
        lines.append(f"  {key:<12} {before[key]:>7.3f} -> {after[key]:.3f}  ({change:+.3f})")
    return "\n".join(lines)


def _evaluate(model: MusicTextModel, held_out, progress: bool) -> dict[str, Any]:
    from ..evaluation.retrieval import evaluate_retrieval

    return evaluate_retrieval(model, held_out, heldout_only=False, progress=progress)


def before_training(init: MusicTextModel, init_name: str, config: RunConfig, data, held_out, *,
                    progress: bool) -> tuple[RunConfig, dict[str, Any]]:
    """Checks and the init model's evaluation before a fine-tune starts; returns the config to train with.

    A batch larger than the training tunes would repeat tunes in a batch (a tune its own negative), so
    ``batch_size`` is lowered to their number. Training on metadata captions alone (no text column) is
    said in a warning and in the report.

    Raises:
        CorpusError: fewer than two held-out tunes to compare the models on.
    """
    import warnings

    from ..errors import CorpusError

    if len(held_out) < 2:
        raise CorpusError(f"only {len(held_out)} of your tunes would be held out to compare the models on; give "
                          f"more tunes or a larger holdout (holdout={config.training.holdout}).")
    if not data.own_text_tunes:
        warnings.warn("no tune has a text of its own (a 'text', 'caption' or 'description' column): fine-tuning "
                      "on captions made from the metadata.", stacklevel=3)
    if config.training.batch_size > len(data):
        config = get_config(config, batch_size=max(2, len(data)))
    return config, _evaluate(init, held_out, progress)


def after_training(run, before: dict[str, Any], held_out, *, progress: bool) -> dict[str, Any]:
    """The fine-tuned model's evaluation on the same held-out tunes, and the report in ``history.info``."""
    run.model.eval()
    after = _evaluate(run.model, held_out, progress)
    init_name = run.history.info.get("init", "the init model")
    report = finetune_report(before, after, init_name=init_name, train_tunes=len(run.data),
                             own_text_tunes=run.data.own_text_tunes)
    # The history (and the model's config.json) keeps the headline figures; finetune.json holds it all.
    run.history.info["finetune"] = {**{key: value for key, value in report.items() if key not in ("before", "after")},
                                    **{key: {"caption_retrieval": {"model": report[key]["caption_retrieval"]["model"]}}
                                       for key in ("before", "after")}}
    return report


def write_report(report: dict[str, Any], out: str | os.PathLike) -> Path:
    """Write the full fine-tune report as ``finetune.json`` beside the model; returns its path."""
    from ..artifacts import write_json

    path = Path(out) / REPORT_FILE
    write_json(path, report)
    return path
