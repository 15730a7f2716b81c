"""The ``musicsearch`` command: one module per command group, each a thin layer over public functions.

``main`` (the console script's entry point, ``musicsearch.cli:main``) and ``build_parser`` live in
:mod:`musicsearch.cli.app`, which lists the command groups.
"""

from .app import build_parser, main

__all__ = ["build_parser", "main"]
