"""``musicsearch model``: which model is the default, the default index, and the released model.

Examples::

    musicsearch model which                 # the default model, why it is the default, its index
    musicsearch model build                 # the default corpus and index (what ``make model`` runs)
    musicsearch model build --train quick   # also train a model of your own first (~15 min on 2 cores)
    musicsearch model use ~/my-model        # make a model of yours the default (``released``: back)
    musicsearch model release               # retrain the released model (``make release-model``)
"""

from __future__ import annotations

import argparse
import json
import time


def _model_which(arguments: argparse.Namespace) -> int:
    import os

    from .. import paths
    from ..search.default_index import default_index_state

    state = default_index_state()
    if os.environ.get(paths.MODEL_VARIABLE, "").strip():
        why = f"the {paths.MODEL_VARIABLE} environment variable"
    elif paths.chosen_default_model() is not None:
        why = f"chosen with `musicsearch model use` ({paths.default_choice_file()})"
    else:
        why = "the released model shipped with musicsearch"
    state["why"] = why
    if arguments.json:
        print(json.dumps(state, indent=2))
        return 0
    print(f"default model: {state['model_dir']}\n  fingerprint {state['model_fingerprint']}: {why}")
    print(f"default index: {state['index_dir']}\n  " + ("up to date" if state["fresh"] else
                                                       f"built on first use: {state['reason']}"))
    return 0


def _model_use(arguments: argparse.Namespace) -> int:
    from ..models.loading import use_model

    folder = use_model(arguments.folder)
    print(f"default model: {folder}; the default index is rebuilt for it on first use")
    return 0


def _model_build(arguments: argparse.Namespace) -> int:
    from .. import paths
    from ..artifacts import artifact_exists
    from ..search.default_index import default_index_state, ensure_default_index

    started = time.perf_counter()
    if arguments.train:
        from ..data.corpus_io import load_corpus
        from ..training.loop import train

        model_dir = paths.trained_model_dir(arguments.train)
        if artifact_exists(model_dir, "model") and not arguments.force:
            print(f"model: {model_dir} (exists; --force retrains)")
        else:
            train(arguments.train, load_corpus(arguments.source), out=model_dir, progress=True)
            print(f"model: trained preset {arguments.train!r} into {model_dir}")
        print(f"make it the default with: musicsearch model use {model_dir}")
    folder = ensure_default_index(progress=True, rebuild=arguments.force)
    print(f"default index: {folder} for model {default_index_state()['model_fingerprint']} "
          f"({paths.default_model_dir()})")
    print(f"done in {time.perf_counter() - started:.0f} s; try: musicsearch search \"a slow air in a minor key\"")
    return 0


def _model_release(arguments: argparse.Namespace) -> int:
    from ..training.release import release_model

    report = release_model(trained=arguments.from_folder, out=arguments.out, progress=True)
    print(json.dumps({name: report[name] for name in ("weights_dtype", "fingerprint", "shipped")}, indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``model`` command group."""
    group = subparsers.add_parser("model", help="the default model and index; the released model")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    which = actions.add_parser("which", help="say which model is the default, and why")
    which.add_argument("--json", action="store_true", help="print the state as JSON")
    which.set_defaults(handler=_model_which)
    use = actions.add_parser("use", help="make a model folder the default ('released': the shipped one)")
    use.add_argument("folder", help="a model folder, or 'released'")
    use.set_defaults(handler=_model_use)
    build = actions.add_parser("build", help="build the default index (and, with --train, a model of yours)")
    build.add_argument("--source", default="music21", help="corpus to train on with --train (default: music21)")
    build.add_argument("--train", default=None, metavar="PRESET",
                       help="first train this preset (e.g. quick) into MUSICSEARCH_HOME/models/PRESET")
    build.add_argument("--force", action="store_true", help="retrain and re-index even if they exist")
    build.set_defaults(handler=_model_build)
    release = actions.add_parser("release", help="train and package the released model (make release-model)")
    release.add_argument("--from", dest="from_folder", default=None,
                         help="a folder already trained with the release preset (skips training)")
    release.add_argument("--out", default=None, help="where to write it (default: inside the package)")
    release.set_defaults(handler=_model_release)
