"""``musicsearch serp QUERY``: a whole search result page — retrieve, rewrite, rerank, snippets, answer.

Examples::

    musicsearch serp "a hornpipe in D" --rerank pointwise
    musicsearch serp "a reel in G" --backend openai:http://127.0.0.1:11434/v1#qwen2.5:7b --rerank listwise --json
    musicsearch serp "a slow air" --first-stage keyword --corpus music21 --html page.html

Heavy libraries are imported inside the handler, so ``musicsearch --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .llm import BACKEND_HELP, backend_from_spec


def register(subparsers: Any) -> None:
    """Add the ``serp`` command."""
    serp = subparsers.add_parser("serp", help="a whole search result page from a language model",
                                 description="Retrieve, rewrite, rerank, write snippets and an answer for QUERY.")
    serp.add_argument("query", help="what to search for, e.g. 'a hornpipe in D'")
    serp.add_argument("--index", default=None, help="index folder (default: the index `make model` builds)")
    serp.add_argument("--first-stage", choices=("index", "keyword"), default="index",
                      help="index (the joint-space model, default) or keyword (BM25 over metadata, no model needed)")
    serp.add_argument("--mode", choices=("hybrid", "content"), default="hybrid",
                      help="index search mode: hybrid (default: with titles, composers, types) or content")
    serp.add_argument("--corpus", default="music21", help="corpus for --first-stage keyword (default music21)")
    serp.add_argument("--backend", default="local", help=BACKEND_HELP + ", or none")
    serp.add_argument("--rerank", choices=("pointwise", "likelihood", "yes_no", "listwise", "none"), default="pointwise")
    serp.add_argument("-k", type=int, default=10, help="hits on the page (default 10)")
    serp.add_argument("--candidates", type=int, default=20, help="first-stage hits reranked (default 20)")
    serp.add_argument("--snippets", choices=("llm", "metadata", "none"), default="llm")
    serp.add_argument("--no-answer", action="store_true", help="skip the generated answer")
    serp.add_argument("--threads", type=int, default=None, help="torch CPU threads (local backends)")
    output = serp.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the page as JSON")
    output.add_argument("--html", metavar="FILE", default=None, help="write the page as HTML to FILE")
    serp.set_defaults(handler=_serp)


def _first_stage(args: argparse.Namespace) -> Any:
    if args.first_stage == "keyword":
        from ..data.corpus_io import load_corpus
        from ..search.keyword_search import KeywordSearch

        return KeywordSearch(load_corpus(args.corpus, progress=sys.stderr.isatty()))
    from ..errors import ArtifactError
    from ..search.default_index import load_index

    try:
        return load_index(args.index)
    except ArtifactError as error:
        raise ArtifactError(f"{error} Or search without a model: --first-stage keyword.") from error


def _serp(args: argparse.Namespace) -> int:
    from ..artifacts import atomic_write_text
    from ..llm.page import build_search_page
    from ..llm.page_html import page_document

    first_stage = _first_stage(args)
    backend = None if args.backend == "none" else backend_from_spec(args.backend, args.threads)
    page = build_search_page(args.query, first_stage, backend, k=args.k, candidates=args.candidates,
                             rerank=args.rerank, snippets=args.snippets, answer=not args.no_answer,
                             search_mode=args.mode)
    if args.json:
        print(page.to_json())
    elif args.html:
        atomic_write_text(args.html, page_document(page))
        print(f"wrote {args.html}")
    else:
        print(format_page(page))
    return 0


def format_page(page: Any) -> str:
    """The page as plain text for a terminal."""
    lines = [f"query: {page.query}"]
    if page.rewritten is not None:
        lines.append(f"keywords: {', '.join(page.rewritten.keywords) or '-'}   filters: "
                     + (", ".join(f"{k}={v}" for k, v in page.rewritten.filters.items()) or "-"))
    if page.answer:
        lines.append(f"answer: {page.answer}" + (" (truncated)" if page.answer_truncated else ""))
    for hit in page.hits:
        score = "" if hit.rerank_score is None else f"  rerank {hit.rerank_score:.3f}"
        lines.append(f"{hit.rank:>2}. {hit.title or hit.id}   [{hit.id}; first stage #{hit.first_stage_rank}{score}]")
        if hit.snippet:
            lines.append(f"    {hit.snippet}")
    lines.append("timings: " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in page.timings.items()))
    lines.append(f"model: {page.model}   rerank: {page.rerank}")
    lines += [f"note: {note}" for note in page.notes]
    return "\n".join(lines)
