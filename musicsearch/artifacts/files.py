"""Single files written whole or not at all, and the temporary files of killed writers cleaned up.

:func:`atomic_write_bytes` writes a temporary file beside the target, flushes it to disk and renames it
over the target, so a reader sees the old file or the new one, never half of one. While it writes, the
temporary file is locked (``flock``); :func:`remove_stale_temporaries` deletes only temporary files whose
lock is free, i.e. whose writer died, so a cache folder shared by several processes never loses a file
that is still being written.

Between the steps of every write path, the writers call :func:`fault_point`: a no-op unless a test has
installed a hook with :func:`set_fault_hook` (the kill tests of ``tests/reliability`` SIGKILL a child
process there).

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_json(folder / "a.json", {"x": 1}); read_json(folder / "a.json")
    {'x': 1}
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from ..errors import ArtifactError

try:  # POSIX; elsewhere writers are not serialised and stale temporaries are recognised by age only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("musicsearch.artifacts")

TEMPORARY_SUFFIX = ".tmp"
# A temporary file younger than this is never removed, even when its lock looks free: the writer may be
# between creating it and locking it.
STALE_AFTER_S = 60.0

_fault_hook: Callable[[str], None] | None = None


def set_fault_hook(hook: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Install ``hook(label)``, called at every :func:`fault_point` (tests only); returns the previous hook.

    Example:
        >>> seen = []; previous = set_fault_hook(seen.append)
        >>> fault_point("demo"); _ = set_fault_hook(previous); seen
        ['demo']
    """
    global _fault_hook
    previous, _fault_hook = _fault_hook, hook
    return previous


def fault_point(label: str) -> None:
    """Mark a step of a write path where a crash must leave a readable artifact (see :func:`set_fault_hook`)."""
    if _fault_hook is not None:
        _fault_hook(label)


def current_umask() -> int:
    """The process's umask (read without changing it for longer than one call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_directory(path: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename inside it) to disk; a no-op where folders cannot be opened."""
    with suppress(OSError):
        handle = os.open(path, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def try_lock(handle: int, *, shared: bool = False, wait: bool = False) -> bool:
    """``flock`` an open file; False when another process holds a conflicting lock and ``wait`` is False."""
    if fcntl is None:  # pragma: no cover - Windows
        return True
    flags = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        fcntl.flock(handle, flags if wait else flags | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as stream:
            # Held until the rename: a cleaner that can take this lock knows the writer is gone.
            try_lock(stream.fileno(), wait=True)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
            # mkstemp creates files readable by the owner only; artifacts are shared like any other file.
            os.fchmod(stream.fileno(), 0o666 & ~current_umask())
            fault_point(f"temporary {path.name} written")
            os.replace(temporary, path)
        fsync_directory(path.parent)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fault_point(f"{path.name} replaced")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file with an error that names the file when it is missing or malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as error:
        raise ArtifactError(f"{path} does not exist; check the folder or rebuild the artifact.") from error
    except UnicodeDecodeError as error:
        raise ArtifactError(f"{path} is not valid JSON ({error}); delete it and rebuild the artifact.") from error
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ArtifactError(f"{path} is not valid JSON ({error}); delete it and rebuild the artifact.") from error


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file of :func:`atomic_write_bytes`."""
    return name.startswith(".") and name.endswith(TEMPORARY_SUFFIX)


def remove_stale_temporaries(folder: str | os.PathLike, *, min_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete the temporary files that killed writers left in ``folder``; returns what was removed.

    A temporary file is removed when it is older than ``min_age_s`` and no live writer holds its lock.
    One log line (``musicsearch.artifacts``, warning) lists what was removed.

    Example:
        >>> remove_stale_temporaries(folder)  # doctest: +SKIP
        [PosixPath('.../.0f3c.npz.k2j1.tmp')]
    """
    folder = Path(folder)
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not is_temporary(entry.name):
            continue
        try:
            if now - entry.stat().st_mtime < min_age_s:
                continue
            handle = os.open(entry, os.O_RDONLY)
        except OSError:
            continue  # gone already, or not ours to read
        try:
            if try_lock(handle):
                entry.unlink()
                removed.append(entry)
        except OSError:
            pass
        finally:
            os.close(handle)
    if removed:
        logger.warning("removed %d temporary file(s) left in %s by interrupted writes: %s",
                       len(removed), folder, ", ".join(path.name for path in removed))
    return removed
