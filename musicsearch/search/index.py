r"""Search over a corpus in the joint space: :class:`SearchIndex` (faiss + records), returning :class:`Hit`\ s.

An index holds the music embeddings of every tune (in a faiss index, see :mod:`musicsearch.search.ann`), the
records beside them (id, provenance, metadata, ABC), text embeddings of each tune's metadata for hybrid
search, and the fingerprint of the model that made them: a query encoded by another model would land
in a different space, so loading with another model is refused.

On disk (``save(dir)``: a new version written beside the old one and published with one atomic rename,
see :mod:`musicsearch.artifacts.versions`; ``dir/CURRENT`` names the current ``dir/v-*`` folder)::

    v-*/manifest.json   kind, format version, index kind, model fingerprint, dim, count, corpus hash,
                        ANN settings, library versions, SHA-256 of every file below
    v-*/index.faiss     the faiss index (faiss's own format)
    v-*/records.jsonl   one record per line, in index order
    v-*/metadata.npy    (N, D) float32 text embeddings of the metadata (hybrid search)
    v-*/melody.npz      the melody index of the same tunes (melody search; a folder saved without it
                        builds one from the records on the first music query, once)
    v-*/keywords.npz    the BM25 keyword index, prebuilt (see :mod:`musicsearch.search.keyword_store`; a
                        folder without it, or written by other keyword code, builds it on the first hybrid query)

Behaviour on bad input (documented, never a faiss crash): an empty or whitespace query and ``k <= 0``
raise :class:`QueryError`; a query longer than :data:`~musicsearch.search.queries.MAX_QUERY_CHARS` is cut at a word boundary with a
warning; ``k`` larger than the index returns every tune (an approximate index may return fewer than
``k`` when ``k`` nears the index size: it only visits part of it); a missing or corrupted folder raises
:class:`ArtifactError`.

Example:
    >>> index = ms.SearchIndex.build(model, corpus)          # doctest: +SKIP
    >>> [hit.title for hit in index.search("a lively jig in D", k=3)]  # doctest: +SKIP
    ['The Kesh', 'Out on the Ocean', 'Tobin's Jig']
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ArtifactError, CorpusError, QueryError
from . import ann
from .hit import Hit
from .queries import clean_query
from .store import StoredMelodyIndex, read_index_folder, write_index_folder

if TYPE_CHECKING:
    from .melody import MelodyIndex

MODES = ("content", "hybrid")


def corpus_hash(records: Sequence[Any]) -> str:
    """Short SHA-256 over ids and music, so a manifest says which corpus an index was built from."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(f"{record.id}\0{record.abc}\0".encode())
    return digest.hexdigest()[:16]


class SearchIndex:
    """Embeddings of a corpus in a faiss index, with the records and the model fingerprint beside them.

    Build with :meth:`build` (encodes the corpus) or :meth:`from_embeddings`; query with :meth:`search`
    (text), :meth:`search_music` (an ABC string, record or score file) or :meth:`search_vectors`.
    """

    def __init__(self, faiss_index: Any, records: Sequence[Any], *, kind: str = "flat", model: Any = None,
                 fingerprint: str | None = None, params: ann.ANNParams | None = None,
                 metadata_vectors: np.ndarray | None = None, model_dir: str | None = None,
                 melody_index: MelodyIndex | None = None) -> None:
        if faiss_index.ntotal != len(records):
            raise ArtifactError(f"index holds {faiss_index.ntotal} vectors but {len(records)} records.")
        self.faiss_index = faiss_index
        self.records = list(records)
        self.kind = ann.check_kind(kind)
        self.params = params or ann.ANNParams()
        self.metadata_vectors = metadata_vectors
        self.fingerprint = fingerprint or getattr(model, "fingerprint", None)
        self.model_dir = model_dir
        self.corpus_fingerprint: str | None = None  # the corpus cache the index was built from, when known
        self._model = None
        self._keyword_index = None  # built on the first hybrid query
        self._melody_index = melody_index  # built on the first music query when the folder had none
        if model is not None:
            self.model = model

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, model: Any, corpus: Sequence[Any], *, kind: str = "flat", params: ann.ANNParams | None = None,
              metadata: bool = True, batch_size: int = 64, progress: bool = True) -> SearchIndex:
        """Encode every tune of ``corpus`` with ``model`` and index the embeddings.

        Args:
            model: a :class:`MusicTextModel` (anything with ``encode_music``, ``encode_text``, ``fingerprint``).
            corpus: a :class:`Corpus` or a list of records.
            kind: ``"flat"`` (exact, default), ``"ivf"`` or ``"hnsw"``.
            params: ANN settings for ivf/hnsw.
            metadata: also encode each tune's metadata text, needed by ``mode="hybrid"``.

        Example:
            >>> len(SearchIndex.build(model, corpus))  # doctest: +SKIP
            300
        """
        records = list(corpus)
        if not records:
            raise CorpusError("the corpus is empty; there is nothing to index. Check the corpus source or filter.")
        ann.check_kind(kind)
        vectors = model.encode_music(records, batch_size=batch_size, progress=progress)
        metadata_vectors = None
        if metadata:
            from .hybrid import metadata_text

            metadata_vectors = ann.as_matrix(model.encode_text([metadata_text(r) for r in records],
                                                               batch_size=batch_size, progress=progress))
        index = cls.from_embeddings(vectors, records, kind=kind, model=model, params=params,
                                    metadata_vectors=metadata_vectors)
        index.corpus_fingerprint = getattr(corpus, "fingerprint", None)
        index.melody_index  # noqa: B018 - built now (seconds), so save() stores it beside the embeddings
        from .hybrid import field_index

        field_index(index)  # the record facts, derived once and cached, so no search process derives them
        return index

    @classmethod
    def from_embeddings(cls, vectors: Any, records: Sequence[Any], *, kind: str = "flat", model: Any = None,
                        fingerprint: str | None = None, params: ann.ANNParams | None = None,
                        metadata_vectors: np.ndarray | None = None) -> SearchIndex:
        """Index precomputed embeddings ``(N, D)``; ``records[i]`` describes row ``i``."""
        matrix = ann.as_matrix(vectors, what="embeddings")
        if len(records) != matrix.shape[0]:
            raise QueryError(f"{matrix.shape[0]} embeddings but {len(records)} records; pass one record per row.")
        if metadata_vectors is not None:
            metadata_vectors = ann.as_matrix(metadata_vectors, dim=matrix.shape[1], what="metadata embeddings")
        params = params or ann.ANNParams()
        faiss_index = ann.build_faiss(matrix, kind, params)
        return cls(faiss_index, records, kind=kind, model=model, fingerprint=fingerprint, params=params,
                   metadata_vectors=metadata_vectors)

    # ------------------------------------------------------------------ properties
    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return (f"SearchIndex(kind={self.kind!r}, count={len(self)}, dim={self.dim}, "
                f"model={self.fingerprint!r})")

    @property
    def dim(self) -> int:
        return int(self.faiss_index.d)

    @property
    def model(self) -> Any:
        """The model queries are encoded with; loaded on first use when the index came from disk.

        Loaded through :func:`~musicsearch.search.query_encoder.load_query_encoder`: the model's ONNX export
        when usable (no torch), else the PyTorch model; both encode queries the same way.
        """
        if self._model is None:
            from .query_encoder import load_query_encoder

            candidates = [self.model_dir] if self.model_dir and Path(self.model_dir).is_dir() else []
            self.model = load_query_encoder(candidates[0] if candidates else None)
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        found = getattr(model, "fingerprint", None)
        if self.fingerprint is not None and found != self.fingerprint:
            raise ArtifactError(
                f"this index was built with model {self.fingerprint} but the model given is {found}; "
                "a query would land in another embedding space. Pass the model the index was built with, "
                "or rebuild the index: `musicsearch index --model DIR --out INDEX_DIR`.")
        self.fingerprint = found
        self._model = model

    @property
    def melody_index(self) -> MelodyIndex:
        """The melodies of the indexed tunes (same rows), for :meth:`search_music`; built once when missing."""
        if self._melody_index is None:
            from .melody import MelodyIndex

            self._melody_index = MelodyIndex.build(self.records)
        return self._melody_index

    def set_search_params(self, *, nprobe: int | None = None, ef_search: int | None = None) -> None:
        """Trade recall for speed on an approximate index (IVF ``nprobe``, HNSW ``ef_search``)."""
        if nprobe is not None:
            self.params.nprobe = int(nprobe)
        if ef_search is not None:
            self.params.ef_search = int(ef_search)
        ann.set_search_params(self.faiss_index, self.kind, self.params)

    # ------------------------------------------------------------------ searching
    def search(self, query: str, k: int = 10, *, mode: str = "content", weights: Any = None) -> list[Hit]:
        """Tunes that match a text query, best first.

        Args:
            query: free text ("a slow air in a minor key", "tunes by O'Carolan", a title).
            k: number of hits; larger than the index returns every tune.
            mode: ``"content"`` (music embeddings only) or ``"hybrid"`` (fused with metadata, see
                :mod:`musicsearch.search.hybrid`).
            weights: hybrid :class:`FusionWeights`; ``None`` uses the tuned defaults.

        Example:
            >>> index.search("tunes by O'Carolan", k=5, mode="hybrid")[0].metadata["composer"]  # doctest: +SKIP
            "Turlough O'Carolan"
        """
        return self.search_batch([query], k, mode=mode, weights=weights)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10, *, mode: str = "content",
                     weights: Any = None) -> list[list[Hit]]:
        """:meth:`search` for many queries, encoded in one batch."""
        if mode not in MODES:
            raise QueryError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}.")
        texts = [clean_query(query) for query in queries]
        k = ann.check_k(k, len(self))
        if not texts:
            return []
        if mode == "hybrid":
            from .hybrid_hits import hybrid_search
            from .understanding import understand_query

            readings = [understand_query(text) for text in texts]
            # The encoder reads the query as understood, in English ("une berceuse" -> "a lullaby").
            vectors = ann.as_matrix(self.model.encode_text([reading.english() for reading in readings]), dim=self.dim,
                                    what="query embeddings")
            return [hybrid_search(self, text, vector, k, weights, reading=reading)
                    for text, vector, reading in zip(texts, vectors, readings)]
        from .duplicates import fold_hits

        vectors = ann.as_matrix(self.model.encode_text(texts), dim=self.dim, what="query embeddings")
        # Identical music counts once (its hit's also_in lists the copies): ask for a few more, then fold.
        return [fold_hits(self, hits, k) for hits in self.search_vectors(vectors, min(len(self), 2 * k + 10))]

    def explain(self, query: str) -> Any:
        """How hybrid search reads ``query``: its constraints, free words and notes, with how many tunes fit.

        Example:
            >>> index.explain("a reel in 3/4").summary()  # doctest: +SKIP
            'understood: type reel, meter 3/4; ignored: a, in; a reel is usually in 4/4 or 2/2, ...'
        """
        from .hybrid_hits import explain_query

        return explain_query(self, clean_query(query))

    def search_music(self, query: Any, k: int = 10, *, mode: str = "hybrid", include_self: bool = False,
                     fusion: Any = None) -> list[Hit]:
        """Tunes a piece of music is (its melody) or is like (its embedding): ABC, a record or a score file.

        Args:
            query: ABC text (a few bars or a whole tune), a record, or the path of a score file.
            k: number of hits; tunes with identical melodies count once (the hit's ``also_in`` lists the rest).
            mode: ``"hybrid"`` (default: melody matches first, the embedding breaks ties and fills),
                ``"melody"`` (the melodic matcher alone) or ``"content"`` (the embedding alone); see
                :mod:`musicsearch.search.music_query` for the rule and the fallback on queries the
                melodic matcher refuses.
            include_self: keep the query tune itself (same id, or identical ABC), left out by default.
            fusion: hybrid :class:`~musicsearch.search.music_query.MelodyFusion`; ``None`` = tuned defaults.

        Example:
            >>> hit = index.search_music("K:D\\nL:1/8\\nd2fd A2FA|d2fd e2ge|", k=1)[0]  # doctest: +SKIP
            >>> hit.bar_span, hit.also_in  # doctest: +SKIP
            ((8, 9), ())
        """
        from .music_query import search_music

        return search_music(self, query, k, mode=mode, include_self=include_self, fusion=fusion)

    def search_vectors(self, vectors: Any, k: int = 10) -> list[list[Hit]]:
        """Hits for precomputed query embeddings ``(Q, D)``: one list per row."""
        scores, ids = ann.search_faiss(self.faiss_index, vectors, k)
        return [[self.hit(int(i), float(s), rank) for rank, (s, i) in enumerate(
            [(s, i) for s, i in zip(row_scores, row_ids) if i >= 0], 1)] for row_scores, row_ids in zip(scores, ids)]

    def embeddings(self, rows: Sequence[int] | None = None) -> np.ndarray:
        """The stored music embeddings ``(N, D)`` (or of ``rows``), e.g. to compare index kinds."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        return ann.reconstruct(self.faiss_index, rows)

    def hit(self, position: int, score: float, rank: int = 0) -> Hit:
        """The :class:`Hit` for row ``position`` of the index."""
        return Hit.from_record(self.records[position], score, rank)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Publish the index as the new version of ``directory`` (atomically; readers see old or new).

        Raises:
            ArtifactError: ``directory`` holds another artifact or files of its own.
        """
        manifest = {"index_kind": self.kind, "model_fingerprint": self.fingerprint, "dim": self.dim,
                    "count": len(self), "corpus_hash": corpus_hash(self.records), "params": self.params.to_dict(),
                    "model_dir": self.model_dir or _model_source(self._model),
                    "corpus_fingerprint": self.corpus_fingerprint}
        from .hybrid import keyword_index
        from .keyword_store import keywords_to_bytes

        # The keyword index is saved prebuilt: a search process then skips building it (~2 s on 13,600 tunes).
        return write_index_folder(directory, manifest, ann.serialize(self.faiss_index), self.records,
                                  self.metadata_vectors, _melody_bytes(self._melody_index),
                                  keywords_to_bytes(keyword_index(self)),
                                  None if self._melody_index is None else self._melody_index.groups)

    @classmethod
    def load(cls, directory: str | Path | None = None, model: Any = None) -> SearchIndex:
        """Read an index folder (default: the one ``make model`` builds), checking every file.

        Args:
            directory: folder written by :meth:`save`; ``None`` = ``paths.default_index_dir()``.
            model: the model for text/music queries; must have the fingerprint the index was built with.
                ``None`` loads it lazily on the first query (the folder the index was built from, else the
                default model).

        Raises:
            ArtifactError: missing folder, corrupted or missing files, or a different model.
        """
        from ..paths import default_index_dir

        folder = Path(directory) if directory is not None else default_index_dir()
        manifest, index_bytes, records, metadata_vectors, melody_index, keywords = read_index_folder(folder)
        faiss_index = ann.deserialize(index_bytes, str(folder / "index.faiss"))
        if faiss_index.ntotal != manifest["count"] or faiss_index.d != manifest["dim"]:
            raise ArtifactError(f"{folder / 'index.faiss'} holds {faiss_index.ntotal}x{faiss_index.d} vectors but "
                                f"the manifest says {manifest['count']}x{manifest['dim']}; rebuild the index.")
        found_kind = _faiss_kind(faiss_index)
        if found_kind != manifest["index_kind"]:
            raise ArtifactError(f"{folder / 'manifest.json'}: field 'index_kind' is {manifest['index_kind']!r} but "
                                f"index.faiss holds a {found_kind!r} index; rebuild the index.")
        params = ann.ANNParams.from_dict(manifest.get("params"))
        index = cls(faiss_index, records, kind=manifest["index_kind"], fingerprint=manifest["model_fingerprint"],
                    params=params, metadata_vectors=metadata_vectors, model_dir=manifest.get("model_dir"),
                    melody_index=melody_index)
        ann.set_search_params(faiss_index, index.kind, params)
        index.corpus_fingerprint = manifest.get("corpus_fingerprint")
        index._keyword_index = keywords  # prebuilt, or None: built on the first hybrid query
        if model is not None:
            index.model = model
        return index


def _faiss_kind(faiss_index: Any) -> str:
    """Which of :data:`~musicsearch.search.ann.KINDS` a deserialised faiss index is (``"other"`` if none)."""
    import faiss

    if isinstance(faiss_index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(faiss_index, faiss.IndexFlat):
        return "flat"
    try:
        faiss.extract_index_ivf(faiss_index)
    except (RuntimeError, TypeError):
        return "other"
    return "ivf"


def _melody_bytes(melody_index: MelodyIndex | None) -> bytes | None:
    """The ``.npz`` bytes of a melody index (``MelodyIndex.save`` writes files), or None when there is none."""
    if melody_index is None:
        return None
    if isinstance(melody_index, StoredMelodyIndex):  # read from a folder: its bytes, never parsed for this
        return melody_index.data
    import tempfile

    with tempfile.TemporaryDirectory(prefix="musicsearch-melody-") as folder:
        return melody_index.save(Path(folder) / "melody.npz").read_bytes()


def _model_source(model: Any) -> str | None:
    source = getattr(model, "source_dir", None) or getattr(model, "name_or_path", None)
    return str(source) if source else None

