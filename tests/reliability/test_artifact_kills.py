"""Kill at every write step: a child process saving version N+1 over N is SIGKILLed at each injected point
of the write path; after each kill a load returns version N or N+1 (checked file by file: 0 lost, 0
mixed), and the next write removes what the killed ones left.

The campaign itself lives in :mod:`tests.helpers.faults` (``benchmarks/faults.py`` runs a longer one).
"""

from __future__ import annotations

import logging
import os
import time

import pytest

from musicsearch import artifacts
from tests.helpers import faults

KILLS_PER_KIND = 50

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked children (POSIX only)")


@pytest.fixture(autouse=True)
def _quiet(caplog):
    caplog.set_level(logging.ERROR, logger="musicsearch.artifacts")  # one cleanup line per round otherwise


@pytest.mark.parametrize("kind", ["index", "corpus", "model", "checkpoint"])
def test_a_writer_killed_at_any_step_leaves_the_old_or_the_new_version(kind, tmp_path):
    report = faults.kill_campaign(faults.CASES[kind](), tmp_path / kind, KILLS_PER_KIND)
    assert report.kills >= KILLS_PER_KIND, report.as_dict()
    assert (report.lost, report.mixed) == (0, 0), report.failures[:5]
    assert report.loaded_old + report.loaded_new == report.kills + report.completed
    assert report.loaded_old > 0 and report.loaded_new > 0  # kills landed before and after the publishing step
    assert report.leftovers_after_clean_write == 0


def test_the_next_write_removes_leftovers_with_one_log_line(tmp_path, caplog):
    case = faults.index_case()
    folder = tmp_path / "index"
    case.save(1, folder)
    for point in (0, 3):  # killed after creating its staging folder, and while writing into it
        faults._save_and_die_at(case, 2, folder, point)
    assert len([p for p in folder.iterdir() if p.name.startswith(".staging-")]) == 2
    caplog.set_level(logging.INFO, logger="musicsearch.artifacts")
    case.save(3, folder)
    assert faults.leftovers(folder) == [] and case.load(folder) == 3
    lines = [record for record in caplog.records if "interrupted writes" in record.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING and "2 leftover(s)" in lines[0].getMessage()


def test_a_temporary_file_of_a_killed_cache_writer_is_removed_by_the_next_one(tmp_path):
    import numpy as np

    from musicsearch.models.embedding_cache import PERSIST_MIN, EmbeddingCache

    cache = EmbeddingCache(tmp_path, "encoder")
    texts = [f"tune {i}" for i in range(PERSIST_MIN)]
    cache.put(texts, np.ones((PERSIST_MIN, 4), np.float32))
    pid = os.fork()
    if pid == 0:
        try:
            artifacts.set_fault_hook(lambda label: os.kill(os.getpid(), 9) if label.startswith("temporary") else None)
            cache.flush()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    stale = [p for p in (tmp_path / "encoder").iterdir() if p.name.endswith(".tmp")]
    assert len(stale) == 1 and list((tmp_path / "encoder").glob("*.npz")) == []
    old = time.time() - 2 * artifacts.files.STALE_AFTER_S
    os.utime(stale[0], (old, old))  # a killed writer's file ages; a young one may still be in use
    cache.flush()
    assert [p.suffix for p in (tmp_path / "encoder").iterdir()] == [".npz"]
    assert len(EmbeddingCache(tmp_path, "encoder")) == PERSIST_MIN


def test_a_live_writers_temporary_file_is_never_removed(tmp_path):
    import fcntl

    live = tmp_path / ".shard.npz.abc123.tmp"
    live.write_bytes(b"being written")
    old = time.time() - 2 * artifacts.files.STALE_AFTER_S
    os.utime(live, (old, old))
    with open(live, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # what atomic_write_bytes holds while it writes
        assert artifacts.remove_stale_temporaries(tmp_path) == [] and live.exists()
    assert artifacts.remove_stale_temporaries(tmp_path) == [live] and not live.exists()
