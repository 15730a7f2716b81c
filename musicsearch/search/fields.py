"""Which tunes satisfy a query's field constraints: a record's facts, and a per-index table of them.

A constraint (from :func:`~musicsearch.search.understanding.understand_query`) is checked against the facts
the data layer reads for a record, never re-derived here: tune type (:func:`features.tune_type`), meter
(:func:`features.record_meter`, ``C`` = 4/4, ``C|`` = 2/2), key and mode (:func:`features.record_key`, the
mode guessed from the notes by :func:`features.music_features` when the key gives none), country and
region (:func:`features.origin_places` / :func:`features.origin_country`, which know that O'Neill's
*Music of Ireland* is Irish), composer (every word of the name) and collection.

:class:`FieldIndex` holds those facts for every row of an index, so hybrid search can score a constraint
over all tunes in a few milliseconds and draw the tunes that satisfy it into its candidates.

Example:
    >>> satisfies({"tune_type": "reel", "meter": "4/4"}, record_facts({"rhythm": "reel", "meter": "C"}))
    {'tune_type': True, 'meter': True}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..data import features
from .keywords import tokenize

_SCALAR = ("tune_type", "meter", "key", "mode", "origin", "collection")


def record_facts(metadata: Mapping[str, Any] | None, abc: str = "", collection: str = "", *,
                 keys: bool = True) -> dict[str, Any]:
    """The facts constraints are checked against, read with :mod:`musicsearch.data.features`.

    ``keys=False`` leaves out key and mode (reading the mode from the notes is the slow part).

    Example:
        >>> record_facts({"rhythm": "jig", "key": "Ador", "meter": "6/8"}, collection="oneills1850")["key"]
        'A dorian'
    """
    metadata = {str(name).lower(): str(value) for name, value in (metadata or {}).items()}
    facts = {
        "tune_type": (features.tune_type(metadata) or "").lower(),
        "meter": features.meter_signature(features.record_meter(metadata, abc)),
        "origin": features.origin_country(metadata, collection) or "",
        "places": features.origin_places(metadata, collection),
        "composer": set(tokenize(metadata.get("composer", ""))),
        "collection": collection or "",
    }
    if keys:
        facts.update(_key_facts(metadata, abc))
    return facts


def _key_facts(metadata: dict[str, str], abc: str) -> dict[str, str]:
    key_text = features.record_key(metadata, abc)
    key = features.parse_key(key_text)
    tonic, mode = key.tonic, key.mode
    if abc and not key.explicit_mode:  # a key written without a mode may be minor: the notes decide
        music = features.music_features(abc, {**metadata, **({"key": key_text} if key_text else {})})
        tonic, mode = music["tonic"] or tonic, music["mode"]
    mode = "minor" if mode == "aeolian" else mode
    return {"key": f"{tonic} {mode}" if tonic and mode else "", "mode": mode or ""}


def satisfies(constraints: Mapping[str, str], facts: Mapping[str, Any]) -> dict[str, bool]:
    """For each constraint, whether a record with ``facts`` (:func:`record_facts`) meets it.

    Unknown constraint names are never met.
    """
    result = {}
    for name, wanted in constraints.items():
        if name in _SCALAR:
            result[name] = bool(facts.get(name)) and facts[name] == _canonical(name, wanted)
        elif name == "region":
            result[name] = wanted in facts.get("places", ())
        elif name == "composer":
            words = set(tokenize(wanted))
            result[name] = bool(words) and words <= facts.get("composer", set())
        else:
            result[name] = False
    return result


class FieldIndex:
    """The facts of every row of an index, inverted (field value -> rows), for scoring constraints fast.

    Example:
        >>> fields = FieldIndex(records)  # doctest: +SKIP
        >>> fields.matches({"tune_type": "air", "origin": "Ireland"}).shape  # doctest: +SKIP
        (13629, 2)
    """

    def __init__(self, records: Sequence[Any]) -> None:
        self.count = len(records)
        self._records = records
        rows: dict[str, dict[str, list[int]]] = {name: {} for name in ("tune_type", "meter", "origin", "collection",
                                                                       "region", "composer")}
        for row, record in enumerate(records):
            facts = record_facts(getattr(record, "metadata", {}), getattr(record, "abc", "") or "",
                                 getattr(record, "collection", "") or "", keys=False)
            for name in ("tune_type", "meter", "origin", "collection"):
                if facts[name]:
                    rows[name].setdefault(facts[name], []).append(row)
            for place in facts["places"]:
                rows["region"].setdefault(place, []).append(row)
            for word in facts["composer"]:
                rows["composer"].setdefault(word, []).append(row)
        self._arrays = _as_arrays(rows)

    @classmethod
    def from_tables(cls, records: Sequence[Any], tables: dict[str, dict[str, np.ndarray]]) -> FieldIndex:
        """An index rebuilt from :meth:`tables` (see :mod:`musicsearch.search.fields_cache`), without reading facts.

        Raises:
            ValueError: a table names rows outside ``records``.
        """
        fields = cls.__new__(cls)
        fields.count, fields._records = len(records), records
        for table in tables.values():
            for rows in table.values():
                if rows.size and (rows.min() < 0 or rows.max() >= len(records)):
                    raise ValueError("a stored field table names rows outside the index")
        fields._arrays = dict(tables)
        return fields

    def tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Every field's value -> rows table, keys and modes included (read now if they were not yet)."""
        if "key" not in self._arrays:
            self._read_keys()
        return self._arrays

    def _read_keys(self) -> None:
        # Keys and modes on the first key or mode constraint: a mode guessed from the notes takes seconds.
        rows: dict[str, dict[str, list[int]]] = {"key": {}, "mode": {}}
        for row, record in enumerate(self._records):
            metadata = {str(name).lower(): str(value) for name, value in (getattr(record, "metadata", {}) or {}).items()}
            for name, value in _key_facts(metadata, getattr(record, "abc", "") or "").items():
                if value:
                    rows[name].setdefault(value, []).append(row)
        self._arrays.update(_as_arrays(rows))

    def rows(self, name: str, wanted: str) -> np.ndarray:
        """Rows that satisfy one constraint (sorted)."""
        if name in ("key", "mode") and name not in self._arrays:
            self._read_keys()
        table = self._arrays.get(name, {})
        if name == "composer":
            words = tokenize(wanted)
            if not words:
                return np.zeros(0, dtype=np.int64)
            found = table.get(words[0], np.zeros(0, dtype=np.int64))
            for word in words[1:]:
                found = np.intersect1d(found, table.get(word, np.zeros(0, dtype=np.int64)))
            return found
        return table.get(_canonical(name, wanted), np.zeros(0, dtype=np.int64))

    def matches(self, constraints: Mapping[str, str]) -> np.ndarray:
        """``(N, len(constraints))`` booleans: row ``i`` satisfies constraint ``j``."""
        table = np.zeros((self.count, len(constraints)), dtype=bool)
        for column, (name, wanted) in enumerate(constraints.items()):
            table[self.rows(name, wanted), column] = True
        return table

    def values(self, name: str) -> list[str]:
        """The values a field takes in this index, most frequent first (e.g. for a benchmark's queries)."""
        if name in ("key", "mode") and name not in self._arrays:
            self._read_keys()
        return sorted(self._arrays.get(name, {}), key=lambda value: (-len(self._arrays[name][value]), value))


def _as_arrays(rows: dict[str, dict[str, list[int]]]) -> dict[str, dict[str, np.ndarray]]:
    return {name: {value: np.asarray(found, dtype=np.int64) for value, found in table.items()}
            for name, table in rows.items()}


def _canonical(name: str, value: str) -> str:
    value = str(value).strip()
    if name == "meter":
        return features.meter_signature(value)
    if name == "tune_type":
        return value.lower()
    if name == "mode":
        value = value.lower()
        return "minor" if value == "aeolian" else value
    if name == "key":
        tonic, _, mode = value.partition(" ")
        mode = mode.lower() or "major"
        return f"{tonic} {'minor' if mode == 'aeolian' else mode}"
    return value
