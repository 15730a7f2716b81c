"""Architecture vs training settings: presets, overrides sorted by owner, the old flat layout."""

from __future__ import annotations

import dataclasses
import json

import pytest

import musicsearch as ms
from musicsearch.errors import MusicSearchError
from musicsearch.models.config import LEGACY_TRAINING_FIELDS, PRESETS, ModelConfig
from musicsearch.training.config import TRAINING_PRESETS, RunConfig, TrainingConfig, get_config
from tests.helpers.model import FLAT_DEFAULTS, FLAT_PRESETS

# Training fields added after the split: no flat config ever held them; presets keep these defaults (quick
# turns the melodic objective on).
LATER_TRAINING_DEFAULTS = {"melody_weight": 0.0, "melody_min_bars": 2, "melody_max_bars": 8, "melody_noise": 0.05,
                           "melody_transpose": 0.5, "rewording": 0.0, "head_refit_steps": 0,
                           "head_refit_phrase_share": 0.0, "bf16_autocast": False}
# Architecture fields added after the split; their defaults mean what older folders meant (a linear text head).
LATER_ARCHITECTURE_DEFAULTS = {"text_head_layers": 0, "text_head_width": 1024}


@pytest.mark.parametrize("name", sorted(FLAT_PRESETS))
def test_presets_keep_every_value_of_the_flat_ones(name):
    config = get_config(name)
    later = {**LATER_TRAINING_DEFAULTS, **LATER_ARCHITECTURE_DEFAULTS}
    assert {**config.architecture.to_dict(), **config.training.to_dict()} == {**FLAT_PRESETS[name], **later}
    assert config.architecture == PRESETS[name] and config.training == TRAINING_PRESETS[name]


def test_every_field_has_one_owner_and_old_configs_map_onto_them():
    architecture = {f.name for f in dataclasses.fields(ModelConfig)}
    training = {f.name for f in dataclasses.fields(TrainingConfig)}
    assert not architecture & training
    assert architecture | training == set(FLAT_DEFAULTS) | set(LATER_TRAINING_DEFAULTS) | set(LATER_ARCHITECTURE_DEFAULTS)
    assert LEGACY_TRAINING_FIELDS == training - set(LATER_TRAINING_DEFAULTS)


def test_overrides_go_to_the_config_that_owns_them():
    config = ms.get_config("tiny", epochs=2.0, embed_dim=16, mlm_weight=0.5, text_mode="frozen")
    assert isinstance(config, RunConfig)
    assert config.training.epochs == 2.0 and config.training.mlm_weight == 0.5
    assert config.architecture.embed_dim == 16 and config.architecture.text_mode == "frozen"
    assert PRESETS["tiny"].embed_dim == 32 and TRAINING_PRESETS["tiny"].epochs == 1.0  # presets untouched
    again = get_config(config, seed=3)
    assert again.training.seed == 3 and again.architecture == config.architecture
    # A bare architecture trains with the training preset of its name.
    assert get_config(PRESETS["tiny"]).training == TRAINING_PRESETS["tiny"]


def test_unknown_fields_and_bad_values_are_refused_with_the_valid_names():
    with pytest.raises(MusicSearchError, match=r"\['epoch'\].*architecture fields.*hidden_size.*training fields.*epochs"):
        get_config("tiny", epoch=2)
    with pytest.raises(MusicSearchError, match="unknown preset"):
        get_config("huge")
    with pytest.raises(MusicSearchError, match="holdout"):
        get_config("tiny", holdout=1.5)
    with pytest.raises(MusicSearchError, match="InfoNCE"):
        get_config("tiny", batch_size=1)


def test_run_config_round_trips_through_json_in_both_layouts():
    config = get_config("tiny", collection_ratios={"bach": 0.1}, eval_every=7)
    saved = json.loads(json.dumps(config.to_dict()))
    assert set(saved) == {"architecture", "training"}
    assert RunConfig.from_dict(saved) == config
    # The layout written before the split (which never held the fields added after it).
    flat = {**saved["architecture"], **{k: v for k, v in saved["training"].items() if k in LEGACY_TRAINING_FIELDS}}
    assert RunConfig.from_dict(flat) == config
    with pytest.raises(MusicSearchError, match="from_the_future"):
        RunConfig.from_dict({**flat, "from_the_future": 1})


def test_preset_is_chosen_not_overridden():
    with pytest.raises(MusicSearchError, match="'preset' is not a field to override.*--preset NAME"):
        get_config("quick", preset="base")
