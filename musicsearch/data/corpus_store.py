"""The on-disk form of a corpus: ``records.parquet`` (one row per record) and ``report.json``.

A corpus folder is what ``musicsearch corpus build --out DIR`` writes and what the cache under
``MUSICSEARCH_HOME/corpora/`` holds; :func:`read_corpus` turns it back into a :class:`Corpus` with its
build report and fingerprint.

Example:
    >>> save_corpus(corpus, "my_corpus")  # doctest: +SKIP
    >>> len(read_corpus("my_corpus")) == len(corpus)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .. import artifacts
from ..errors import CorpusError
from .corpus import BuildReport, Corpus, Record

CORPUS_FORMAT_VERSION = 1  # bump when records change, so stale caches are rebuilt


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
