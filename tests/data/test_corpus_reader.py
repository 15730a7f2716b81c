"""The corpus reader never aborts on one item: bad rows, links, pipes, unreadable folders, prose, huge tunes."""

from __future__ import annotations

import json
import os
import signal
from contextlib import contextmanager

import pytest

import musicsearch as ms
from musicsearch.cli import main
from musicsearch.data import formats, sources
from tests.helpers.corpus_faults import simulated_permissions

TUNE = "X:1\nT:Good\nM:4/4\nK:D\nd2fd A2FA|\n"


@contextmanager
def _fails_instead_of_hanging(seconds: int = 30):
    """Turn a hang (reading a FIFO blocks until a writer comes) into a test failure."""
    def _hung(signum, frame):
        raise AssertionError(f"still running after {seconds} s: the reader blocked")

    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _accounted(report: ms.BuildReport, corpus: ms.Corpus) -> set[str]:
    return {item for item, _ in report.skipped} | {record.source for record in corpus}


def test_table_rows_of_the_wrong_type_or_with_a_missing_score_are_skipped_with_reasons(tmp_path):
    (tmp_path / "tune.abc").write_text(TUNE)
    rows = [
        {"id": "ok", "abc": "K:D\ndfa|", "text": None},
        {"id": "from-file", "path": "tune.abc"},
        {"id": "no-file", "path": "missing.abc"},
        {"id": "text-number", "abc": "K:D\nd2|", "text": 5},
        {"id": "path-number", "path": 7},
        {"id": "abc-number", "abc": 3.5},
        {"id": "all-null", "abc": None, "path": None, "text": None},
        {"id": ["a", "list"], "abc": "K:G\nGAB|"},
        {"id": "a-folder", "path": "."},
        [1, 2],
        {"id": 42, "abc": "K:G\nGAB|", "caption": ["a list", "of captions"]},
    ]
    lines = [json.dumps(row).encode() for row in rows]
    lines += [b"{broken", b'{"id": "latin1", "abc": "K:G\\nG\xe4B|"}']
    table = tmp_path / "tunes.jsonl"
    table.write_bytes(b"\n".join(lines) + b"\n")
    corpus = ms.build_corpus(table, progress=False)
    report = corpus.report
    assert corpus.ids == ["ok", "from-file", "42"]
    assert corpus.by_id("42").captions[:2] == ["a list", "of captions"]
    assert report.seen == report.kept + len(report.skipped) == len(lines)
    reasons = dict(report.skipped)
    assert "does not exist" in reasons["tunes.jsonl:row 3"] and "missing.abc" in reasons["tunes.jsonl:row 3"]
    assert "column 'text'" in reasons["tunes.jsonl:row 4"] and "int" in reasons["tunes.jsonl:row 4"]
    assert "column 'path'" in reasons["tunes.jsonl:row 5"]
    assert "column 'abc'" in reasons["tunes.jsonl:row 6"] and "float" in reasons["tunes.jsonl:row 6"]
    assert "no music" in reasons["tunes.jsonl:row 7"]
    assert "column 'id'" in reasons["tunes.jsonl:row 8"]
    assert "unsupported file type" in reasons["tunes.jsonl:row 9"]
    assert "not an object" in reasons["tunes.jsonl:row 10"]
    assert "not valid JSON" in reasons["tunes.jsonl:row 12"]
    assert "not UTF-8" in reasons["tunes.jsonl:row 13"]


def test_csv_rows_with_extra_fields_or_bad_bytes_are_skipped_alone(tmp_path):
    table = tmp_path / "tunes.csv"
    table.write_bytes(b'id,abc\none,"K:D\ndfa|"\ntwo,"K:G\nGAB|",surplus\nthree,"K:A\nA\xffc|"\nfour,"K:E\nEFG|"\n')
    corpus = ms.build_corpus(table, progress=False)
    assert corpus.ids == ["one", "four"]
    reasons = dict(corpus.report.skipped)
    assert "3 fields, but the header names 2 columns" in reasons["tunes.csv:row 2"]
    assert "not UTF-8" in reasons["tunes.csv:row 3"]
    assert corpus.report.seen == 4


def test_links_loops_pipes_and_unreadable_folders_are_reported_not_fatal(tmp_path):
    root = tmp_path / "tunes"
    (root / "sub").mkdir(parents=True)
    (root / "locked").mkdir()
    (root / "good.abc").write_text(TUNE)
    (root / "sub" / "inner.abc").write_text(TUNE)
    (root / "locked" / "hidden.abc").write_text(TUNE)
    (root / "locked-file.abc").write_text(TUNE)
    (root / "dangling.abc").symlink_to(root / "gone.abc")
    (root / "loop.abc").symlink_to(root / "loop.abc")
    (root / "old-folder").symlink_to(tmp_path / "moved-away")
    (root / "sub" / "back-up").symlink_to(root)
    os.mkfifo(root / "pipe.abc")
    with simulated_permissions(), _fails_instead_of_hanging():
        corpus = ms.load_corpus(root, progress=False)  # the cache key is computed first: it must not fail either
    assert corpus.ids == ["good.abc#1", "sub/inner.abc#1"]
    report = corpus.report
    assert report.seen == report.kept + len(report.skipped) == 9
    reasons = dict(report.skipped)
    assert "broken link" in reasons["dangling.abc"] and "broken link" in reasons["old-folder"]
    assert "link loop" in reasons["loop.abc"]
    assert "already read" in reasons["sub/back-up/"]
    assert "not a regular file" in reasons["pipe.abc"]
    assert "permission denied" in reasons["locked/"] and "permission denied" in reasons["locked-file.abc"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its permissions")
def test_real_permissions_are_reported(tmp_path):
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "a.abc").write_text(TUNE)
    (tmp_path / "good.abc").write_text(TUNE)
    (tmp_path / "private.abc").write_text(TUNE)
    (tmp_path / "locked").chmod(0)
    (tmp_path / "private.abc").chmod(0)
    try:
        report = ms.build_corpus(tmp_path, progress=False).report
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert report.kept == 1 and {item for item, _ in report.skipped} == {"locked/", "private.abc"}


def test_fixing_a_broken_link_rebuilds_the_cache(tmp_path):
    (tmp_path / "good.abc").write_text(TUNE)
    (tmp_path / "later.abc").symlink_to(tmp_path / "elsewhere.abc")
    assert ms.load_corpus(tmp_path, progress=False).ids == ["good.abc#1"]
    (tmp_path / "elsewhere.abc").write_text(TUNE.replace("X:1", "X:2"))
    assert ms.load_corpus(tmp_path, progress=False).ids == ["elsewhere.abc#2", "good.abc#1", "later.abc#2"]


def test_tunes_that_reuse_an_x_number_are_all_kept_with_distinct_ids(tmp_path):
    (tmp_path / "reused.abc").write_text("X:1\nT:A\nK:D\ndfa|\n\nX:1\nT:B\nK:G\nGAB|\n\nX:2\nT:C\nK:A\nABc|\n\n"
                                         "X:1\nT:D\nK:E\nEFG|\n\nX:1-2\nT:E\nK:F\nFGA|\n")
    (tmp_path / "plain.abc").write_text("X:1\nT:A\nK:D\ndfa|\n\nX:2\nT:B\nK:G\nGAB|\n")
    corpus = ms.build_corpus(tmp_path, progress=False)
    assert corpus.ids == ["plain.abc#1", "plain.abc#2", "reused.abc#1", "reused.abc#1-2", "reused.abc#2",
                          "reused.abc#1-3", "reused.abc#1-2-2"]
    assert [corpus.by_id(i).title for i in corpus.ids[2:]] == ["A", "B", "C", "D", "E"]
    assert [corpus.by_id(i).ref for i in corpus.ids[2:]] == ["1", "1", "2", "1", "1-2"]
    assert corpus.report.skipped == []


def test_prose_in_an_abc_file_is_not_a_tune(tmp_path):
    (tmp_path / "readme.abc").write_text("These are the tunes we played at the session last week.\n")
    (tmp_path / "notes.abc").write_text("X:1\nT:Notes\nK:G\nThis reel was played by a fiddler from Donegal.\n")
    (tmp_path / "unbarred.abc").write_text("X:26\nT:Herzog Ernst\nM:none\nL:1/8\nK:E\nA2A2A2A2B2=c2A2A4z2\n")
    (tmp_path / "decorated.abc").write_text('X:1\nK:D\n"Am"!trill!d2 [P:A]~e/f/ uv(d2.B) AFA|]\n')
    corpus = ms.build_corpus(tmp_path, progress=False)
    assert corpus.ids == ["decorated.abc#1", "unbarred.abc#26"]
    reasons = dict(corpus.report.skipped)
    assert "no K: (key) field" in reasons["readme.abc"]
    assert "reads as prose" in reasons["notes.abc#1"]


def test_oversized_tune_and_file_are_skipped_before_work_naming_the_limit(tmp_path, monkeypatch):
    from musicsearch.data import abc as abc_notation

    parsed_lengths = []
    real_parse = abc_notation.parse_tune
    monkeypatch.setattr(abc_notation, "parse_tune", lambda text, ref=None: parsed_lengths.append(len(text))
                        or real_parse(text, ref))
    (tmp_path / "huge.abc").write_text("X:1\nK:D\n" + "dfa|" * (sources.MAX_TUNE_CHARS // 4 + 1) + "\n\nX:2\nK:G\nGAB|\n")
    corpus = ms.build_corpus(tmp_path, progress=False)
    assert corpus.ids == ["huge.abc#2"]
    item, reason = corpus.report.skipped[0]
    assert item == "huge.abc#1" and "MAX_TUNE_CHARS" in reason and "limit per tune" in reason
    assert max(parsed_lengths) < 100  # the huge tune was never parsed
    monkeypatch.setattr(formats, "MAX_FILE_BYTES", 1000)
    assert "MAX_FILE_BYTES" in ms.build_corpus(tmp_path, progress=False).report.skipped[0][1]


@pytest.mark.parametrize("limit", [-1, 0, 1.5, True])
def test_a_limit_below_one_is_refused(tmp_path, limit):
    (tmp_path / "a.abc").write_text(TUNE)
    (tmp_path / "b.abc").write_text(TUNE)
    with pytest.raises(ms.CorpusError, match="limit must be a whole number of at least 1"):
        ms.build_corpus(tmp_path, limit=limit, progress=False)
    assert ms.build_corpus(tmp_path, limit=1, progress=False).ids == ["a.abc#1"]


def test_corpus_cli_refuses_negative_limits_and_output_of_the_wrong_kind(tmp_path, capsys):
    table = tmp_path / "tunes.jsonl"
    table.write_text(json.dumps({"id": "a", "abc": "K:D\ndfa|"}) + "\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["corpus", "build", "--source", str(table), "--limit", "-1"])
    assert exit_info.value.code == 2 and "--limit: must be at least 1" in capsys.readouterr().err
    (tmp_path / "exports").mkdir()
    assert main(["corpus", "export", "--source", str(table), "--out", str(tmp_path / "exports")]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "records.jsonl" in err and "Traceback" not in err
    assert main(["corpus", "export", "--source", str(table), "--out", str(tmp_path / "new" / "a.jsonl")]) == 0
    assert json.loads((tmp_path / "new" / "a.jsonl").read_text())["id"] == "a"
    assert main(["corpus", "build", "--source", str(table), "--out", str(table)]) == 2
    assert "is a file" in capsys.readouterr().err
