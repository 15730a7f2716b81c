"""Reranking first-stage hits with a language model: pointwise log-probabilities or a listwise permutation.

Pointwise (the default for small models) scores each hit on its own, with no generation and every prompt
in one batched call: *query likelihood* (UPR-style: the mean log-prob of the user's query as the model's
reply to the tune's description) or a *yes/no* question (log P(Yes) against log P(No)). On the project's
dev queries SmolLM2-135M ranks far better by query likelihood than by yes/no (``benchmarks/llm.py``), so
``method="auto"`` uses likelihood wherever the backend can score whole continuations (local models) and
yes/no otherwise (OpenAI-style endpoints, which give log-probs of generated tokens only). Listwise is RankGPT: the model writes a
permutation such as ``[3] > [1] > [2]`` over a sliding window (20 hits, step 10, from the bottom up), and
:func:`parse_permutation` repairs whatever comes back, so no hit is ever lost or duplicated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import LLMError
from ..search.hit import Hit
from .backends.base import Prompt, complete, two_way_logprob
from .prompts import (
    QUERY_LIKELIHOOD,
    RANKGPT,
    RELEVANCE,
    RELEVANCE_CHOICES,
    describe_hit,
    fit_documents,
    numbered_passages,
)


@dataclass
class RerankResult:
    """A new order of the input hits.

    ``order`` lists indices into the input, best first, and is always a permutation of ``range(len(hits))``.
    """

    order: list[int]  # input indices, best first
    scores: list[float | None]  # per input hit: the pointwise log-prob score, or None (listwise)
    method: str  # "yes_no", "likelihood", "listwise" or "none"
    prompts: list[Prompt] = field(default_factory=list)  # what the model read
    replies: list[str] = field(default_factory=list)  # what it wrote (listwise)
    notes: list[str] = field(default_factory=list)  # repairs, shortened documents, fallbacks


def parse_permutation(text: str, size: int) -> tuple[list[int], list[str]]:
    """Turn a RankGPT reply into a full permutation of ``range(size)`` (0-based), repairing it.

    Bracketed ids (``[3]``) are read in order, or bare numbers when there are none; ids out of
    ``1..size`` and repeats are dropped; ids never mentioned are appended in their first-stage order; a
    reply with no usable id gives the first-stage order.

    Example:
        >>> parse_permutation("[3] > [1] > [3] > [9]", 4)
        ([2, 0, 1, 3], ['dropped 1 repeated id(s)', 'dropped 1 out-of-range id(s)', 'appended 2 missing id(s) in first-stage order'])
    """
    numbers = re.findall(r"\[\s*(\d+)\s*\]", text or "") or re.findall(r"\b(\d+)\b", text or "")
    seen: list[int] = []
    repeated = out_of_range = 0
    for number in numbers:
        index = int(number) - 1
        if not 0 <= index < size:
            out_of_range += 1
        elif index in seen:
            repeated += 1
        else:
            seen.append(index)
    notes = []
    if not seen:
        return list(range(size)), (["no id could be parsed; kept the first-stage order"] if size > 1 else [])
    if repeated:
        notes.append(f"dropped {repeated} repeated id(s)")
    if out_of_range:
        notes.append(f"dropped {out_of_range} out-of-range id(s)")
    missing = [index for index in range(size) if index not in seen]
    if missing:
        notes.append(f"appended {len(missing)} missing id(s) in first-stage order")
    return seen + missing, notes


def _as_hits(hits: Sequence[Any]) -> list[Hit]:
    """The first stage's hits (hits, records or dicts of hit fields) read once as :class:`Hit` objects."""
    return [Hit.of(hit, rank=rank) for rank, hit in enumerate(hits, 1)]


def _documents(hits: Sequence[Hit], max_doc_chars: int) -> list[str]:
    return [describe_hit(hit, max_chars=max_doc_chars, abc_chars=0) for hit in hits]


def rerank_pointwise(query: str, hits: Sequence[Any], backend: Any, *, method: str = "auto",
                     max_doc_chars: int = 300, first_stage_weight: float = 0.0) -> RerankResult:
    """Score each hit on its own and sort by score (ties keep the first-stage order).

    Args:
        query: the user's query.
        hits: first-stage hits, best first (:class:`~musicsearch.search.hit.Hit` objects, records or dicts).
        backend: an :class:`~musicsearch.llm.backends.base.LLMBackend`.
        method: ``"likelihood"`` (mean log P(query | tune); needs a backend that scores whole continuations,
            i.e. a local one), ``"yes_no"`` (log P(Yes) vs P(No)), or ``"auto"``: likelihood when the backend
            can, else yes/no.
        max_doc_chars: bound on each tune's description (shortened further when the context is short).
        first_stage_weight: add this times the first-stage score's z-score to the model's z-score (0: model only).

    Returns:
        A :class:`RerankResult` whose ``scores`` are the model's scores (before any interpolation).

    Example:
        >>> rerank_pointwise("a reel in G", hits, backend).order  # doctest: +SKIP
        [3, 0, 1, 2]
    """
    if method not in ("auto", "yes_no", "likelihood"):
        raise LLMError(f"method={method!r}; use 'auto', 'likelihood' or 'yes_no'.")
    if method == "auto":
        method = "likelihood" if getattr(backend, "scores_continuations", True) is not False else "yes_no"
    if not hits:
        return RerankResult([], [], method)
    hits = _as_hits(hits)
    template = RELEVANCE if method == "yes_no" else QUERY_LIKELIHOOD
    # The query goes in whole, the tune shortened if needed: reserve room for the scored reply.
    reserve = 8 if method == "yes_no" else 8 + len(query) // 2
    prompts, shortened = [], 0
    for document in _documents(hits, max_doc_chars):
        prompt, cut = fit_documents(backend, lambda docs: template.render(document=docs[0], query=query),
                                    [document], reserve=reserve)
        prompts.append(prompt)
        shortened += cut
    notes = [f"shortened {shortened} tune description(s) to fit the model's context"] if shortened else []
    if method == "yes_no":
        yes, no = RELEVANCE_CHOICES
        both = np.asarray(backend.score(prompts + prompts, [yes] * len(prompts) + [no] * len(prompts)), dtype=float)
        scores = two_way_logprob(both[:len(prompts)], both[len(prompts):])
    else:
        if getattr(backend, "scores_continuations", True) is False:
            raise LLMError(f"{getattr(backend, 'name', 'this backend')} cannot score whole continuations (an "
                           "OpenAI-style endpoint gives log-probs of generated tokens only); use method='yes_no'.")
        scores = np.asarray(backend.score(prompts, [query] * len(prompts), normalize=True), dtype=float)
    if not np.all(np.isfinite(scores)):
        notes.append("the model gave non-finite scores; those hits keep their first-stage place")
        scores = np.where(np.isfinite(scores), scores, -1e9)
    combined = _zscore(scores)
    if first_stage_weight:
        combined = combined + first_stage_weight * _zscore(np.array([hit.score for hit in hits]))
    order = sorted(range(len(hits)), key=lambda index: (-combined[index], index))
    return RerankResult(order, [float(value) for value in scores], method, prompts, [], notes)


def _zscore(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def rerank_listwise(query: str, hits: Sequence[Any], backend: Any, *, window: int = 20, step: int = 10,
                    max_doc_chars: int = 200) -> RerankResult:
    """RankGPT's sliding-window permutation, from the last window up to the first.

    Args:
        query: the user's query.
        hits: first-stage hits, best first (:class:`~musicsearch.search.hit.Hit` objects, records or dicts).
        backend: any backend that generates text.
        window: hits per prompt.
        step: how far the window moves up each round (``window - step`` hits overlap, so good hits can
            bubble up from the bottom of the list to the top).
        max_doc_chars: bound on each tune's description.

    Returns:
        A :class:`RerankResult` with ``scores`` all ``None`` (a permutation has no scores).
    """
    if window < 2 or not 0 < step <= window:
        raise LLMError(f"window={window}, step={step}: need window >= 2 and 0 < step <= window.")
    order = list(range(len(hits)))
    result = RerankResult(order, [None] * len(hits), "listwise")
    if len(hits) < 2:
        return result
    documents = _documents(_as_hits(hits), max_doc_chars)
    end = len(hits)
    while True:
        start = max(0, end - window)
        part = order[start:end]
        count, max_new = len(part), 6 * len(part) + 8  # "[12] > " is about five tokens
        try:
            prompt, cut = fit_documents(
                backend, lambda docs: RANKGPT.render(num=count, query=query, passages=numbered_passages(docs)),  # noqa: B023
                [documents[index] for index in part], reserve=max_new)
        except LLMError:
            if window <= 2:
                result.notes.append("even two tunes do not fit the model's context; kept the first-stage order")
                return result
            # Too many tunes for the context: start again with half the window (and step).
            result.notes.append(f"a window of {window} tunes does not fit the context; using {window // 2}")
            window, step = window // 2, max(1, step // 2)
            order, end = list(range(len(hits))), len(hits)
            result.prompts, result.replies = [], []
            continue
        reply = complete(backend, [prompt], max_new, stop=["\n\n"])[0]
        permutation, notes = parse_permutation(reply.text, len(part))
        if reply.truncated:
            notes.insert(0, "the reply was cut at the token limit")
        if cut:
            notes.append("shortened tune descriptions to fit the model's context")
        result.notes += [f"window {start + 1}-{end}: {note}" for note in notes]
        order[start:end] = [part[position] for position in permutation]
        result.prompts.append(prompt)
        result.replies.append(reply.text)
        if start == 0:
            break
        end -= step
    result.order = order
    return result


def rerank_hits(query: str, hits: Sequence[Any], backend: Any, method: str = "pointwise", **options: Any) -> RerankResult:
    """Dispatch: ``"pointwise"`` (auto), ``"likelihood"``, ``"yes_no"``, ``"listwise"`` or ``"none"``."""
    if method == "none" or backend is None:
        return RerankResult(list(range(len(hits))), [None] * len(hits), "none")
    if method in ("pointwise", "likelihood", "yes_no"):
        return rerank_pointwise(query, hits, backend, method="auto" if method == "pointwise" else method, **options)
    if method == "listwise":
        return rerank_listwise(query, hits, backend, **options)
    raise LLMError(f"rerank={method!r}; use 'pointwise', 'likelihood', 'yes_no', 'listwise' or 'none'.")
