"""Training-mode ablations: each variant trains, is evaluated and keeps its model."""

from __future__ import annotations

import json

import musicsearch as ms
from musicsearch.artifacts import current_version
from musicsearch.studies.training_modes import compare_training_modes
from tests.helpers.model import tiny_corpus


def test_comparison_driver_runs_each_variant(tmp_path):
    rows, reports = compare_training_modes(
        tiny_corpus(), "tiny", progress=False, max_steps=2, batch_size=8, eval_size=8, save_dir=tmp_path,
        variants={"frozen": {"text_mode": "frozen"}, "fine-tuned + masked music": {"text_mode": "finetune",
                                                                                 "mlm_weight": 0.5}})
    assert [row["variant"] for row in rows] == ["frozen", "fine-tuned + masked music"]
    assert all(0 <= row["mrr"] <= 1 for row in rows) and set(reports) == {row["variant"] for row in rows}
    # Each variant's model is kept, under a folder name made from the variant's name.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fine-tuned-masked-music", "frozen"]
    reloaded = ms.load_model(tmp_path / "fine-tuned-masked-music")
    saved = json.loads((current_version(tmp_path / "frozen", "model") / "config.json").read_text())
    assert saved["preset"] == "tiny" and saved["training"]["steps"] == 2  # the run's facts travel with it
    assert (tmp_path / "frozen" / "history.json").is_file()
    # mlm_weight is a training setting (TrainingConfig), text_mode part of the architecture (ModelConfig).
    assert reloaded.training_settings["mlm_weight"] == 0.5 and reloaded.config.text_mode == "finetune"
