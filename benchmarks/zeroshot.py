"""Zero-shot classification figures: accuracy and macro-F1 on held-out tunes, with the references.

Usage: python benchmarks/zeroshot.py [--model DIR] [--quick]
(writes benchmarks/results/zeroshot.json, or zeroshot-quick.json with --quick).

For each task (tune type, origin, mode, meter) the same held-out tunes the model never trained on are
classified by: the majority class (floor), one prompt template, the prompt ensemble, and a logistic-regression
linear probe trained on the same music embeddings (supervised reference). All in one run, one model.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None, help="model folder (default: the default model)")
    parser.add_argument("--quick", action="store_true", help="500 training and 300 test tunes per task")
    arguments = parser.parse_args()
    import musicsearch as ms
    from musicsearch.evaluation.zeroshot import evaluate_zero_shot, format_zero_shot_results

    model = ms.load_model(arguments.model)
    corpus = ms.load_corpus("music21", progress=False)
    sizes = {"max_train": 500, "max_test": 300} if arguments.quick else {"max_train": 4000, "max_test": 2000}
    start = time.perf_counter()
    results = evaluate_zero_shot(model, corpus, progress=True, **sizes)
    seconds = time.perf_counter() - start
    for metric in ("accuracy", "macro_f1"):
        print(f"\n{metric}\n" + format_zero_shot_results(results, metric=metric))
    summary = {task: {method: round(scores["macro_f1"], 4) for method, scores in result.scores.items()}
               for task, result in results.items()}
    figures = {"model": str(arguments.model or ms.default_model_dir()), "corpus_records": len(corpus),
               "seconds": round(seconds, 1), **sizes, "macro_f1": summary,
               "tasks": {task: asdict(result) for task, result in results.items()}}
    out = Path(__file__).parent / "results" / ("zeroshot-quick.json" if arguments.quick else "zeroshot.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"\n{seconds:.1f} s; written to {out}")


if __name__ == "__main__":
    main()
