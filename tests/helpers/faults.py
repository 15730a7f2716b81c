"""Fault campaigns on artifact folders, shared by ``tests/reliability`` and ``benchmarks/faults.py``.

They run on the artifact cases of :mod:`tests.helpers.artifact_cases` (each generation of each kind
differs in every file, and its loader refuses a mix of two).

- :func:`kill_campaign`: a forked child saves generation N+1 over N and SIGKILLs itself at the k-th
  fault point of the write path (``musicsearch.artifacts.set_fault_hook``), for every k in turn; after
  each kill the parent loads the folder (it must be N or N+1); after each round a clean save must leave
  nothing of the killed ones behind.
- :func:`concurrency_campaign`: writer processes saving and reader processes loading one index folder.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musicsearch import artifacts
from tests.helpers.artifact_cases import (  # noqa: F401 - the cases are part of this module's interface
    CASES,
    ArtifactCase,
    MixedArtifact,
    corpus_case,
    flatten_to_layout_before_versions,
    index_case,
    leftovers,
)


@dataclass
class KillReport:
    kind: str
    kills: int = 0  # children that died of SIGKILL at an injected point
    completed: int = 0  # children whose write ended before the chosen point (the point was past its end)
    loaded_old: int = 0  # loads that returned generation N after a kill
    loaded_new: int = 0  # loads that returned generation N+1
    lost: int = 0  # loads that failed or returned something older than N
    mixed: int = 0  # loads whose files came from two generations
    points: int = 0  # fault points of one clean write
    leftovers_after_clean_write: int = 0  # entries a clean write left behind (must be 0)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "failures"} | {
            "failures": self.failures[:5]}


# --------------------------------------------------------------------------------------- kill campaign
def _fault_points(case: ArtifactCase, generation: int, folder: Path) -> int:
    """How many fault points a write of ``generation`` passes, counted on a copy of ``folder``."""
    probe = folder.with_name(folder.name + "-probe")
    shutil.rmtree(probe, ignore_errors=True)
    shutil.copytree(folder, probe)
    seen: list[str] = []
    previous = artifacts.set_fault_hook(seen.append)
    try:
        case.save(generation, probe)
    finally:
        artifacts.set_fault_hook(previous)
        shutil.rmtree(probe, ignore_errors=True)
    return len(seen)


def _single_threaded_after_fork() -> None:
    # GNU OpenMP is not fork-safe: a forked child that enters a parallel region waits forever for the
    # parent's worker threads. With one thread torch never enters one.
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _save_and_die_at(case: ArtifactCase, generation: int, folder: Path, point: int) -> int:
    """Fork a child that saves ``generation`` and SIGKILLs itself at fault point ``point``; its wait status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into the test runner
        try:
            _single_threaded_after_fork()
            passed = [0]

            def die_here(label: str) -> None:
                if passed[0] == point:
                    os.kill(os.getpid(), signal.SIGKILL)
                passed[0] += 1

            artifacts.set_fault_hook(die_here)
            case.save(generation, folder)
        finally:
            os._exit(0)
    return os.waitpid(pid, 0)[1]


def kill_campaign(case: ArtifactCase, folder: Path, kills: int) -> KillReport:
    """Kill writers of ``case`` at every fault point in turn until ``kills`` kills; see the module docstring.

    The folder starts in the layout written before versions, so the first round also kills migrations.
    Within a round the kills follow each other (what one leaves, the next finds); a clean write ends it.
    """
    report = KillReport(case.kind)
    case.save(0, folder)
    flatten_to_layout_before_versions(folder)
    current = case.load(folder)
    generation = current
    while report.kills < kills:
        report.points = _fault_points(case, generation + 1, folder)
        for point in range(report.points):
            generation += 1
            status = _save_and_die_at(case, generation, folder, point)
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                report.kills += 1
            else:
                report.completed += 1
            try:
                loaded = case.load(folder)
            except MixedArtifact as error:
                report.mixed += 1
                report.failures.append(f"{case.kind} point {point}: {error}")
                continue
            except Exception as error:  # noqa: BLE001 - every failed load is counted, with its reason
                report.lost += 1
                report.failures.append(f"{case.kind} point {point}: {type(error).__name__}: {error}")
                continue
            if loaded == generation:
                report.loaded_new += 1
            elif loaded == current:
                report.loaded_old += 1
            else:
                report.lost += 1
                report.failures.append(f"{case.kind} point {point}: loaded generation {loaded}, expected "
                                       f"{current} or {generation}")
            current = loaded
        generation += 1
        case.save(generation, folder)  # the next clean write removes what the killed ones left
        current = generation
        report.leftovers_after_clean_write += len(leftovers(folder))
    return report


# -------------------------------------------------------------------------------- concurrency campaign
@dataclass
class ConcurrencyReport:
    writers: int
    saves_per_writer: int
    readers: int
    saves: int = 0
    loads: int = 0
    failed_loads: int = 0
    failed_saves: int = 0
    tracebacks: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "tracebacks"} | {
            "raw_tracebacks": len(self.tracebacks), "first_tracebacks": self.tracebacks[:3]}


def _writer(folder: Path, writer: int, saves: int, results: Any) -> None:
    _single_threaded_after_fork()
    case, failed, problems = index_case(), 0, []
    for number in range(saves):
        try:
            case.save(1000 * (writer + 1) + number, folder)
        except Exception:  # noqa: BLE001 - reported to the parent, never lost
            failed += 1
            problems.append(traceback.format_exc())
    results.put(("writer", saves - failed, failed, problems))


def _reader(folder: Path, stop: Any, results: Any) -> None:
    _single_threaded_after_fork()
    case, loads, failed, problems = index_case(), 0, 0, []
    while not stop.is_set() or loads == 0:
        try:
            case.load(folder)
        except Exception:  # noqa: BLE001 - reported to the parent, never lost
            failed += 1
            problems.append(traceback.format_exc())
        loads += 1
    results.put(("reader", loads, failed, problems))


def concurrency_campaign(folder: Path, *, writers: int = 4, saves: int = 15, readers: int = 4) -> ConcurrencyReport:
    """``writers`` processes save ``saves`` indexes each into ``folder`` while ``readers`` processes load it
    in a loop until the writers are done; then one clean save must leave nothing behind."""
    report = ConcurrencyReport(writers, saves, readers)
    index_case().save(0, folder)
    context = multiprocessing.get_context("fork")
    results, stop = context.Queue(), context.Event()
    started = time.perf_counter()
    reading = [context.Process(target=_reader, args=(folder, stop, results)) for _ in range(readers)]
    writing = [context.Process(target=_writer, args=(folder, w, saves, results)) for w in range(writers)]
    for process in reading + writing:
        process.start()
    outcomes = [results.get(timeout=600) for _ in range(writers)]
    stop.set()
    outcomes += [results.get(timeout=600) for _ in range(readers)]
    for process in reading + writing:
        process.join(timeout=60)
        if process.exitcode != 0:
            report.tracebacks.append(f"{process.name} exited with {process.exitcode}")
    report.seconds = round(time.perf_counter() - started, 2)
    for role, done, failed, problems in outcomes:
        if role == "writer":
            report.saves, report.failed_saves = report.saves + done, report.failed_saves + failed
        else:
            report.loads, report.failed_loads = report.loads + done, report.failed_loads + failed
        report.tracebacks += problems
    index_case().save(1, folder)
    report.leftovers = leftovers(folder)
    return report
