"""The corpus: records of tunes with provenance, music-only ABC, metadata and captions.

``load_corpus()`` returns music21's bundled corpus (about 13,000 ABC folk tunes plus its MusicXML scores)
with no download; ``load_corpus("my_folder")`` or ``load_corpus("tunes.jsonl")`` reads your own data.
A built corpus is cached as Parquet under ``MUSICSEARCH_HOME/corpora/<name>-<hash>/``, keyed by a hash
of its sources and options, so the second load takes a second or two.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .. import artifacts, paths
from ..errors import CorpusError
from . import features, sources
from .formats import KERN_SUFFIXES, MIDI_SUFFIXES, MUSICXML_SUFFIXES

CORPUS_FORMAT_VERSION = 1  # bump when records change, so stale caches are rebuilt


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
    """What a build saw: ``seen == kept + skipped``, with every skipped item and its reason."""

    source: str
    seen: int = 0
    kept: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item, reason)

    @property
    def reasons(self) -> dict[str, int]:
        """Skips counted by reason (file-specific parts removed)."""
        return dict(Counter(reason.split(":", 1)[-1].strip() if ":" in reason else reason for _, reason in self.skipped))

    def summary(self) -> str:
        return f"{self.source}: seen {self.seen}, kept {self.kept}, skipped {len(self.skipped)}"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "seen": self.seen, "kept": self.kept, "skipped_count": len(self.skipped),
                "skipped": [list(item) for item in self.skipped]}


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
        self.fingerprint = fingerprint or _hash([record.id for record in self.records])

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Corpus(self.records[index], self.name, fingerprint=_hash([r.id for r in self.records[index]]))
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
        return Corpus(kept, self.name, fingerprint=_hash([r.id for r in kept]))

    def sample(self, n: int, seed: int = 0) -> Corpus:
        """``n`` records drawn at random (same seed, same sample), in corpus order."""
        if n >= len(self):
            return self
        chosen = sorted(random.Random(seed).sample(range(len(self)), n))
        return Corpus([self.records[i] for i in chosen], self.name, fingerprint=_hash([self.records[i].id for i in chosen]))

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
        return (Corpus(train, f"{self.name}-train", fingerprint=_hash([self.fingerprint, "train", holdout, seed])),
                Corpus(test, f"{self.name}-heldout", fingerprint=_hash([self.fingerprint, "heldout", holdout, seed])))


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _source_identity(source: str, options: dict[str, Any]) -> tuple[str, Any]:
    if source == "music21":
        import music21

        return "music21", {"music21": music21.__version__, **options}
    path = Path(source)
    if path.is_dir():
        listing = [(p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in sources.list_score_files(path, _suffixes(options))]
        return path.resolve().name, {"listing": listing, **options}
    if path.is_file():
        return path.stem, {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), **options}
    raise CorpusError(f"corpus source {source!r} is neither 'music21', a folder, nor a table file "
                      f"({', '.join(sources.TABLE_SUFFIXES)}); check the path.")


def _suffixes(options: dict[str, Any]) -> tuple[str, ...]:
    suffixes = (".abc",)
    if options.get("include_scores", True):
        suffixes += MUSICXML_SUFFIXES
    if options.get("include_kern"):
        suffixes += KERN_SUFFIXES
    if options.get("include_midi"):
        suffixes += MIDI_SUFFIXES
    return suffixes


def build_corpus(source: str | os.PathLike = "music21", *, collections: Sequence[str] | None = None,
                 limit: int | None = None, include_scores: bool = True, include_kern: bool = False,
                 include_midi: bool = False, fields: dict[str, str] | None = None,
                 progress: bool = True) -> Corpus:
    """Read a source into a :class:`Corpus` (no cache; see :func:`load_corpus`).

    Args:
        source: ``"music21"`` (the bundled corpus), a folder of score files, or a table file.
        collections: only these top-level folders (e.g. ``["ryansMammoth", "bach"]``).
        limit: read at most this many files (for quick experiments; None reads all).
        include_scores: also read MusicXML files (Bach chorales and others).
        include_kern: also read ``.krn`` files through music21 (slow).
        include_midi: also read MIDI files through music21 (slow).
        fields: table column names, e.g. ``{"abc": "notation", "text": "description"}``.
        progress: show a progress bar.
    """
    source = str(source)
    options = {"include_scores": include_scores, "include_kern": include_kern, "include_midi": include_midi}
    if source == "music21" or Path(source).is_dir():
        root = sources.music21_root() if source == "music21" else Path(source)
        files = sources.list_score_files(root, _suffixes(options), collections)
        files = files[:limit] if limit else files
        if not files:
            raise CorpusError(f"{root}: no score files ({', '.join(_suffixes(options))}) found"
                              + (f" in collections {list(collections)}" if collections else "") + ".")
        collection = None if source == "music21" else None
        raw, skipped = sources.read_files(files, root, collection, progress=progress)
    elif Path(source).is_file() and Path(source).suffix.lower() in sources.TABLE_SUFFIXES:
        raw, skipped = sources.read_table(Path(source), fields)
        raw = raw[:limit] if limit else raw
    else:
        _source_identity(source, options)  # raises the clear error
        raise CorpusError(f"{source}: not a table file; use a folder or one of {sources.TABLE_SUFFIXES}.")
    records, seen_ids = [], set()
    for item in raw:
        if item["id"] in seen_ids:
            skipped.append((item["source"], f"duplicate id {item['id']!r}; the first record with it was kept"))
            continue
        seen_ids.add(item["id"])
        records.append(Record(**item))
    report = BuildReport(source=source, seen=len(records) + len(skipped), kept=len(records), skipped=skipped)
    name = "music21" if source == "music21" else Path(source).stem
    return Corpus(records, name, report)


def _code_version() -> str:
    # Records depend on the code that reads, cleans and captions them: a change there rebuilds caches.
    package = Path(__file__).parent
    names = ("abc.py", "captions.py", "formats.py", "corpus.py", "features.py", "sources.py", "vocab.py")
    return hashlib.sha256(b"".join((package / name).read_bytes() for name in names)).hexdigest()[:16]


def _cache_folder(source: str, options: dict[str, Any]) -> Path:
    name, identity = _source_identity(source, options)
    key = _hash({"format": CORPUS_FORMAT_VERSION, "code": _code_version(), "identity": identity})
    return paths.corpora_dir() / f"{name}-{key[:12]}"


def save_corpus(corpus: Corpus, folder: str | os.PathLike) -> Path:
    """Write ``records.parquet`` and ``report.json`` into ``folder`` atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    columns = {name: [getattr(r, name) for r in corpus.records] for name in ("id", "source", "ref", "collection", "abc",
                                                                           "captions", "caption_parts")}
    columns["metadata"] = [json.dumps(r.metadata, ensure_ascii=False) for r in corpus.records]
    table = pa.table(columns, schema=pa.schema([
        ("id", pa.string()), ("source", pa.string()), ("ref", pa.string()), ("collection", pa.string()),
        ("abc", pa.string()), ("captions", pa.list_(pa.string())), ("caption_parts", pa.list_(pa.string())),
        ("metadata", pa.string())]))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    artifacts.atomic_write_bytes(folder / "records.parquet", sink.getvalue().to_pybytes())
    artifacts.write_json(folder / "report.json", {"name": corpus.name, "fingerprint": corpus.fingerprint,
                                                   "format_version": CORPUS_FORMAT_VERSION, **corpus.report.to_dict()})
    return folder


def read_corpus(folder: str | os.PathLike) -> Corpus:
    """Read a corpus written by :func:`save_corpus` (``musicsearch corpus build --out DIR``)."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    info = artifacts.read_json(folder / "report.json")
    if not (folder / "records.parquet").is_file():
        raise CorpusError(f"{folder}: no records.parquet; build the corpus again (musicsearch corpus build).")
    try:
        columns = pq.read_table(folder / "records.parquet").to_pydict()
    except Exception as error:
        raise CorpusError(f"{folder / 'records.parquet'} is unreadable ({error}); delete the folder and rebuild.") from error
    records = [Record(id=i, source=s, ref=r, collection=c, abc=a, metadata=json.loads(m), captions=list(cap),
                      caption_parts=list(parts))
               for i, s, r, c, a, m, cap, parts in zip(columns["id"], columns["source"], columns["ref"],
                                                       columns["collection"], columns["abc"], columns["metadata"],
                                                       columns["captions"], columns["caption_parts"])]
    report = BuildReport(info.get("source", str(folder)), info.get("seen", len(records)), info.get("kept", len(records)),
                         [tuple(item) for item in info.get("skipped", [])])
    return Corpus(records, info.get("name", folder.name), report, fingerprint=info.get("fingerprint", ""))


def load_corpus(source: str | os.PathLike = "music21", *, collections: Sequence[str] | None = None,
                limit: int | None = None, include_scores: bool = True, include_kern: bool = False,
                include_midi: bool = False, fields: dict[str, str] | None = None, cache: bool = True,
                progress: bool = True) -> Corpus:
    """Load a corpus, building and caching it on first use (same arguments as :func:`build_corpus`).

    A folder written by ``musicsearch corpus build --out DIR`` (it holds ``records.parquet``) loads directly.

    Example:
        >>> corpus = load_corpus()  # doctest: +SKIP
        >>> len(corpus)  # doctest: +SKIP
        13626
    """
    source = str(source)
    if Path(source).is_dir() and (Path(source) / "records.parquet").is_file():
        return read_corpus(source)
    options = {"include_scores": include_scores, "include_kern": include_kern, "include_midi": include_midi,
               "collections": sorted(collections) if collections else None, "limit": limit, "fields": fields}
    folder = _cache_folder(source, options) if cache else None
    if folder is not None and (folder / "records.parquet").is_file():
        try:
            return read_corpus(folder)
        except CorpusError:
            pass  # a damaged cache is rebuilt below
    corpus = build_corpus(source, collections=collections, limit=limit, include_scores=include_scores,
                          include_kern=include_kern, include_midi=include_midi, fields=fields, progress=progress)
    corpus.fingerprint = folder.name if folder is not None else corpus.fingerprint
    if folder is not None:
        save_corpus(corpus, folder)
    return corpus


def corpus_stats(corpus: Corpus, top: int = 15) -> dict[str, Any]:
    """Counts per collection, tune type, meter, key and mode (the numbers behind notebook 01's plots)."""
    count = lambda values: dict(Counter(v for v in values if v).most_common(top))  # noqa: E731
    return {
        "records": len(corpus),
        "collections": dict(Counter(corpus.collections).most_common()),
        "tune_types": count(r.tune_type for r in corpus),
        "meters": count(r.meter for r in corpus),
        "keys": count((r.metadata.get("key") or "").strip() for r in corpus),
        "modes": count(r.mode for r in corpus),
        "origins": count(r.origin for r in corpus),
        "report": {"seen": corpus.report.seen, "kept": corpus.report.kept, "skipped": len(corpus.report.skipped)},
    }
