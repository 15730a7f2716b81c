"""Fault figures of the artifact writer: kills at every write step, concurrent writers and readers.

Usage: python benchmarks/faults.py [--kills 200] [--saves 100] [--quick]   (writes benchmarks/results/faults.json)

- Kill campaign: for each artifact kind (index, corpus, model, checkpoint) a forked child saving version
  N+1 over N is SIGKILLed at each injected point of the write path in turn, ``--kills`` times per kind;
  after each kill the folder must load as N or N+1 with every file of one version (0 lost, 0 mixed), and
  the clean write ending each round must leave nothing behind.
- Concurrency: 4 writer processes x ``--saves`` saves and 4 reader processes looping on one index folder
  for the same time: 0 raw tracebacks, 0 failed loads, no folder left behind.

The campaigns live in ``tests/helpers/faults.py`` (the CI suite ``tests/reliability`` runs short ones).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=200, help="kills per artifact kind (default 200)")
    parser.add_argument("--saves", type=int, default=100, help="saves per writer process (default 100)")
    parser.add_argument("--quick", action="store_true", help="50 kills per kind, 4 x 15 saves (the CI sizes)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "faults.json"))
    arguments = parser.parse_args()
    kills, saves = (50, 15) if arguments.quick else (arguments.kills, arguments.saves)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ["MUSICSEARCH_HOME"] = tempfile.mkdtemp(prefix="musicsearch-faults-")
    sys.path.insert(0, str(ROOT))  # the campaigns are shared with the test suite
    logging.disable(logging.WARNING)  # one cleanup line per round otherwise
    from musicsearch.artifacts import write_json
    from tests.helpers import faults

    root = Path(tempfile.mkdtemp(prefix="musicsearch-faults-"))
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "kills_per_kind": kills, "kinds": {}}
    for kind, make in faults.CASES.items():
        start = time.perf_counter()
        report = faults.kill_campaign(make(), root / kind, kills)
        results["kinds"][kind] = {**report.as_dict(), "seconds": round(time.perf_counter() - start, 1)}
        print(f"{kind:>10}: {report.kills} kills at {report.points} points, lost {report.lost}, mixed "
              f"{report.mixed}, old {report.loaded_old} / new {report.loaded_new}, leftovers "
              f"{report.leftovers_after_clean_write}")
    concurrency = faults.concurrency_campaign(root / "concurrent-index", writers=4, saves=saves, readers=4)
    results["concurrency"] = concurrency.as_dict()
    print(f"concurrency: {concurrency.saves} saves, {concurrency.loads} loads in {concurrency.seconds} s, failed "
          f"loads {concurrency.failed_loads}, failed saves {concurrency.failed_saves}, raw tracebacks "
          f"{len(concurrency.tracebacks)}, leftovers {concurrency.leftovers}")
    totals = results["kinds"].values()
    results["summary"] = {"kills": sum(r["kills"] for r in totals), "lost": sum(r["lost"] for r in totals),
                          "mixed": sum(r["mixed"] for r in totals),
                          "leftovers": sum(r["leftovers_after_clean_write"] for r in totals),
                          "concurrent_loads": concurrency.loads, "failed_loads": concurrency.failed_loads,
                          "raw_tracebacks": len(concurrency.tracebacks)}
    write_json(arguments.out, results)
    print(f"wrote {arguments.out}")
    failed = results["summary"]["lost"] + results["summary"]["mixed"] + results["summary"]["leftovers"] + \
        concurrency.failed_loads + concurrency.failed_saves + len(concurrency.tracebacks) + len(concurrency.leftovers)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
