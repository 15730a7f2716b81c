"""A disk cache of text embeddings, so a frozen text encoder embeds each caption once per machine.

Entries are keyed by the SHA-256 of the text under a folder named after the encoder (model name, weights
digest, maximum length): a fine-tuned or different encoder never reads another's vectors. Shards are
``.npz`` files of a fixed-width key array and a float32 matrix, written atomically and read with
``allow_pickle=False``; a damaged shard is skipped with a warning (it is only a cache). Each new shard
also removes the temporary files of writers killed mid-shard (:func:`~musicsearch.artifacts.remove_stale_temporaries`).

Example:
    >>> cache = EmbeddingCache("/tmp/cache-demo", "demo")  # doctest: +SKIP
    >>> cache.put(["a jig"], np.ones((1, 4), np.float32)); cache.get("a jig").shape  # doctest: +SKIP
    (4,)
"""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings
from pathlib import Path

import numpy as np

from ..artifacts import atomic_write_bytes, remove_stale_temporaries

# Calls that embed fewer new texts than this stay in memory only: a search query should not leave a file.
PERSIST_MIN = 32
# Small calls' vectors kept for repeats (a search session's queries); beyond this many the store starts afresh.
QUERY_MEMORY = 4096


def text_key(text: str) -> bytes:
    """32 hex characters of the text's SHA-256 (fixed width, so keys store as a NumPy ``S32`` array)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32].encode("ascii")


class EmbeddingCache:
    """Vectors by text for one encoder, in memory and (for bulk calls) on disk under ``root/name``."""

    def __init__(self, root: str | Path | None, name: str) -> None:
        self.name = name
        self.folder = Path(root) / name if root is not None else None
        self._vectors: dict[bytes, np.ndarray] = {}
        self._pending: dict[bytes, np.ndarray] = {}
        self._query_vectors: dict[bytes, np.ndarray] = {}  # from small calls: memory only, never shared
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.folder is None or not self.folder.is_dir():
            return
        for shard in sorted(self.folder.glob("*.npz")):
            try:
                with np.load(shard, allow_pickle=False) as data:
                    keys, vectors = data["keys"], data["vectors"]
                if len(keys) != len(vectors):
                    raise ValueError("keys and vectors differ in length")
            except Exception as error:  # a half-written or foreign file must not stop encoding
                warnings.warn(f"skipping damaged text-embedding cache file {shard} ({error}); "
                              "delete it to silence this warning.", stacklevel=3)
                continue
            self._vectors.update(zip(keys.tolist(), vectors))

    def __len__(self) -> int:
        self._load()
        return len(self._vectors)

    def get(self, text: str, *, include_queries: bool = False) -> np.ndarray | None:
        """The cached vector of ``text`` or None; ``include_queries`` also looks among :meth:`put_query`'s."""
        self._load()
        key = text_key(text)
        hit = self._vectors.get(key)
        return self._query_vectors.get(key) if hit is None and include_queries else hit

    def put_query(self, texts: list[str], vectors: np.ndarray) -> None:
        """Remember a small call's vectors for repeats only: never written, never returned by a plain :meth:`get`.

        A query is embedded on the fast path, whose last float bits can differ from a bulk call's
        (:meth:`musicsearch.models.text_encoder.TextEncoder.embed`), so it must not reach training or an index.
        """
        if len(self._query_vectors) >= QUERY_MEMORY:
            self._query_vectors.clear()
        for text, vector in zip(texts, np.asarray(vectors, dtype=np.float32)):
            self._query_vectors[text_key(text)] = vector

    def put(self, texts: list[str], vectors: np.ndarray) -> None:
        """Remember vectors (rows of ``vectors``) for ``texts``; call :meth:`flush` to write them."""
        self._load()
        for text, vector in zip(texts, np.asarray(vectors, dtype=np.float32)):
            key = text_key(text)
            self._vectors[key] = vector
            self._pending[key] = vector

    def flush(self, *, force: bool = False) -> Path | None:
        """Write pending vectors as one new shard (when there are enough of them, or ``force``)."""
        if self.folder is None or not self._pending or (len(self._pending) < PERSIST_MIN and not force):
            return None
        keys = np.array(list(self._pending), dtype="S32")
        vectors = np.stack(list(self._pending.values())).astype(np.float32)
        buffer = io.BytesIO()
        np.savez(buffer, keys=keys, vectors=vectors)
        path = self.folder / f"{uuid.uuid4().hex}.npz"
        atomic_write_bytes(path, buffer.getvalue())
        self._pending.clear()
        remove_stale_temporaries(self.folder)  # what writers killed mid-shard left behind
        return path
