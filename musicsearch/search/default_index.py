"""Loading indexes, and the default index built on demand: the default model's embeddings of music21's corpus.

:func:`load_index` reads a saved index; with no folder it calls :func:`ensure_default_index`: the index under
``MUSICSEARCH_HOME/indexes/default`` is used when it was built with the default model (same fingerprint)
from the current corpus (same corpus cache name, which changes with the corpus source and with the code
that builds records); otherwise it is built now (a progress bar; about a minute on two CPU cores) and
published atomically. Nothing here imports torch until a build is needed: checking freshness reads two
small JSON files.

Which model is the default: :func:`musicsearch.paths.default_model_dir`.

Example:
    >>> folder = ensure_default_index()  # doctest: +SKIP
    >>> default_index_state()["fresh"]  # doctest: +SKIP
    True
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ArtifactError

if TYPE_CHECKING:
    from .index import SearchIndex

DEFAULT_SOURCE = "music21"  # the corpus the default index covers


def recorded_fingerprint(model_dir: str | Path) -> str | None:
    """The fingerprint a saved model's ``config.json`` records, read without loading the model (or torch).

    Example:
        >>> len(recorded_fingerprint(paths.released_model_dir()))  # doctest: +SKIP
        12
    """
    from ..artifacts import MODEL, current_version, read_json

    try:
        payload = read_json(current_version(Path(model_dir), MODEL) / "config.json")
    except (ArtifactError, OSError, ValueError):
        return None
    found = payload.get("fingerprint") if isinstance(payload, dict) else None
    return found if isinstance(found, str) else None


def default_index_state() -> dict[str, Any]:
    """What the default index is and whether it can be used as it is.

    Returns:
        ``{"index_dir", "model_dir", "model_fingerprint", "corpus", "fresh", "reason"}``; ``reason`` says why
        a rebuild is due (no index yet, another model, another corpus). An index you built from a corpus of
        your own into the default folder (``musicsearch index --corpus ...``) is kept while its model is
        the default one (``"user_corpus"`` names it), and never rebuilt over music21's corpus unasked.
    """
    from .. import paths
    from ..artifacts import INDEX, artifact_exists, current_version
    from ..data.corpus_io import corpus_cache_name
    from .store import read_manifest

    index_dir, model_dir = paths.default_index_dir(), paths.default_model_dir()
    state = {"index_dir": str(index_dir), "model_dir": str(model_dir),
             "model_fingerprint": recorded_fingerprint(model_dir), "corpus": corpus_cache_name(DEFAULT_SOURCE),
             "fresh": False, "reason": "no default index yet"}
    if not artifact_exists(index_dir, INDEX):
        return state
    try:
        manifest = read_manifest(current_version(index_dir, INDEX))
    except ArtifactError as error:
        state["reason"] = f"the default index is unreadable ({error})"
        return state
    built_from = manifest.get("corpus_fingerprint")
    same_model = state["model_fingerprint"] is not None and manifest.get("model_fingerprint") == state["model_fingerprint"]
    if built_from and built_from.rsplit("-", 1)[0] != state["corpus"].rsplit("-", 1)[0]:
        # Your own corpus, indexed into the default folder with `musicsearch index`: never replaced unasked.
        state["user_corpus"] = built_from
        if same_model:
            state.update(fresh=True, reason="")
        else:
            state["reason"] = (f"it holds your corpus {built_from} encoded by model {manifest.get('model_fingerprint')}, "
                               f"but the default model is now {state['model_fingerprint']} ({model_dir})")
    elif not same_model:
        state["reason"] = (f"it was built with model {manifest.get('model_fingerprint')}, the default model is "
                           f"{state['model_fingerprint']} ({model_dir})")
    elif built_from != state["corpus"]:
        state["reason"] = (f"it was built from corpus {manifest.get('corpus_fingerprint')}, the current one is "
                           f"{state['corpus']}")
    else:
        state.update(fresh=True, reason="")
    return state


def ensure_default_index(*, progress: bool = True, rebuild: bool = False) -> Path:
    """The default index folder, (re)built first when it is missing or stale.

    Args:
        progress: progress bars and one line saying why a build is due.
        rebuild: build even when the index is fresh.

    Returns:
        ``MUSICSEARCH_HOME/indexes/default``.

    Raises:
        ArtifactError: the default model cannot be loaded (the message says how to repair it), or the
            default folder holds your own corpus indexed with another model (the message says what to run).

    Example:
        >>> ensure_default_index().name  # doctest: +SKIP
        'default'
    """
    state = default_index_state()
    if state["fresh"] and not rebuild:
        return Path(state["index_dir"])
    if state.get("user_corpus") and not rebuild:
        raise ArtifactError(f"the default index {state['index_dir']} is stale: {state['reason']}. Index your corpus "
                            "again with the default model (`musicsearch index --corpus YOUR_CORPUS`), or rebuild "
                            "the default one over music21's corpus (`musicsearch model build --force`).")
    if progress:
        print(f"building the default index ({state['reason'] or 'asked to rebuild'}); about a minute, once")
    return build_default_index(progress=progress)


def build_default_index(*, progress: bool = True, kind: str = "flat") -> Path:
    """Encode music21's corpus with the default model and publish it as the default index.

    Metadata sentences are embedded only when hybrid search gives them weight
    (:class:`~musicsearch.search.hybrid.FusionWeights`), which saves most of the build time.
    """
    from .. import paths
    from ..data.corpus_io import load_corpus
    from ..models.loading import load_model
    from .hybrid import FusionWeights
    from .index import SearchIndex
    from .query_encoder import prepare_query_encoder

    started = time.perf_counter()
    model = load_model()
    corpus = load_corpus(DEFAULT_SOURCE, progress=progress)
    index = SearchIndex.build(model, corpus, kind=kind, metadata=FusionWeights().metadata > 0, progress=progress)
    index.model_dir = str(paths.default_model_dir())
    folder = index.save(paths.default_index_dir())
    prepare_query_encoder(model, paths.default_model_dir())  # so the next search starts without PyTorch
    if progress:
        print(f"default index: {len(index)} tunes in {time.perf_counter() - started:.0f} s ({folder})")
    return folder


def load_index(directory: str | Path | None = None, model: Any = None, *, progress: bool = True) -> SearchIndex:
    """Load a saved index; ``None`` = the default index, built first when missing or stale.

    The default index holds music21's corpus encoded by the default model (the released one unless you
    chose another, :func:`musicsearch.paths.default_model_dir`); it is rebuilt when that model or the
    corpus changes (see this module).

    Example:
        >>> ms.load_index().search("a hornpipe", k=1)[0].rank  # doctest: +SKIP
        1
    """
    from .index import SearchIndex

    if directory is None:
        directory = ensure_default_index(progress=progress)
    return SearchIndex.load(directory, model=model)
