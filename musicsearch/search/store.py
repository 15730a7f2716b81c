"""The on-disk form of a search index: a folder written atomically and checked file by file on load.

A folder is first written in full next to its destination and then renamed into place, so a reader
never sees half an index and an interrupted save leaves the previous index intact. The manifest records
the SHA-256 and size of every file; a truncated or edited file is reported by name instead of reaching
faiss (which would abort) or NumPy.

Example:
    >>> manifest, index_bytes, records, metadata = read_index_folder("indexes/default")  # doctest: +SKIP
    >>> manifest["count"] == len(records)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import library_versions, read_json, write_json
from ..errors import ArtifactError

MANIFEST_KIND = "musicsearch-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INDEX_FILE = "index.faiss"
RECORDS_FILE = "records.jsonl"
METADATA_FILE = "metadata.npy"
_REBUILD = "rebuild it with `musicsearch index --model DIR --out FOLDER` (or `make model` for the default index)"


def write_index_folder(directory: str | os.PathLike, manifest: dict[str, Any], index_bytes: bytes,
                       records: Sequence[Any], metadata_vectors: np.ndarray | None) -> Path:
    """Write the index files and a manifest into ``directory``, replacing an earlier index there."""
    target = Path(directory)
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not (target / MANIFEST).is_file())):
        raise ArtifactError(f"{target} exists and is not an index folder; choose another --out folder.")
    target.parent.mkdir(parents=True, exist_ok=True)
    files = {INDEX_FILE: index_bytes, RECORDS_FILE: records_to_jsonl(records).encode("utf-8")}
    if metadata_vectors is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(metadata_vectors, dtype=np.float32), allow_pickle=False)
        files[METADATA_FILE] = buffer.getvalue()
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; an index is shared like any folder
        for name, data in files.items():
            (staging / name).write_bytes(data)
        versions = library_versions()
        versions["faiss"] = _faiss_version()
        write_json(staging / MANIFEST, {
            "kind": MANIFEST_KIND, "format_version": FORMAT_VERSION, **manifest, "versions": versions,
            "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                      for name, data in files.items()}})
        os.chmod(staging / MANIFEST, 0o666 & ~_umask())
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_index_folder(folder: Path) -> tuple[dict[str, Any], bytes, list[Any], np.ndarray | None]:
    """Read and verify a folder written by :func:`write_index_folder`.

    Returns:
        ``(manifest, faiss index bytes, records, metadata vectors or None)``.

    Raises:
        ArtifactError: naming the missing, corrupted or incompatible file and how to rebuild it.
    """
    if not folder.is_dir():
        raise ArtifactError(f"no index at {folder}; {_REBUILD}.")
    manifest = read_json(folder / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
        raise ArtifactError(f"{folder / MANIFEST} does not describe a musicsearch index; {_REBUILD}.")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise ArtifactError(f"{folder} was written by a newer musicsearch (index format "
                            f"{manifest['format_version']} > {FORMAT_VERSION}); upgrade musicsearch or {_REBUILD}.")
    missing = [name for name in ("index_kind", "dim", "count", "files") if name not in manifest]
    if missing:
        raise ArtifactError(f"{folder / MANIFEST} lacks {', '.join(missing)}; {_REBUILD}.")
    contents = {name: _read_checked(folder, name, expected) for name, expected in manifest["files"].items()}
    if INDEX_FILE not in contents or RECORDS_FILE not in contents:
        raise ArtifactError(f"{folder / MANIFEST} lists no {INDEX_FILE} or {RECORDS_FILE}; {_REBUILD}.")
    records = records_from_jsonl(contents[RECORDS_FILE], folder / RECORDS_FILE)
    if len(records) != manifest["count"]:
        raise ArtifactError(f"{folder / RECORDS_FILE} holds {len(records)} records, the manifest says "
                            f"{manifest['count']}; {_REBUILD}.")
    metadata_vectors = None
    if METADATA_FILE in contents:
        metadata_vectors = np.load(io.BytesIO(contents[METADATA_FILE]), allow_pickle=False)
        if metadata_vectors.shape != (manifest["count"], manifest["dim"]):
            raise ArtifactError(f"{folder / METADATA_FILE} has shape {metadata_vectors.shape}, expected "
                                f"({manifest['count']}, {manifest['dim']}); {_REBUILD}.")
    return manifest, contents[INDEX_FILE], records, metadata_vectors


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


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing target is moved aside first and removed after."""
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    os.rmdir(retired)
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired, target)  # put the previous index back
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _faiss_version() -> str:
    import faiss

    return str(getattr(faiss, "__version__", "unknown"))
