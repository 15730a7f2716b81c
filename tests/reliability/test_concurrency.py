"""Concurrent writers and readers of one index folder: 0 raw tracebacks, 0 failed loads, nothing left behind.

4 writer processes save 15 indexes each into one folder while 4 reader processes load it in a loop
(``benchmarks/faults.py`` runs 4 x 100). Writers take turns on the folder's lock; a reader pins the
version it reads, so no writer removes it under the reader.
"""

from __future__ import annotations

import logging
import os

import pytest

from musicsearch import artifacts
from musicsearch.errors import ArtifactError
from musicsearch.search.store import read_manifest
from tests.helpers import faults

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forks writer and reader processes (POSIX only)")


def test_four_writers_and_four_readers_on_one_index(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="musicsearch.artifacts")
    report = faults.concurrency_campaign(tmp_path / "index", writers=4, saves=15, readers=4)
    assert report.tracebacks == [], report.tracebacks[:2]
    assert (report.saves, report.failed_saves, report.failed_loads) == (60, 0, 0)
    assert report.loads >= 4 and report.leftovers == []


def test_a_pinned_version_outlives_two_writes_and_goes_with_the_next(tmp_path):
    case = faults.index_case()
    folder = tmp_path / "index"
    case.save(1, folder)
    first = artifacts.current_version(folder, "index")

    def read_slowly(version):
        case.save(2, folder)  # retires `first`...
        case.save(3, folder)  # ... and would remove it, but this reader holds it
        assert version == first and version.is_dir()
        return (version / "manifest.json").read_bytes()

    assert artifacts.read_artifact(folder, "index", read_slowly)
    assert first.is_dir()
    case.save(4, folder)
    assert not first.exists() and faults.leftovers(folder) == [] and case.load(folder) == 4


def test_a_reader_whose_version_went_away_reads_the_new_one(tmp_path):
    case = faults.index_case()
    folder = tmp_path / "index"
    case.save(1, folder)
    faults.flatten_to_layout_before_versions(folder)  # files before versions cannot be pinned
    seen = []

    def read(version):
        seen.append(version)
        if len(seen) == 1:
            case.save(2, folder)
            case.save(3, folder)  # removes the files the first attempt was about to read
        return read_manifest(version)["model_fingerprint"]

    assert artifacts.read_artifact(folder, "index", read) == "gen-3"
    assert seen[0] == folder and seen[1].name.startswith("v-") and len(seen) == 2


def test_a_writer_of_another_kind_is_refused_by_name(tmp_path):
    faults.index_case().save(1, tmp_path / "index")
    with pytest.raises(ArtifactError, match="holds an index, not a corpus"):
        faults.corpus_case().save(1, tmp_path / "index")
