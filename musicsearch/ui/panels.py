"""What the zero-shot, LUT and result-page panels show, as data and HTML (no widgets, no kernel needed).

Example:
    >>> parse_labels("jig, reel\\nhornpipe")
    ['jig', 'reel', 'hornpipe']
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import QueryError

# The repository's benchmark figures: musicsearch/ui/panels.py -> the repository root is two folders up.
LUT_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "lut.json"


def parse_labels(text: str) -> list[str]:
    """Labels typed one per line or comma-separated; blanks and duplicates are errors, not silently dropped.

    Raises:
        QueryError: fewer than two labels, a blank label (``"jig,,reel"``) or a repeated one.
    """
    parts = [part.strip() for part in re.split(r"[,\n]", (text or "").strip())]
    if any(not part for part in parts) and len(parts) > 1:
        raise QueryError(f"label {parts.index('') + 1} is blank; remove the extra comma or empty line.")
    repeated = sorted({part for part in parts if parts.count(part) > 1})
    if repeated:
        raise QueryError(f"labels must be distinct; repeated: {', '.join(repeated)}.")
    if len([part for part in parts if part]) < 2:
        raise QueryError("type at least two labels, e.g. 'jig, reel, hornpipe'.")
    return parts


def parse_templates(text: str) -> list[str]:
    """Prompt templates, one per line, each with ``{}`` where the label goes (empty lines ignored)."""
    templates = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not templates:
        raise QueryError("type at least one template, e.g. 'a {} from Ireland'.")
    for template in templates:
        if template.count("{}") != 1:
            raise QueryError(f"template {template!r} must contain '{{}}' exactly once, where the label goes.")
    return templates


def zero_shot_summary(
    model: Any,
    items: Sequence[Any],
    labels: Sequence[str],
    templates: Sequence[Any] | None = None,
    *,
    examples: int = 3,
    embeddings: np.ndarray | None = None,
) -> dict[str, Any]:
    """Predicted label distribution over ``items`` and the most confident examples of each label.

    Args:
        model: encodes prompts (and the items, unless ``embeddings`` are given).
        items: records (their titles are shown).
        labels, templates: the classifier (see :class:`~musicsearch.zeroshot.classifier.ZeroShotClassifier`).
        examples: examples listed per label.
        embeddings: precomputed music embeddings of ``items``, so editing labels does not re-encode tunes.

    Returns:
        ``{"labels", "counts", "shares", "examples": {label: [(title, probability), ...]}}``.
    """
    from ..zeroshot.classifier import ZeroShotClassifier

    classifier = ZeroShotClassifier(model, labels, templates)
    probabilities = classifier.predict_proba(embeddings if embeddings is not None else list(items))
    predicted = probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, dtype=int)
    counts = np.bincount(predicted, minlength=len(classifier.labels))
    best: dict[str, list[tuple[str, float]]] = {}
    for column, label in enumerate(classifier.labels):
        members = np.flatnonzero(predicted == column)
        members = members[np.argsort(-probabilities[members, column])][:examples]
        best[label] = [
            (
                getattr(items[i], "title", None) or str(getattr(items[i], "id", i)),
                float(probabilities[i, column]),
            )
            for i in members
        ]
    return {
        "labels": classifier.labels,
        "counts": counts.tolist(),
        "shares": (counts / max(1, counts.sum())).tolist(),
        "examples": best,
    }


def summary_html(summary: dict[str, Any]) -> str:
    """A bar per label (share of tunes) with its examples, as HTML (class ``ms-zeroshot-summary``)."""
    rows = []
    for label, count, share in zip(summary["labels"], summary["counts"], summary["shares"]):
        examples = (
            ", ".join(f"{html.escape(title)} ({p:.2f})" for title, p in summary["examples"][label]) or "—"
        )
        rows.append(
            f'<tr class="ms-label-row"><td><b>{html.escape(label)}</b></td><td>{count}</td>'
            f'<td><div style="background:#4c78a8;height:10px;width:{200 * share:.0f}px"></div></td>'
            f'<td style="font-size:85%">{examples}</td></tr>'
        )
    return (
        '<table class="ms-zeroshot-summary"><tr><th>label</th><th>tunes</th><th>share</th>'
        f"<th>most confident examples</th></tr>{''.join(rows)}</table>"
    )


def load_lut_study(path: str | Path | None = None) -> list[dict[str, Any]]:
    """Rows of the model-level LUT study (``benchmarks/lut.py`` → ``benchmarks/results/lut.json``).

    Raises:
        QueryError: no results file; run ``python benchmarks/lut.py`` or pass ``ms.study_classifier`` rows.
    """
    path = Path(path) if path is not None else LUT_RESULTS
    if not path.is_file():
        raise QueryError(
            f"no LUT study at {path}; run `python benchmarks/lut.py` or pass rows of ms.study_classifier()."
        )
    results = json.loads(path.read_text(encoding="utf-8"))
    rows = results.get("classifier_studies") or results.get("models")  # "models": files written before
    if not rows:
        raise QueryError(f"{path} holds no classifier study; run `python benchmarks/lut.py --studies`.")
    return list(rows)


def lut_variant(
    rows: Sequence[dict[str, Any]], k: int, v: int, *, model: str | None = None
) -> dict[str, Any] | None:
    """The study row of the LUT variant with ``k`` centroids and sub-vectors of ``v`` (None: not measured)."""
    for row in rows:
        if row.get("k") == k and row.get("v") == v and (model is None or row.get("model") == model):
            return row
    return None


def timings_html(page: Any) -> str:
    """A search page's stage timings as a small table (class ``ms-timings``), slowest stage in bold."""
    timings = dict(getattr(page, "timings", {}) or {})
    total = timings.pop("total", sum(timings.values()))
    slowest = max(timings, key=timings.get) if timings else None
    cells = "".join(
        f"<tr><td>{'<b>' + html.escape(name) + '</b>' if name == slowest else html.escape(name)}</td>"
        f"<td>{1000 * seconds:.1f} ms</td></tr>"
        for name, seconds in timings.items()
    )
    return (
        f'<table class="ms-timings"><tr><th>stage</th><th>time</th></tr>{cells}'
        f"<tr><td><i>total</i></td><td><i>{1000 * total:.1f} ms</i></td></tr></table>"
    )


def lut_variant_html(row: dict[str, Any], model_name: str) -> str:
    """One measured LUT variant as a line of HTML: metric against dense, latency, size (names escaped).

    Example:
        >>> lut_variant_html({"variant": "K=16 V=8", "metric": 80.0, "metric_dense": 81.0, "delta": -1.0,
        ...                   "latency_b1_us": 90, "speedup_b1": 2.0, "latency_b32_us": 400, "bytes": 2e6}, "mlp")[:22]
        '<b>K=16 V=8</b> (mlp): '
    """
    return (
        f"<b>{html.escape(str(row['variant']))}</b> ({html.escape(str(model_name))}): "
        f"{html.escape(str(row.get('metric_name', 'metric')))} "
        f"{row['metric']:.1f} (dense {row['metric_dense']:.1f}, Δ {row['delta']:+.1f}); "
        f"latency {row['latency_b1_us']:.0f} µs at batch 1 ({row['speedup_b1']:.2f}× dense), "
        f"{row['latency_b32_us']:.0f} µs at batch 32; {row['bytes'] / 1e6:.2f} MB"
    )
