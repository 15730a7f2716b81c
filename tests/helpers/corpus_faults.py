"""Faults a corpus folder can hold that a test cannot make for real, simulated in-process.

Running as root (as CI containers often do) reads every file whatever its permissions, so
``chmod 000`` proves nothing there: :func:`simulated_permissions` makes every folder or file whose
name starts with ``locked`` raise ``PermissionError`` as it would for an ordinary user.
"""

from __future__ import annotations

import errno
import os
import pathlib
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

LOCKED_PREFIX = "locked"


def _is_locked(path: os.PathLike | str) -> bool:
    return os.path.basename(os.fspath(path)).startswith(LOCKED_PREFIX)


def _denied(path: os.PathLike | str) -> PermissionError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))


@contextmanager
def simulated_permissions(prefix: str = LOCKED_PREFIX) -> Iterator[None]:
    """Within the block, folders named ``locked*`` cannot be listed and files named ``locked*`` cannot be read.

    Example:
        >>> with simulated_permissions():  # doctest: +SKIP
        ...     ms.build_corpus(folder_with_a_locked_subfolder)
    """
    real_scandir = os.scandir
    real_read_bytes = pathlib.Path.read_bytes

    def scandir(path="."):
        if os.path.basename(os.fspath(path)).startswith(prefix):
            raise _denied(path)
        return real_scandir(path)

    def read_bytes(self):
        if self.name.startswith(prefix):
            raise _denied(self)
        return real_read_bytes(self)

    with mock.patch.object(os, "scandir", scandir), mock.patch.object(pathlib.Path, "read_bytes", read_bytes):
        yield
