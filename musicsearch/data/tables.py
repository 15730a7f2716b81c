"""Reading a table of tunes (JSONL, JSON or CSV) into records, row by row.

Columns are recognised by name (:data:`FIELD_ALIASES`) or given explicitly. Each row is kept or skipped
with a reason (a missing score file, a value of the wrong type, a broken line, bytes that are not UTF-8);
one bad row never stops a build.

Example:
    >>> raw, skipped = read_table(Path("tunes.jsonl"))  # doctest: +SKIP
    >>> len(raw), skipped[:1]  # doctest: +SKIP
    (120, [('tunes.jsonl:row 7', 'path missing.abc does not exist')])
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..errors import CorpusError, MusicSearchError
from . import formats as convert
from .sources import MAX_TUNE_CHARS, records_from_text

TABLE_SUFFIXES = (".jsonl", ".json", ".csv")
# Column names recognised in tables, in order of preference; the rest become metadata.
FIELD_ALIASES = {
    "abc": ("abc", "music", "abc_text", "notation"),
    "path": ("path", "file", "filename", "score"),
    "text": ("text", "caption", "captions", "description"),
    "id": ("id", "tune_id"),
}

def _undecodable(value: Any) -> bool:
    # Bytes that are not UTF-8 come back from "surrogateescape" decoding as lone surrogates.
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return any("\udc80" <= character <= "\udcff" for character in text)


def _read_rows(path: Path) -> list[tuple[Any, str | None]]:
    """``(row, error)`` per non-blank row of a table; a row that cannot be parsed has ``error`` set.

    Raises:
        CorpusError: the table as a whole cannot be read (missing, empty, too large, not a JSON list).
    """
    # Decoded leniently so one row of bad bytes is skipped alone, not the whole table.
    text = convert.read_bytes(path).decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            rows = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise CorpusError(f"{path}: not valid JSON ({error}); a JSON table is a list of objects.") from error
        if not isinstance(rows, list):
            raise CorpusError(f"{path}: a JSON table must be a list of objects, got {type(rows).__name__}.")
        return [(row, None) for row in rows]
    if suffix == ".csv":
        return _read_csv_rows(text)
    rows: list[tuple[Any, str | None]] = []
    # "\n" only: splitlines would also break on U+2028 or U+0085, which JSON strings may hold raw.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append((json.loads(line), None))
        except json.JSONDecodeError as error:
            rows.append((None, f"line {number}: not valid JSON ({error.msg})"))
        except RecursionError:
            rows.append((None, f"line {number}: JSON nested too deeply"))
    return rows


def _read_csv_rows(text: str) -> list[tuple[Any, str | None]]:
    # A field may hold a whole tune: allow fields as long as the longest tune read.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_TUNE_CHARS))
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[Any, str | None]] = []
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return rows
        except csv.Error as error:
            if header is None:
                raise CorpusError(f"the CSV header (line {start}) could not be read ({error}).") from error
            rows.append((None, f"line {start}: not valid CSV ({error})"))
            if reader.line_num < start:  # the reader cannot move past the error: the rest is unreadable
                rows.append((None, f"line {start} onwards: not read after the CSV error"))
                return rows
            continue
        if not values:
            continue
        if header is None:
            header = values
        elif len(values) > len(header):
            rows.append((None, f"line {start}: {len(values)} fields, but the header names {len(header)} columns"))
        else:
            rows.append((dict(zip(header, values + [None] * (len(header) - len(values)))), None))


def _pick(row: dict[str, Any], role: str, fields: dict[str, str]) -> str | None:
    if role in fields:
        return fields[role]
    return next((alias for alias in FIELD_ALIASES[role] if alias in row), None)


def _text_of(row: dict[str, Any], key: str | None, role: str) -> str | None:
    """The value of a text column: None when absent or empty, a CorpusError naming the column otherwise."""
    value = row.get(key) if key else None
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise CorpusError(f"column {key!r} ({role}) must be text, got {type(value).__name__}")
    return value


def _captions_of(row: dict[str, Any], key: str | None) -> list[str]:
    value = row.get(key) if key else None
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(text, str) for text in value):
        return value
    raise CorpusError(f"column {key!r} (descriptions) must be text or a list of texts, got {type(value).__name__}")


def _read_row(row: Any, number: int, path: Path, fields: dict[str, str], repaired: list[str] | None = None):
    """Records and skips of one table row; raises CorpusError when the row as a whole is unusable."""
    if not isinstance(row, dict):
        raise CorpusError(f"row is not an object (got {type(row).__name__})")
    if _undecodable(row):
        raise CorpusError("not UTF-8 text; re-save the table as UTF-8")
    abc_key, path_key, text_key, id_key = (_pick(row, role, fields) for role in ("abc", "path", "text", "id"))
    texts = _captions_of(row, text_key)
    record_id = row.get(id_key) if id_key else None
    if isinstance(record_id, bool) or not isinstance(record_id, str | int | type(None)):
        raise CorpusError(f"column {id_key!r} (id) must be text or a whole number, got {type(record_id).__name__}")
    record_id = str(record_id) if record_id not in (None, "") else f"{path.stem}:{number}"
    abc_text = _text_of(row, abc_key, "ABC text")
    score_name = _text_of(row, path_key, "score path")
    if abc_text is None and score_name is not None:
        if "\x00" in score_name:
            raise CorpusError(f"column {path_key!r} (score path) holds a NUL character, which no file name can hold")
        score = Path(score_name)
        score = score if score.is_absolute() else path.parent / score
        abc_text = convert.to_abc(score)
    if abc_text is None:
        raise CorpusError(f"no music: the row has no ABC text and no score path (columns {sorted(map(str, row))}; "
                          "name them with fields={'abc': ...})")
    used = {abc_key, path_key, text_key, id_key}
    metadata = {str(k): str(v) for k, v in row.items() if k not in used and v not in (None, "")}
    collection = str(row.get("collection") or path.stem)
    return records_from_text(abc_text, f"{path.name}:row {number}", collection, id_prefix=record_id,
                             extra_metadata=metadata, extra_texts=texts, repaired=repaired)


def read_table(path: Path, fields: dict[str, str] | None = None, repaired: list[str] | None = None):
    """Records and skips of a table file (JSONL, JSON list, CSV) whose rows hold ABC text or a score path.

    Columns are detected by name (:data:`FIELD_ALIASES`) or given explicitly, e.g.
    ``fields={"abc": "notation", "text": "description"}``; every other column becomes metadata. A row
    that cannot be read (broken line, a column of the wrong type, a missing score file) is skipped with
    the reason; relative score paths are read from the table's folder. Text misread from a DOS or Windows
    code page is repaired (see :func:`musicsearch.data.sources.records_from_text`); the ids of the records
    repaired are appended to ``repaired`` when it is given.

    Raises:
        CorpusError: the table as a whole cannot be read (see :func:`_read_rows`).
    """
    fields = fields or {}
    records, skipped = [], []
    try:
        rows = _read_rows(path)
    except CorpusError as error:
        raise CorpusError(str(error) if str(path) in str(error) else f"{path}: {error}") from error
    for number, (row, error) in enumerate(rows, start=1):
        item = f"{path.name}:row {number}"
        if error is not None:
            skipped.append((item, error))
            continue
        try:
            found, bad = _read_row(row, number, path, fields, repaired)
        except MusicSearchError as failure:
            skipped.append((item, str(failure)))
            continue
        except Exception as failure:  # one odd row must not abort the whole build
            skipped.append((item, f"could not be read ({type(failure).__name__}: {failure})"))
            continue
        records += found
        skipped += bad
    return records, skipped


def write_table(records, path: str | Path, *, text=None, metadata: bool = False) -> tuple[Path, int]:
    """Write records as a JSONL table of tunes that :func:`read_table` (and ``load_corpus``) reads back.

    Args:
        records: records (a Corpus or any iterable of them).
        path: the ``.jsonl`` file to write.
        text: a function from a record to its text (the table's ``text`` column), e.g.
            :func:`musicsearch.data.texts.prose_text`; records for which it gives None are left out.
        metadata: also write every metadata field as a column (by default only ``id``, ``collection``,
            ``abc`` and ``text``, so a tune is described by its text alone).

    Returns:
        ``(path, rows written)``.

    Example:
        >>> write_table(corpus, "prose.jsonl", text=prose_text)  # doctest: +SKIP
        (PosixPath('prose.jsonl'), 3106)
    """
    from ..artifacts import atomic_write_bytes

    path = Path(path)
    if path.suffix.lower() != ".jsonl":
        raise CorpusError(f"{path}: write_table writes JSONL; give the file a .jsonl name.")
    lines = []
    for record in records:
        words = text(record) if text is not None else None
        if text is not None and not words:
            continue
        row = {**(dict(record.metadata) if metadata else {}), "id": record.id, "collection": record.collection,
               "abc": record.abc}
        if words:
            row["text"] = words
        lines.append(json.dumps(row, ensure_ascii=False))
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())
    return path, len(lines)
