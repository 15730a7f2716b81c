"""Does the masked-music objective help retrieval? Frozen vs fine-tuned text encoder, with and without it.

Usage: python benchmarks/training_modes.py [--epochs 2] [--variants NAME,NAME] [--pretrain-steps 300]
       [--out NAME] [--save-models DIR]
(writes benchmarks/results/training_modes.json, or the --out name).

Every variant trains the quick preset on the same corpus and seed, and is evaluated on the same held-out
tunes (caption retrieval MRR / Hit@k, category nDCG@10), so rows differ only by the variant's settings.
Variants: the four of ``musicsearch.studies.training_modes.VARIANTS`` (masked music as an auxiliary loss) plus
``frozen + masked-music pretraining`` (the music encoder first learns to reconstruct masked patches alone,
300 steps by default; ``--pretrain-steps 100,300`` compares step counts) and ``frozen + reworded captions``
(:data:`REWORDING_VARIANTS`).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def _pretraining_variants(steps: list[int]) -> dict[str, dict]:
    """One frozen-text variant per pretraining step count (300 keeps its historical name)."""
    def name(count: int) -> str:
        return "frozen + masked-music pretraining" if count == 300 else f"frozen + {count} masked-music pretraining steps"

    return {name(count): {"text_mode": "frozen", "mlm_pretrain_steps": count} for count in steps}


# Captions in other wordings (data/phrasings.py), as the release preset trains: four dropout variants per
# tune, half their phrases reworded. Compare with "frozen" in the same run.
REWORDING_VARIANTS = {"frozen + reworded captions": {"text_mode": "frozen", "caption_variants": 4, "rewording": 0.5}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=2.0, help="epochs per variant (the quick preset has 8)")
    parser.add_argument("--variants", default=None, help="comma-separated variant names (default: all)")
    parser.add_argument("--out", default="training_modes.json", help="file name under benchmarks/results/")
    parser.add_argument("--pretrain-steps", default="300",
                        help="comma-separated step counts of the pretraining variants")
    parser.add_argument("--save-models", default=None, help="folder to save each variant's model in (optional)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import musicsearch as ms
    from musicsearch.artifacts import write_json
    from musicsearch.studies.training_modes import VARIANTS, compare_training_modes

    known = {**VARIANTS, **_pretraining_variants([int(count) for count in args.pretrain_steps.split(",")]),
             **REWORDING_VARIANTS}
    names = args.variants.split(",") if args.variants else list(known)
    unknown = [name for name in names if name not in known]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {list(known)}")
    corpus = ms.load_corpus("music21", progress=False)
    started = time.perf_counter()
    rows, reports = compare_training_modes(corpus, "quick", variants={name: known[name] for name in names},
                                           epochs=args.epochs, eval_every=0, save_dir=args.save_models)
    print(f"{'variant':36}{'MRR':>8}{'Hit@10':>8}{'nDCG@10':>9}{'train s':>9}")
    for row in rows:
        print(f"{row['variant']:36}{row['mrr']:8.3f}{row['hit@10']:8.3f}{row['category_ndcg@10']:9.3f}"
              f"{row['train_s']:9.0f}")
    out = Path(__file__).parent / "results" / args.out
    write_json(out, {"epochs": args.epochs, "seconds": round(time.perf_counter() - started, 1), "rows": rows,
                     "reports": reports})
    print(f"written to {out}")


if __name__ == "__main__":
    main()
