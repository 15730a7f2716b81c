"""The released model against the quick preset, same run, same held-out tunes; and the default index's build.

Usage: python benchmarks/release.py [--quick-model DIR] [--skip-index]
(writes benchmarks/results/release.json).

Rows: held-out caption retrieval (MRR, Hit@1/10/100), category nDCG@10 (with a 95% bootstrap interval over
its queries) and zero-shot macro-F1 per task (prompt ensemble) of the released model (shipped in the
package) and of a quick-preset model (default: ``MUSICSEARCH_HOME/models/default``, what ``make model``
trained before the release), with each one's recorded training time. Then the default index built from
scratch for the released model in a fresh ``MUSICSEARCH_HOME`` (corpus cache copied in, so the figure is the
index alone), the issue's ≤ 60 s target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Written by hand into release.json (the earlier releases' recorded figures, how the release was trained,
# release runs that were not shipped):
# another run of this script keeps them.
KEPT_FROM_EARLIER_RUNS = ("previous_releases", "train_note", "unshipped_runs")


def _figures(model_dir: Path | None) -> dict:
    import musicsearch as ms
    from musicsearch import artifacts, paths
    from musicsearch.search.default_index import recorded_fingerprint
    from musicsearch.training.release import held_out_figures

    folder = model_dir or paths.released_model_dir()
    model = ms.load_model(folder)
    corpus = ms.load_corpus("music21", progress=False)
    started = time.perf_counter()
    figures = held_out_figures(model, corpus, intervals=True)
    version = artifacts.current_version(folder, "model")
    config = json.loads((version / "config.json").read_text())
    run = config.get("training") or {}
    if (version / "training.json").is_file():  # the released model keeps its run's report beside it
        run = json.loads((version / "training.json").read_text()).get("run") or run
    return {"model": str(folder), "fingerprint": recorded_fingerprint(folder), "preset": config.get("preset")
            or (config.get("config", {}).get("architecture", {}) or {}).get("preset"),
            "corpus_trained_on": run.get("corpus_fingerprint"),
            "train_s": run.get("wall_time_s"), "steps": run.get("total_steps"),
            "evaluation_s": round(time.perf_counter() - started, 1), **figures}


def _index_build_seconds() -> dict:
    """Build the default index in a fresh home (corpus cache copied in) in a separate process, timed."""
    import musicsearch as ms
    from musicsearch import paths

    with tempfile.TemporaryDirectory(prefix="release-bench-") as home:
        source = paths.corpora_dir()
        name = ms.load_corpus("music21", progress=False).fingerprint
        shutil.copytree(source / name, Path(home) / "corpora" / name)
        environment = {**os.environ, "MUSICSEARCH_HOME": home}
        environment.pop("MUSICSEARCH_MODEL", None)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import musicsearch as ms; ms.load_index(progress=False)"],
                       check=True, env=environment)
        build = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import musicsearch as ms; ms.load_index(progress=False)"],
                       check=True, env=environment)
        return {"index_build_s": round(build, 1), "index_load_s": round(time.perf_counter() - started, 1),
                "index_target_s": 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick-model", default=None, help="quick-preset model folder (default: models/default)")
    parser.add_argument("--skip-index", action="store_true", help="leave out the index build timing")
    arguments = parser.parse_args()
    import musicsearch as ms
    from musicsearch import paths

    quick = Path(arguments.quick_model) if arguments.quick_model else paths.trained_model_dir("default")
    started = time.perf_counter()
    rows = {"released": _figures(None)}
    if ms.artifact_exists(quick, "model"):
        rows["quick"] = _figures(quick)
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "load_average": os.getloadavg(),
              "protocol": "held-out tunes of music21's corpus, the split neither model trained on; caption = "
              "own caption without title; category = typed category queries; zero-shot = prompt ensemble",
              "targets": {"mrr": 0.45, "category_ndcg@10": 0.80, "zeroshot_mode_macro_f1": 0.60},
              "rows": rows}
    if not arguments.skip_index:
        result.update(_index_build_seconds())
    result["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(__file__).parent / "results" / "release.json"
    if out.is_file():  # rows of earlier releases and notes on how this one was trained are kept, not measured
        earlier = json.loads(out.read_text())
        result.update({key: earlier[key] for key in KEPT_FROM_EARLIER_RUNS if key in earlier})
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
