"""The corpus types: :class:`Record` (one tune with provenance, music-only ABC, metadata and captions),
:class:`BuildReport` (what a build kept and skipped) and :class:`Corpus` (a sequence of records).

Building, caching and loading corpora is in :mod:`musicsearch.data.corpus_io`
(``load_corpus()``, ``build_corpus()``, ``save_corpus()``).

Example:
    >>> corpus = Corpus([Record(id="a.abc#1", source="a.abc", ref="1", collection="demo", abc="K:D\\nd2f|")])
    >>> len(corpus), corpus[0].collection
    (1, 'demo')
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from ..errors import CorpusError
from . import features


@dataclass
class Record:
    """One tune. ``abc`` holds only the music; labels live in ``metadata`` and ``captions``."""

    id: str  # stable id, e.g. "ryansMammoth/7thRegimentReel.abc#1"
    source: str  # path relative to the corpus root (or "table.jsonl:row 3")
    ref: str | None  # the X: number in a multi-tune file, else None
    collection: str  # e.g. "essenFolksong", "bach", or your folder's first level
    abc: str  # music only: L: M: K: Q: V: fields and the body
    metadata: dict[str, str] = field(default_factory=dict)  # every raw header field, verbatim
    captions: list[str] = field(default_factory=list)  # descriptions; the first is the fullest
    caption_parts: list[str] = field(default_factory=list)  # the phrases captions are made of

    @property
    def title(self) -> str | None:
        return self.metadata.get("title")

    @property
    def tune_type(self) -> str | None:
        """English tune type or genre ("reel", "love song"), or None."""
        return features.tune_type(self.metadata)

    @property
    def origin(self) -> str | None:
        """Country-level origin ("Germany", "Ireland", "China"), or None."""
        return features.origin_country(self.metadata, self.collection)

    @property
    def meter(self) -> str | None:
        """The meter as written ("6/8", "C|"): the meter field, else the M: line."""
        return features.record_meter(self.metadata, self.abc)

    @property
    def key(self) -> str | None:
        """The key as written ("Ador", "G"): the key field, else the K: line."""
        return features.record_key(self.metadata, self.abc)

    @property
    def mode(self) -> str | None:
        """"major", "minor", "dorian", ... (guessed from the notes when the key gives none)."""
        return features.music_features(self.abc, self.metadata)["mode"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BuildReport:
    """What a build saw: ``seen == kept + skipped``, with every skipped item and its reason.

    ``repaired`` counts kept records whose text was decoded from a DOS or Windows code page
    (:mod:`musicsearch.data.text_repair`); it is part of ``kept``, not a third outcome.
    """

    source: str
    seen: int = 0
    kept: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item, reason)
    repaired: int = 0  # kept records whose text was repaired (mojibake decoded)

    @property
    def reasons(self) -> dict[str, int]:
        """Skips counted by reason (file-specific parts removed)."""
        return dict(Counter(reason.split(":", 1)[-1].strip() if ":" in reason else reason for _, reason in self.skipped))

    def summary(self) -> str:
        repaired = f" (text repaired in {self.repaired})" if self.repaired else ""
        return f"{self.source}: seen {self.seen}, kept {self.kept}{repaired}, skipped {len(self.skipped)}"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "seen": self.seen, "kept": self.kept, "skipped_count": len(self.skipped),
                "skipped": [list(item) for item in self.skipped], "repaired": self.repaired}


class Corpus(Sequence[Record]):
    """An ordered collection of :class:`Record` with its build report.

    Example:
        >>> corpus = load_corpus("music21", collections=["ryansMammoth"], limit=20)  # doctest: +SKIP
        >>> len(corpus), corpus[0].collection  # doctest: +SKIP
        (20, 'ryansMammoth')
    """

    def __init__(self, records: Sequence[Record], name: str = "corpus", report: BuildReport | None = None,
                 fingerprint: str = ""):
        self.records = list(records)
        self.name = name
        self.report = report or BuildReport(source=name, seen=len(self.records), kept=len(self.records))
        self.fingerprint = fingerprint or fingerprint_of([record.id for record in self.records])

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Corpus(self.records[index], self.name, fingerprint=fingerprint_of([r.id for r in self.records[index]]))
        return self.records[index]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __repr__(self) -> str:
        counts = Counter(record.collection for record in self.records)
        return f"Corpus({self.name!r}, {len(self)} records, collections={dict(counts.most_common(5))})"

    @cached_property
    def _by_id(self) -> dict[str, Record]:
        return {record.id: record for record in self.records}

    def by_id(self, record_id: str) -> Record:
        """The record with this id (KeyError naming the id if absent)."""
        try:
            return self._by_id[record_id]
        except KeyError:
            raise KeyError(f"no record with id {record_id!r} in corpus {self.name!r}") from None

    @property
    def ids(self) -> list[str]:
        return [record.id for record in self.records]

    @property
    def abc_texts(self) -> list[str]:
        return [record.abc for record in self.records]

    @property
    def collections(self) -> list[str]:
        return [record.collection for record in self.records]

    def filter(self, predicate: Callable[[Record], bool]) -> Corpus:
        """The records for which ``predicate(record)`` is true."""
        kept = [record for record in self.records if predicate(record)]
        return Corpus(kept, self.name, fingerprint=fingerprint_of([r.id for r in kept]))

    def sample(self, n: int, seed: int = 0) -> Corpus:
        """``n`` records drawn at random (same seed, same sample), in corpus order."""
        if n >= len(self):
            return self
        chosen = sorted(random.Random(seed).sample(range(len(self)), n))
        return Corpus([self.records[i] for i in chosen], self.name, fingerprint=fingerprint_of([self.records[i].id for i in chosen]))

    def split(self, holdout: float = 0.1, seed: int = 0) -> tuple[Corpus, Corpus]:
        """Split by tune into (train, held-out), stratified by collection, deterministic for a seed.

        Every collection with at least two tunes gives ``round(holdout * n)`` of them (at least one) to the
        held-out part, so small collections are evaluated too.
        """
        if not 0 < holdout < 1:
            raise CorpusError(f"holdout must be between 0 and 1, got {holdout}.")
        groups: dict[str, list[int]] = defaultdict(list)
        for index, record in enumerate(self.records):
            groups[record.collection].append(index)
        held = set()
        for collection, indexes in sorted(groups.items()):
            if len(indexes) < 2:
                continue
            rng = random.Random(f"{seed}:{collection}")
            order = sorted(indexes, key=lambda i: self.records[i].id)
            rng.shuffle(order)
            held.update(order[: max(1, round(holdout * len(indexes)))])
        train = [r for i, r in enumerate(self.records) if i not in held]
        test = [r for i, r in enumerate(self.records) if i in held]
        return (Corpus(train, f"{self.name}-train", fingerprint=fingerprint_of([self.fingerprint, "train", holdout, seed])),
                Corpus(test, f"{self.name}-heldout", fingerprint=fingerprint_of([self.fingerprint, "heldout", holdout, seed])))


def fingerprint_of(value: Any) -> str:
    """A short, stable SHA-256 of any JSON-able value (record ids, build options): corpus fingerprints."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]
