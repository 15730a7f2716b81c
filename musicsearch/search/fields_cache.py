"""The record facts of an index, cached on disk: a search process reads them instead of deriving them.

Reading every tune's key and mode means guessing the mode from the notes when the key names none: tens of
seconds for music21's corpus. :func:`cached_field_index` keeps the finished table (field -> value -> rows)
under ``MUSICSEARCH_HOME/cache/fields/``, keyed by the records (ids and music) and by the code that reads
the facts, so a change to either derives them again. The file is written atomically; a damaged one is
ignored and rewritten.

Example:
    >>> fields = cached_field_index(index.records)  # doctest: +SKIP
    >>> fields.rows("mode", "minor").size > 0  # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .fields import FieldIndex

FORMAT = 1  # bump when the stored layout changes


def fields_scheme() -> str:
    """Digest of the code that decides a record's facts (changes when that code changes)."""
    from ..data import abc, features, terms, vocab
    from . import fields

    digest = hashlib.sha256(f"fields-{FORMAT}".encode())
    for module in (fields, features, abc, vocab, terms):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def records_digest(records: Sequence[Any]) -> str:
    """Digest of the records' ids, collections, metadata and music: what the facts are read from."""
    digest = hashlib.sha256()
    for record in records:
        metadata = json.dumps(getattr(record, "metadata", {}) or {}, sort_keys=True, default=str)
        digest.update(f"{record.id}\0{getattr(record, 'collection', '')}\0{metadata}\0{record.abc}\0".encode())
    return digest.hexdigest()[:16]


def cached_field_index(records: Sequence[Any]) -> FieldIndex:
    """The :class:`FieldIndex` of ``records`` (keys and modes included), from the cache when it is there."""
    from ..artifacts import atomic_write_bytes
    from ..paths import cache_dir

    path = cache_dir() / "fields" / f"{records_digest(records)}-{fields_scheme()}.json"
    try:
        tables = json.loads(path.read_bytes())
        return FieldIndex.from_tables(records, {name: {value: np.asarray(rows, dtype=np.int64)
                                                       for value, rows in table.items()}
                                                for name, table in tables.items()})
    except (OSError, ValueError, TypeError, AttributeError):
        pass  # none yet, or damaged: derived and written below
    fields = FieldIndex(records)
    tables = fields.tables()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps({name: {value: rows.tolist() for value, rows in table.items()}
                                         for name, table in tables.items()}).encode())
    return fields
