"""Reading corpus sources into records: music21's bundled corpus or a folder of score files (tables of
tunes are read by :mod:`musicsearch.data.tables`).

Each source is a list of *items* (files, table rows, tunes of a multi-tune file). Reading one item yields
records or a skip reason; one bad item never stops a build. Broken or looping links and folders that
cannot be listed are items too: they are reported, never silently left out. Work is spread over
processes when there are many files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CorpusError, MusicSearchError
from . import abc as abc_notation
from . import captions, text_repair
from . import formats as convert

# Longer tunes are skipped before any work is spent on them. The longest tune of music21's corpus (a
# Beethoven quartet converted from MusicXML) has about 125,000 characters.
MAX_TUNE_CHARS = 1_000_000


def music21_root() -> Path:
    """The folder of music21's bundled corpus."""
    from music21 import common

    return Path(common.getCorpusFilePath())


@dataclass
class FolderScan:
    """The score files under a folder, their sizes and times, and what could not be listed or read."""

    files: list[Path] = field(default_factory=list)
    listing: list[tuple[str, int, int]] = field(default_factory=list)  # (relative path, size, mtime_ns) per file
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)


def scan_score_folder(root: Path, suffixes: Iterable[str], collections: Iterable[str] | None = None) -> FolderScan:
    """Score files under ``root`` with one of ``suffixes``, sorted, optionally only some top-level folders.

    Links to folders are followed once (a link back to a folder already read is reported as a loop);
    broken and looping links, files that are not regular files and subfolders that cannot be listed are
    reported in ``skipped`` with a reason.

    Raises:
        CorpusError: ``root`` itself cannot be listed.

    Example:
        >>> scan = scan_score_folder(music21_root(), (".abc",), ["ryansMammoth"])  # doctest: +SKIP
        >>> len(scan.files), scan.skipped  # doctest: +SKIP
        (1174, [])
    """
    root = Path(root)
    wanted = set(collections) if collections else None
    suffixes = tuple(suffix.lower() for suffix in suffixes)
    scan = FolderScan()
    visited = {os.path.realpath(root)}
    failures: list[OSError] = []
    for folder, folder_names, file_names in os.walk(root, onerror=failures.append, followlinks=True):
        _report_failures(failures, root, scan)
        here = Path(folder)
        kept_folders = []
        for name in sorted(folder_names):
            if here == root and wanted is not None and name not in wanted:
                continue
            real = os.path.realpath(here / name)
            if real in visited:
                scan.skipped.append((_relative(here / name, root) + "/", "a link to a folder already read (a "
                                     "loop or a second link to it); read once"))
                continue
            visited.add(real)
            kept_folders.append(name)
        folder_names[:] = kept_folders
        for name in sorted(file_names):
            if name.startswith(".") or (here == root and wanted is not None and name not in wanted):
                continue
            _scan_file(here / name, root, suffixes, scan)
    _report_failures(failures, root, scan)
    return scan


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _report_failures(failures: list[OSError], root: Path, scan: FolderScan) -> None:
    for error in failures:
        folder = Path(error.filename) if error.filename else root
        if folder == root:
            raise CorpusError(f"{root}: the folder could not be listed ({error.strerror or error}); check its "
                              "permissions.")
        reason = ("permission denied, so the folder was left out; fix its permissions to read it"
                  if isinstance(error, PermissionError) else
                  f"the folder could not be listed ({error.strerror or error}) and was left out")
        scan.skipped.append((_relative(folder, root) + "/", reason))
    failures.clear()


def _scan_file(path: Path, root: Path, suffixes: tuple[str, ...], scan: FolderScan) -> None:
    relative = _relative(path, root)
    is_link = path.is_symlink()
    if not path.name.lower().endswith(suffixes) and not (is_link and not path.suffix):
        return  # not a score file; a link with no suffix may have been meant as a folder, so it is checked
    try:
        info = path.stat()
    except OSError as error:
        scan.skipped.append((relative, str(convert.unreadable_file_error(path, error)).replace(str(path), relative, 1)))
        return
    if not path.name.lower().endswith(suffixes):
        return  # a working link to a file that is not a score
    if not stat.S_ISREG(info.st_mode):
        scan.skipped.append((relative, f"{relative}: not a regular file (a pipe or device); only score files are read."))
        return
    scan.files.append(path)
    scan.listing.append((relative, info.st_size, info.st_mtime_ns))


def _record(ref, abc_text, metadata, source, collection, record_id, extra_texts=()) -> dict[str, Any]:
    described = captions.describe(abc_text, metadata, collection, extra_texts)
    return {"id": record_id, "source": source, "ref": ref, "collection": collection, "abc": abc_text,
            "metadata": metadata, "captions": described["captions"], "caption_parts": described["caption_parts"]}


def records_from_text(text: str, source: str, collection: str, id_prefix: str | None = None,
                      extra_metadata: dict[str, str] | None = None, extra_texts: Iterable[str] = (),
                      repaired: list[str] | None = None):
    """Records and skips from the ABC text of one file or row (split on ``X:``).

    Text written in a DOS or Windows code page and misread as Latin-1 (``N\\x84chstenliebe``) is
    repaired first (:func:`musicsearch.data.text_repair.repair_text`; the code page is detected once
    for the whole text, so a tune is read the way its file was written); the ids of records whose text
    changed are appended to ``repaired`` when it is given.

    A tune's id is ``<source>#<X number>``. A file that reuses an ``X:`` number (common in real
    collections) keeps every tune: the second tune numbered 1 is ``<source>#1-2``, the third ``#1-3``, so
    ids stay stable for files without reuse. Tunes over :data:`MAX_TUNE_CHARS` characters and text that is
    not music (:func:`musicsearch.data.abc.require_music`) are skipped with the reason.

    Example:
        >>> records, skipped = records_from_text("X:1\\nK:D\\ndfa|\\nX:1\\nK:G\\nGAB|", "a.abc", "demo")
        >>> [record["id"] for record in records]
        ['a.abc#1', 'a.abc#1-2']
    """
    records, skipped = [], []
    tunes = abc_notation.split_tunes(text)
    if not tunes:
        return records, [(source, "no ABC tune in the text")]
    prefix = id_prefix or source
    codepage = text_repair.detect_codepage(text)
    extra_metadata = extra_metadata or {}
    fixed_metadata = {name: text_repair.repair_text(value) for name, value in extra_metadata.items()}
    fixed_texts = tuple(text_repair.repair_text(value) for value in extra_texts)
    extras_repaired = fixed_metadata != extra_metadata or fixed_texts != tuple(extra_texts)
    assigned: set[str] = set()
    for ref, tune in tunes:
        # "X:" with no number still gets a "#" in a multi-tune file, so "-n" never reads as part of a name.
        numbered = len(tunes) > 1 or bool(ref)
        base = f"{prefix}#{ref or ''}" if len(tunes) > 1 or (ref and id_prefix is None) else prefix
        record_id, repeat = base, 1
        while record_id in assigned:  # the n-th tune with this X: number gets "-n"
            repeat += 1
            record_id = f"{base}-{repeat}"
        assigned.add(record_id)
        item = f"{source}#{ref or ''}" if numbered else source
        item = item if repeat == 1 else f"{item}-{repeat}"
        if len(tune) > MAX_TUNE_CHARS:
            skipped.append((item, f"{item}: {len(tune):,} characters is over the {MAX_TUNE_CHARS:,}-character limit "
                                  "per tune; raise musicsearch.data.sources.MAX_TUNE_CHARS to read it"))
            continue
        fixed = text_repair.repair_text(tune, codepage) if codepage else tune
        try:
            parsed = abc_notation.parse_tune(fixed, ref=ref)
            abc_notation.require_music(fixed)
            metadata = {**parsed.metadata, **fixed_metadata}
            records.append(_record(ref, parsed.abc, metadata, source, collection, record_id, fixed_texts))
            if repaired is not None and (fixed != tune or extras_repaired):
                repaired.append(record_id)
        except MusicSearchError as error:
            skipped.append((item, f"{item}: {error}"))
        except Exception as error:  # an unexpected failure on one tune must not abort the whole build
            skipped.append((item, f"{item}: could not be read ({type(error).__name__}: {error})"))
    return records, skipped


def read_score_file(path: Path, root: Path, collection: str | None = None, repaired: list[str] | None = None):
    """Records and skips of one score file; ``source`` is its path relative to ``root``.

    The ids of records whose text was repaired (see :func:`records_from_text`) are appended to ``repaired``.
    """
    source = path.relative_to(root).as_posix()
    collection = collection or (Path(source).parts[0] if len(Path(source).parts) > 1 else root.name)
    try:
        text = convert.to_abc(path)
    except MusicSearchError as error:
        return [], [(source, str(error).replace(str(path), source))]
    except Exception as error:  # an unexpected converter failure must not abort the whole build
        return [], [(source, f"could not be read ({type(error).__name__}: {error})")]
    return records_from_text(text, source, collection, repaired=repaired)


def _read_chunk(arguments):
    paths, root, collection = arguments
    records, skipped, repaired = [], [], []
    for path in paths:
        found, bad = read_score_file(path, root, collection, repaired)
        records += found
        skipped += bad
    return records, skipped, repaired


def read_files(paths: list[Path], root: Path, collection: str | None = None, *, workers: int | None = None,
               progress: bool = True, description: str = "reading scores", repaired: list[str] | None = None):
    """Read many score files, in parallel when it pays off; returns ``(records, skipped)`` in file order.

    The ids of records whose text was repaired (see :func:`records_from_text`) are appended to ``repaired``.
    """
    from tqdm.auto import tqdm

    workers = workers or min(2, os.cpu_count() or 1)
    chunk = 32
    chunks = [(paths[i : i + chunk], root, collection) for i in range(0, len(paths), chunk)]
    records, skipped, repaired_ids = [], [], []
    bar = tqdm(total=len(paths), desc=description, unit="file", disable=not progress)
    if workers > 1 and len(paths) > 4 * chunk:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for (found, bad, fixed), arguments in zip(pool.map(_read_chunk, chunks), chunks):
                records += found
                skipped += bad
                repaired_ids += fixed
                bar.update(len(arguments[0]))
    else:
        for arguments in chunks:
            found, bad, fixed = _read_chunk(arguments)
            records += found
            skipped += bad
            repaired_ids += fixed
            bar.update(len(arguments[0]))
    bar.close()
    if repaired is not None:
        repaired += repaired_ids
    return records, skipped
