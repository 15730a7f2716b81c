"""``musicsearch corpus build | stats | export``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _at_least_one(text: str) -> int:
    """argparse type of ``--limit``: a whole number of at least 1 (a negative slice would drop files)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}; leave --limit out to read everything")
    return value


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", default="music21",
                        help="'music21' (bundled corpus, default), a folder of score files, a table "
                             "(.jsonl/.json/.csv), or a folder written by 'corpus build --out'")
    parser.add_argument("--collections", help="comma-separated top-level folders to read, e.g. ryansMammoth,bach")
    parser.add_argument("--limit", type=_at_least_one, help="read at most this many files (at least 1)")
    parser.add_argument("--no-scores", action="store_true", help="skip MusicXML files")
    parser.add_argument("--kern", action="store_true", help="also read kern (.krn) files (slow)")
    parser.add_argument("--midi", action="store_true", help="also read MIDI files (slow)")


def _load(arguments: argparse.Namespace):
    from ..data.corpus_io import load_corpus

    collections = arguments.collections.split(",") if arguments.collections else None
    return load_corpus(arguments.source, collections=collections, limit=arguments.limit,
                       include_scores=not arguments.no_scores, include_kern=arguments.kern,
                       include_midi=arguments.midi)


def _corpus_build(arguments: argparse.Namespace) -> int:
    from ..data.corpus_store import save_corpus
    from ..errors import CorpusError

    if arguments.out and Path(arguments.out).exists() and not Path(arguments.out).is_dir():
        raise CorpusError(f"--out {arguments.out} is a file; corpus build writes a folder (records.parquet + "
                          "report.json): give a folder path.")
    corpus = _load(arguments)
    if arguments.out:
        save_corpus(corpus, arguments.out)
    report = corpus.report
    print(report.summary())
    for reason, count in sorted(report.reasons.items(), key=lambda item: -item[1])[:10]:
        print(f"  skipped {count:>5}  {reason}")
    if arguments.out:
        print(f"written to {arguments.out}")
    return 0


def _corpus_stats(arguments: argparse.Namespace) -> int:
    from ..data.corpus_io import corpus_stats

    stats = corpus_stats(_load(arguments))
    if arguments.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return 0
    print(f"{stats['records']} records")
    for section in ("collections", "tune_types", "meters", "modes", "origins"):
        print(f"\n{section.replace('_', ' ')}:")
        for name, count in list(stats[section].items())[:12]:
            print(f"  {count:>6}  {name}")
    return 0


def _corpus_export(arguments: argparse.Namespace) -> int:
    from ..artifacts import atomic_write_text
    from ..errors import CorpusError

    if Path(arguments.out).is_dir():  # checked before the corpus loads, which may take a minute
        raise CorpusError(f"--out {arguments.out} is a folder; export writes one JSONL file: give a file path "
                          f"such as {Path(arguments.out) / 'records.jsonl'}.")
    corpus = _load(arguments)
    lines = [json.dumps({"id": r.id, "source": r.source, "ref": r.ref, "collection": r.collection, "abc": r.abc,
                         "metadata": r.metadata, "captions": r.captions}, ensure_ascii=False)
             # U+2028/2029 are valid inside JSON strings but split lines in many JSONL readers.
             .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") for r in corpus]
    atomic_write_text(arguments.out, "\n".join(lines) + "\n")
    print(f"{len(lines)} records written to {arguments.out} ({corpus.report.summary()})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``corpus`` command group."""
    corpus = subparsers.add_parser("corpus", help="build, inspect and export corpora")
    actions = corpus.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="build (or refresh the cache of) a corpus")
    _add_source_arguments(build)
    build.add_argument("--out", help="also write the corpus (Parquet + report) to this folder")
    build.set_defaults(handler=_corpus_build)
    stats = actions.add_parser("stats", help="counts per collection, tune type, meter, mode, origin")
    _add_source_arguments(stats)
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(handler=_corpus_stats)
    export = actions.add_parser("export", help="write one JSON object per record")
    _add_source_arguments(export)
    export.add_argument("--out", required=True, help="output .jsonl file (its folder is created if missing)")
    export.set_defaults(handler=_corpus_export)
