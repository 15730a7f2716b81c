"""Shared fixtures: an isolated MUSICSEARCH_HOME and a small real corpus built once per session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def musicsearch_home(tmp_path_factory):
    """Every test session writes its artifacts to a fresh folder, never to the user's cache."""
    home = tmp_path_factory.mktemp("musicsearch_home")
    previous = os.environ.get("MUSICSEARCH_HOME")
    os.environ["MUSICSEARCH_HOME"] = str(home)
    chosen_model = os.environ.pop("MUSICSEARCH_MODEL", None)  # the user's default model is not the tests'
    yield home
    if chosen_model is not None:
        os.environ["MUSICSEARCH_MODEL"] = chosen_model
    if previous is None:
        os.environ.pop("MUSICSEARCH_HOME", None)
    else:
        os.environ["MUSICSEARCH_HOME"] = previous


@pytest.fixture(scope="session")
def small_corpus(musicsearch_home):
    """About 300 real tunes: 150 reels, jigs and hornpipes of Ryan's Mammoth Collection and 150 German
    folk songs of the Essen collection (builds in a few seconds)."""
    import musicsearch as ms

    ryans = ms.load_corpus("music21", collections=["ryansMammoth"], limit=150, include_scores=False, progress=False)
    essen = ms.load_corpus("music21", collections=["essenFolksong"], limit=1, include_scores=False, progress=False)
    return ms.Corpus(list(ryans) + list(essen)[:150], name="small")
