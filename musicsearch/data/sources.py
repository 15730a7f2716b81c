"""Reading corpus sources into records: music21's bundled corpus, a folder of score files, or a table.

Each source is a list of *items* (files or table rows). Reading one item yields records and skip
reasons; one bad item never stops a build. Work is spread over processes when there are many items.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import MusicSearchError
from . import abc as abc_notation
from . import captions
from . import formats as convert

TABLE_SUFFIXES = (".jsonl", ".json", ".csv")
# Column names recognised in tables, in order of preference; the rest become metadata.
FIELD_ALIASES = {
    "abc": ("abc", "music", "abc_text", "notation"),
    "path": ("path", "file", "filename", "score"),
    "text": ("text", "caption", "captions", "description"),
    "id": ("id", "tune_id"),
}


def music21_root() -> Path:
    """The folder of music21's bundled corpus."""
    from music21 import common

    return Path(common.getCorpusFilePath())


def list_score_files(root: Path, suffixes: Iterable[str], collections: Iterable[str] | None = None) -> list[Path]:
    """Score files under ``root`` with one of ``suffixes``, sorted, optionally only some top-level folders."""
    wanted = set(collections) if collections else None
    suffixes = tuple(suffixes)
    found = []
    for folder, folder_names, file_names in os.walk(root):
        folder_names.sort()
        for name in sorted(file_names):
            path = Path(folder) / name
            relative = path.relative_to(root)
            if wanted is not None and relative.parts[0] not in wanted:
                continue
            if name.lower().endswith(suffixes) and not name.startswith("."):
                found.append(path)
    return found


def _record(ref, abc_text, metadata, source, collection, record_id, extra_texts=()) -> dict[str, Any]:
    described = captions.describe(abc_text, metadata, collection, extra_texts)
    return {"id": record_id, "source": source, "ref": ref, "collection": collection, "abc": abc_text,
            "metadata": metadata, "captions": described["captions"], "caption_parts": described["caption_parts"]}


def records_from_text(text: str, source: str, collection: str, id_prefix: str | None = None,
                      extra_metadata: dict[str, str] | None = None, extra_texts: Iterable[str] = ()):
    """Records and skips from the ABC text of one file or row (split on ``X:``)."""
    records, skipped = [], []
    tunes = abc_notation.split_tunes(text)
    if not tunes:
        return records, [(source, "no ABC tune in the text")]
    prefix = id_prefix or source
    for ref, tune in tunes:
        item = f"{source}#{ref}" if ref else source
        try:
            parsed = abc_notation.parse_tune(tune, ref=ref)
        except MusicSearchError as error:
            skipped.append((item, str(error)))
            continue
        metadata = {**parsed.metadata, **(extra_metadata or {})}
        record_id = f"{prefix}#{ref}" if ref and len(tunes) > 1 or (ref and id_prefix is None) else prefix
        records.append(_record(ref, parsed.abc, metadata, source, collection, record_id, tuple(extra_texts)))
    return records, skipped


def read_score_file(path: Path, root: Path, collection: str | None = None):
    """Records and skips of one score file; ``source`` is its path relative to ``root``."""
    source = path.relative_to(root).as_posix()
    collection = collection or (Path(source).parts[0] if len(Path(source).parts) > 1 else root.name)
    try:
        text = convert.to_abc(path)
    except MusicSearchError as error:
        return [], [(source, str(error).replace(str(path), source))]
    except Exception as error:  # an unexpected converter failure must not abort the whole build
        return [], [(source, f"could not be read ({type(error).__name__}: {error})")]
    return records_from_text(text, source, collection)


def _read_chunk(arguments):
    paths, root, collection = arguments
    records, skipped = [], []
    for path in paths:
        found, bad = read_score_file(path, root, collection)
        records += found
        skipped += bad
    return records, skipped


def read_files(paths: list[Path], root: Path, collection: str | None = None, *, workers: int | None = None,
               progress: bool = True, description: str = "reading scores"):
    """Read many score files, in parallel when it pays off; returns ``(records, skipped)`` in file order."""
    from tqdm.auto import tqdm

    workers = workers or min(2, os.cpu_count() or 1)
    chunk = 32
    chunks = [(paths[i : i + chunk], root, collection) for i in range(0, len(paths), chunk)]
    records, skipped = [], []
    bar = tqdm(total=len(paths), desc=description, unit="file", disable=not progress)
    if workers > 1 and len(paths) > 4 * chunk:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for (found, bad), arguments in zip(pool.map(_read_chunk, chunks), chunks):
                records += found
                skipped += bad
                bar.update(len(arguments[0]))
    else:
        for arguments in chunks:
            found, bad = _read_chunk(arguments)
            records += found
            skipped += bad
            bar.update(len(arguments[0]))
    bar.close()
    return records, skipped


def _read_rows(path: Path) -> list[dict[str, Any]]:
    from ..errors import CorpusError

    suffix = path.suffix.lower()
    text = convert.read_text(path)
    if suffix == ".csv":
        return list(csv.DictReader(io.StringIO(text, newline="")))
    if suffix == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise CorpusError(f"{path}: not valid JSON ({error}); a JSON table is a list of objects.") from error
        if not isinstance(rows, list):
            raise CorpusError(f"{path}: a JSON table must be a list of objects, got {type(rows).__name__}.")
        return rows
    rows = []
    # "\n" only: splitlines would also break on U+2028 or U+0085, which JSON strings may hold raw.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            rows.append({"__error__": f"line {number}: not valid JSON ({error.msg})"})
    return rows


def _pick(row: dict[str, Any], role: str, fields: dict[str, str]) -> str | None:
    if role in fields:
        return fields[role]
    return next((alias for alias in FIELD_ALIASES[role] if alias in row), None)


def read_table(path: Path, fields: dict[str, str] | None = None):
    """Records and skips of a table file (JSONL, JSON list, CSV) whose rows hold ABC text or a score path.

    Columns are detected by name (:data:`FIELD_ALIASES`) or given explicitly, e.g.
    ``fields={"abc": "notation", "text": "description"}``; every other column becomes metadata.
    """
    fields = fields or {}
    records, skipped = [], []
    for number, row in enumerate(_read_rows(path), start=1):
        item = f"{path.name}:row {number}"
        if not isinstance(row, dict) or "__error__" in row:
            skipped.append((item, row.get("__error__", "row is not an object") if isinstance(row, dict) else "row is not an object"))
            continue
        abc_key, path_key, text_key, id_key = (_pick(row, role, fields) for role in ("abc", "path", "text", "id"))
        texts = row.get(text_key) if text_key else None
        texts = [texts] if isinstance(texts, str) else [str(t) for t in texts or []]
        used = {abc_key, path_key, text_key, id_key}
        metadata = {str(k): str(v) for k, v in row.items() if k not in used and v not in (None, "")}
        record_id = str(row[id_key]) if id_key and row.get(id_key) not in (None, "") else f"{path.stem}:{number}"
        abc_text = row.get(abc_key) if abc_key else None
        if not abc_text and path_key and row.get(path_key):
            score = Path(row[path_key])
            score = score if score.is_absolute() else path.parent / score
            try:
                abc_text = convert.to_abc(score)
            except MusicSearchError as error:
                skipped.append((item, str(error)))
                continue
        if not isinstance(abc_text, str) or not abc_text.strip():
            skipped.append((item, "no music: the row has no ABC text and no score path "
                                  f"(columns {sorted(row)}; name them with fields={{'abc': ...}})"))
            continue
        collection = str(row.get("collection") or path.stem)
        found, bad = records_from_text(abc_text, item, collection, id_prefix=record_id,
                                       extra_metadata=metadata, extra_texts=texts)
        records += found
        skipped += bad
    return records, skipped
