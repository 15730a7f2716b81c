"""Training settings: how long and how a model is trained, apart from what its weights mean.

A field lives here when changing it leaves the meaning of every saved weight alone: the same architecture
trained with another learning rate, seed or evaluation interval is a model of the same kind (and two such
runs that end with the same weights have the same fingerprint). The architecture is
:class:`musicsearch.models.config.ModelConfig`. A :class:`RunConfig` pairs the two, and
:func:`get_config` builds one from a preset name with overrides of either kind.

Presets (``tiny`` for tests, ``quick`` for a laptop, ``release`` for the shipped model, ``base`` for a GPU) share their names with the
architecture presets.

Example:
    >>> config = get_config("quick", epochs=1, embed_dim=128)
    >>> config.training.epochs, config.architecture.embed_dim
    (1, 128)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import MusicSearchError
from ..models.config import PRESETS, ModelConfig, get_model_config, read_saved_config


@dataclass
class TrainingConfig:
    """Everything about a training run that does not change what the trained weights mean."""

    # --- data ---
    holdout: float = 0.1  # fraction of tunes per collection held out for evaluation, never trained on
    split_seed: int = 0  # seed of the held-out split (fixed, so every model is evaluated on the same tunes)
    text_dropout: bool = True  # train on random subsets of caption parts, not only the full captions
    caption_variants: int = 2  # short text-dropout variants per tune (frozen mode: embedded once and cached)
    dropout_max_parts: int = 3  # phrases per dropout variant at most: short, like typed queries
    rewording: float = 0.0  # share of phrases in dropout variants given another wording ("in a minor key")
    sampling_power: float = 0.5  # collection c is drawn with weight n_c**power (1 = proportional, 0 = uniform)
    collection_ratios: dict[str, float] = field(default_factory=dict)  # explicit weights that override the power rule
    # --- regularisation and what trains ---
    dropout: float = 0.1  # dropout in the music transformer while training (inference never drops)
    text_trainable_layers: int = 2  # in finetune mode, how many top text layers train (all text weights are saved)
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
    bf16_autocast: bool = False  # training forward passes in bfloat16 autocast, weights and losses float32 (1.7x per step on CPUs with avx512_bf16/AMX, slower without)
    seed: int = 0  # seed of initialisation, sampling and dropout (same seed, same model on CPU)
    # --- masked music model (CLaMP's M3) ---
    mlm_weight: float = 0.0  # weight of the masked-patch reconstruction loss added to InfoNCE (0 = off)
    mlm_pretrain_steps: int = 0  # steps of masked-music pretraining of the music encoder before contrastive training
    mask_ratio: float = 0.45  # share of patches selected for reconstruction (80% masked, 10% shuffled, 10% kept)
    decoder_size: int = 32  # width per character of the reconstruction decoder (used in training only, never saved)
    # --- melodic identity (a tune's fragment pulled towards the whole tune) ---
    melody_weight: float = 0.0  # weight of the fragment-to-tune InfoNCE added to the caption loss (0 = off)
    melody_min_bars: int = 2  # shortest fragment cropped from a tune, in bars
    melody_max_bars: int = 8  # longest fragment, in bars (a tune with fewer bars is taken whole)
    melody_noise: float = 0.05  # share of a fragment's notes moved by a letter step (remembered wrong)
    melody_transpose: float = 0.5  # share of fragments moved to another key (transposition invariance)
    # --- text head, fitted last (training.head_refit) ---
    head_refit_steps: int = 0  # steps fitting the architecture's text head against the frozen music side after contrastive training (0 = none)
    head_refit_phrase_share: float = 0.0  # share of the refit's draws pairing a tune with one phrase of its caption ("a march", "in 6/8"), a match for every tune it describes
    # --- bookkeeping ---
    eval_every: int = 100  # steps between held-out evaluations during training (0 = only at the end)
    eval_size: int = 500  # held-out tunes used by the periodic evaluation (the final report uses all)
    checkpoint_every: int = 200  # steps between resumable checkpoints when training with ``out``
    num_threads: int = 0  # torch CPU threads (0 = leave torch's default)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "training config") -> TrainingConfig:
        """Rebuild a config, refusing unknown fields with a message that names them."""
        unknown = sorted(set(values) - set(training_fields()))
        if unknown:
            raise MusicSearchError(
                f"{source} has fields this musicsearch does not know: {unknown}; "
                "it was written by a newer version (pip install -U musicsearch) or is mistyped.")
        return cls(**values)

    def validate(self) -> TrainingConfig:
        """Check values that would otherwise fail deep inside the loop; returns self."""
        if not 0.0 < self.holdout < 1.0:
            raise MusicSearchError(f"holdout must be between 0 and 1, got {self.holdout}.")
        if not 0.0 < self.mask_ratio <= 1.0:
            raise MusicSearchError(f"mask_ratio must be in (0, 1], got {self.mask_ratio}.")
        if self.melody_weight < 0 or not 1 <= self.melody_min_bars <= self.melody_max_bars:
            raise MusicSearchError(
                f"melody_weight must be >= 0 and 1 <= melody_min_bars <= melody_max_bars, got {self.melody_weight}, "
                f"{self.melody_min_bars}, {self.melody_max_bars}.")
        if not 0.0 <= self.rewording <= 1.0:
            raise MusicSearchError(f"rewording is a share in [0, 1], got {self.rewording}.")
        if not (0.0 <= self.melody_noise <= 1.0 and 0.0 <= self.melody_transpose <= 1.0):
            raise MusicSearchError(f"melody_noise and melody_transpose are shares in [0, 1], got "
                                   f"{self.melody_noise} and {self.melody_transpose}.")
        if self.head_refit_steps < 0:
            raise MusicSearchError(f"head_refit_steps must be >= 0, got {self.head_refit_steps}.")
        if not 0.0 <= self.head_refit_phrase_share < 1.0:
            raise MusicSearchError(f"head_refit_phrase_share is a share in [0, 1), got {self.head_refit_phrase_share}.")
        if self.batch_size < 2:
            raise MusicSearchError(f"batch_size must be >= 2 (InfoNCE needs negatives), got {self.batch_size}.")
        return self


def training_fields() -> list[str]:
    """Names of the training fields, in declaration order."""
    return [f.name for f in dataclasses.fields(TrainingConfig)]


TRAINING_PRESETS: dict[str, TrainingConfig] = {
    "tiny": TrainingConfig(
        caption_variants=1, epochs=1.0, batch_size=16, learning_rate=3e-3, text_learning_rate=1e-3,
        eval_every=0, eval_size=64, checkpoint_every=0, decoder_size=8),
    # No masked-music pretraining: 300 steps of it help the held-out metrics (+0.03 MRR, +0.05 category
    # nDCG@10) but add ~60% to the time and take the preset past 10 minutes on 2 cores
    # (benchmarks/results/training_modes-8epochs.json); `mlm_pretrain_steps=300` turns it on.
    # The melodic objective stays off until measured at the preset's 8 epochs: at 2 epochs (weight 0.5) it
    # doubled the embedding's fragment Hit@10 (4 bars exact 0.02 -> 0.05, transposed 0.003 -> 0.02) and left
    # held-out caption MRR as it was (+0.005, category nDCG@10 +0.06; benchmarks/results/melody_objective.json);
    # `melody_weight=0.5` turns it on. Which tune a fragment comes from is the melodic matcher's job.
    "quick": TrainingConfig(),
    # The released default model: masked-music pretraining first, the melodic objective on, three times the
    # quick preset's epochs (quick still improved at its end), and four dropout variants per tune with half
    # their phrases reworded (data/phrasings.py): trained on the templates' exact phrases alone, the first
    # release answered "in the Bach chorales" but not "a Bach chorale" (category nDCG@10 below quick's).
    # Then the text head (two hidden layers) is fitted against the frozen music side for 16,000 small steps
    # (~2.5 min): on dev tunes (a tenth of the training tunes, left out of the fit) MRR 0.479 with the jointly
    # trained linear head -> 0.514 (8,000 steps 0.504, 32,000 0.517; width 1024 0.515; a linear head refitted 0.475).
    # Tried and not shipped: head_refit_phrase_share=0.4 with a cheaper dropout mask, at 21 epochs (59.2 min,
    # category nDCG@10 0.831, held-out MRR 0.435) and at 24 (62.8 min, 0.850, MRR 0.446); both lost 0.11 of
    # zero-shot tune type, which dev tunes trace to the phrases (README, "The released model"; release.json).
    # Forward passes in bfloat16 autocast with the cheaper dropout mask (models/_dropout.py): a release step
    # 1.056 -> 0.559 s on 2 EPYC cores with avx512_bf16, same run (benchmarks/training_step.py), which buys 32
    # epochs in the 60-minute budget (24 took 62-65 minutes in float32); 32 is the budget's arithmetic with a
    # 20% margin for the machine's drift, fixed before the run and not chosen on any figure (58.3 minutes).
    "release": TrainingConfig(epochs=32.0, mlm_pretrain_steps=300, melody_weight=0.5, eval_every=200,
                              caption_variants=4, rewording=0.5, head_refit_steps=16_000,
                              bf16_autocast=True, checkpoint_every=200),
    "quick-static": TrainingConfig(),  # quick's settings, so the static text tower is the only difference
    "base": TrainingConfig(
        text_trainable_layers=6, caption_variants=4, dropout_max_parts=4, epochs=30.0, batch_size=256,
        learning_rate=3e-4, mlm_weight=0.2, mlm_pretrain_steps=2000, eval_every=500, eval_size=1000,
        checkpoint_every=1000),
}


@dataclass
class RunConfig:
    """A training run's whole configuration: the architecture it builds and how it trains it.

    Saved as ``{"architecture": {...}, "training": {...}}`` (in a model's ``config.json``, its history and
    its checkpoints).
    """

    architecture: ModelConfig  # what the weights mean (MusicTextModel builds from it)
    training: TrainingConfig  # how they are learned

    def to_dict(self) -> dict[str, Any]:
        """``{"architecture": {...}, "training": {...}}``, JSON-ready."""
        return {"architecture": self.architecture.to_dict(), "training": self.training.to_dict()}

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> RunConfig:
        """Rebuild from :meth:`to_dict`'s layout or the flat one of older versions (every field side by side).

        Raises:
            MusicSearchError: unknown fields (named in the message) or inconsistent values.
        """
        architecture, training = read_saved_config(values, source=source)
        return cls(architecture, TrainingConfig.from_dict(training, source=source)).validate()

    def validate(self) -> RunConfig:
        """Check both halves and the rules between them; returns self."""
        self.architecture.validate()
        self.training.validate()
        if self.training.head_refit_steps and self.architecture.text_mode != "frozen":
            raise MusicSearchError(
                f"head_refit_steps={self.training.head_refit_steps} fits the text head on the frozen text encoder's "
                f"vectors, but text_mode is {self.architecture.text_mode!r}; set head_refit_steps=0 or text_mode='frozen'.")
        return self


def _split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``overrides`` sorted by the config that owns each field; unknown fields raise, naming the valid ones."""
    if "preset" in overrides:
        # The preset's name is recorded from the preset chosen, never set: it would misname the weights.
        raise MusicSearchError(f"'preset' is not a field to override (got preset={overrides['preset']!r}); "
                               "choose the preset itself: get_config(NAME), ms.train(NAME, ...) or --preset NAME.")
    architecture_names = {f.name for f in dataclasses.fields(ModelConfig)}
    training_names = set(training_fields())
    unknown = sorted(set(overrides) - architecture_names - training_names)
    if unknown:
        raise MusicSearchError(
            f"unknown config field(s) {unknown}; architecture fields: {sorted(architecture_names)}; "
            f"training fields: {sorted(training_names)}.")
    return ({k: v for k, v in overrides.items() if k in architecture_names},
            {k: v for k, v in overrides.items() if k in training_names})


def get_config(preset: str | ModelConfig | RunConfig = "quick", /, **overrides: Any) -> RunConfig:
    """A copy of a preset (or of a given config) with overrides of any field applied and checked.

    Args:
        preset: a preset name ("tiny", "quick", "base"), a :class:`RunConfig`, or a
            :class:`~musicsearch.ModelConfig` (trained with the training preset of the same name, else the
            defaults).
        **overrides: architecture or training fields; each goes to the config that owns it.

    Raises:
        MusicSearchError: unknown preset or field name (the message lists the valid fields), or
            inconsistent values.

    Example:
        >>> get_config("tiny", epochs=2.0).training.epochs
        2.0
    """
    if isinstance(preset, RunConfig):
        architecture, training = preset.architecture, preset.training
    elif isinstance(preset, ModelConfig):
        architecture, training = preset, TRAINING_PRESETS.get(preset.preset, TrainingConfig())
    elif preset in PRESETS:
        architecture, training = PRESETS[preset], TRAINING_PRESETS[preset]
    else:
        raise MusicSearchError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
    architecture_overrides, training_overrides = _split_overrides(overrides)
    training_values = {**training.to_dict(), **training_overrides}
    return RunConfig(get_model_config(architecture, **architecture_overrides),
                     TrainingConfig.from_dict(training_values, source="overrides")).validate()
