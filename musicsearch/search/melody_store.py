"""The on-disk form of a melody index: one ``.npz`` file of plain arrays and a JSON string, no pickle.

Arrays: ``ids`` (text), ``offsets`` (where each tune's notes start), ``pitches``, ``durations``, ``bars``
and ``meta`` (JSON: format version, search settings, build stats). The n-gram index and the duplicate
groups are derived on load (under a second for the default corpus), so the file holds nothing that could
disagree with the notes. Written atomically; read with every array and field checked, a fault reported
with the file and the field and what to do.

Example:
    >>> write_melody_index(Path("melody.npz"), index)  # doctest: +SKIP
    >>> MelodyIndex(**read_melody_index(Path("melody.npz")))  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import atomic_write_bytes
from ..errors import ArtifactError

FORMAT_VERSION = 1


def write_melody_index(path: Path, index: Any) -> Path:
    """Write ``index`` (a :class:`~musicsearch.search.melody.MelodyIndex`) to ``path``, atomically."""
    meta = {"format_version": FORMAT_VERSION, "params": index.params.to_dict(), "stats": index.stats.to_dict()}
    buffer = io.BytesIO()
    np.savez(buffer, ids=np.array(index.ids, dtype=str), offsets=index.offsets, pitches=index.pitches,
             durations=index.durations, bars=index.bars, meta=np.array(json.dumps(meta)))
    atomic_write_bytes(path, buffer.getvalue())
    return path


_ARRAYS = {"ids": "U", "offsets": "i", "pitches": "i", "durations": "f", "bars": "i", "meta": "U"}
_KIND_NAMES = {"U": "text", "i": "integers", "f": "floats"}


def read_melody_index(path: Path) -> dict[str, Any]:
    """The :class:`~musicsearch.search.melody.MelodyIndex` arrays stored in ``path``, all checked; ``params``
    and ``stats`` come back as the plain dicts they were saved as (the index rebuilds its dataclasses).

    Raises:
        ArtifactError: the file is missing, not a melody index, from a newer version, or inconsistent.
    """
    if not path.is_file():
        raise ArtifactError(f"{path}: no melody index here; build one with MelodyIndex.build(corpus).save(path).")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:  # truncated, edited, or not an npz
        raise ArtifactError(f"{path}: not a readable melody index ({type(error).__name__}: {error}); "
                            "rebuild it with MelodyIndex.build(corpus).save(path).") from None
    for name, kind in _ARRAYS.items():
        if name not in arrays:
            raise ArtifactError(f"{path}: array {name!r} is missing; rebuild the melody index.")
        if not isinstance(arrays[name], np.ndarray):
            raise ArtifactError(f"{path}: {name!r} is not an array; rebuild the melody index.")
        if arrays[name].dtype.kind != kind:
            raise ArtifactError(f"{path}: array {name!r} holds {arrays[name].dtype} values, expected "
                                f"{_KIND_NAMES[kind]}; rebuild the melody index.")
    try:
        meta = json.loads(str(arrays["meta"]))
        version = meta["format_version"]
        params, stats = dict(meta["params"]), dict(meta.get("stats", {}))
    except (ValueError, KeyError, TypeError) as error:
        raise ArtifactError(f"{path}: array 'meta' is not the index's settings ({type(error).__name__}: {error}); "
                            "rebuild the melody index.") from None
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ArtifactError(f"{path}: field 'format_version' is {version!r}; this musicsearch reads melody indexes "
                            f"up to version {FORMAT_VERSION}: upgrade musicsearch or rebuild the index.")
    offsets, notes = arrays["offsets"], len(arrays["pitches"])
    if (offsets.ndim != 1 or len(offsets) != len(arrays["ids"]) + 1 or offsets[0] != 0 or offsets[-1] != notes
            or np.any(np.diff(offsets) < 0) or len(arrays["durations"]) != notes or len(arrays["bars"]) != notes):
        raise ArtifactError(f"{path}: arrays 'offsets', 'ids', 'pitches', 'durations' and 'bars' do not fit "
                            "together (a tune's notes outside the arrays); rebuild the melody index.")
    return {"ids": arrays["ids"].tolist(), "offsets": offsets, "pitches": arrays["pitches"],
            "durations": arrays["durations"], "bars": arrays["bars"], "params": params, "stats": stats}
