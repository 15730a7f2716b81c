"""Fine-tune demonstration figures: a trained model continued on the Essen songs' own prose, before vs after.

Usage: python benchmarks/finetune.py [--init default] [--workshop]
(writes benchmarks/results/finetune_essen.json, or finetune_essen-workshop.json with --workshop).

The same run as notebook 02's section 9 in full mode: every Essen song whose metadata holds prose (the
editors' notes and sources, :func:`musicsearch.data.texts.prose_text`; ``--workshop``: 1,000 of them, as
``WORKSHOP = True``) becomes a table with a text column; ``ms.train("quick", table, init=...)`` holds out
10% of it, fine-tunes for two epochs on the rest and evaluates the init model and the fine-tuned one on
the held-out songs, each song's own prose the query. The init model is never trained on prose: its
captions come from tags, so the "before" row is what it finds from text it has not seen the like of.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

FINETUNE = {"epochs": 2.0, "batch_size": 64, "caption_variants": 0}  # notebook 02's FINETUNE in full mode
WORKSHOP_TUNES = 1000  # notebook 02's PROSE_TUNES with WORKSHOP = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--init", default="default", help="the model to start from (default: the default model)")
    parser.add_argument("--workshop", action="store_true", help=f"{WORKSHOP_TUNES} Essen songs, as in a workshop")
    arguments = parser.parse_args()
    import musicsearch as ms
    from musicsearch.data.tables import write_table
    from musicsearch.data.texts import prose_text
    from musicsearch.training.finetune import format_finetune_report

    load_start = [round(x, 2) for x in os.getloadavg()]
    started, cpu_started = time.perf_counter(), time.process_time()
    init = ms.load_model(None if arguments.init == "default" else arguments.init)
    corpus = ms.load_corpus("music21", progress=False)
    essen = corpus.filter(lambda record: record.collection == "essenFolksong")
    with tempfile.TemporaryDirectory() as folder:
        table, written = write_table(essen, Path(folder) / "essen_prose.jsonl", text=prose_text)
        mine = ms.load_corpus(table, progress=False)
        mine = mine.sample(WORKSHOP_TUNES, seed=0) if arguments.workshop else mine
        _, history = ms.train("quick", mine, init=init, progress=True, eval_every=0, **FINETUNE)
    report = history.info["finetune"]
    print(format_finetune_report(report))
    figures = {"finetune": {**report, "init": arguments.init},
               "init_fingerprint": getattr(init, "fingerprint", None),
               "essen_songs": len(essen), "songs_with_prose": written, "songs_used": len(mine),
               "settings": {"preset": "quick", **FINETUNE},
               "machine": f"{platform.machine()}, {os.cpu_count()} cores",
               "wall_s": round(time.perf_counter() - started, 1), "cpu_s": round(time.process_time() - cpu_started, 1),
               "load_average_at_start": load_start, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    name = "finetune_essen-workshop.json" if arguments.workshop else "finetune_essen.json"
    out = Path(__file__).parent / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"{figures['wall_s']:.0f} s; written to {out}")


if __name__ == "__main__":
    main()
