"""The static text tower (:mod:`.static_text`) behind :class:`~.text_encoder.TextEncoder`'s interface.

``MusicTextModel`` builds it for ``text_model="model2vec-minilm"``. It is always frozen and the same code
embeds captions for training and queries (:meth:`StaticTextEncoder.embed` → :meth:`StaticEmbedding.encode`),
so the tower a model was trained with is the one it is queried with. Its table is a buffer: saved with the
model's weights (~31 MB), so a saved model needs neither the distillation cache nor model2vec. A fresh
model takes the table from :func:`~.static_text.static_minilm_table` when it is built; a model being
loaded takes it from its file instead, without distilling.

Example:
    >>> encoder = StaticTextEncoder(get_model_config("quick-static"))  # doctest: +SKIP
    >>> encoder.embed(["a slow air"]).shape  # doctest: +SKIP
    torch.Size([1, 256])
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch
from torch import nn

from .config import ModelConfig
from .static_text import DISTILL_SETTINGS, StaticEmbedding, minilm_tokenizer, static_minilm_table
from .text_input import check_texts, warn_truncated


class StaticTextEncoder(nn.Module):
    """Token-table text tower: ``(N, 256)`` features as the normalised mean of token rows; never trains.

    Args:
        config: the architecture (``max_text_length`` applies: longer texts are cut, with a warning).
        table, known: the table and known-token mask to use (tests); default: the distilled MiniLM table.
        fetch: take that table now (from the cache, or distilled); False leaves it empty for a saved
            model's weights to fill (:func:`~.text_encoder.text_weights_from_file`), fetched on first use if not.
    """

    def __init__(self, config: ModelConfig, *, table: np.ndarray | None = None,
                 known: np.ndarray | None = None, fetch: bool = True) -> None:
        super().__init__()
        self.tokenizer = minilm_tokenizer()
        vocab = self.tokenizer.get_vocab_size()
        dims = DISTILL_SETTINGS["pca_dims"] if table is None else table.shape[1]
        self.register_buffer("table", torch.zeros(vocab, dims))
        self.register_buffer("known", torch.zeros(vocab, dtype=torch.bool))
        self.max_length = config.max_text_length
        self.hidden_size = dims
        self.frozen = True  # config validation refuses text_mode="finetune" for this tower
        self._static: StaticEmbedding | None = None
        self._ready = False
        if table is not None:
            self._fill(table, known if known is not None else np.ones(len(table), dtype=bool))
        elif fetch:  # a fresh model owns its table from the start: its fingerprint and saved weights hold it
            self._fill(*static_minilm_table(progress=True))  # a bar only when distilling (once per machine)

    def _fill(self, table: np.ndarray, known: np.ndarray) -> None:
        with torch.no_grad():
            self.table.copy_(torch.as_tensor(np.asarray(table, dtype=np.float32)))
            self.known.copy_(torch.as_tensor(np.asarray(known, dtype=bool)))
        self._ready, self._static = True, None

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        # A saved model brings its own table: loading it must not distil one first.
        super()._load_from_state_dict(state_dict, prefix, *args)
        if prefix + "table" in state_dict:
            self._ready, self._static = True, None

    @property
    def static(self) -> StaticEmbedding:
        """The NumPy tower over this encoder's table (what a search without torch runs)."""
        if not self._ready:
            self._fill(*static_minilm_table())
        if self._static is None:
            self._static = StaticEmbedding(self.table.cpu().numpy(), self.known.cpu().numpy(), self.tokenizer)
        return self._static

    def set_trainable_layers(self, top_layers: int) -> None:
        """No-op: the table is the distilled one, shared by training and queries (kept for the interface)."""
        self.table.requires_grad_(False)

    def digest(self) -> str:
        """Short hash of the table, mask and length limit (part of the model's fingerprint)."""
        return hashlib.sha256(f"{self.static.digest()} {self.max_length}".encode()).hexdigest()[:16]

    def embed(self, texts: list[str], *, batch_size: int = 64, progress: bool = False,
              cache_root: Any = None) -> torch.Tensor:
        """Pooled features of ``texts`` as a float32 tensor ``(N, hidden_size)``; no disk cache (a lookup is cheaper).

        ``batch_size`` and ``cache_root`` are accepted for :class:`TextEncoder`'s interface and unused.
        """
        texts = check_texts(texts)
        truncated: list[str] = []
        vectors = self.static.encode(texts, max_length=self.max_length, truncated=truncated)
        if truncated:
            warn_truncated(len(truncated), truncated[0], self.max_length)
        return torch.from_numpy(vectors).to(self.table.device)
