"""Building, caching, saving and loading corpora.

``load_corpus()`` returns music21's bundled corpus (about 13,000 ABC folk tunes plus its MusicXML scores)
with no download; ``load_corpus("my_folder")`` or ``load_corpus("tunes.jsonl")`` reads your own data.
A built corpus is cached as Parquet under ``MUSICSEARCH_HOME/corpora/<name>-<hash>/``, keyed by a hash
of its sources and options and of the code that reads them, so the second load takes a second or two.

Example:
    >>> corpus = load_corpus()  # doctest: +SKIP
    >>> corpus.report.summary()  # doctest: +SKIP
    'music21: seen 13632, kept 13629, skipped 3'
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import CorpusError
from . import sources, tables
from .corpus import BuildReport, Corpus, Record, fingerprint_of
from .corpus_store import CORPUS_FORMAT_VERSION, read_corpus, save_corpus
from .formats import KERN_SUFFIXES, MIDI_SUFFIXES, MUSICXML_SUFFIXES


def _source_identity(source: str, options: dict[str, Any]) -> tuple[str, Any]:
    if source == "music21":
        from importlib.metadata import version

        # The installed version without importing music21 (a second): the key is computed on every load.
        return "music21", {"music21": version("music21"), **options}
    path = Path(source)
    if path.is_dir():
        # Sizes and times come from the scan: a broken link or an unreadable folder is part of the key
        # (fixing it rebuilds), never an error that stops every command reading the folder.
        scan = sources.scan_score_folder(path, _suffixes(options))
        return path.resolve().name, {"listing": scan.listing, "skipped": scan.skipped, **options}
    if path.is_file():
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            raise CorpusError(f"{path}: the table could not be read ({error.strerror or error}); check its "
                              "permissions.") from error
        return path.stem, {"sha256": digest, **options}
    raise CorpusError(f"corpus source {source!r} is neither 'music21', a folder, nor a table file "
                      f"({', '.join(tables.TABLE_SUFFIXES)}); check the path.")


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
        limit: read at most this many files (for quick experiments; None reads all; at least 1).
        include_scores: also read MusicXML files (Bach chorales and others).
        include_kern: also read ``.krn`` files through music21 (slow).
        include_midi: also read MIDI files through music21 (slow).
        fields: table column names, e.g. ``{"abc": "notation", "text": "description"}``.
        progress: show a progress bar.

    Every file, link, subfolder, table row and tune is either kept or skipped with a reason in
    ``corpus.report.skipped`` (``seen == kept + skipped``); one bad item never stops the build. Kept
    records whose text was decoded from a DOS or Windows code page (Essen's ``N\\x84chstenliebe``) are
    counted in ``corpus.report.repaired`` (:mod:`musicsearch.data.text_repair`).

    Raises:
        CorpusError: the source as a whole cannot be read (missing, a folder that cannot be listed or holds
            no score files, a table that is empty or not a list of rows), or ``limit`` is below 1.
    """
    source = str(source)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise CorpusError(f"limit must be a whole number of at least 1 (or None to read everything), got {limit!r}.")
    options = {"include_scores": include_scores, "include_kern": include_kern, "include_midi": include_midi}
    repaired: list[str] = []  # ids of records whose text was decoded from a DOS/Windows code page
    if source == "music21" or Path(source).is_dir():
        root = sources.music21_root() if source == "music21" else Path(source)
        scan = sources.scan_score_folder(root, _suffixes(options), collections)
        files = scan.files[:limit] if limit else scan.files
        if not files and not scan.skipped:
            raise CorpusError(f"{root}: no score files ({', '.join(_suffixes(options))}) found"
                              + (f" in collections {list(collections)}" if collections else "") + ".")
        raw, skipped = sources.read_files(files, root, progress=progress, repaired=repaired)
        skipped = scan.skipped + skipped
    elif Path(source).is_file() and Path(source).suffix.lower() in tables.TABLE_SUFFIXES:
        raw, skipped = tables.read_table(Path(source), fields, repaired)
        raw = raw[:limit] if limit else raw
    else:
        _source_identity(source, options)  # raises the clear error
        raise CorpusError(f"{source}: not a table file; use a folder or one of {tables.TABLE_SUFFIXES}.")
    records, seen_ids = [], set()
    for item in raw:
        if item["id"] in seen_ids:
            skipped.append((item["source"], f"duplicate id {item['id']!r}; the first record with it was kept"))
            continue
        seen_ids.add(item["id"])
        records.append(Record(**item))
    kept_ids = {record.id for record in records}
    report = BuildReport(source=source, seen=len(records) + len(skipped), kept=len(records), skipped=skipped,
                         repaired=len(kept_ids.intersection(repaired)))
    name = "music21" if source == "music21" else Path(source).stem
    return Corpus(records, name, report)


def _code_version() -> str:
    # Records depend on the code that reads, cleans and captions them: a change there rebuilds caches.
    package = Path(__file__).parent
    names = ("abc.py", "captions.py", "formats.py", "corpus.py", "corpus_io.py", "corpus_store.py", "features.py", "sources.py", "tables.py",
             "text_repair.py", "vocab.py")
    return hashlib.sha256(b"".join((package / name).read_bytes() for name in names)).hexdigest()[:16]


def _cache_folder(source: str, options: dict[str, Any]) -> Path:
    name, identity = _source_identity(source, options)
    key = fingerprint_of({"format": CORPUS_FORMAT_VERSION, "code": _code_version(), "identity": identity})
    return paths.corpora_dir() / f"{name}-{key[:12]}"


def load_corpus(source: str | os.PathLike = "music21", *, collections: Sequence[str] | None = None,
                limit: int | None = None, include_scores: bool = True, include_kern: bool = False,
                include_midi: bool = False, fields: dict[str, str] | None = None, cache: bool = True,
                progress: bool = True) -> Corpus:
    """Load a corpus, building and caching it on first use (same arguments as :func:`build_corpus`).

    A folder written by ``musicsearch corpus build --out DIR`` (a corpus artifact) loads directly.

    Example:
        >>> corpus = load_corpus()  # doctest: +SKIP
        >>> len(corpus)  # doctest: +SKIP
        13626
    """
    from .. import artifacts
    from ..errors import ArtifactError

    source = str(source)
    if artifacts.artifact_exists(source, artifacts.CORPUS):
        return read_corpus(source)
    options = _load_options(collections, limit, include_scores, include_kern, include_midi, fields)
    folder = _cache_folder(source, options) if cache else None
    if folder is not None:
        try:
            return read_corpus(folder)
        except (ArtifactError, CorpusError):
            pass  # no cache yet, or a damaged one: (re)built and published below
    corpus = build_corpus(source, collections=collections, limit=limit, include_scores=include_scores,
                          include_kern=include_kern, include_midi=include_midi, fields=fields, progress=progress)
    corpus.fingerprint = folder.name if folder is not None else corpus.fingerprint
    if folder is not None:
        save_corpus(corpus, folder)
    return corpus


def corpus_cache_name(source: str | os.PathLike = "music21", *, collections: Sequence[str] | None = None,
                      limit: int | None = None, include_scores: bool = True, include_kern: bool = False,
                      include_midi: bool = False, fields: dict[str, str] | None = None) -> str:
    """The name of the cache folder :func:`load_corpus` reads for these arguments (without reading it).

    It changes whenever the source or the code that builds records changes, so an artifact built from a
    corpus (the default index) can tell cheaply that it is stale.

    Example:
        >>> corpus_cache_name("music21").startswith("music21-")
        True
    """
    options = _load_options(collections, limit, include_scores, include_kern, include_midi, fields)
    return _cache_folder(str(source), options).name


def _load_options(collections: Sequence[str] | None, limit: int | None, include_scores: bool, include_kern: bool,
                  include_midi: bool, fields: dict[str, str] | None) -> dict[str, Any]:
    return {"include_scores": include_scores, "include_kern": include_kern, "include_midi": include_midi,
            "collections": sorted(collections) if collections else None, "limit": limit, "fields": fields}


def corpus_stats(corpus: Corpus, top: int = 15) -> dict[str, Any]:
    """Counts per collection, tune type, meter, key and mode (the numbers behind notebook 01's plots)."""
    count = lambda values: dict(Counter(v for v in values if v).most_common(top))  # noqa: E731
    return {
        "records": len(corpus),
        "collections": dict(Counter(corpus.collections).most_common()),
        "tune_types": count(r.tune_type for r in corpus),
        "meters": count(r.meter for r in corpus),
        "keys": count(r.key for r in corpus),
        "modes": count(r.mode for r in corpus),
        "origins": count(r.origin for r in corpus),
        "report": {"seen": corpus.report.seen, "kept": corpus.report.kept, "skipped": len(corpus.report.skipped)},
    }
