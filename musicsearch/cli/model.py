"""``musicsearch model build``: the default corpus, model and index in one step (what ``make model`` runs)."""

from __future__ import annotations

import argparse
import time


def _model_build(arguments: argparse.Namespace) -> int:
    from .. import paths
    from ..artifacts import artifact_exists
    from ..data.corpus_io import load_corpus

    model_dir = paths.default_model_dir()
    index_dir = paths.default_index_dir()
    started = time.perf_counter()
    corpus = load_corpus(arguments.source)
    print(corpus.report.summary())
    if artifact_exists(model_dir, "model") and not arguments.force:
        from ..models.loading import load_model

        model = load_model(model_dir)
        print(f"model: {model_dir} (exists; --force retrains)")
    else:
        from ..training.loop import train

        model, _ = train(arguments.preset, corpus, out=model_dir, progress=True)
        print(f"model: trained preset {arguments.preset!r} into {model_dir}")
    if artifact_exists(index_dir, "index") and not arguments.force:
        print(f"index: {index_dir} (exists; --force rebuilds)")
    else:
        from ..search.index import SearchIndex

        index = SearchIndex.build(model, corpus, kind=arguments.kind, progress=True)
        index.save(index_dir)
        print(f"index: {len(corpus)} tunes into {index_dir}")
    print(f"done in {time.perf_counter() - started:.0f} s; try: musicsearch search \"a slow air in a minor key\"")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``model`` command group."""
    group = subparsers.add_parser("model", help="build the default corpus, model and index")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="train the default model and index it, when missing")
    build.add_argument("--source", default="music21", help="corpus source (default: music21's corpus)")
    build.add_argument("--preset", default="quick", help="training preset (default: quick)")
    build.add_argument("--kind", default="flat", choices=["flat", "ivf", "hnsw"], help="index kind")
    build.add_argument("--force", action="store_true", help="retrain and re-index even if they exist")
    build.set_defaults(handler=_model_build)
