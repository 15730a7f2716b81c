"""The on-disk form of a search index: one version of an artifact folder, checked file by file on load.

The folder is written through :func:`musicsearch.artifacts.publish`: a complete new version beside the
old one, published with one atomic rename, so a reader sees the old index or the new one and a killed
save leaves the previous index readable. The manifest is read through a schema check (every field: type,
allowed values, required or not) and records the SHA-256 and size of every file; a hand-edited field, a
truncated or edited file is reported by name instead of reaching faiss (which would abort) or NumPy.

Example:
    >>> manifest, index_bytes, records, metadata, melody = read_index_folder("indexes/default")  # doctest: +SKIP
    >>> manifest["count"] == len(records)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
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
    "params": Field(dict, required=False, fields=PARAMS_SCHEMA),
    "model_dir": Field(str, required=False, nullable=True),
    "versions": Field(dict, required=False, values=Field(str)),
    "files": Field(dict, values=_FILE_ENTRY, keys=(INDEX_FILE, RECORDS_FILE, METADATA_FILE, MELODY_FILE),
                   note=f"a mapping of {INDEX_FILE}, {RECORDS_FILE} (and {METADATA_FILE}, {MELODY_FILE}) to their "
                        "sha256 and bytes"),
}


def write_index_folder(directory: str | os.PathLike, manifest: dict[str, Any], index_bytes: bytes,
                       records: Sequence[Any], metadata_vectors: np.ndarray | None,
                       melody_bytes: bytes | None = None) -> Path:
    """Publish the index files and a manifest as the new version of ``directory``.

    ``melody_bytes`` (the melody index's ``.npz``) goes in the same version, so a reader sees the faiss
    index and the melody index of one build, never one old and one new.

    Raises:
        ArtifactError: ``directory`` holds another artifact or files of its own (choose another folder).
    """
    target = Path(directory)
    files = {INDEX_FILE: index_bytes, RECORDS_FILE: records_to_jsonl(records).encode("utf-8")}
    if metadata_vectors is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(metadata_vectors, dtype=np.float32), allow_pickle=False)
        files[METADATA_FILE] = buffer.getvalue()
    if melody_bytes is not None:
        files[MELODY_FILE] = melody_bytes
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


def read_index_folder(folder: Path) -> tuple[dict[str, Any], bytes, list[Any], np.ndarray | None, Any]:
    """Read and verify the current version of a folder written by :func:`write_index_folder`.

    Returns:
        ``(manifest, faiss index bytes, records, metadata vectors or None, melody index or None)``; a folder
        saved before melody search has no melody index (the caller builds one from the records).

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


def _read_version(folder: Path) -> tuple[dict[str, Any], bytes, list[Any], np.ndarray | None, Any]:
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
    melody = _read_melody(folder / MELODY_FILE, records) if MELODY_FILE in contents else None
    return manifest, contents[INDEX_FILE], records, metadata_vectors, melody


def _read_melody(path: Path, records: Sequence[Any]) -> Any:
    """The melody index of a version (its checksum already verified), checked to have the records' rows."""
    from .melody import MelodyIndex

    melody = MelodyIndex.load(path)
    if melody.ids != [str(record.id) for record in records]:
        raise ArtifactError(f"{path} does not describe the tunes of {RECORDS_FILE} (ids or order differ); "
                            f"{_REBUILD}.")
    return melody


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

    defaults: dict[str, Any] = {"ref": None, "collection": "", "abc": "", "metadata": {}, "captions": [],
                                "caption_parts": []}
    fields = {f.name for f in dataclasses.fields(Record)}
    values = {name: payload.get(name, defaults.get(name)) for name in fields if name in payload or name in defaults}
    values["id"], values["source"] = payload["id"], payload["source"]
    return Record(**values)


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
