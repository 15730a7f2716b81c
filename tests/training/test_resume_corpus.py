"""Resuming with the same output folder and another corpus is refused, naming both corpora."""

from __future__ import annotations

import numpy as np
import pytest

from musicsearch.data.corpus import Corpus, Record
from musicsearch.errors import ArtifactError
from musicsearch.training.loop import train
from tests.helpers.model import tiny_corpus

SETTINGS = {"max_steps": 6, "batch_size": 8, "eval_size": 8, "checkpoint_every": 3}


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))


class _Stop(Exception):
    pass


def _interrupt_after_first_checkpoint(corpus, out):
    """Train until the step after the checkpoint of step 3, then stop as a killed run would."""

    def stop(history, event):
        if event == "step" and len(history.steps) == 4:
            raise _Stop

    with pytest.raises(_Stop):
        train("tiny", corpus, out=out, progress=False, callback=stop, **SETTINGS)
    assert (out / "checkpoint").is_dir()


def _renamed(corpus: Corpus, name: str) -> Corpus:
    """The same number of tunes in the same collections, but other tunes (other ids, other notes)."""
    records = [Record(**{**record.to_dict(), "id": f"{name}/{index}", "abc": record.abc + "|e2"})
               for index, record in enumerate(corpus)]
    return Corpus(records, name)


def test_resuming_on_a_smaller_corpus_is_refused_naming_both(tmp_path):
    corpus, smaller = tiny_corpus(), Corpus(list(tiny_corpus())[:24], "smaller")
    _interrupt_after_first_checkpoint(corpus, tmp_path / "out")
    with pytest.raises(ArtifactError, match=r"written by a run on corpus 'tiny-test' .*, not on this corpus "
                                            r"'smaller' .*resuming would continue on other data") as caught:
        train("tiny", smaller, out=tmp_path / "out", progress=False, **SETTINGS)
    assert corpus.fingerprint in str(caught.value) and smaller.fingerprint in str(caught.value)


def test_resuming_on_another_corpus_of_the_same_size_is_refused(tmp_path):
    corpus = tiny_corpus()
    other = _renamed(corpus, "other")
    assert len(other) == len(corpus) and other.fingerprint != corpus.fingerprint
    _interrupt_after_first_checkpoint(corpus, tmp_path / "out")
    with pytest.raises(ArtifactError, match="on other data") as caught:
        train("tiny", other, out=tmp_path / "out", progress=False, **SETTINGS)
    assert corpus.fingerprint in str(caught.value) and other.fingerprint in str(caught.value)
    # The same corpus still resumes, to the weights of an uninterrupted run.
    full, _ = train("tiny", corpus, out=tmp_path / "full", progress=False, **SETTINGS)
    resumed, history = train("tiny", corpus, out=tmp_path / "out", progress=False, **SETTINGS)
    assert len(history.steps) == 6
    np.testing.assert_allclose(np.concatenate([p.detach().numpy().ravel() for p in resumed.parameters()]),
                               np.concatenate([p.detach().numpy().ravel() for p in full.parameters()]), atol=1e-6)
