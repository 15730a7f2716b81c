"""Tables of tunes: writing records as a JSONL table that reads back with its text column."""

from __future__ import annotations

import pytest

from musicsearch.data.corpus import Record
from musicsearch.data.corpus_io import build_corpus
from musicsearch.data.tables import write_table
from musicsearch.data.texts import own_texts
from musicsearch.errors import CorpusError


def _records():
    return [Record(id=f"a#{i}", source="a.abc", ref=str(i), collection="demo", abc=f"M:4/4\nK:D\nd2f{'ab'[i % 2]}|",
                   metadata={"title": f"Tune {i}", "notes": "a long remark about this tune" if i else "B0001"})
            for i in range(3)]


def test_written_table_reads_back_with_each_text_as_the_tunes_own_text(tmp_path):
    path, written = write_table(_records(), tmp_path / "t.jsonl", text=lambda r: r.metadata["notes"] if r.ref != "0" else None)
    assert written == 2
    corpus = build_corpus(path, progress=False)
    assert [record.id for record in corpus] == ["a#1", "a#2"] and corpus[0].collection == "demo"
    assert own_texts(corpus[0].captions, corpus[0].caption_parts) == ["a long remark about this tune"]
    assert "title" not in corpus[0].metadata  # only id, collection, abc and text unless metadata=True
    path, _ = write_table(_records(), tmp_path / "m.jsonl", metadata=True)
    assert build_corpus(path, progress=False)[0].metadata["title"] == "Tune 0"


def test_write_table_refuses_other_formats(tmp_path):
    with pytest.raises(CorpusError, match="jsonl"):
        write_table(_records(), tmp_path / "t.csv")
