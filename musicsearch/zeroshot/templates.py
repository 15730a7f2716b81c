"""Prompt templates for zero-shot classification, kept as data (open_clip's ``zero_shot_metadata``).

A template turns a label into a text the text encoder embeds: a string with one ``{}`` placeholder, or a
callable from label to text (for labels that need rewording, e.g. ``"6/8"`` -> ``"in six-eight time"``,
the wording the training captions use). :func:`build_zero_shot_classifier` averages the embeddings of
all templates of a label (prompt ensembling), which smooths over any single phrasing.

The templates echo the caption phrases the model was trained on (see :mod:`musicsearch.data.captions`:
"a jig", "in D major", "in six-eight time", "from Ireland"), because a contrastive model understands
best the kind of sentence it has seen.

Example:
    >>> [apply_template(t, "jig") for t in TUNE_TYPE_TEMPLATES[:2]]
    ['a jig', 'A jig.']
    >>> apply_template(METER_TEMPLATES[0], "6/8")
    'in six-eight time'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Template = str | Callable[[str], str]


def _meter(label: str) -> str:
    from ..data.features import meter_words

    words = meter_words(label) or label
    return words if "time" in words or "meter" in words else f"{words} time"


TUNE_TYPE_TEMPLATES: list[Template] = [
    "a {}",
    "A {}.",
    "{}",
    "a tune: a {}",
    "a traditional {}",
    "a melody in the style of a {}",
]

ORIGIN_TEMPLATES: list[Template] = [
    "from {}",
    "A tune from {}.",
    "a folk song from {}",
    "{}",
    "a traditional melody of {}",
]

# Modes are taught through keys ("in D major"), so ensembling over common tonics gives the mode alone.
MODE_TEMPLATES: list[Template] = [
    "in a {} key",
    "{}",
    *[f"in {tonic} {{}}" for tonic in ("C", "D", "E", "F", "G", "A", "B-flat")],
]

METER_TEMPLATES: list[Template] = [
    lambda label: f"in {_meter(label)}",
    lambda label: f"A tune in {_meter(label)}.",
    lambda label: _meter(label),
    "in {} time",
]

GENERIC_TEMPLATES: list[Template] = ["{}", "a {}", "A tune: {}.", "music that is {}"]

# Task name -> templates; the tasks of :func:`musicsearch.evaluate_zero_shot`.
PROMPT_TEMPLATES: dict[str, list[Template]] = {
    "tune_type": TUNE_TYPE_TEMPLATES,
    "origin": ORIGIN_TEMPLATES,
    "mode": MODE_TEMPLATES,
    "meter": METER_TEMPLATES,
    "generic": GENERIC_TEMPLATES,
}


def apply_template(template: Template, label: str) -> str:
    """The text of one template for one label.

    Example:
        >>> apply_template("a {} from Ireland", "reel")
        'a reel from Ireland'
    """
    return template(label) if callable(template) else template.format(label)


def templates_for(task: str | None) -> list[Template]:
    """Templates of a task name (``None`` or an unknown task: the generic ones)."""
    return list(PROMPT_TEMPLATES.get(task or "generic", GENERIC_TEMPLATES))


def describe_templates(templates: Sequence[Template], label: str = "{label}") -> list[str]:
    """Readable form of templates (callables applied to a placeholder label), for notebooks and reports."""
    return [apply_template(template, label) for template in templates]
