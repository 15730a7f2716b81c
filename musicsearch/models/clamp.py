"""Load official CLaMP checkpoints (``clamp-small-512`` / ``clamp-small-1024``) as musicsearch models.

These are *foreign* checkpoints: weights published by CLaMP's authors, read once and converted. Resumable
checkpoints of musicsearch's own training runs are :mod:`musicsearch.training.checkpoints`.

CLaMP (Wu et al., 2023) pairs a BERT music encoder fed by ``inputs_embeds`` (a linear embedding of the
same one-hot bar patches musicsearch uses) with a DistilRoBERTa text encoder; both are mean-pooled and
projected. Its state dict keys are ``text_enc.*``, ``text_proj.*``, ``music_enc.patch_embedding.*``,
``music_enc.enc.*`` and ``music_proj.*``. :func:`load_clamp_checkpoint` reads such a folder or file
(safetensors preferred; ``.bin``/``.pth`` only through ``torch.load(weights_only=True)``), infers the
sizes from the tensors (``config.json`` is used when present) and returns a :class:`ClampModel` with the
same ``encode_text`` / ``encode_music`` contract as :class:`~musicsearch.MusicTextModel`. Save it once
with ``save_pretrained`` to get a safetensors folder that ``ms.load_model`` opens.

The text tokenizer (``distilroberta-base``) is not bundled: keep its files in the checkpoint folder or
pass ``tokenizer=`` a folder or tokenizer object.

Example:
    >>> model = load_clamp_checkpoint("clamp-small-512", tokenizer="distilroberta-base")  # doctest: +SKIP
    >>> model.encode_text(["a jig"]).shape  # doctest: +SKIP
    (1, 768)
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..artifacts import Field
from ..data.patches import PATCH_LENGTH, VOCAB_SIZE
from ..errors import ArtifactError
from .model import MusicTextModel
from .music_encoder import MusicEncoder

CLAMP_KIND = "clamp-model"
REQUIRED_PREFIXES = ("text_enc.", "text_proj.", "music_enc.patch_embedding.", "music_enc.enc.", "music_proj.")
_LEGACY_SPLIT_FIELDS = ("holdout", "split_seed")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.safetensors", "pytorch_model.bin", "model.bin", "model.pth")


def _bert_schema(name: str) -> Field:
    sizes = {key: Field(int, minimum=1) for key in ("hidden_size", "num_hidden_layers", "intermediate_size",
                                                    "max_position_embeddings", "vocab_size", "type_vocab_size")}
    return Field(dict, fields={**sizes, "num_attention_heads": Field(int, minimum=1)},
                 note=f"a mapping of the {name} encoder's sizes")


CLAMP_CONFIG_SCHEMA = {
    "music": _bert_schema("music"),
    "text": _bert_schema("text"),
    "embed_dim": Field(int, minimum=1),
    "max_patches": Field(int, minimum=1),
    "max_text_length": Field(int, minimum=1),
    "preset": Field(str),
    "text_mode": Field(str),
    "text_model": Field(str),
}


@dataclass
class ClampConfig:
    """Sizes of a CLaMP checkpoint, plus the fields the musicsearch encoders read."""

    music: dict[str, Any] = field(default_factory=dict)  # BertConfig of the music encoder
    text: dict[str, Any] = field(default_factory=dict)  # RobertaConfig (or BertConfig) of the text encoder
    embed_dim: int = 768  # output size of music_proj / text_proj
    max_patches: int = 512  # positions of the music BERT (512 or 1024 in the official models)
    max_text_length: int = 128  # tokens kept per text
    preset: str = "clamp"  # recorded like a ModelConfig preset
    text_mode: str = "frozen"  # CLaMP's text side is not trained here
    text_model: str = "clamp-text"  # the bundled text encoder, saved with the model

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """The fields the fingerprint covers (all of them; see ``ModelConfig.identity``)."""
        return self.to_dict()

    def validate(self) -> ClampConfig:
        return self


class ClampMusicEncoder(nn.Module):
    """CLaMP's music encoder: ``patch_embedding`` (one-hot → hidden) + ``BertModel`` on ``inputs_embeds``."""

    def __init__(self, bert_config, *, with_pooler: bool = False) -> None:
        super().__init__()
        from transformers import BertModel

        self.hidden_size = bert_config.hidden_size
        self.max_patches = bert_config.max_position_embeddings
        self.patch_embedding = nn.Linear(PATCH_LENGTH * VOCAB_SIZE, bert_config.hidden_size)
        self.enc = BertModel(bert_config, add_pooling_layer=with_pooler)
        self.register_buffer("_offsets", torch.arange(PATCH_LENGTH) * VOCAB_SIZE, persistent=False)

    embed_patches = MusicEncoder.embed_patches

    def forward(self, patches: torch.Tensor, mask: torch.Tensor, *, return_hidden: bool = False):
        embedded = self.embed_patches(patches)
        states = self.enc(inputs_embeds=embedded, attention_mask=mask.long()).last_hidden_state
        weights = mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return (pooled, states) if return_hidden else pooled


class ClampModel(MusicTextModel):
    """A CLaMP checkpoint behind the :class:`MusicTextModel` interface (encode_text, encode_music, ...)."""

    def __init__(self, config: ClampConfig, tokenizer) -> None:  # noqa: D107 - built by the loaders below
        nn.Module.__init__(self)
        from transformers import AutoConfig, AutoModel, BertConfig

        from .losses import LogitScale
        from .text_encoder import TextEncoder

        self.config = config
        self.training_settings = {}  # not trained by musicsearch: evaluations use the corpus's default split
        self._loaded_fingerprint = None
        music = BertConfig(**config.music)
        self.music_encoder = ClampMusicEncoder(music, with_pooler=bool(config.music.get("_with_pooler")))
        self.music_proj = nn.Linear(music.hidden_size, config.embed_dim)
        text_values = dict(config.text)
        text_config = AutoConfig.for_model(text_values.pop("model_type", "roberta"), **text_values)
        backbone = AutoModel.from_config(text_config, add_pooling_layer=bool(config.text.get("_with_pooler")))
        self.text_encoder = TextEncoder.wrap(backbone, tokenizer, config.max_text_length)
        self.text_proj = nn.Linear(text_config.hidden_size, config.embed_dim)
        self.logit_scale = LogitScale()
        self.eval()

    def _saves_text_backbone(self) -> bool:
        return True

    def save_pretrained(self, directory: str | os.PathLike, **extra: Any) -> Path:
        """Write config.json (kind ``clamp-model``), model.safetensors and the tokenizer files."""
        from ..artifacts import MODEL, publish, save_config, save_weights

        directory = Path(directory)
        with publish(directory, MODEL) as staging:
            save_weights(staging, self.state_dict(), metadata={"kind": CLAMP_KIND})
            self.text_encoder.tokenizer.save_pretrained(staging / "tokenizer")
            save_config(staging, CLAMP_KIND, self.config.to_dict(), fingerprint=self.fingerprint, **extra)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> ClampModel:
        """Open a folder written by :meth:`save_pretrained`."""
        from transformers import AutoTokenizer

        from ..artifacts import (
            CONFIG_NAME,
            MODEL,
            WEIGHTS_NAME,
            check,
            field_error,
            load_config,
            load_state_dict_strict,
            load_weights,
            read_artifact,
        )

        def read(version: Path) -> ClampModel:
            payload = load_config(version, CLAMP_KIND)
            # Folders saved before training settings left the configs also recorded the evaluation split here.
            values = {k: v for k, v in payload["config"].items() if k not in _LEGACY_SPLIT_FIELDS}
            try:
                config = ClampConfig(**values)
            except TypeError as error:
                raise ArtifactError(f"{version / CONFIG_NAME}: {error}; upgrade musicsearch.") from error
            hint = "Fix the field or convert the checkpoint again."
            check(config.to_dict(), CLAMP_CONFIG_SCHEMA, version / CONFIG_NAME, at="config", hint=hint)
            for part in ("music", "text"):
                sizes = getattr(config, part)
                if sizes["hidden_size"] % sizes["num_attention_heads"]:
                    raise field_error(version / CONFIG_NAME, f"config.{part}.num_attention_heads",
                                      sizes["num_attention_heads"], f"a divisor of hidden_size {sizes['hidden_size']}",
                                      hint=hint)
            try:
                tokenizer = AutoTokenizer.from_pretrained(version / "tokenizer")
            except (OSError, ValueError) as error:
                raise ArtifactError(f"{version / 'tokenizer'} is not a readable tokenizer ({error}); convert the "
                                    "checkpoint again.") from error
            model = cls(config, tokenizer)
            load_state_dict_strict(model, load_weights(version), version / WEIGHTS_NAME)
            return model

        return read_artifact(Path(directory), MODEL, read, missing="pass the folder written by save_pretrained()")


def _read_state(path: Path) -> tuple[dict[str, torch.Tensor], Path]:
    if path.is_dir():
        found = [path / name for name in _WEIGHT_FILES if (path / name).is_file()]
        if not found:
            raise ArtifactError(f"{path} holds none of {list(_WEIGHT_FILES)}; pass the CLaMP checkpoint folder or file.")
        path = found[0]
    if not path.is_file():
        raise ArtifactError(f"{path} does not exist; pass the CLaMP checkpoint folder or file.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            # weights_only: a checkpoint from the internet must not be able to run code when opened.
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ArtifactError(f"{path} could not be read as a checkpoint ({error}); it may be truncated, "
                            "corrupted or not a PyTorch/safetensors file. Download it again.") from error
    for key in ("state_dict", "model"):  # training scripts often nest the weights
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ArtifactError(f"{path} is not a state dict of tensors.")
    return state, path


def _count_layers(state: dict[str, torch.Tensor], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"encoder\.layer\.(\d+)\.")
    return len({int(m.group(1)) for key in state if (m := pattern.match(key))})


def _infer_configs(state: dict[str, torch.Tensor], music_json: dict[str, Any]) -> tuple[dict, dict, int]:
    patch = state["music_enc.patch_embedding.weight"]
    if patch.shape[1] != PATCH_LENGTH * VOCAB_SIZE:
        raise ArtifactError(f"music_enc.patch_embedding takes {patch.shape[1]} inputs, not {PATCH_LENGTH}x{VOCAB_SIZE}; "
                            "this is not a CLaMP bar-patch checkpoint.")
    hidden = patch.shape[0]
    music = {"hidden_size": hidden, "num_hidden_layers": _count_layers(state, "music_enc.enc."),
             "intermediate_size": state["music_enc.enc.encoder.layer.0.intermediate.dense.weight"].shape[0],
             "max_position_embeddings": state["music_enc.enc.embeddings.position_embeddings.weight"].shape[0],
             "vocab_size": state["music_enc.enc.embeddings.word_embeddings.weight"].shape[0],
             "type_vocab_size": state["music_enc.enc.embeddings.token_type_embeddings.weight"].shape[0],
             "num_attention_heads": int(music_json.get("num_attention_heads", max(1, hidden // 64))),
             "_with_pooler": "music_enc.enc.pooler.dense.weight" in state}
    text_hidden = state["text_enc.embeddings.word_embeddings.weight"].shape[1]
    text = {"model_type": "roberta", "hidden_size": text_hidden,
            "num_hidden_layers": _count_layers(state, "text_enc."),
            "intermediate_size": state["text_enc.encoder.layer.0.intermediate.dense.weight"].shape[0],
            "max_position_embeddings": state["text_enc.embeddings.position_embeddings.weight"].shape[0],
            "vocab_size": state["text_enc.embeddings.word_embeddings.weight"].shape[0],
            "type_vocab_size": state["text_enc.embeddings.token_type_embeddings.weight"].shape[0],
            "num_attention_heads": max(1, text_hidden // 64), "pad_token_id": 1,
            "_with_pooler": "text_enc.pooler.dense.weight" in state}
    return music, text, state["music_proj.weight"].shape[0]


def load_clamp_checkpoint(path: str | os.PathLike, *, tokenizer=None, max_text_length: int = 128,
                          text_heads: int | None = None) -> ClampModel:
    """Read an official CLaMP checkpoint into a :class:`ClampModel`.

    Args:
        path: checkpoint folder (``config.json`` + ``pytorch_model.bin`` or ``model.safetensors``) or file.
        tokenizer: the DistilRoBERTa tokenizer (folder or object); default: tokenizer files in ``path``.
        max_text_length: tokens kept per text.
        text_heads: attention heads of the text encoder (default hidden/64, DistilRoBERTa's 12).

    Raises:
        ArtifactError: unreadable file, keys of another layout, missing/extra keys or wrong shapes, or no
            tokenizer; the message names the file and what to do.
    """
    from transformers import AutoTokenizer

    from ..artifacts import load_state_dict_strict, read_json

    path = Path(path)
    state, weights_file = _read_state(path)
    state = {key: value for key, value in state.items() if not key.endswith("position_ids")}  # old HF buffers
    missing = [prefix for prefix in REQUIRED_PREFIXES if not any(key.startswith(prefix) for key in state)]
    if missing:
        raise ArtifactError(f"{weights_file} has no {missing} keys: it is not a CLaMP checkpoint "
                            "(expected text_enc, text_proj, music_enc.patch_embedding, music_enc.enc, music_proj).")
    folder = weights_file.parent
    music_json = read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
    try:
        music, text, embed_dim = _infer_configs(state, music_json)
    except KeyError as error:
        raise ArtifactError(f"{weights_file} lacks the tensor {error}; the checkpoint is incomplete.") from error
    if text_heads:
        text["num_attention_heads"] = text_heads
    if tokenizer is None:
        if not any((folder / name).is_file() for name in ("tokenizer.json", "vocab.json")):
            raise ArtifactError(f"{folder} has no tokenizer files; pass tokenizer='path/to/distilroberta-base' "
                                "(the folder of CLaMP's text tokenizer).")
        tokenizer = folder
    if isinstance(tokenizer, str | os.PathLike):
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer))
    config = ClampConfig(music=music, text=text, embed_dim=embed_dim, max_patches=music["max_position_embeddings"],
                         max_text_length=max_text_length)
    model = ClampModel(config, tokenizer)
    renamed = {("text_encoder.backbone." + key[len("text_enc."):]) if key.startswith("text_enc.")
               else ("music_encoder." + key[len("music_enc."):]) if key.startswith("music_enc.") else key: value
               for key, value in state.items()}
    renamed.setdefault("logit_scale.log_scale", model.logit_scale.log_scale.detach().clone())
    load_state_dict_strict(model, renamed, weights_file)
    return model.eval()
