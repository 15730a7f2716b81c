"""The on-disk form of a search index: one version of an artifact folder, checked file by file on load.

The folder is written through :func:`musicsearch.artifacts.publish`: a complete new version beside the
old one, published with one atomic rename, so a reader sees the old index or the new one and a killed
save leaves the previous index readable. The manifest is read through a schema check (every field: type,
allowed values, required or not) and records the SHA-256 and size of every file; a hand-edited field, a
truncated or edited file is reported by name instead of reaching faiss (which would abort) or NumPy.

Example:
    >>> manifest, index_bytes, records, metadata, melody, keywords = read_index_folder("indexes/default")  # doctest: +SKIP
    >>> manifest["count"] == len(records)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import artifacts
from ..artifacts import Field
from ..errors import ArtifactError
from .ann import KINDS

MANIFEST_KIND = "musicsearch-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INDEX_FILE = "index.faiss"
RECORDS_FILE = "records.jsonl"
METADATA_FILE = "metadata.npy"
MELODY_FILE = "melody.npz"  # the melody index (:class:`~musicsearch.search.melody.MelodyIndex`), same rows
KEYWORDS_FILE = "keywords.npz"  # the BM25 keyword index, prebuilt (:mod:`~musicsearch.search.keyword_store`)
GROUPS_FILE = "duplicates.npy"  # (N,) int64: the melody index's duplicate group of every row (text search folds by it)
_REBUILD = "rebuild it with `musicsearch index --model DIR --out FOLDER` (or `make model` for the default index)"

_FILE_ENTRY = Field(dict, fields={"sha256": Field(str, pattern="[0-9a-f]{64}", note="64 hexadecimal digits"),
                                  "bytes": Field(int, minimum=0)})
PARAMS_SCHEMA = {
    "nlist": Field(int, required=False, nullable=True, minimum=1),
    "nprobe": Field(int, required=False, nullable=True, minimum=1),
    "hnsw_m": Field(int, required=False, minimum=2),
    "ef_construction": Field(int, required=False, minimum=1),
    "ef_search": Field(int, required=False, minimum=1),
    "train_size": Field(int, required=False, minimum=1),
    "kmeans_iterations": Field(int, required=False, minimum=1),
    "extra": Field(dict, required=False),
}
MANIFEST_SCHEMA = {
    "kind": Field(str, choices=(MANIFEST_KIND,)),
    "format_version": Field(int, minimum=1, maximum=FORMAT_VERSION),
    "index_kind": Field(str, choices=KINDS),
    "model_fingerprint": Field(str, nullable=True),
    "dim": Field(int, minimum=1),
    "count": Field(int, minimum=1),
    "corpus_hash": Field(str, required=False),
    "corpus_fingerprint": Field(str, required=False, nullable=True),  # the corpus cache it was built from
    "params": Field(dict, required=False, fields=PARAMS_SCHEMA),
    "model_dir": Field(str, required=False, nullable=True),
    "versions": Field(dict, required=False, values=Field(str)),
    "keyword_scheme": Field(str, required=False),  # keyword_store.keyword_scheme() of the code that wrote it
    "files": Field(dict, values=_FILE_ENTRY, keys=(INDEX_FILE, RECORDS_FILE, METADATA_FILE, MELODY_FILE,
                                                   KEYWORDS_FILE, GROUPS_FILE),
                   note=f"a mapping of {INDEX_FILE}, {RECORDS_FILE} (and {METADATA_FILE}, {MELODY_FILE}) to their "
                        "sha256 and bytes"),
}


def write_index_folder(directory: str | os.PathLike, manifest: dict[str, Any], index_bytes: bytes,
                       records: Sequence[Any], metadata_vectors: np.ndarray | None,
                       melody_bytes: bytes | None = None, keyword_bytes: bytes | None = None,
                       duplicate_groups: np.ndarray | None = None) -> Path:
    """Publish the index files and a manifest as the new version of ``directory``.

    ``melody_bytes`` (the melody index's ``.npz``) goes in the same version, so a reader sees the faiss
    index and the melody index of one build, never one old and one new; ``keyword_bytes`` (the keyword
    index's ``.npz``, :func:`~musicsearch.search.keyword_store.keywords_to_bytes`) and ``duplicate_groups``
    (the melody index's ``groups``, so a text search folds duplicates without reading the melodies) likewise.

    Raises:
        ArtifactError: ``directory`` holds another artifact or files of its own (choose another folder).
    """
    target = Path(directory)
    files = {INDEX_FILE: index_bytes, RECORDS_FILE: records_to_jsonl(records).encode("utf-8")}
    if metadata_vectors is not None:
        files[METADATA_FILE] = _npy_bytes(metadata_vectors, np.float32)
    if melody_bytes is not None:
        files[MELODY_FILE] = melody_bytes
    if duplicate_groups is not None:
        files[GROUPS_FILE] = _npy_bytes(duplicate_groups, np.int64)
    if keyword_bytes is not None:
        from .keyword_store import keyword_scheme

        files[KEYWORDS_FILE] = keyword_bytes
        manifest = {**manifest, "keyword_scheme": keyword_scheme()}
    versions = artifacts.library_versions()
    versions["faiss"] = _faiss_version()
    with artifacts.publish(target, artifacts.INDEX, exclusive=True) as staging:
        for name, data in files.items():
            artifacts.atomic_write_bytes(staging / name, data)
        artifacts.write_json(staging / MANIFEST, {
            "kind": MANIFEST_KIND, "format_version": FORMAT_VERSION, **manifest, "versions": versions,
            "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                      for name, data in files.items()}})
    return target


def _npy_bytes(array: np.ndarray, dtype: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=dtype), allow_pickle=False)  # never a pickle
    return buffer.getvalue()


def read_index_folder(folder: Path) -> tuple[dict[str, Any], bytes, list[Any], np.ndarray | None, Any, Any]:
    """Read and verify the current version of a folder written by :func:`write_index_folder`.

    Every file's checksum is verified here; the melody index is only parsed on first use
    (:class:`StoredMelodyIndex`: it takes seconds to read and a text search needs only its duplicate groups).

    Returns:
        ``(manifest, faiss index bytes, records, metadata vectors or None, melody index or None, keyword
        index or None)``; a folder saved before melody search has no melody index, one saved before the
        keyword store (or by other keyword code) no keyword index: the caller builds them from the records.

    Raises:
        ArtifactError: naming the missing, corrupted or incompatible file (and field) and how to rebuild it.
    """
    return artifacts.read_artifact(folder, artifacts.INDEX, _read_version, missing=_REBUILD)


def read_manifest(version: Path) -> dict[str, Any]:
    """The checked ``manifest.json`` of one version folder."""
    path = version / MANIFEST
    manifest = artifacts.read_json(path)
    if isinstance(manifest, dict) and manifest.get("kind") == MANIFEST_KIND:
        found = manifest.get("format_version")
        if isinstance(found, int) and not isinstance(found, bool) and found > FORMAT_VERSION:
            raise ArtifactError(f"{path}: field 'format_version' is {found}: written by a newer musicsearch "
                                f"(index format {found} > {FORMAT_VERSION}); upgrade musicsearch or {_REBUILD}.")
    elif isinstance(manifest, dict):
        raise artifacts.field_error(path, "kind", manifest.get("kind"), f"{MANIFEST_KIND!r} (this file does not "
                                    "describe a musicsearch index)", hint=f"{_REBUILD[0].upper()}{_REBUILD[1:]}.",
                                    missing="kind" not in manifest)
    hint = f"Fix the field or {_REBUILD}."
    artifacts.check(manifest, MANIFEST_SCHEMA, path, hint=hint)
    for required in (INDEX_FILE, RECORDS_FILE):
        if required not in manifest["files"]:
            raise artifacts.field_error(path, f"files.{required}", None, "its sha256 and bytes", hint=hint,
                                        missing=True)
    return manifest


def _read_version(folder: Path) -> tuple[dict[str, Any], bytes, list[Any], np.ndarray | None, Any, Any]:
    manifest = read_manifest(folder)
    contents = {name: _read_checked(folder, name, expected) for name, expected in manifest["files"].items()}
    records = records_from_jsonl(contents[RECORDS_FILE], folder / RECORDS_FILE)
    if len(records) != manifest["count"]:
        raise ArtifactError(f"{folder / RECORDS_FILE} holds {len(records)} records, the manifest says "
                            f"{manifest['count']}; {_REBUILD}.")
    metadata_vectors = None
    if METADATA_FILE in contents:
        metadata_vectors = _read_matrix(contents[METADATA_FILE], folder / METADATA_FILE,
                                        (manifest["count"], manifest["dim"]))
    melody = None
    if MELODY_FILE in contents:
        groups = _read_groups(contents[GROUPS_FILE], folder / GROUPS_FILE, manifest["count"]) \
            if GROUPS_FILE in contents else None
        melody = StoredMelodyIndex(contents[MELODY_FILE], folder / MELODY_FILE, records, groups)
    keywords = _read_keywords(contents.get(KEYWORDS_FILE), manifest)
    return manifest, contents[INDEX_FILE], records, metadata_vectors, melody, keywords


def _read_keywords(data: bytes | None, manifest: dict[str, Any]) -> Any:
    """The stored keyword index, or None when there is none or other keyword code wrote it (a cache: the
    index then builds it from the records on the first hybrid query)."""
    if data is None:
        return None
    from .keyword_store import keyword_scheme, keywords_from_bytes

    if manifest.get("keyword_scheme") != keyword_scheme():
        return None
    try:
        return keywords_from_bytes(data)
    except (ValueError, KeyError, OSError):  # checksum held, so another format: rebuild, never fail a search
        return None


class StoredMelodyIndex:
    """The melody index of an index folder, parsed on first use; ``groups`` is answered without parsing.

    Stands where a :class:`~musicsearch.search.melody.MelodyIndex` stands (attributes are the parsed
    index's). Reading one derives its n-gram tables: seconds on 13,600 tunes, which a text search, needing
    only the duplicate groups (stored beside it, :data:`GROUPS_FILE`), does not pay.
    """

    def __init__(self, data: bytes, path: Path, records: Sequence[Any], groups: np.ndarray | None) -> None:
        self.data, self.path, self._records, self._groups = data, path, records, groups
        self._index: Any = None

    @property
    def groups(self) -> np.ndarray:
        return self._groups if self._groups is not None else self.parsed.groups

    @property
    def parsed(self) -> Any:
        """The :class:`MelodyIndex` (checksum verified at load), checked to have the records' rows."""
        if self._index is None:
            import tempfile

            from .melody import MelodyIndex

            with tempfile.TemporaryDirectory(prefix="musicsearch-melody-") as scratch:
                (Path(scratch) / MELODY_FILE).write_bytes(self.data)
                melody = MelodyIndex.load(Path(scratch) / MELODY_FILE)
            if melody.ids != [str(record.id) for record in self._records]:
                raise ArtifactError(f"{self.path} does not describe the tunes of {RECORDS_FILE} (ids or order "
                                    f"differ); {_REBUILD}.")
            self._index = melody
        return self._index

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("data", "path", "_records", "_groups", "_index"):
            raise AttributeError(name)
        return getattr(self.parsed, name)

    def __len__(self) -> int:
        return len(self._records)


def _read_groups(data: bytes, path: Path, count: int) -> np.ndarray:
    try:
        groups = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ArtifactError(f"{path} is not a plain NumPy array ({error}); {_REBUILD}.") from error
    if not isinstance(groups, np.ndarray) or groups.dtype != np.int64 or groups.shape != (count,):
        raise ArtifactError(f"{path} holds {getattr(groups, 'dtype', '?')} {getattr(groups, 'shape', '')}, "
                            f"expected int64 ({count},); {_REBUILD}.")
    return groups


def _read_matrix(data: bytes, path: Path, shape: tuple[int, int]) -> np.ndarray:
    # allow_pickle=False: an object array (which would unpickle) is refused, never loaded.
    try:
        matrix = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ArtifactError(f"{path} is not a plain NumPy array ({error}); {_REBUILD}.") from error
    if not isinstance(matrix, np.ndarray) or matrix.dtype != np.float32:
        raise ArtifactError(f"{path} holds {getattr(matrix, 'dtype', type(matrix).__name__)} values, expected "
                            f"float32; {_REBUILD}.")
    if matrix.shape != shape:
        raise ArtifactError(f"{path} has shape {matrix.shape}, expected {shape}; {_REBUILD}.")
    if not np.isfinite(matrix).all():
        raise ArtifactError(f"{path} holds NaN or infinite values; {_REBUILD}.")
    return matrix


def records_to_jsonl(records: Iterable[Any]) -> str:
    """Records as JSON lines: every dataclass field, or the attributes a :class:`Hit` needs."""
    lines = []
    for record in records:
        if dataclasses.is_dataclass(record):
            payload = dataclasses.asdict(record)
        else:
            payload = {name: getattr(record, name, None) for name in ("id", "source", "ref", "collection",
                                                                       "abc", "metadata")}
        lines.append(json.dumps(payload, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def records_from_jsonl(data: bytes, source: Path) -> list[Any]:
    """Inverse of :func:`records_to_jsonl`, rebuilding :class:`musicsearch.Record` objects."""
    records = []
    # Split on "\n" only: str.splitlines also breaks on U+2028, U+0085 and other separators that
    # json.dumps(ensure_ascii=False) leaves raw inside strings (they occur in real tune metadata).
    for number, line in enumerate(data.decode("utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            payload = json.loads(line)
            records.append(_to_record(payload))
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as error:
            raise ArtifactError(f"{source} line {number} is not a record ({error}); {_REBUILD}.") from error
    return records


def _to_record(payload: dict[str, Any]) -> Any:
    from ..data.corpus import Record

    fields = _record_fields(Record)
    if payload.keys() == fields:  # what records_to_jsonl writes: no defaults to fill (13,600 records: 0.3 s less)
        return Record(**payload)
    values = {name: payload[name] if name in payload else copy.copy(_DEFAULTS[name])  # no shared {} between records
              for name in fields if name in payload or name in _DEFAULTS}
    values["id"], values["source"] = payload["id"], payload["source"]
    return Record(**values)


_DEFAULTS: dict[str, Any] = {"ref": None, "collection": "", "abc": "", "metadata": {}, "captions": [],
                             "caption_parts": []}


@functools.lru_cache(maxsize=4)
def _record_fields(record_type: type) -> frozenset[str]:
    return frozenset(field.name for field in dataclasses.fields(record_type))


def _read_checked(folder: Path, name: str, expected: dict[str, Any]) -> bytes:
    path = folder / name
    if not path.is_file():
        raise ArtifactError(f"{path} is missing; the index folder is incomplete. {_REBUILD[0].upper()}{_REBUILD[1:]}.")
    data = path.read_bytes()
    if len(data) != expected.get("bytes") or hashlib.sha256(data).hexdigest() != expected.get("sha256"):
        raise ArtifactError(f"{path} does not match its checksum in {MANIFEST} (truncated or modified); {_REBUILD}.")
    return data


def _faiss_version() -> str:
    import faiss

    return str(getattr(faiss, "__version__", "unknown"))
