"""Evaluation of a joint space on held-out tunes, against random and BM25 baselines, as one JSON report.

Two protocols:

* **Caption retrieval** (CLaMP's): each held-out tune's own caption — its caption phrases minus the
  title, which no one can hear in the notes — is a query; the tune itself is the one right answer among
  all held-out tunes. MRR, HitRate@1/10/100, median rank.
* **Category queries** written as a person would type them ("a slow air in a minor key", "a Scottish
  strathspey"): every held-out tune of that category (from its metadata) is relevant; nDCG@10.

The baselines read different things: *random* reads nothing; *BM25* ranks the held-out tunes' caption
texts, i.e. it reads their metadata — an upper reference for tunes that have metadata, whereas the
model reads only the notes (the point of content search: tunes with no metadata).

Example:
    >>> report = evaluate_retrieval(model, corpus)  # doctest: +SKIP
    >>> report["caption_retrieval"]["model"]["mrr"]  # doctest: +SKIP
    0.21
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data import features
from ..data.texts import query_caption
from ..search.keywords import KeywordIndex
from .checks import check_metric, check_metrics, require_finite
from .metrics import (
    bootstrap_interval,
    metrics_from_ranks,
    ndcg_at_k,
    own_item_metrics,
    own_item_ranks,
    random_metrics,
    random_ndcg,
)

# Category queries are data: (query as typed, metadata conditions). A condition value may be a tuple of
# accepted values. Keys: tune_type, meter, mode, origin, collection.
CATEGORY_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("a reel", {"tune_type": "reel"}),
    ("a jig in six-eight", {"tune_type": ("jig", "double jig", "single jig"), "meter": "6/8"}),
    ("a slip jig in nine-eight", {"tune_type": "slip jig"}),
    ("a hornpipe", {"tune_type": "hornpipe"}),
    ("a Scottish strathspey", {"tune_type": "strathspey"}),
    ("a slow air in a minor key", {"tune_type": ("air", "lament", "song"), "mode": "minor"}),
    ("a waltz", {"tune_type": "waltz"}),
    ("a polka", {"tune_type": "polka"}),
    ("a march", {"tune_type": ("march", "quickstep")}),
    ("a German folk song", {"origin": "Germany"}),
    ("a Chinese folk song", {"origin": "China"}),
    ("an Irish tune", {"origin": "Ireland"}),
    ("a love song", {"tune_type": "love song"}),
    ("a children's song", {"tune_type": "children's song"}),
    ("a ballad", {"tune_type": "ballad"}),
    ("a Bach chorale", {"collection": "bach"}),
    ("a tune in a minor key", {"mode": "minor"}),
    ("a dorian melody", {"mode": "dorian"}),
    ("something in three-four time", {"meter": "3/4"}),
    ("a tune in six-eight", {"meter": "6/8"}),
]
MIN_RELEVANT = 5  # categories with fewer held-out tunes are not reported (too noisy)


def _value(record, key: str):
    if key == "collection":
        return record.collection
    value = getattr(record, key, None) if hasattr(record, key) else record.metadata.get(key)
    return features.meter_signature(value) if key == "meter" else value


def matches(record, conditions: dict[str, Any]) -> bool:
    """Whether a record satisfies every condition of a category (a meter "C" is 4/4, "C|" is 2/2)."""
    for key, wanted in conditions.items():
        accepted = wanted if isinstance(wanted, tuple) else (wanted,)
        if key == "meter":
            accepted = tuple(features.meter_signature(value) for value in accepted)
        if _value(record, key) not in accepted:
            return False
    return True


def _embed(model, records: Sequence, queries: Sequence[str], *, batch_size: int,
           progress: bool) -> tuple[np.ndarray, np.ndarray]:
    # A NaN model embeds everything to NaN, and NaN compares unequal to itself: refuse before any metric.
    ids = [getattr(record, "id", str(i)) for i, record in enumerate(records)]
    music = require_finite(model.encode_music(records, batch_size=batch_size, progress=progress),
                           "the model's music embeddings of the evaluated tunes", labels=ids)
    text = require_finite(model.encode_text(list(queries), batch_size=batch_size, progress=progress),
                          "the model's text embeddings of the query captions", labels=list(queries))
    return music, text


def caption_retrieval(model, records: Sequence, *, ks: Sequence[int] = (1, 10, 100), batch_size: int = 64,
                      progress: bool = False) -> dict[str, float]:
    """Own-caption retrieval metrics of ``model`` on ``records`` (no baselines; used during training).

    Raises:
        NonFiniteValues: the model's embeddings hold NaN or infinity (see :mod:`.checks`).
    """
    records = [record for record in records if query_caption(record)]
    queries = [query_caption(record) for record in records]
    music, text = _embed(model, records, queries, batch_size=batch_size, progress=progress)
    return own_item_metrics(text @ music.T, ks)


def evaluate_retrieval(model, corpus, *, heldout_only: bool = True, ks: Sequence[int] = (1, 10, 100),
                       categories: Sequence[tuple[str, dict[str, Any]]] | None = None, batch_size: int = 64,
                       progress: bool = False) -> dict[str, Any]:
    """Full evaluation report (JSON-ready) of a model, with random and BM25 baselines.

    Args:
        model: anything with ``encode_text`` / ``encode_music`` (and ideally ``heldout_split``, ``config``,
            ``training_settings`` and ``fingerprint``).
        corpus: the corpus; with ``heldout_only`` its held-out split for the model's ``heldout_split`` (the
            tunes its training held out) is used, so the tunes are never ones the model was trained on.
        heldout_only: False evaluates on every tune of ``corpus`` (e.g. a corpus of your own).
        ks: cut-offs of HitRate.
        categories: category queries (default :data:`CATEGORY_QUERIES`).
        batch_size, progress: encoding options.

    Returns:
        ``{"tunes", "caption_retrieval": {"model", "bm25", "random"}, "category_retrieval": {...}, ...}``;
        ``category_retrieval["ndcg@10_interval95"]`` holds the bounds of a 95% bootstrap interval of the
        model's mean nDCG@10 over the queries (:func:`~.metrics.bootstrap_interval`), None when no query was scored.

    Raises:
        CorpusError: fewer than two captioned tunes.
        NonFiniteValues: the model's embeddings hold NaN or infinity; no report is made.
        EvaluationError: a metric came out of its range (a fault, never reported as a figure).
    """
    config = getattr(model, "config", None)
    records = list(corpus)
    split = getattr(model, "heldout_split", None)  # a model without one (a stand-in) is tested on every tune
    if heldout_only and split is not None and hasattr(corpus, "split"):
        records = list(corpus.split(**split)[1])
    records = [record for record in records if query_caption(record)]
    if len(records) < 2:
        from ..errors import CorpusError

        raise CorpusError("fewer than two captioned tunes to evaluate on; use a larger corpus.")
    queries = [query_caption(record) for record in records]
    music, text = _embed(model, records, queries, batch_size=batch_size, progress=progress)
    documents = [" ".join(record.captions) for record in records]
    bm25 = KeywordIndex(documents)
    # One rank computation (ties averaged) for the whole table and its per-collection rows.
    ranks = own_item_ranks(text @ music.T)
    caption = {"model": metrics_from_ranks(ranks, ks, where="caption retrieval (model)"),
               "bm25": metrics_from_ranks(own_item_ranks(bm25.bm25_matrix(queries)), ks,
                                          where="caption retrieval (BM25)"),
               "random": random_metrics(len(records), ks)}
    by_collection = {}
    for name in sorted({record.collection for record in records}):
        rows = [i for i, record in enumerate(records) if record.collection == name]
        if len(rows) >= MIN_RELEVANT:
            mrr = check_metric("mrr", float(np.mean(1.0 / ranks[rows])), where=f"caption retrieval of {name}")
            by_collection[name] = {"tunes": len(rows), "mrr": mrr}
    rows = []
    category_list = list(categories or CATEGORY_QUERIES)
    category_text = require_finite(
        model.encode_text([query for query, _ in category_list], batch_size=batch_size),
        "the model's text embeddings of the category queries", labels=[query for query, _ in category_list])
    for (query, conditions), vector in zip(category_list, category_text):
        relevant = np.array([matches(record, conditions) for record in records])
        if relevant.sum() < MIN_RELEVANT:
            continue
        rows.append({"query": query, "relevant": int(relevant.sum()),
                     "model": ndcg_at_k(music @ vector, relevant), "bm25": ndcg_at_k(bm25.bm25(query), relevant),
                     "random": random_ndcg(int(relevant.sum()), len(records))})
    mean = {name: float(np.mean([row[name] for row in rows])) if rows else None for name in ("model", "bm25", "random")}
    check_metrics({f"ndcg@10 ({name})": value for name, value in mean.items()}, where="category retrieval")
    # How far the mean could move with other queries of the same kind: the model's, over its queries.
    interval = [round(bound, 4) for bound in bootstrap_interval([row["model"] for row in rows])] if rows else None
    return {
        "tunes": len(records),
        "corpus": getattr(corpus, "name", "corpus"),
        "model": {"fingerprint": getattr(model, "fingerprint", None),
                  "config": config.to_dict() if config is not None else None,
                  "training": getattr(model, "training_settings", None) or None},
        "protocol": "held-out tunes; queries are own captions without titles (caption) or typed category queries",
        "caption_retrieval": caption,
        "caption_retrieval_by_collection": by_collection,
        "category_retrieval": {"ndcg@10_mean": mean, "ndcg@10_interval95": interval, "queries": rows},
    }


def format_report(report: dict[str, Any]) -> str:
    """A short plain-text table of a report (what ``musicsearch eval`` prints)."""
    lines = [f"{report['tunes']} held-out tunes", f"{'':10}{'MRR':>8}{'Hit@1':>8}{'Hit@10':>8}{'Hit@100':>8}{'nDCG@10':>9}"]
    for name in ("model", "bm25", "random"):
        metrics = report["caption_retrieval"][name]
        ndcg = report["category_retrieval"]["ndcg@10_mean"].get(name)
        lines.append(f"{name:10}{metrics['mrr']:8.3f}{metrics.get('hit@1', 0):8.3f}{metrics.get('hit@10', 0):8.3f}"
                     f"{metrics.get('hit@100', 0):8.3f}{(ndcg if ndcg is not None else float('nan')):9.3f}")
    return "\n".join(lines)
