"""The ``musicsearch`` command: a thin layer over the same public functions the notebooks use.

Each command group lives in its own module of ``musicsearch.cli``, named after the group, with a
``register(subparsers)`` function that adds its parsers and sets ``handler`` to a function taking the parsed
arguments and returning an exit code. The groups are listed here explicitly; each module imports its heavy
libraries inside the handlers, so ``musicsearch --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys

from .corpus import register as register_corpus
from .llm import register as register_llm
from .lut import register as register_lut
from .model import register as register_model
from .search import register as register_search
from .serp import register as register_serp
from .train import register as register_train

# Each command group's register function, in the order ``musicsearch --help`` lists them.
_COMMAND_GROUPS = (register_corpus, register_model, register_train, register_search, register_lut, register_llm,
                   register_serp)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and for ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="musicsearch",
        description="Search and understand symbolic music with natural language.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register_group in _COMMAND_GROUPS:
        register_group(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    from ..errors import MusicSearchError

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    arguments = parser.parse_args(argv)
    handler = getattr(arguments, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(arguments) or 0)
    except MusicSearchError as error:
        print(f"musicsearch {arguments.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
