"""A search result page from one language model (Large Search Model style): rewrite, rerank, snippets, answer.

:func:`build_search_page` takes the query, first-stage hits (or anything with ``search(query, k)``) and a
backend, and returns a :class:`SearchPage` that renders as HTML in a notebook and serialises to JSON. The
model only ever *proposes*: the set of hits comes from the first stage, every hit appears exactly once, the
order comes from scores or a repaired permutation, and snippets or answers that are empty or garbage are
replaced by text built from metadata. A title such as "ignore previous instructions" is just data.
"""

from __future__ import annotations

import inspect
import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import QueryError
from ..search.hit import Hit
from .backends.base import complete
from .backends.factory import load_backend
from .page_text import clean_answer, clean_snippet, metadata_snippet
from .prompts import ANSWER, SNIPPET, clean_text, describe_hit, fit_documents, numbered_passages
from .rerank import RerankResult, rerank_hits
from .rewrite import RewrittenQuery, match_filters, rewrite_query

SNIPPET_TOKENS = 32  # one sentence; the batch stops early once every snippet has ended


@dataclass
class PageHit:
    """One result on the page, with where it came from and how each stage scored it."""

    id: str  # record id, e.g. "ryansMammoth/AcaciaReel.abc#1"
    rank: int  # 1-based place on the page
    title: str | None
    source: str  # provenance: file relative to the corpus root
    ref: str | None  # X: number in a multi-tune file
    collection: str
    metadata: dict[str, str]
    first_stage_rank: int  # 1-based place before reranking
    first_stage_score: float | None
    rerank_score: float | None  # pointwise log-prob score; None for listwise or no reranking
    snippet: str = ""
    snippet_source: str = ""  # "llm", "metadata" (model output unusable or not asked for)
    filter_matches: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def from_hit(cls, hit: Any, first_stage_rank: int) -> PageHit:
        """The page's row for a first-stage hit (a :class:`Hit`, a record, or a dict of hit fields)."""
        hit = Hit.of(hit, rank=first_stage_rank)
        return cls(id=hit.id, rank=first_stage_rank, title=hit.title, source=hit.source, ref=hit.ref,
                   collection=hit.collection, metadata=dict(hit.metadata), first_stage_rank=first_stage_rank,
                   first_stage_score=hit.score, rerank_score=None)


@dataclass
class SearchPage:
    """A whole result page: what was asked, what was found, how, and how long each stage took.

    Example:
        >>> page = ms.build_search_page("a reel in G", hits, "local")  # doctest: +SKIP
        >>> [hit.id for hit in page.hits][:2], page.timings["total"]  # doctest: +SKIP
    """

    query: str
    rewritten: RewrittenQuery | None
    hits: list[PageHit]
    answer: str = ""
    answer_truncated: bool = False
    model: str = "none"
    rerank: str = "none"
    prompts: dict[str, list[Any]] = field(default_factory=dict)  # stage -> prompts (chat messages)
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds, plus "total"
    notes: list[str] = field(default_factory=list)  # repairs, fallbacks, shortened documents

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, *, indent: int | None = 2, include_prompts: bool = True) -> str:
        """The page as JSON (``include_prompts=False`` for a compact page)."""
        payload = self.to_dict()
        if not include_prompts:
            payload.pop("prompts")
        return json.dumps(payload, indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SearchPage:
        payload = json.loads(text)
        rewritten = payload.pop("rewritten", None)
        hits = [PageHit(**hit) for hit in payload.pop("hits", [])]
        return cls(rewritten=RewrittenQuery(**rewritten) if rewritten else None, hits=hits, **payload)

    def _repr_html_(self) -> str:
        from .page_html import page_html

        return page_html(self)


class _Stopwatch:
    """Seconds per stage of a page, written to ``timings`` in the order the stages ran."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.started = self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self.last, 4)
        self.last = now

    def stop(self) -> None:
        self.timings["total"] = round(time.perf_counter() - self.started, 4)


def build_search_page(query: str, first_stage: Any, backend: Any = None, *, k: int = 10, candidates: int = 20,
                      rerank: str = "pointwise", rewrite: bool = True, snippets: str = "llm", answer: bool = True,
                      filters: str = "boost", answer_hits: int = 3, max_new_tokens: int = 48,
                      trust_llm_filters: bool = False, search_mode: str = "hybrid",
                      **rerank_options: Any) -> SearchPage:
    """Turn a query and first-stage hits into a :class:`SearchPage`.

    The stages run in this order, each timed in ``page.timings``: rewrite the query, take the first stage's
    hits, rerank them, assemble the page (filter boost, top ``k``), write snippets, write the answer.

    Args:
        query: what the user typed (must contain a letter or digit).
        first_stage: hits (best first), a :class:`~musicsearch.search.index.SearchIndex`, or ``fn(query, k)``.
        backend: an LLM backend, a spec for :func:`~musicsearch.llm.backends.factory.load_backend` (``"local"``,
            ``"hf:NAME"``, ``"openai:URL"``), or ``None`` for a page without a model.
        k: hits shown on the page.
        candidates: first-stage hits that are reranked (20 keeps pointwise reranking within a few seconds
            on a laptop CPU).
        rerank: ``"pointwise"`` (default: query likelihood on local models, yes/no on endpoints),
            ``"likelihood"``, ``"yes_no"``, ``"listwise"`` or ``"none"``.
        rewrite: ask the model for keywords and filters (rules are always applied).
        snippets: ``"llm"`` (one generated sentence per hit, batched), ``"metadata"`` or ``"none"``.
        answer: generate an answer citing the top ``answer_hits`` hits.
        filters: ``"boost"`` moves hits matching more of the query's filters up (stable; nothing dropped)
            or ``"off"``.
        max_new_tokens: budget for the answer and the query rewrite (snippets take at most
            ``SNIPPET_TOKENS``); a cut answer is marked truncated.
        trust_llm_filters: keep model filters that the query does not mention (for big models).
        search_mode: for a :class:`~musicsearch.search.index.SearchIndex` first stage, ``"hybrid"`` (default: music
            content fused with titles, composers and types, so "tunes by O'Carolan" finds them) or
            ``"content"`` (music embeddings only).
        **rerank_options: passed to the reranker (``window``, ``step``, ``max_doc_chars``, ...).

    Returns:
        The page. Stages that fail on model output fall back (documented in ``page.notes``); every
        candidate hit that makes the top ``k`` appears exactly once.

    Example:
        >>> page = build_search_page("a hornpipe", hits, None, k=3)  # doctest: +SKIP
        >>> [hit.rank for hit in page.hits], page.hits[0].snippet_source  # doctest: +SKIP
        ([1, 2, 3], 'metadata')
    """
    _check_request(query, k, candidates)
    if isinstance(backend, str):
        backend = load_backend(backend)
    page = SearchPage(query=query, rewritten=None, hits=[], model=getattr(backend, "name", "none") if backend else "none",
                      rerank=rerank if backend is not None else "none")
    clock = _Stopwatch(page.timings)
    _rewrite_query(page, backend if rewrite else None, trust_llm_filters, max_new_tokens)
    clock.lap("rewrite")
    hits = _first_stage_hits(page, first_stage, candidates, search_mode)
    clock.lap("first_stage")
    reranked = _rerank(page, hits, backend, rerank_options)
    clock.lap("rerank")
    shown = _assemble(page, hits, reranked, k, boost=filters == "boost")
    _add_snippets(page, shown, backend if snippets == "llm" else None, snippets != "none", max_new_tokens)
    clock.lap("snippets")
    if answer and backend is not None and page.hits:
        _add_answer(page, shown[:answer_hits], backend, max_new_tokens)
    clock.lap("answer")
    clock.stop()
    return page


def _check_request(query: str, k: int, candidates: int) -> None:
    if not isinstance(query, str) or not any(char.isalnum() for char in query):
        raise QueryError(f"query {query!r} is empty; type some words, e.g. 'a jig in D'.")
    if k < 1 or candidates < 1:
        raise QueryError(f"k={k} and candidates={candidates} must be at least 1.")


def _rewrite_query(page: SearchPage, backend: Any, trust_llm: bool, max_new_tokens: int) -> None:
    """Rules always; the model too when given (a JSON reply needs at least 40 tokens)."""
    page.rewritten = rewrite_query(page.query, backend, trust_llm=trust_llm, max_new_tokens=max(max_new_tokens, 40))
    page.notes += page.rewritten.notes


def _search(query: str, first_stage: Any, candidates: int, search_mode: str) -> list[Any]:
    if hasattr(first_stage, "search"):
        if "mode" in inspect.signature(first_stage.search).parameters:  # a SearchIndex: content or hybrid
            return list(first_stage.search(query, k=candidates, mode=search_mode))
        return list(first_stage.search(query, k=candidates))
    if callable(first_stage):
        return list(first_stage(query, candidates))
    if isinstance(first_stage, Sequence) and not isinstance(first_stage, (str, bytes)):
        return list(first_stage)[:candidates]
    raise QueryError("first_stage must be a list of hits, an index with search(query, k), or a function "
                     f"(query, k) -> hits; got {type(first_stage).__name__}.")


def _first_stage_hits(page: SearchPage, first_stage: Any, candidates: int, search_mode: str) -> list[Hit]:
    """The candidates as :class:`Hit` objects, each tune once (a first stage that repeats one must not show it twice)."""
    found = _search(page.query, first_stage, candidates, search_mode)
    hits: list[Hit] = []
    seen: set[str] = set()
    for rank, value in enumerate(found, 1):
        hit = Hit.of(value, rank=rank)
        if hit.id not in seen:
            seen.add(hit.id)
            hits.append(hit)
    if len(hits) < len(found):
        page.notes.append(f"dropped {len(found) - len(hits)} repeated first-stage hit(s)")
    return hits


def _rerank(page: SearchPage, hits: list[Hit], backend: Any, options: dict[str, Any]) -> RerankResult:
    result = rerank_hits(page.query, hits, backend, page.rerank, **options)
    page.prompts["rerank"] = result.prompts
    page.notes += result.notes
    return result


def _assemble(page: SearchPage, hits: list[Hit], reranked: RerankResult, k: int, *, boost: bool) -> list[Hit]:
    """Fill ``page.hits`` in the reranked order (filter matches first when boosting), top ``k``, ranked 1..k.

    Returns the first-stage hits behind the page's rows, in the page's order.
    """
    filters = page.rewritten.filters if page.rewritten else {}
    rows = []
    for index in reranked.order:
        row = PageHit.from_hit(hits[index], index + 1)
        row.rerank_score = reranked.scores[index]
        row.filter_matches = match_filters(filters, hits[index])
        rows.append((row, hits[index]))
    if boost and filters:
        rows.sort(key=lambda pair: -sum(pair[0].filter_matches.values()))  # stable: model order within groups
    rows = rows[:k]
    for rank, (row, _) in enumerate(rows, 1):
        row.rank = rank
    page.hits = [row for row, _ in rows]
    return [hit for _, hit in rows]


def _add_snippets(page: SearchPage, hits: list[Hit], backend: Any, wanted: bool, max_new_tokens: int) -> None:
    if not wanted:
        return
    replies: list[Any] = [None] * len(hits)
    if backend is not None and hits:
        budget = min(max_new_tokens, SNIPPET_TOKENS)
        # Metadata only (no music excerpt): prompt tokens are most of the cost, and small models cannot read ABC.
        prompts = [fit_documents(backend, lambda docs: SNIPPET.render(document=docs[0], query=page.query),
                                 [describe_hit(hit, abc_chars=0)], reserve=budget)[0] for hit in hits]
        page.prompts["snippets"] = prompts
        # One sentence is asked for: stopping there lets the batch end early instead of running to the limit.
        replies = complete(backend, prompts, budget, stop=[". ", ".\n", "\n"])
    for page_hit, hit, reply in zip(page.hits, hits, replies):
        text = clean_snippet(reply.text, truncated=reply.truncated, hit=hit) if reply is not None else ""
        page_hit.snippet, page_hit.snippet_source = (text, "llm") if text else (metadata_snippet(hit), "metadata")
    fallbacks = sum(hit.snippet_source == "metadata" for hit in page.hits)
    if backend is not None and fallbacks:
        page.notes.append(f"{fallbacks} snippet(s) built from metadata: the model's text was empty, looping, "
                          "an echo of the prompt, or contradicted the tune's metadata")


def _grounded(answer: str, hits: list[Hit]) -> bool:
    """Whether an answer cites a hit as [n] or names one of their titles (the part before " -- ")."""
    if re.search(r"\[(\d+)\]", answer) and any(1 <= int(n) <= len(hits) for n in re.findall(r"\[(\d+)\]", answer)):
        return True
    lowered = answer.lower()
    titles = [(hit.title or "").split(" -- ")[0].strip(" .").lower() for hit in hits]
    return any(len(title) >= 4 and title in lowered for title in titles)


def _add_answer(page: SearchPage, hits: list[Hit], backend: Any, max_new_tokens: int) -> None:
    documents = [describe_hit(hit, max_chars=200, abc_chars=0) for hit in hits]
    prompt, shortened = fit_documents(
        backend, lambda docs: ANSWER.render(query=page.query, passages=numbered_passages(docs)), documents,
        reserve=max_new_tokens)
    page.prompts["answer"] = [prompt]
    reply = complete(backend, [prompt], max_new_tokens, stop=["\n\n"])[0]
    page.answer, notes = clean_answer(reply.text, len(hits), truncated=reply.truncated)
    page.answer_truncated = reply.truncated
    if shortened:
        notes.append("shortened tune descriptions in the answer prompt to fit the model's context")
    if page.answer and not _grounded(page.answer, hits):
        notes.append(f"the model's answer cited none of the results ({clean_text(page.answer, 80)!r}); not shown")
        page.answer = ""
    if not page.answer:
        titles = ", ".join(clean_text(hit.title or hit.id, 60) for hit in page.hits[:3])
        page.answer = f"Top results: {titles}."
        notes.append("the model's answer was empty or unusable; listed the top titles instead")
    page.notes += notes
