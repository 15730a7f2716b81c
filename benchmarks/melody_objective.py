"""Does the melodic-identity objective help fragment retrieval, and what does it cost text retrieval?

Usage: python benchmarks/melody_objective.py [--epochs 8] [--weight 0.5] [--save-models /tmp/melody_objective]
(writes benchmarks/results/melody_objective.json).

Two arms, one after the other on the same machine: the quick preset on the full default corpus, same seed
and epochs, with ``melody_weight=0`` and with the objective on (``--weight``). Each is measured on the tunes
its training held out: caption retrieval (MRR, Hit@10) and category nDCG@10 from ``ms.evaluate_retrieval``,
and fragment retrieval by the music embedding alone (4-bar fragments of the held-out tunes: exact,
transposed, one wrong note per bar, from :func:`musicsearch.evaluation.melody.make_fragments`) ranked
against every tune of the melody index (the corpus less the tunes the melodic parser cannot read),
queries and tunes encoded in batches.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

KINDS = ("exact", "transposed", "wrong_1")


def _text_figures(report: dict) -> dict:
    caption = report["caption_retrieval"]["model"]
    return {"mrr": caption["mrr"], "hit@10": caption["hit@10"],
            "category_ndcg@10": report["category_retrieval"]["ndcg@10_mean"]["model"]}


def _fragment_figures(model, index, records_by_id: dict, fragments, k: int = 10) -> dict:
    """Hit@1, Hit@k and MRR (0 beyond k) of the embedding alone per fragment set, queries encoded in batches."""
    import numpy as np

    vectors = model.encode_music([records_by_id[record_id].abc for record_id in index.ids])
    queries = model.encode_music([fragment.abc for fragment in fragments])
    row_of = {record_id: row for row, record_id in enumerate(index.ids)}
    groups = np.asarray(index.groups)
    ranks: dict[str, list[float]] = {}
    for fragment, scores in zip(fragments, queries @ vectors.T, strict=True):
        top = np.argsort(-scores, kind="stable")[:k]
        hits = np.flatnonzero(groups[top] == groups[row_of[fragment.source_id]])
        ranks.setdefault(f"{fragment.kind}/{fragment.bars}", []).append(hits[0] + 1 if len(hits) else np.inf)
    return {name: {"fragments": len(values), "hit@1": round(float(np.mean(np.array(values) <= 1)), 4),
                   f"hit@{k}": round(float(np.mean(np.array(values) <= k)), 4),
                   "mrr": round(float(np.mean(1.0 / np.array(values))), 4)} for name, values in ranks.items()}


def _trained_arm(ms, corpus, folder: Path, epochs: float, weight: float, reuse: bool):
    """``(model, history dict, train seconds)``: trained now, or the finished model already in ``folder``."""
    import json

    if reuse and (folder / "history.json").exists():
        history = json.loads((folder / "history.json").read_text())
        settings = history["config"]["training"]
        if settings["epochs"] == epochs and settings["melody_weight"] == weight:
            return ms.load_model(folder), history, history["info"]["wall_time_s"]
    tick = time.perf_counter()
    model, history = ms.train("quick", corpus, out=folder, progress=False, epochs=epochs, eval_every=0,
                              melody_weight=weight)
    return model, history.to_dict(), time.perf_counter() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=8.0, help="epochs per arm (the quick preset has 8)")
    parser.add_argument("--weight", type=float, default=0.5, help="melody_weight of the arm with the objective")
    parser.add_argument("--save-models", default="/tmp/melody_objective", help="folder for both arms' models")
    parser.add_argument("--reuse", action="store_true",
                        help="evaluate an arm's finished model already in --save-models (same epochs and weight) "
                             "instead of training it again; its recorded wall time is reported")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    import musicsearch as ms
    from musicsearch.artifacts import write_json
    from musicsearch.evaluation.melody import make_fragments
    from musicsearch.search.melody import MelodyIndex

    corpus = ms.load_corpus(progress=False)
    started = time.perf_counter()
    index = MelodyIndex.build(list(corpus))
    records_by_id = {record.id: record for record in corpus}
    held_out = corpus.split(ms.get_config("quick").training.holdout, 0)[1]
    indexed = set(index.ids)
    fragments = make_fragments([r for r in held_out if r.id in indexed], bars=(4,), kinds=KINDS, seed=0)
    out = Path(__file__).parent / "results" / "melody_objective.json"
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}; "
                         "shared with other jobs (load average about 4 on 2 cores)",
              "preset": "quick", "epochs": args.epochs, "corpus_tunes": len(corpus), "heldout_tunes": len(held_out),
              "melody_index_tunes": len(index), "fragments": len(fragments),
              "protocol": "4-bar fragments of held-out tunes; the embedding alone ranks every tune of the melody "
                          "index; answer = the source tune or an identical melody; MRR 0 beyond rank 10",
              "timing_note": "train_s is wall time on a machine shared with other jobs whose load changed between "
                             "the arms; it is not a measure of the objective's step cost",
              "arms": {}}
    for name, weight in (("off", 0.0), ("on", args.weight)):
        model, history, train_s = _trained_arm(ms, corpus, Path(args.save_models) / name, args.epochs, weight,
                                               args.reuse)
        steps = history["steps"]
        tick = time.perf_counter()
        text = _text_figures(ms.evaluate_retrieval(model, corpus))
        fragment = _fragment_figures(model, index, records_by_id, fragments)
        result["arms"][name] = {"melody_weight": weight, "train_s": round(train_s, 1),
                                "s_per_step": round(train_s / max(len(steps), 1), 3), "steps": len(steps),
                                "final_clip_loss": steps[-1]["clip_loss"],
                                "final_melody_loss": steps[-1].get("melody_loss"), "text": text,
                                "fragments": fragment, "evaluation_s": round(time.perf_counter() - tick, 1),
                                "model": str(Path(args.save_models) / name)}
        print(name, result["arms"][name], flush=True)
        write_json(out, result)
    off, on = result["arms"]["off"], result["arms"]["on"]
    result["mrr_change"] = round(on["text"]["mrr"] - off["text"]["mrr"], 4)
    result["fragment_hit@10_change"] = {kind: round(on["fragments"][kind]["hit@10"] - off["fragments"][kind]["hit@10"], 4)
                                        for kind in off["fragments"]}
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_json(out, result)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
