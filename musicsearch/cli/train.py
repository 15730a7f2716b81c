"""``musicsearch train`` and ``musicsearch eval``; ``musicsearch model build`` lives in :mod:`musicsearch.cli.model`.

Heavy imports (torch, transformers) happen inside the handlers, so ``musicsearch --help`` stays fast.

Examples::

    musicsearch train --preset quick --out ~/.cache/musicsearch/models/default
    musicsearch train --init default --corpus my_tunes.jsonl --out models/mine   # fine-tune on your tunes
    musicsearch eval --model ~/.cache/musicsearch/models/default --json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _overrides(pairs: list[str]) -> dict:
    from ..errors import MusicSearchError

    values = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise MusicSearchError(f"--set expects FIELD=VALUE, got {pair!r} (e.g. --set epochs=2).")
        key, raw = pair.split("=", 1)
        try:
            values[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip()] = raw  # plain strings need no quotes: --set text_mode=finetune
    return values


def _load(source: str, progress: bool):
    from ..data.corpus_io import load_corpus

    return load_corpus(source, progress=progress)


def _train_and_save(preset: str, corpus_source: str, out: Path, overrides: dict, progress: bool,
                    init: str | None = None) -> dict:
    from ..artifacts import write_json
    from ..evaluation.retrieval import evaluate_retrieval
    from ..training.config import get_config
    from ..training.loop import train

    if init is not None:
        from ..training.finetune import finetune_config, load_init

        # A missing or unsuitable init model, or a --set that conflicts with it, fails before the corpus loads.
        start, name = load_init(init)
        config = finetune_config(start, preset, name, **overrides)
    else:
        config = get_config(preset, **overrides)  # an unknown --set field fails here, before the corpus loads
    corpus = _load(corpus_source, progress)
    model, history = train(config, corpus, out=out, progress=progress, init=init)
    report = evaluate_retrieval(model, corpus, progress=progress)
    report["training"] = history.summary()
    write_json(out / "eval.json", report)
    return report


def _train(args: argparse.Namespace) -> int:
    from ..evaluation.retrieval import format_report

    out = Path(args.out).expanduser()
    report = _train_and_save(args.preset, args.corpus, out, _overrides(args.set), not args.quiet, args.init)
    print(format_report(report))
    finetune = report["training"].get("finetune")
    if finetune:
        from ..training.finetune import REPORT_FILE, format_finetune_report

        print(format_finetune_report(finetune))
        print(f"model saved to {out} (before/after in {out / REPORT_FILE}, evaluation in {out / 'eval.json'})")
    else:
        print(f"model saved to {out} (evaluation in {out / 'eval.json'})")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from ..artifacts import write_json
    from ..evaluation.retrieval import evaluate_retrieval, format_report
    from ..models.loading import load_model

    model = load_model(args.model)
    corpus = _load(args.corpus, not args.quiet)
    report = evaluate_retrieval(model, corpus, heldout_only=not args.all_tunes, progress=not args.quiet)
    if args.output:
        write_json(args.output, report)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def register(subparsers) -> None:
    """Add ``train`` and ``eval`` to the ``musicsearch`` command."""
    from ..models.config import PRESETS

    train = subparsers.add_parser("train", help="train a music-text model (contrastive, CLaMP-style)")
    train.add_argument("--preset", default="quick", choices=sorted(PRESETS),
                       help="model size and schedule (default: quick, ~10 min on 2 CPU cores)")
    train.add_argument("--out", required=True, help="folder for the model, checkpoints and eval.json")
    train.add_argument("--corpus", default="music21", help="'music21' (default), a folder or a table of tunes")
    train.add_argument("--set", action="append", metavar="FIELD=VALUE",
                       help="override an architecture or training field, e.g. --set epochs=2 --set text_mode=finetune")
    train.add_argument("--init", default=None, metavar="MODEL",
                       help="fine-tune this trained model (a model folder, or 'default') on --corpus instead of "
                            "starting from scratch: its architecture is kept, --preset/--set give the training "
                            "settings; before/after figures on your held-out tunes go to OUT/finetune.json")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(handler=_train)

    evaluate = subparsers.add_parser("eval", help="evaluate a model on held-out tunes (MRR, HitRate, nDCG)")
    evaluate.add_argument("--model", default=None, help="model folder (default: the default model)")
    evaluate.add_argument("--corpus", default="music21", help="'music21' (default), a folder or a table")
    evaluate.add_argument("--json", action="store_true", help="print the full JSON report")
    evaluate.add_argument("--output", default=None, help="also write the JSON report to this file")
    evaluate.add_argument("--all-tunes", action="store_true",
                          help="evaluate on every tune, not only the held-out split (for a corpus of your own)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.set_defaults(handler=_eval)
