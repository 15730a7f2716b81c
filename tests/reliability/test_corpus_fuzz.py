"""Fuzzing the corpus reader: generated folders and tables never stop a build, and every item is accounted for.

Folders mix good multi-tune files (reusing ``X:`` numbers), prose, junk bytes, empty and huge files,
broken and looping links, a link back to a parent folder, pipes, and folders or files that cannot be read
(simulated, see :mod:`tests.helpers.corpus_faults`). Tables (JSONL, CSV, JSON) mix good rows with rows of
the wrong types, missing score files, broken and undecodable lines and huge lines. On every example:
``seen == kept + skipped``, every file or row is either kept or skipped with a reason, every good tune is
kept under a distinct id, and nothing but a record or a skip comes out. Size limits are lowered for the
run so "huge" stays cheap. Derandomized: the same examples run every time.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import musicsearch as ms
from musicsearch.data import formats, sources
from musicsearch.data.abc import require_music
from tests.helpers.corpus_faults import simulated_permissions

FOLDER_EXAMPLES = 120
TABLE_EXAMPLES = 80  # per table format
TUNE_LIMIT = 3_000  # MAX_TUNE_CHARS during the run
FILE_LIMIT = 40_000  # MAX_FILE_BYTES during the run
FUZZ = settings(derandomize=True, max_examples=FOLDER_EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------------------------------------- content
_bar = st.lists(st.sampled_from(["d", "f", "a", "A2", "B", "c'", "G,", "z", "^F", "=c/"]), min_size=1, max_size=6)
_good_tune = st.builds(lambda ref, key, bars: (ref, f"X:{ref}\nT:Tune {ref}\nM:4/4\nL:1/8\nK:{key}\n"
                                                     + "d" + "|".join("".join(bar) for bar in bars) + "|\n"),
                       st.sampled_from(["1", "1", "2", "3", "1-2"]), st.sampled_from(["D", "G", "Ador", "Em"]),
                       st.lists(_bar, min_size=1, max_size=4))
_bad_text = st.one_of(
    st.just("These are the tunes we played at the session last week.\n"),  # prose, no K:
    st.just("X:9\nT:Notes\nK:G\nThis reel was played by a fiddler from Donegal.\n"),  # prose after K:
    st.just("X:8\nT:Only a title\nK:G\n"),  # no notes
    st.builds(lambda n: "X:7\nK:D\n" + "dfa|" * n + "\n", st.sampled_from([TUNE_LIMIT, FILE_LIMIT // 3])),  # huge
    st.text(max_size=80),
)


@st.composite
def _abc_file(draw):
    """``(bytes, number of good tunes)`` of one .abc file: good tunes, bad texts, or junk bytes."""
    kind = draw(st.sampled_from(["tunes", "tunes", "mixed", "junk", "empty"]))
    if kind == "junk":
        return draw(st.binary(max_size=120)), None
    if kind == "empty":
        return b"", 0
    tunes = draw(st.lists(_good_tune, min_size=1, max_size=4))
    parts = [text for _, text in tunes]
    if kind == "mixed":
        parts.insert(draw(st.integers(0, len(parts))), draw(_bad_text))
        return "\n".join(parts).encode("utf-8", "surrogatepass"), None
    return "\n".join(parts).encode(), len(tunes)


# --------------------------------------------------------------------------------------------- folders
_ENTRY_KINDS = ["file", "file", "file", "nested", "xml", "dangling", "loop", "parent-link", "fifo", "locked-folder",
                "locked-file", "not-a-score"]


@st.composite
def _folder(draw):
    kinds = draw(st.lists(st.sampled_from(_ENTRY_KINDS), min_size=1, max_size=8))
    if not any(kind in ("file", "nested") for kind in kinds):
        kinds.append("file")
    return [(kind, draw(_abc_file()) if kind in ("file", "nested", "locked-file") else
             (draw(st.binary(max_size=60)), None)) for kind in kinds]


def _make_folder(root: Path, entries) -> dict[str, int | None]:
    """Create the entries; returns the item each must show up as -> its number of good tunes (None: any)."""
    expected: dict[str, int | None] = {}
    for position, (kind, (data, good)) in enumerate(entries):
        name = f"e{position}"
        if kind == "file":
            (root / f"{name}.abc").write_bytes(data)
            expected[f"{name}.abc"] = good
        elif kind == "nested":
            (root / name).mkdir()
            (root / name / "tune.abc").write_bytes(data)
            expected[f"{name}/tune.abc"] = good
        elif kind == "xml":
            (root / f"{name}.xml").write_bytes(data)
            expected[f"{name}.xml"] = 0
        elif kind == "dangling":
            (root / f"{name}.abc").symlink_to(root / "nowhere" / "gone.abc")
            expected[f"{name}.abc"] = 0
        elif kind == "loop":
            (root / f"{name}.abc").symlink_to(root / f"{name}.abc")
            expected[f"{name}.abc"] = 0
        elif kind == "parent-link":
            (root / name).mkdir()
            (root / name / "up").symlink_to(root)
            expected[f"{name}/up/"] = 0
        elif kind == "fifo":
            os.mkfifo(root / f"{name}.abc")
            expected[f"{name}.abc"] = 0
        elif kind == "locked-folder":
            (root / f"locked{name}").mkdir()
            (root / f"locked{name}" / "tune.abc").write_text("X:1\nK:D\ndfa|\n")
            expected[f"locked{name}/"] = 0
        elif kind == "locked-file":
            (root / f"locked{name}.abc").write_bytes(data)
            expected[f"locked{name}.abc"] = 0
        else:
            (root / f"{name}.txt").write_bytes(data)  # not a score file: neither read nor counted
    return expected


def _check_report(corpus: ms.Corpus) -> None:
    report = corpus.report
    assert report.seen == report.kept + len(report.skipped) == len(corpus) + len(report.skipped)
    assert len(set(corpus.ids)) == len(corpus)
    assert all(isinstance(reason, str) and reason for _, reason in report.skipped)
    for record in corpus:
        require_music(record.abc)  # nothing that is not music is kept


def _owner(item: str, expected: dict[str, int | None]) -> str | None:
    """The generated entry a record source or skipped item belongs to."""
    return next((name for name in expected if item == name or item.startswith((name + "#", name + "/"))), None)


def test_generated_folders_never_stop_a_build(tmp_path):
    runs, kept, skipped = [], [], []

    @FUZZ
    @given(_folder())
    def check(entries):
        root = Path(tempfile.mkdtemp(dir=tmp_path))
        try:
            expected = _make_folder(root, entries)
            with simulated_permissions(), mock.patch.object(sources, "MAX_TUNE_CHARS", TUNE_LIMIT), \
                    mock.patch.object(formats, "MAX_FILE_BYTES", FILE_LIMIT):
                corpus = ms.load_corpus(root, progress=False)  # cache key first, then the build
        finally:
            shutil.rmtree(root)
        _check_report(corpus)
        assert not any("duplicate id" in reason for _, reason in corpus.report.skipped)
        accounted = {name: 0 for name in expected}
        for item in [record.source for record in corpus] + [item for item, _ in corpus.report.skipped]:
            owner = _owner(item, expected)
            assert owner is not None, f"{item} is not one of the generated entries"
            accounted[owner] += 1
        assert all(accounted.values()), f"left out silently: {[name for name, n in accounted.items() if not n]}"
        kept_of = {name: sum(record.source == name for record in corpus) for name in expected}
        for name, good in expected.items():
            if good is not None:
                assert kept_of[name] == good, f"{name}: kept {kept_of[name]} of its {good} good tunes"
        runs.append(len(expected))
        kept.append(len(corpus))
        skipped.extend(reason for _, reason in corpus.report.skipped)

    check()
    assert len(runs) == FOLDER_EXAMPLES
    print(f"\ncorpus fuzz: {len(runs)} folders, {sum(runs)} entries, {sum(kept)} tunes kept, {len(skipped)} skipped: "
          f"{_kinds(skipped)}")


def _kinds(reasons: list[str]) -> dict[str, int]:
    """How many skips of each fault the examples held (a fuzz run that never made a fault would test nothing)."""
    words = ["broken link", "link loop", "already read", "not a regular file", "permission denied", "limit per tune",
             "limit per file", "not ABC music", "no notes", "not UTF-8", "empty", "must be", "does not exist",
             "not valid", "fields, but", "duplicate id", "no music", "not an object"]
    return {word: n for word in words if (n := sum(word in reason for reason in reasons))}


# ---------------------------------------------------------------------------------------------- tables
_wrong = st.one_of(st.floats(allow_nan=False), st.booleans(), st.dictionaries(st.text(max_size=4), st.integers(),
                                                                            min_size=1, max_size=2),
                   st.lists(st.integers(), min_size=1, max_size=3))  # wrong for every column (ids may be ints)
_id = st.one_of(st.none(), st.sampled_from(["a", "b", "a", ""]), st.integers(0, 3), st.text(max_size=6))
_texts = st.one_of(st.none(), st.text(max_size=20), st.lists(st.text(max_size=8), max_size=3))
_tunes = st.lists(_good_tune, min_size=1, max_size=3).map(lambda tunes: "\n".join(text for _, text in tunes))
_bad_paths = ["missing.abc", "lockedtune.abc", "junk.abc", "dangling.abc", ".", "/nonexistent/x.abc", "a\x00b.abc",
              "notes.txt"]


@st.composite
def _table_row(draw):
    """``(row, good)``: a row that must give records (or be a duplicate id), or one that must be skipped."""
    shape = draw(st.sampled_from(["abc", "abc", "path", "bad-path", "wrong-type", "wrong-type", "not-music",
                                  "no-music", "not-an-object"]))
    row = {"id": draw(_id), "text": draw(_texts), "region": draw(st.one_of(st.none(), st.text(max_size=8)))}
    if shape == "abc":
        return {**row, "abc": draw(_tunes)}, True
    if shape == "path":
        return {**row, "path": "good.abc"}, True
    if shape == "bad-path":
        return {**row, "path": draw(st.sampled_from(_bad_paths))}, False
    if shape == "wrong-type":
        column = draw(st.sampled_from(["abc", "path", "text", "id"]))
        return {**row, "abc": draw(_tunes), column: draw(_wrong)}, False
    if shape == "not-music":
        return {**row, "abc": draw(_bad_text.filter(lambda text: not text.startswith(("X:", "T")) or "K:" in text))}, None
    if shape == "no-music":
        return row, False
    return draw(st.one_of(st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=2))), False


_junk_line = st.binary(min_size=1, max_size=60).filter(lambda line: b"\n" not in line)


def _table_folder(root: Path) -> None:
    (root / "good.abc").write_text("X:1\nT:From a file\nK:A\nABc|\n")
    (root / "lockedtune.abc").write_text("X:1\nK:A\nABc|\n")
    (root / "junk.abc").write_bytes(b"\x00\xff\xfe junk")
    (root / "notes.txt").write_text("not a score")
    (root / "dangling.abc").symlink_to(root / "gone.abc")


def _is_blank(line: bytes) -> bool:
    return not line.decode("utf-8", "surrogateescape").strip()


def _jsonl(rows, junk, positions) -> tuple[bytes, list[int | None]]:
    """The table's bytes and, per generated row, its row number (None: unknown)."""
    lines = [(json.dumps(row).encode(), index) for index, row in enumerate(rows)]
    for position, line in zip(positions, junk):
        lines.insert(min(position, len(lines)), (line, None))
    numbers: list[int | None] = [None] * len(rows)
    count = 0
    for line, index in lines:
        count += not _is_blank(line)
        if index is not None:
            numbers[index] = count
    return b"\n".join(line for line, _ in lines) + b"\n", numbers


def _csv(rows, junk, positions) -> tuple[bytes, list[int | None]]:
    columns = sorted({str(key) for row in rows if isinstance(row, dict) for key in row}) or ["abc"]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        if isinstance(row, dict):
            writer.writerow(["" if row.get(column) is None else str(row[column]) for column in columns])
        else:
            writer.writerow([str(row)] * (len(columns) + 1))  # more fields than the header
    data = out.getvalue().encode("utf-8", "surrogatepass")
    if not junk:  # every row is one CSV record, numbered in order
        return data, list(range(1, len(rows) + 1))
    lines = data.split(b"\r\n")
    for position, line in zip(positions, junk):
        lines.insert(min(position + 1, len(lines)), line)  # a quote in junk may join lines: numbers unknown
    return b"\r\n".join(lines), [None] * len(rows)


def _json(rows, junk, positions) -> tuple[bytes, list[int | None]]:
    return json.dumps(rows).encode(), list(range(1, len(rows) + 1))


def _rows_in(data: bytes) -> int:
    """Non-blank lines of a JSONL table: each is one row item, however broken."""
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    return sum(1 for line in text.split("\n") if line.strip())


@pytest.mark.parametrize("kind", ["jsonl", "csv", "json"])
def test_generated_tables_never_stop_a_build(tmp_path, kind):
    runs, kept, skipped = [], [], []

    @settings(FUZZ, max_examples=TABLE_EXAMPLES)
    @given(st.lists(_table_row(), min_size=1, max_size=8), st.lists(_junk_line, max_size=3),
           st.lists(st.integers(0, 8), min_size=3, max_size=3))
    def check(generated, junk, positions):
        rows = [row for row, _ in generated]
        root = Path(tempfile.mkdtemp(dir=tmp_path))
        try:
            _table_folder(root)
            table = root / f"tunes.{kind}"
            data, numbers = {"jsonl": _jsonl, "csv": _csv, "json": _json}[kind](rows, junk, positions)
            table.write_bytes(data)
            with simulated_permissions(), mock.patch.object(sources, "MAX_TUNE_CHARS", TUNE_LIMIT):
                corpus = ms.load_corpus(table, progress=False, cache=False)
        finally:
            shutil.rmtree(root)
        _check_report(corpus)
        reasons = dict(corpus.report.skipped)
        items = [record.source for record in corpus] + list(reasons)
        seen_numbers = {int(item.split(":row ")[1].split("#")[0]) for item in items}
        expected_rows = {"jsonl": _rows_in(data), "json": len(rows)}.get(kind, len(seen_numbers))
        assert seen_numbers == set(range(1, expected_rows + 1))
        for (row, good), number in zip(generated, numbers):
            if number is None or good is None or (kind == "csv" and not good):
                continue  # CSV writes every value as text: a wrong type there is no longer wrong
            item = f"{table.name}:row {number}"
            records = [record for record in corpus if record.source == item]
            if good:
                assert records or "duplicate id" in reasons.get(item, ""), f"{item} {row!r}: {reasons.get(item)}"
            else:
                assert not records and item in reasons, f"{item} {row!r} was kept"
        runs.append(len(items))
        kept.append(len(corpus))
        skipped.extend(corpus.report.skipped)

    check()
    assert len(runs) == TABLE_EXAMPLES
    print(f"\ncorpus fuzz: {len(runs)} {kind} tables, {sum(runs)} items, {sum(kept)} tunes kept, {len(skipped)} "
          f"skipped: {_kinds([reason for _, reason in skipped])}")
