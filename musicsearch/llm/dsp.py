"""Demonstrate-search-predict (DSP): few-shot demonstrations from the corpus, retrieval through the index, an answer.

A question such as "Find a tune in the same key and meter as 'Acacia -- Reel'" needs two hops: find Acacia
(it is a reel in G major, 2/4), then search for reels in G in 2/4. The model writes each hop's search query
after demonstrations of the pattern built from real tunes (:func:`make_demonstrations`), and answers from
what was retrieved. A small model's query is checked: when it is empty, garbage, or repeats the previous
hop, the next hop falls back to a query built from the previous hop's top hit's metadata, so the search
still makes progress (recorded in ``hop.source`` and ``notes``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..data import features
from ..errors import QueryError
from ..search.hit import Hit
from .backends.base import complete
from .page_text import clean_answer, is_garbage
from .prompts import DSP_PREDICT, DSP_SEARCH, clean_text, describe_hit, numbered_passages


@dataclass
class Demonstration:
    """A worked example: a question, what the first search found, the follow-up query, and the answer."""

    question: str
    context: list[str]  # descriptions of the tunes the first search found
    search_query: str  # the follow-up query that answers the question
    answer: str


@dataclass
class Hop:
    """One retrieval step."""

    query: str
    source: str  # "question", "llm" or "metadata" (fallback)
    hits: list[Hit] = field(default_factory=list)


@dataclass
class DSPResult:
    """Every hop, the final hits, the answer and the prompts that produced them."""

    question: str
    hops: list[Hop]
    hits: list[Hit]  # the answer's hits: the last hop's, minus tunes the question itself named
    answer: str
    prompts: dict[str, list[Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def follow_up_query(hit: Any) -> str:
    """A query for tunes like ``hit``: its type, key and meter in words (the metadata fallback).

    Args:
        hit: a :class:`~musicsearch.search.hit.Hit`, a corpus record, or a dict of hit fields.

    Example:
        >>> follow_up_query({"metadata": {"rhythm": "reel", "key": "G", "meter": "2/4"}})
        'reel in G major in 2/4'
    """
    hit = Hit.of(hit)
    key = features.parse_key(features.record_key(hit.metadata, hit.abc))
    parts = [features.tune_type(hit.metadata) or "tune"]
    if key.tonic:
        parts.append(f"in {key.tonic} {key.mode}")
    meter = features.record_meter(hit.metadata, hit.abc)
    if meter and meter[0].isdigit():
        parts.append(f"in {meter}")
    return " ".join(parts)


def two_hop_question(record: Any) -> str:
    """The notebook's two-hop question about a tune (a record, a hit, or a dict of hit fields).

    Example:
        >>> two_hop_question({"metadata": {"title": "Acacia"}})
        "Find a tune in the same key and meter as 'Acacia'."
    """
    return f"Find a tune in the same key and meter as '{Hit.of(record).title}'."


def make_demonstrations(records: Sequence[Any], n: int = 2, *, seed: int = 0) -> list[Demonstration]:
    """Two-hop demonstrations from real tunes: pairs that share tune type, key and meter.

    Example:
        >>> demos = make_demonstrations(corpus, n=2)  # doctest: +SKIP
        >>> demos[0].search_query  # doctest: +SKIP
        'reel in D major in 2/4'
    """
    groups: dict[str, list[Any]] = {}
    for record in records:
        metadata = getattr(record, "metadata", {}) or {}
        if metadata.get("title") and metadata.get("key") and metadata.get("meter"):
            groups.setdefault(follow_up_query(record), []).append(record)
    pairs = [members[:2] for members in groups.values() if len(members) >= 2]
    random.Random(seed).shuffle(pairs)
    return [Demonstration(question=two_hop_question(first), context=[describe_hit(first, max_chars=160, abc_chars=0)],
                          search_query=follow_up_query(first), answer=clean_text(second.metadata["title"], 80))
            for first, second in pairs[:n]]


def _render_demonstrations(demonstrations: Sequence[Demonstration], *, predict: bool) -> str:
    blocks = []
    for demo in demonstrations:
        context = numbered_passages(demo.context)
        last = f"Answer: {demo.answer}" if predict else f"Search query: {demo.search_query}"
        blocks.append(f"Question: {demo.question}\nContext:\n{context}\n{last}")
    return "\n\n".join(blocks) or "(no examples)"


def _search(search: Any, query: str, k: int) -> list[Hit]:
    """One retrieval step; whatever the search returns is read as hits once, here."""
    if hasattr(search, "search"):
        found = search.search(query, k=k)
    elif callable(search):
        found = search(query, k)
    else:
        raise QueryError(f"search must have search(query, k) or be a function; got {type(search).__name__}.")
    return [Hit.of(hit, rank=rank) for rank, hit in enumerate(found, 1)]


def dsp_search(question: str, search: Any, backend: Any, *, demonstrations: Sequence[Demonstration] = (),
               hops: int = 2, k: int = 5, max_new_tokens: int = 24) -> DSPResult:
    """Answer ``question`` in ``hops`` retrieval steps with demonstrations, then predict.

    Args:
        question: a question about tunes.
        search: an index (``search(query, k)``), a :class:`~musicsearch.search.keyword_search.KeywordSearch`, or a
            function ``(query, k) -> hits``.
        backend: an LLM backend, or ``None`` (hops then use the metadata fallback and the answer lists titles).
        demonstrations: from :func:`make_demonstrations`.
        hops: retrieval steps; the first searches for the question itself.
        k: hits per hop.
        max_new_tokens: budget for each generated query.

    Returns:
        A :class:`DSPResult`.
    """
    if not isinstance(question, str) or not question.strip():
        raise QueryError("the question is empty.")
    started = time.perf_counter()
    result = DSPResult(question, [], [], "")
    result.hops.append(Hop(question, "question", _search(search, question, k)))
    result.prompts["search"] = []
    for _ in range(1, max(1, hops)):
        previous = result.hops[-1]
        context = numbered_passages([describe_hit(hit, max_chars=160, abc_chars=0) for hit in previous.hits[:3]])
        query, source = "", "metadata"
        if backend is not None:
            prompt = DSP_SEARCH.render(demonstrations=_render_demonstrations(demonstrations, predict=False),
                                       question=question, context=context)
            result.prompts["search"].append(prompt)
            query = clean_text(complete(backend, [prompt], max_new_tokens, stop=["\n"])[0].text, 120)
            source = "llm"
        if is_garbage(query) or query.lower() in (hop.query.lower() for hop in result.hops):
            if backend is not None:
                result.notes.append(f"hop {len(result.hops) + 1}: the model's query {query!r} was unusable; "
                                    "built one from the top hit's metadata")
            query = follow_up_query(previous.hits[0]) if previous.hits else question
            source = "metadata"
        result.hops.append(Hop(query, source, _search(search, query, k + 1)))
    named = {hit.id for hit in result.hops[0].hits[:1]} if len(result.hops) > 1 else set()
    result.hits = [hit for hit in result.hops[-1].hits if hit.id not in named][:k]
    result.timings["search"] = round(time.perf_counter() - started, 4)
    titles = ", ".join(clean_text(hit.title or hit.id, 60) for hit in result.hits[:3])
    if backend is not None and result.hits:
        documents = [describe_hit(hit, max_chars=160, abc_chars=0) for hit in result.hits]
        prompt = DSP_PREDICT.render(demonstrations=_render_demonstrations(demonstrations, predict=True),
                                    question=question, context=numbered_passages(documents))
        result.prompts["predict"] = [prompt]
        reply = complete(backend, [prompt], 2 * max_new_tokens, stop=["\n\n", "\nQuestion:"])[0]
        result.answer, notes = clean_answer(reply.text, len(result.hits), truncated=reply.truncated)
        result.notes += notes
    if not result.answer:
        result.answer = f"Candidates: {titles}." if titles else "Nothing found."
        if backend is not None:
            result.notes.append("the model's answer was empty or unusable; listed the top titles instead")
    result.timings["total"] = round(time.perf_counter() - started, 4)
    return result
