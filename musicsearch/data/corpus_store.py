"""The on-disk form of a corpus: ``records.parquet`` (one row per record) and ``report.json``, in one version.

A corpus folder is what ``musicsearch corpus build --out DIR`` writes and what the cache under
``MUSICSEARCH_HOME/corpora/`` holds. Both files are written into one version of an artifact folder and
published together (:func:`musicsearch.artifacts.publish`), so an interrupted save leaves the previous
corpus, never new records beside an old report. :func:`read_corpus` checks ``report.json`` against its
schema and the Parquet columns against theirs, and turns the folder back into a :class:`Corpus` with
its build report and fingerprint.

Example:
    >>> save_corpus(corpus, "my_corpus")  # doctest: +SKIP
    >>> len(read_corpus("my_corpus")) == len(corpus)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .. import artifacts
from ..artifacts import Field
from ..errors import ArtifactError
from .corpus import BuildReport, Corpus, Record

CORPUS_FORMAT_VERSION = 1  # bump when records change, so stale caches are rebuilt
RECORDS_FILE = "records.parquet"
REPORT_FILE = "report.json"
_REBUILD = "build the corpus again (musicsearch corpus build), or delete the folder to rebuild a cache"

REPORT_SCHEMA = {
    "name": Field(str),
    "fingerprint": Field(str),
    "format_version": Field(int, minimum=1, maximum=CORPUS_FORMAT_VERSION),
    "source": Field(str),
    "seen": Field(int, minimum=0),
    "kept": Field(int, minimum=0),
    "skipped_count": Field(int, required=False, minimum=0),
    "repaired": Field(int, required=False, minimum=0),  # kept records whose text was decoded from a code page
    "skipped": Field(list, items=Field(list, length=2, items=Field(str), note="an [item, reason] pair of strings")),
}
_STRING_COLUMNS = ("id", "source", "collection", "abc", "metadata")
_LIST_COLUMNS = ("captions", "caption_parts")


def save_corpus(corpus: Corpus, folder: str | os.PathLike) -> Path:
    """Publish ``records.parquet`` and ``report.json`` together as the new version of ``folder``.

    Raises:
        ArtifactError: ``folder`` holds another kind of artifact (a model, an index...).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    columns = {name: [getattr(r, name) for r in corpus.records] for name in ("id", "source", "ref", "collection", "abc",
                                                                           "captions", "caption_parts")}
    columns["metadata"] = [json.dumps(r.metadata, ensure_ascii=False) for r in corpus.records]
    table = pa.table(columns, schema=pa.schema([
        ("id", pa.string()), ("source", pa.string()), ("ref", pa.string()), ("collection", pa.string()),
        ("abc", pa.string()), ("captions", pa.list_(pa.string())), ("caption_parts", pa.list_(pa.string())),
        ("metadata", pa.string())]))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    report = {"name": corpus.name, "fingerprint": corpus.fingerprint, "format_version": CORPUS_FORMAT_VERSION,
              **corpus.report.to_dict()}
    check_report(report, f"the build report of corpus {corpus.name!r}")  # never write what cannot be read back
    with artifacts.publish(folder, artifacts.CORPUS) as staging:
        artifacts.atomic_write_bytes(staging / RECORDS_FILE, sink.getvalue().to_pybytes())
        artifacts.write_json(staging / REPORT_FILE, report)
    return folder


def read_corpus(folder: str | os.PathLike) -> Corpus:
    """Read a corpus written by :func:`save_corpus` (``musicsearch corpus build --out DIR``).

    Raises:
        ArtifactError: no corpus there, or a damaged one (the message names the file and field or row).
    """
    folder = Path(folder)
    return artifacts.read_artifact(folder, artifacts.CORPUS, _read_version, missing=_REBUILD)


def read_report(version: Path) -> dict[str, Any]:
    """The checked ``report.json`` of one version folder."""
    path = version / REPORT_FILE
    info = artifacts.read_json(path)
    if isinstance(info, dict) and isinstance(info.get("format_version"), int) \
            and not isinstance(info["format_version"], bool) and info["format_version"] > CORPUS_FORMAT_VERSION:
        raise ArtifactError(f"{path}: field 'format_version' is {info['format_version']}: written by a newer "
                            f"musicsearch (corpus format > {CORPUS_FORMAT_VERSION}); upgrade musicsearch or {_REBUILD}.")
    return check_report(info, path)


def check_report(info: Any, source: Any) -> dict[str, Any]:
    """Check a build report against :data:`REPORT_SCHEMA` and ``seen == kept + skipped``; returns it."""
    hint = f"Fix the field or {_REBUILD}."
    artifacts.check(info, REPORT_SCHEMA, source, hint=hint)
    if info["seen"] != info["kept"] + len(info["skipped"]):
        raise artifacts.field_error(source, "seen", info["seen"], f"kept + skipped = {info['kept']} + "
                                    f"{len(info['skipped'])} (every item seen is kept or skipped)", hint=hint)
    return info


def _read_version(version: Path) -> Corpus:
    info = read_report(version)
    columns = _read_columns(version / RECORDS_FILE)
    records = []
    for row, values in enumerate(zip(*(columns[name] for name in ("id", "source", "ref", "collection", "abc",
                                                                  "metadata", "captions", "caption_parts"))), 1):
        identifier, source, ref, collection, abc, metadata, captions, parts = values
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError as error:
            raise ArtifactError(f"{version / RECORDS_FILE} row {row}: 'metadata' is not JSON ({error}); "
                                f"{_REBUILD}.") from error
        if not isinstance(metadata, dict) or None in (identifier, source):
            raise ArtifactError(f"{version / RECORDS_FILE} row {row}: no id/source, or metadata that is not a "
                                f"mapping; {_REBUILD}.")
        records.append(Record(id=identifier, source=source, ref=ref, collection=collection or "", abc=abc or "",
                              metadata=metadata, captions=list(captions or []), caption_parts=list(parts or [])))
    report = BuildReport(info["source"], info["seen"], info["kept"], [tuple(item) for item in info["skipped"]],
                         repaired=info.get("repaired", 0))
    return Corpus(records, info["name"], report, fingerprint=info["fingerprint"])


def _read_columns(path: Path) -> dict[str, list[Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except FileNotFoundError as error:
        raise ArtifactError(f"{path} is missing; {_REBUILD}.") from error
    except Exception as error:  # pyarrow raises ArrowInvalid/OSError with no hint
        raise ArtifactError(f"{path} is unreadable ({error}); {_REBUILD}.") from error
    for name in _STRING_COLUMNS + ("ref",) + _LIST_COLUMNS:
        expected = pa.list_(pa.string()) if name in _LIST_COLUMNS else pa.string()
        found = table.schema.field(name).type if name in table.column_names else None
        if found != expected and not (found == pa.large_string() and expected == pa.string()):
            raise ArtifactError(f"{path}: column {name!r} is {found or 'missing'}, expected {expected}; {_REBUILD}.")
    return table.to_pydict()
