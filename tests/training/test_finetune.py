"""Fine-tuning from a trained model: architecture kept, user texts used, before/after report, bad --init refused."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from musicsearch.data.corpus_io import build_corpus
from musicsearch.data.texts import own_texts, query_caption, training_texts
from musicsearch.errors import MusicSearchError
from musicsearch.models.model import MusicTextModel
from musicsearch.training.data import OWN_TEXT_SHARE, build_training_set
from musicsearch.training.finetune import REPORT_FILE, finetune_config, format_finetune_report
from musicsearch.training.loop import train
from tests.helpers.model import TUNES

STEPS = {"max_steps": 3, "batch_size": 8, "eval_every": 0}
WORDS = {"reel": "a quick dance my uncle played at weddings", "jig": "a bouncing tune for the harvest fair",
         "air": "a slow song sung at night by the fire", "hornpipe": "a sailor's dance with a dotted beat"}


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSEARCH_HOME", str(tmp_path / "home"))


def _table(tmp_path, *, with_text: bool = True, copies: int = 8):
    rows = []
    for index in range(copies):
        for position, (name, (abc, metadata)) in enumerate(TUNES.items()):
            bar = "abcdefg"[index % 7] + "ABCDEFG"[(index + position) % 7] + "2|"
            row = {"id": f"{name}{index}", "abc": f"X:1\nT:My {name} {index}\n{abc}{bar}", **metadata}
            if with_text:
                row["text"] = f"{WORDS[name]}, number {index}"
            rows.append(row)
    path = tmp_path / ("texts.jsonl" if with_text else "plain.jsonl")
    path.write_text("\n".join(json.dumps(row) for row in rows))
    return build_corpus(path, progress=False)


@pytest.fixture(scope="module")
def init_model(tmp_path_factory):
    from tests.helpers.model import tiny_corpus

    folder = tmp_path_factory.mktemp("init") / "model"
    train("tiny", tiny_corpus(), out=folder, progress=False, **STEPS)
    return folder


def test_a_table_text_is_the_tunes_own_text_its_query_and_half_its_training_texts(tmp_path):
    corpus = _table(tmp_path)
    record = corpus[0]
    assert own_texts(record.captions, record.caption_parts) == [f"{WORDS['reel']}, number 0"]
    assert query_caption(record) == f"{WORDS['reel']}, number 0"
    # Kept whole even though it names no title; a generated caption naming the title is still cut.
    texts = training_texts(record.captions, record.caption_parts, random.Random(0))
    assert texts[0] == own_texts(record.captions, record.caption_parts)[0]
    data = build_training_set(corpus, max_patches=32, variants=2, max_parts=3, seed=0)
    assert data.own_text_tunes == len(corpus)
    share = data.texts[0].count(texts[0]) / len(data.texts[0])
    assert abs(share - OWN_TEXT_SHARE) <= 0.2 and data.parts[0] == []  # no dropout variant crowds it out


def test_records_without_a_table_text_have_no_own_text(tmp_path):
    corpus = _table(tmp_path, with_text=False)
    assert all(own_texts(record.captions, record.caption_parts) == [] for record in corpus)
    assert build_training_set(corpus, max_patches=32, variants=2, max_parts=3, seed=0).own_text_tunes == 0


def test_finetune_continues_from_the_init_model_and_reports_before_and_after(tmp_path, init_model):
    corpus = _table(tmp_path)
    init = MusicTextModel.from_pretrained(init_model)
    out = tmp_path / "tuned"
    model, history = train("tiny", corpus, init=init_model, out=out, progress=False, **STEPS)
    assert model.config == init.config  # the init model's architecture
    report = json.loads((out / REPORT_FILE).read_text())
    assert report["own_text_tunes"] == report["train_tunes"] and "own texts" in report["texts"]
    assert report["heldout_tunes"] == len(corpus.split(0.1, 0)[1])
    assert report["before"]["caption_retrieval"]["model"]["mrr"] <= 1
    before, after = (report[key]["caption_retrieval"]["model"]["mrr"] for key in ("before", "after"))
    assert report["change"]["mrr"] == pytest.approx(after - before, abs=1e-4)
    assert history.info["finetune"]["change"] == report["change"] and history.info["init"] == str(init_model)
    assert "->" in format_finetune_report(history.info["finetune"])
    # It started from the init weights (one small step away), not from a fresh random model.
    start = np.concatenate([p.detach().numpy().ravel() for p in init.music_proj.parameters()])
    tuned = np.concatenate([p.detach().numpy().ravel() for p in model.music_proj.parameters()])
    fresh = np.concatenate([p.detach().numpy().ravel() for p in MusicTextModel("tiny").music_proj.parameters()])
    assert np.abs(tuned - start).mean() < np.abs(fresh - start).mean()
    # The same seed gives the same fine-tune.
    again, _ = train("tiny", corpus, init=init_model, progress=False, **STEPS)
    assert again.fingerprint == model.fingerprint


def test_a_table_without_text_fine_tunes_on_metadata_captions_and_says_so(tmp_path, init_model):
    corpus = _table(tmp_path, with_text=False)
    with pytest.warns(UserWarning, match="captions made from the metadata"):
        _, history = train("tiny", corpus, init=init_model, progress=False, **STEPS)
    assert history.info["finetune"]["own_text_tunes"] == 0
    assert "metadata" in history.info["finetune"]["texts"]


def test_an_architecture_setting_that_differs_from_the_init_model_is_refused_naming_both(init_model):
    init = MusicTextModel.from_pretrained(init_model)
    with pytest.raises(MusicSearchError, match=r"hidden_size=64 was asked, the init model has hidden_size=32"):
        finetune_config(init, "quick", "m", hidden_size=64)
    with pytest.raises(MusicSearchError, match=r"text_model='all-MiniLM-L6-v2' was asked.*'tiny-random-bert'"):
        finetune_config(init, "quick", "m", text_model="all-MiniLM-L6-v2")
    config = finetune_config(init, "quick", "m", hidden_size=32, epochs=2.0)  # same value: fine
    assert config.architecture == init.config and config.training.epochs == 2.0
    with pytest.raises(MusicSearchError, match="unknown config field"):
        finetune_config(init, "quick", "m", hidden_sise=64)


def test_a_missing_init_folder_says_what_to_pass(tmp_path):
    with pytest.raises(MusicSearchError, match=r"no such folder.*musicsearch train --out DIR"):
        train("tiny", _table(tmp_path), init=tmp_path / "nothing", progress=False, **STEPS)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MusicSearchError, match="--init"):
        train("tiny", _table(tmp_path), init=empty, progress=False, **STEPS)


def test_a_lookup_table_model_cannot_be_fine_tuned(init_model):
    from musicsearch.lut.layer import LUTLinear
    from musicsearch.training.finetune import check_finetunable

    model = MusicTextModel.from_pretrained(init_model)
    model.music_proj = LUTLinear(32, 32, k=4, v=2)  # as `musicsearch lut convert` swaps linear layers
    with pytest.raises(MusicSearchError, match="lookup-table model"):
        check_finetunable(model, "m")
