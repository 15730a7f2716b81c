"""The one writer of artifact folders: a complete new version beside the old, published with one rename.

:func:`publish` writes a new version in ``P/.staging-*``, flushes it to disk, renames it to ``P/v-*`` and
then replaces ``P/CURRENT`` (``os.replace``): that one rename is the moment the new version appears, so
a reader sees the old version or the new one (layout: :mod:`musicsearch.artifacts.versions`). Writers of
one folder take turns on ``P/.lock``. After publishing, the writer removes older versions no reader holds,
and what killed writers left (staging folders, temporary pointer files), with one log line. A folder
written before versions gets ``CURRENT`` and a version beside its files; the write after that removes
them, so there is no moment when nothing is readable. Writing one kind into a folder of another
(a model into an index folder) is refused with both kinds named.

Example:
    >>> with publish("indexes/demo", "index") as staging:  # doctest: +SKIP
    ...     (staging / "manifest.json").write_text("{}")
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ArtifactError
from .files import atomic_write_bytes, fault_point, fsync_directory, is_temporary, logger, try_lock
from .kinds import KINDS, ArtifactKind, get_kind
from .versions import (
    POINTER,
    POINTER_FORMAT,
    READER_PIN,
    STAGING_PREFIX,
    VERSION_PATTERN,
    VERSION_PREFIX,
    WRITER_LOCK,
    legacy_kinds,
    read_pointer,
    wrong_kind,
)


def check_writable(path: str | os.PathLike, kind: str | ArtifactKind, *, exclusive: bool = False) -> None:
    """Refuse early (before a long job) to write ``kind`` into a folder that holds another artifact.

    Args:
        exclusive: also refuse a folder holding files that belong to no artifact.

    Raises:
        ArtifactError: ``path`` is a file, holds another kind of artifact, or (``exclusive``) other files.
    """
    path, kind = Path(path), get_kind(kind)
    if path.exists() and not path.is_dir():
        raise ArtifactError(f"{path} is a file, not a folder; choose a folder for the {kind.label}.")
    if path.is_dir():
        _previous_version(path, kind, exclusive)


@contextmanager
def publish(path: str | os.PathLike, kind: str | ArtifactKind, *, exclusive: bool = False) -> Iterator[Path]:
    """Write a new version of the artifact at ``path``: write every file into the yielded folder.

    On leaving the block the version is flushed to disk and published with one atomic rename; if the
    block raises, nothing is published and the staging folder is removed. Concurrent writers of one
    ``path`` take turns.

    Args:
        path: the artifact folder (created if needed).
        kind: what it holds (``"index"``, ``"model"``, ``"corpus"``, ``"checkpoint"``).
        exclusive: refuse a folder holding files that belong to no artifact (an index's ``--out``).

    Raises:
        ArtifactError: ``path`` is a file, cannot be written, or holds another kind of artifact.

    Example:
        >>> with publish(tmp / "corpus", "corpus") as staging:  # doctest: +SKIP
        ...     write_json(staging / "report.json", report)
    """
    path, kind = Path(path), get_kind(kind)
    check_writable(path, kind, exclusive=exclusive)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ArtifactError(f"cannot create {path} ({error.strerror}); choose a folder you can write to.") from error
    with _writer_lock(path):
        previous = _previous_version(path, kind, exclusive)
        staging = path / _new_name(STAGING_PREFIX)
        staging.mkdir()
        fault_point("staging folder created")
        try:
            yield staging
            fault_point("staging files written")
            (staging / READER_PIN).touch()
            _fsync_tree(staging)
            version = path / _new_name(VERSION_PREFIX)
            os.rename(staging, version)
            fsync_directory(path)
            fault_point("version folder in place")
            pointer = {"kind": kind.name, "version": version.name, "format_version": POINTER_FORMAT}
            atomic_write_bytes(path / POINTER, (json.dumps(pointer, indent=2) + "\n").encode())
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _remove_leftovers(path, kind, keep={version.name, previous})
        fault_point("leftovers removed")


def _new_name(prefix: str) -> str:
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 1_000_000_000)) + f"{now // 1000 % 1_000_000:06d}"
    return f"{prefix}{stamp}-{secrets.token_hex(4)}"

def _is_ours(name: str, kind: ArtifactKind) -> bool:
    return (name in (POINTER, WRITER_LOCK) or name in kind.legacy_entries or name.startswith(STAGING_PREFIX)
            or re.fullmatch(VERSION_PATTERN, name) is not None or (name.startswith(f".{POINTER}.") and is_temporary(name)))

def _previous_version(path: Path, kind: ArtifactKind, exclusive: bool) -> str | None:
    """The entry of ``path`` a writer must keep (the current version, ``"."`` for files written before
    versions), after refusing a folder of another kind."""
    try:
        pointer = read_pointer(path)
    except ArtifactError as error:
        logger.warning("%s: the pointer file is damaged and will be replaced (%s)", path, error)
        pointer = None
    if pointer is not None and pointer["kind"] != kind.name:
        raise wrong_kind(path, KINDS[pointer["kind"]], kind, writing=True)
    found = legacy_kinds(path)
    if pointer is None and found and kind not in found:
        raise wrong_kind(path, found[0], kind, writing=True)
    if exclusive:
        foreign = sorted(entry.name for entry in path.iterdir() if not _is_ours(entry.name, kind))
        if foreign:
            raise ArtifactError(f"{path} exists and is not {kind.article} folder (it holds {', '.join(foreign[:3])}"
                                f"{' ...' if len(foreign) > 3 else ''}); choose another folder.")
    if pointer is not None:
        return pointer["version"]
    return "." if kind in found else None

@contextmanager
def _writer_lock(path: Path) -> Iterator[None]:
    try:
        handle = os.open(path / WRITER_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise ArtifactError(f"cannot write to {path} ({error.strerror}); choose a folder you can write to.") from error
    try:
        try_lock(handle, wait=True)
        yield
    finally:
        os.close(handle)

def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            handle = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(handle)
            finally:
                os.close(handle)
        fsync_directory(root)

def _remove_version(folder: Path) -> bool:
    """Remove a retired version unless a reader has pinned it; True when removed."""
    try:
        handle = os.open(folder / READER_PIN, os.O_RDONLY)
    except FileNotFoundError:
        handle = None
    except OSError:
        return False
    try:
        if handle is not None and not try_lock(handle):
            return False  # a reader is inside; the next write removes it
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        if handle is not None:
            os.close(handle)

def _remove_leftovers(path: Path, kind: ArtifactKind, keep: set[str | None]) -> None:
    """Remove retired versions, files written before versions once a newer version replaced them, and
    what killed writers left; one log line says what went."""
    interrupted, retired = [], []
    for entry in sorted(path.iterdir()):
        name = entry.name
        if name.startswith(STAGING_PREFIX) or (name.startswith(f".{POINTER}.") and is_temporary(name)):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            interrupted.append(name)
        elif re.fullmatch(VERSION_PATTERN, name) and name not in keep and entry.is_dir():
            if not _remove_version(entry):
                continue
            retired.append(name)
        else:
            continue
        fault_point(f"removed {name}")
    if "." not in keep:
        for name in kind.legacy_entries:
            entry = path / name
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.exists():
                entry.unlink(missing_ok=True)
            else:
                continue
            retired.append(name)
            fault_point(f"removed {name}")
    if interrupted:
        logger.warning("%s: removed %d leftover(s) of interrupted writes (%s) and %d retired version(s)",
                       path, len(interrupted), ", ".join(interrupted), len(retired))
    elif retired:
        logger.info("%s: removed %d retired version(s) (%s)", path, len(retired), ", ".join(retired))
