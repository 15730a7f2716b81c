"""The ``musicsearch`` command: a thin layer over the same public functions the notebooks use.

Each command group lives in its own ``cli_<topic>.py`` with a ``register(subparsers)`` function that adds
its parsers and sets ``handler`` to a function taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Command-group modules, in the order ``musicsearch --help`` lists them.
_COMMAND_MODULES = ("cli_corpus", "cli_build", "cli_model", "cli_search", "cli_lut", "cli_llm")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and for ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="musicsearch",
        description="Search and understand symbolic music with natural language.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"musicsearch.{module_name}")
        except ModuleNotFoundError as error:
            if error.name != f"musicsearch.{module_name}":
                raise
            continue  # a command group not written yet
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    from .errors import MusicSearchError

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
