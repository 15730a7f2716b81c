"""``musicsearch llm serve|generate``: a local language model behind an endpoint, or one quick reply.

Examples::

    musicsearch llm serve --port 8000                       # SmolLM2 behind an OpenAI-compatible endpoint
    musicsearch llm generate "Name three Irish dance tune types." --max-new-tokens 24

Heavy libraries are imported inside the handlers, so ``musicsearch --help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import QueryError

BACKEND_HELP = "local (bundled SmolLM2-135M), hf:NAME_OR_FOLDER, or openai:URL[#MODEL]"


def register(subparsers: Any) -> None:
    """Add the ``llm`` command group (``serve``, ``generate``)."""
    llm = subparsers.add_parser("llm", help="run or serve a language model",
                                description="Language-model utilities: an OpenAI-compatible server and a quick generate.")
    commands = llm.add_subparsers(dest="llm_command", metavar="SUBCOMMAND")
    llm.set_defaults(handler=lambda args: (llm.print_help(), 2)[1])

    serve = commands.add_parser("serve", help="serve a local model through an OpenAI-compatible HTTP endpoint")
    serve.add_argument("--backend", default="local", help="local or hf:NAME_OR_FOLDER (default: local)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    serve.add_argument("--batch-size", type=int, default=16, help="prompts per forward pass (default 16)")
    serve.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    serve.set_defaults(handler=_llm_serve)

    generate = commands.add_parser("generate", help="generate a reply to one prompt")
    generate.add_argument("prompt", help="the user message")
    generate.add_argument("--backend", default="local", help=BACKEND_HELP)
    generate.add_argument("--max-new-tokens", type=int, default=64)
    generate.add_argument("--threads", type=int, default=None, help="torch CPU threads (local backends)")
    generate.set_defaults(handler=_llm_generate)


def _llm_serve(args: argparse.Namespace) -> int:
    from ..llm.backends.factory import load_backend
    from ..llm.backends.server import serve

    if args.backend.startswith("openai:"):
        raise QueryError("llm serve serves a local model; --backend must be local or hf:NAME_OR_FOLDER.")
    backend = load_backend(args.backend, batch_size=args.batch_size, threads=args.threads)
    serve(backend, args.host, args.port, duration=args.duration, verbose=not args.quiet)
    return 0


def _llm_generate(args: argparse.Namespace) -> int:
    from ..llm.backends.base import complete

    reply = complete(backend_from_spec(args.backend, args.threads), [args.prompt], args.max_new_tokens)[0]
    print(reply.text + (" …[truncated]" if reply.truncated else ""))
    return 0


def backend_from_spec(spec: str, threads: int | None) -> Any:
    """The backend a ``--backend`` spec names; ``--threads`` applies to local backends only."""
    from ..llm.backends.factory import load_backend

    local = not spec.startswith("openai:")
    return load_backend(spec, **({"threads": threads} if local and threads else {}))
