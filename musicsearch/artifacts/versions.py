"""Artifact folders written as versions, and reading them: old or new, never neither or a mix.

Every folder musicsearch writes (index, corpus, model, LUT model, training checkpoint) has this layout::

    P/CURRENT             {"kind": "index", "version": "v-20250101T120000123456-0a1b2c3d", "format_version": 1}
    P/.lock               writers take turns on it (flock), so concurrent saves serialise
    P/v-...-0a1b2c3d/     the current version: the artifact's files, and .readers (a reader's pin)
    P/v-...-9f8e7d6c/     the previous version, kept until the next write so a reader mid-read finishes

The writer is :func:`musicsearch.artifacts.publishing.publish`. A reader (:func:`read_artifact`) reads
``CURRENT`` once, pins that version (a shared ``flock`` on its ``.readers``: no writer removes a pinned
version) and reads every file from it; if the version was retired under it anyway, it starts again with
the one that replaced it. A folder written before versions (the files directly in ``P``) reads as the
current version. The pointer records the kind, so a folder of one kind is never read as another.

Example:
    >>> read_artifact("indexes/demo", "index", lambda version: (version / "manifest.json").read_text())  # doctest: +SKIP
    '{...}'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ArtifactError, MusicSearchError
from .files import read_json, try_lock
from .kinds import KINDS, ArtifactKind, get_kind
from .schema import Field, check

T = TypeVar("T")

POINTER = "CURRENT"
WRITER_LOCK = ".lock"
READER_PIN = ".readers"
VERSION_PREFIX = "v-"
STAGING_PREFIX = ".staging-"
POINTER_FORMAT = 1
VERSION_PATTERN = r"v-\d{8}T\d{12}-[0-9a-f]{8}"
# A reader starts again when the version it pinned was retired; each retry needs a whole write to finish
# under it, so running out of attempts means the folder is rewritten faster than it can be read.
READ_ATTEMPTS = 20

POINTER_SCHEMA = {
    "kind": Field(str, choices=tuple(KINDS)),
    "version": Field(str, pattern=VERSION_PATTERN, note="a version folder name like 'v-20250101T120000000000-0a1b2c3d'"),
    "format_version": Field(int, minimum=1, maximum=POINTER_FORMAT),
}

_VANISHED = object()


def read_pointer(path: str | os.PathLike) -> dict[str, Any] | None:
    """The checked ``CURRENT`` of an artifact folder, or None for a folder without one."""
    pointer_file = Path(path) / POINTER
    if not pointer_file.exists():
        return None
    payload = read_json(pointer_file)
    hint = f"Delete {Path(path)} and write the artifact again."
    if isinstance(payload, dict) and isinstance(payload.get("format_version"), int) \
            and not isinstance(payload["format_version"], bool) and payload["format_version"] > POINTER_FORMAT:
        raise ArtifactError(f"{pointer_file}: field 'format_version' is {payload['format_version']}, newer than this "
                            f"musicsearch understands ({POINTER_FORMAT}); upgrade musicsearch (pip install -U musicsearch).")
    return check(payload, POINTER_SCHEMA, pointer_file, hint=hint)


def artifact_kind(path: str | os.PathLike) -> str | None:
    """The kind of artifact a folder holds (``"index"``, ``"model"``, ...), or None when it holds none.

    Example:
        >>> artifact_kind("indexes/default")  # doctest: +SKIP
        'index'
    """
    path = Path(path)
    if not path.is_dir():
        return None
    pointer = read_pointer(path)
    if pointer is not None:
        return pointer["kind"]
    found = legacy_kinds(path)
    return found[0].name if found else None


def artifact_exists(path: str | os.PathLike, kind: str | ArtifactKind) -> bool:
    """Whether ``path`` holds an artifact of ``kind`` (versioned or written before versions)."""
    path, kind = Path(path), get_kind(kind)
    if not path.is_dir():
        return False
    pointer = read_pointer(path)
    return pointer["kind"] == kind.name if pointer is not None else kind in legacy_kinds(path)


def find_version(path: str | os.PathLike, kind: str | ArtifactKind) -> Path | None:
    """The folder holding the current files of ``path`` (a ``v-*`` folder, or ``path`` itself for a folder
    written before versions), or None when there is no artifact.

    Raises:
        ArtifactError: the folder holds another kind of artifact, or its pointer is damaged.
    """
    path, kind = Path(path), get_kind(kind)
    if not path.is_dir():
        return None
    for _ in range(READ_ATTEMPTS):
        pointer = read_pointer(path)
        if pointer is None:
            found = legacy_kinds(path)
            if found and kind not in found:
                raise wrong_kind(path, found[0], kind, writing=False)
            return path if found else None
        if pointer["kind"] != kind.name:
            raise wrong_kind(path, KINDS[pointer["kind"]], kind, writing=False)
        version = path / pointer["version"]
        if version.is_dir():
            return version
        # A writer retires a version only after CURRENT names another one: an unchanged pointer to a
        # missing folder is damage, not a race.
        if read_pointer(path) == pointer:
            raise ArtifactError(f"{path / POINTER} names {pointer['version']}, which is not in {path}: the folder "
                                f"was damaged. Delete {path} and write the {kind.label} again.")
    raise _too_busy(path)


def current_version(path: str | os.PathLike, kind: str | ArtifactKind, *, missing: str = "") -> Path:
    """Like :func:`find_version`, but a missing artifact is an error (``missing`` says what to do).

    Example:
        >>> current_version("indexes/default", "index").name  # doctest: +SKIP
        'v-20250101T120000123456-0a1b2c3d'
    """
    kind = get_kind(kind)
    version = find_version(path, kind)
    if version is None:
        raise ArtifactError(f"no {kind.label} at {path}" + (f"; {missing}" if missing else "") + ".")
    return version


def resolve_version(path: str | os.PathLike, kind: str | ArtifactKind) -> Path:
    """The folder holding the files of ``path``: the current version of an artifact folder, or ``path``
    itself (a version folder, or a folder written before versions). For code handed either kind of path.
    """
    path = Path(path)
    return current_version(path, kind) if (path / POINTER).exists() else path


def read_artifact(path: str | os.PathLike, kind: str | ArtifactKind, read: Callable[[Path], T], *,
                  missing: str = "") -> T:
    """Call ``read(version_folder)`` on the current version of ``path``, pinned so no writer removes it.

    Every file must be read from the folder ``read`` is given. When the version is retired under the
    reader anyway (a folder written before versions), ``read`` is called again on the new one.

    Raises:
        ArtifactError: no artifact (``missing`` says what to do), another kind, or whatever ``read`` raises
            about the current version.
    """
    path, kind = Path(path), get_kind(kind)
    last_error: BaseException | None = None
    for _ in range(READ_ATTEMPTS):
        version = current_version(path, kind, missing=missing)
        pin = _pin(version)
        if pin is _VANISHED:
            continue
        try:
            return read(version)
        except (OSError, MusicSearchError) as error:
            if _still_current(path, kind, version):
                raise
            last_error = error  # retired while being read: read the version that replaced it
        finally:
            if isinstance(pin, int):
                os.close(pin)
    raise _too_busy(path) from last_error


# ------------------------------------------------------------------------------------------ helpers
def legacy_kinds(path: Path) -> list[ArtifactKind]:
    """The kinds whose files lie directly in ``path`` (a folder written before versions)."""
    return [kind for kind in KINDS.values() if (path / kind.marker).exists()]


def wrong_kind(path: Path, found: ArtifactKind, wanted: ArtifactKind, *, writing: bool) -> ArtifactError:
    """The error for a folder holding ``found`` where ``wanted`` is read or written, naming both."""
    if writing:
        return ArtifactError(f"{path} holds {found.article}, not {wanted.article}; writing {wanted.article} there "
                             f"would mix the two. Choose another folder for the {wanted.label}.")
    return ArtifactError(f"{path} holds {found.article}, not {wanted.article}; pass the folder of "
                         f"{wanted.article}.")


def _too_busy(path: Path) -> ArtifactError:
    return ArtifactError(f"{path} was rewritten {READ_ATTEMPTS} times while being read; try again when the "
                         "writers have finished.")


def _pin(version: Path) -> Any:
    """A shared lock on a version's ``.readers`` (a writer never removes a pinned version), None when the
    version cannot be pinned (written before versions, or read-only), or ``_VANISHED``."""
    try:
        handle = os.open(version / READER_PIN, os.O_RDONLY)
    except FileNotFoundError:
        return None if version.is_dir() else _VANISHED
    except OSError:
        return None
    try_lock(handle, shared=True, wait=True)
    if os.fstat(handle).st_nlink == 0:  # removed while we waited for the lock
        os.close(handle)
        return _VANISHED
    return handle


def _still_current(path: Path, kind: ArtifactKind, version: Path) -> bool:
    try:
        return version.is_dir() and find_version(path, kind) == version
    except ArtifactError:
        return False
