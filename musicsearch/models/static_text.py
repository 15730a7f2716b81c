"""A static text tower: a model2vec table distilled from the bundled MiniLM, read with NumPy alone.

model2vec (Tulkens & van Dongen, 2024) runs every token of a sentence encoder's vocabulary through the
encoder once, reduces the outputs with PCA and weights them by estimated token frequency (Zipf + SIF).
A sentence is then the mean of its tokens' rows: no transformer at query time, so a query costs a
tokenizer call and a few hundred additions instead of a MiniLM forward pass.

* :class:`StaticEmbedding` — the table + MiniLM's own ``tokenizer.json`` (``tokenizers`` library) →
  ``encode(texts)``; needs NumPy and ``tokenizers`` only (no torch, no model2vec).
* :func:`static_minilm_table` — the table for ``text_model="model2vec-minilm"``: distilled once per machine
  with ``model2vec.distill`` (optional extra ``musicsearch[static]``), cached under
  ``MUSICSEARCH_HOME/cache/static/`` keyed by the MiniLM weights and the distillation settings. A trained
  model saves its table with its weights, so it never needs the cache (or model2vec) again.

The table's rows follow MiniLM's token ids: tokens model2vec drops (``[unused*]``) and ``[UNK]`` are marked
unknown and skipped, as model2vec skips its unknown token.

Example:
    >>> tower = StaticEmbedding(table, known)  # doctest: +SKIP
    >>> tower.encode(["a slow air"]).shape  # doctest: +SKIP
    (1, 256)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ArtifactError
from .text_input import minilm_path

# The distillation settings: part of the cache key. Changing one names another table (and another model).
DISTILL_SETTINGS: dict[str, Any] = {
    "pca_dims": 256,  # model2vec's default; the table is (vocab, 256) float32, ~31 MB
    "sif_coefficient": 1e-4,  # model2vec's default Zipf/SIF token weighting
    "token_remove_pattern": r"\[unused\d+\]",  # BERT's placeholder tokens carry no meaning
    "pooling": "mean",  # MiniLM is a mean-pooled sentence encoder
    "format": 1,  # layout of the cached table (rows by MiniLM token id + a known mask)
}
STATIC_KIND = "static-embedding"  # the config kind of a cached table


def minilm_tokenizer(path: str | Path | None = None):
    """MiniLM's ``tokenizer.json`` (or the one at ``path``) as a ``tokenizers.Tokenizer``, without truncation or padding."""
    from tokenizers import Tokenizer

    path = Path(minilm_path()) / "tokenizer.json" if path is None else path

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()  # the tower truncates itself (max_length), like model2vec: none by default
    tokenizer.no_padding()
    return tokenizer


class StaticEmbedding:
    """A token table + a tokenizer: a sentence is the (normalised) mean of its known tokens' rows.

    Args:
        table: ``(vocab, dim)`` float32 rows, indexed by the tokenizer's ids.
        known: ``(vocab,)`` bool; tokens marked False are skipped (``[UNK]``, tokens model2vec removed).
        tokenizer: a ``tokenizers.Tokenizer`` (default: the bundled MiniLM's ``tokenizer.json``).
        normalize: L2-normalise each sentence vector (model2vec's distilled models do).

    Raises:
        ArtifactError: the table and mask do not fit each other or the tokenizer.

    Example:
        >>> StaticEmbedding(np.ones((30522, 4), np.float32), np.ones(30522, bool)).encode(["a jig"]).shape  # doctest: +SKIP
        (1, 4)
    """

    def __init__(self, table: np.ndarray, known: np.ndarray, tokenizer: Any = None, *, normalize: bool = True) -> None:
        self.table = np.ascontiguousarray(table, dtype=np.float32)
        self.known = np.asarray(known, dtype=bool)
        self.tokenizer = tokenizer if tokenizer is not None else minilm_tokenizer()
        self.normalize = normalize
        self._digest: str | None = None
        vocab = self.tokenizer.get_vocab_size()
        if self.table.ndim != 2 or self.known.shape != (len(self.table),) or len(self.table) != vocab:
            raise ArtifactError(f"static text table {self.table.shape} with mask {self.known.shape} does not fit the "
                                f"tokenizer's {vocab} tokens; delete the cached table and build it again.")

    @property
    def dim(self) -> int:
        """Length of each sentence vector."""
        return self.table.shape[1]

    def token_ids(self, texts: list[str], *, max_length: int | None = None,
                  truncated: list[str] | None = None) -> list[np.ndarray]:
        """Known token ids of each text (no special tokens), cut to ``max_length`` (cut texts go to ``truncated``)."""
        rows = []
        for text, encoding in zip(texts, self.tokenizer.encode_batch(list(texts), add_special_tokens=False)):
            ids = np.asarray(encoding.ids, dtype=np.int64)
            ids = ids[self.known[ids]]
            if max_length is not None and len(ids) > max_length:
                ids = ids[:max_length]
                if truncated is not None:
                    truncated.append(text)
            rows.append(ids)
        return rows

    def encode(self, texts: list[str], *, max_length: int | None = None,
               truncated: list[str] | None = None) -> np.ndarray:
        """``(N, dim)`` float32 sentence vectors; a text with no known token gets zeros (as in model2vec)."""
        output = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, ids in enumerate(self.token_ids(texts, max_length=max_length, truncated=truncated)):
            if len(ids):
                output[row] = self.table[ids].mean(axis=0)
        if self.normalize:
            output /= np.linalg.norm(output, axis=1, keepdims=True) + 1e-32  # model2vec's guard: zeros stay zeros
        return output

    def digest(self) -> str:
        """Short hash of the table, the mask and the normalisation (what the vectors depend on)."""
        if self._digest is not None:
            return self._digest
        sha = hashlib.sha256(f"static {self.normalize} {self.table.shape}".encode())
        sha.update(self.table.tobytes())
        sha.update(np.packbits(self.known).tobytes())
        self._digest = sha.hexdigest()[:16]
        return self._digest


class StaticQueryEncoder:
    """The text side of a saved ``model2vec-minilm`` model in NumPy: what a search without torch encodes queries with.

    Reads the table and ``text_proj`` from the model's ``model.safetensors`` (``safetensors.numpy``) and gives
    the vectors :meth:`MusicTextModel.encode_text` gives (same table, same projection, same normalisation).

    Example:
        >>> StaticQueryEncoder.from_pretrained("models/quick-static").encode_text(["a slow air"]).shape  # doctest: +SKIP
        (1, 256)
    """

    def __init__(self, embedding: StaticEmbedding, weight: np.ndarray, bias: np.ndarray, max_length: int) -> None:
        self.embedding, self.max_length = embedding, max_length
        self.weight = np.ascontiguousarray(np.asarray(weight, dtype=np.float32).T)  # (dim, embed_dim)
        self.bias = np.asarray(bias, dtype=np.float32)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> StaticQueryEncoder:
        """Open a model folder saved by ``save_pretrained`` whose text tower is the static one.

        Raises:
            ArtifactError: not a model folder, unreadable weights, or a model with another text tower.
        """
        from safetensors.numpy import load

        from ..artifacts import MODEL, load_config, read_artifact
        from .config import STATIC_MINILM, read_saved_config

        def read(version: Path) -> StaticQueryEncoder:
            payload = load_config(version, "music-text-model")  # models.model.MODEL_KIND (that module imports torch)
            config, _ = read_saved_config(payload["config"], source=str(version / "config.json"))
            if config.text_model != STATIC_MINILM:
                raise ArtifactError(f"{directory}: its text tower is {config.text_model!r}, not {STATIC_MINILM!r}; "
                                    "encode its queries with load_model(...).encode_text().")
            try:
                tensors = load((version / "model.safetensors").read_bytes())
                table, known = tensors["text_encoder.table"], tensors["text_encoder.known"]
                weight, bias = tensors["text_proj.weight"], tensors["text_proj.bias"]
            except Exception as error:  # a missing file or tensor, or safetensors' own error naming no file
                raise ArtifactError(f"{version / 'model.safetensors'} does not hold a readable static text tower "
                                    f"({error}); save the model again.") from error
            return cls(StaticEmbedding(table, known), weight, bias, config.max_text_length)

        return read_artifact(directory, MODEL, read)

    def encode_text(self, texts: list[str] | str, *, normalize: bool = True) -> np.ndarray:
        """``(N, embed_dim)`` float32 query vectors; empty texts raise, long ones are cut with a warning."""
        from .text_input import check_texts, warn_truncated

        texts = check_texts(texts)
        truncated: list[str] = []
        vectors = self.embedding.encode(texts, max_length=self.max_length, truncated=truncated) @ self.weight + self.bias
        if truncated:
            warn_truncated(len(truncated), truncated[0], self.max_length, stacklevel=3)
        if normalize:  # as torch.nn.functional.normalize: a zero vector stays zero
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors


def table_key(minilm_folder: str | Path) -> str:
    """Cache key: the MiniLM weights file's hash + :data:`DISTILL_SETTINGS` (16 hex characters)."""
    sha = hashlib.sha256(json.dumps(DISTILL_SETTINGS, sort_keys=True).encode())
    with open(Path(minilm_folder) / "model.safetensors", "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            sha.update(block)
    return sha.hexdigest()[:16]


def static_minilm_table(*, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``(table, known)`` of ``text_model="model2vec-minilm"``, from the cache or distilled (minutes) and cached.

    Raises:
        ArtifactError: not cached and ``model2vec`` is not installed (``pip install 'musicsearch[static]'``).
    """
    from ..artifacts import (
        MODEL,
        artifact_exists,
        load_config,
        load_weights,
        publish,
        read_artifact,
        save_config,
        save_weights,
    )
    from ..paths import cache_dir

    folder = Path(minilm_path())
    path = cache_dir() / "static" / f"model2vec-minilm-{table_key(folder)}"

    def read(version: Path) -> tuple[np.ndarray, np.ndarray]:
        load_config(version, STATIC_KIND)
        tensors = load_weights(version)
        return tensors["table"].numpy(), tensors["known"].numpy().astype(bool)

    if artifact_exists(path, MODEL):
        return read_artifact(path, MODEL, read)
    import torch

    table, known = distill_minilm(folder, progress=progress)
    with publish(path, MODEL) as staging:
        save_weights(staging, {"table": torch.from_numpy(table), "known": torch.from_numpy(known)},
                     metadata={"kind": STATIC_KIND})
        save_config(staging, STATIC_KIND, {"settings": DISTILL_SETTINGS, "source": str(folder)})
    return table, known


def distill_minilm(folder: str | Path, *, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Distil MiniLM with model2vec (offline, CPU, deterministic: no sampling, PCA by eigendecomposition).

    Returns the table re-indexed by MiniLM's own token ids and the mask of the tokens it has rows for.
    """
    try:
        from model2vec.distill import distill
    except ImportError as error:
        raise ArtifactError("text_model 'model2vec-minilm' needs its table distilled once, which needs model2vec: "
                            "pip install 'musicsearch[static]' (or pip install model2vec skeletoken).") from error
    import logging

    settings = {k: v for k, v in DISTILL_SETTINGS.items() if k != "format"}
    quiet = logging.getLogger("model2vec").level
    logging.getLogger("model2vec").setLevel(logging.WARNING)
    try:
        static = _maybe_quiet(progress, lambda: distill(model_name=str(folder), device="cpu", quantize_to="float32",
                                                        **settings))
    finally:
        logging.getLogger("model2vec").setLevel(quiet)
    ours = minilm_tokenizer(Path(folder) / "tokenizer.json")
    vectors = np.asarray(static.embedding, dtype=np.float32)
    table = np.zeros((ours.get_vocab_size(), vectors.shape[1]), dtype=np.float32)
    known = np.zeros(ours.get_vocab_size(), dtype=bool)
    for token, row in static.tokenizer.get_vocab().items():
        position = ours.token_to_id(token)
        if position is not None and row < len(vectors):
            table[position], known[position] = vectors[row], True
    unknown = ours.token_to_id("[UNK]")
    if unknown is not None:
        known[unknown] = False  # model2vec drops its unknown token from every sentence
    return table, known


def _maybe_quiet(progress: bool, call):
    # model2vec draws a tqdm bar per token batch; keep it only when the caller asked for progress.
    if progress:
        return call()
    import contextlib
    import io

    with contextlib.redirect_stderr(io.StringIO()):
        return call()
