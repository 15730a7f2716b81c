"""The head fit's options on dev tunes: caption MRR, dev category nDCG@10 and zero-shot macro-F1 per setting.

Usage: python benchmarks/head_fit_dev.py [--model DIR ...] [--shares 0,0.4] [--seed 7] [--steps 16000]
(writes benchmarks/results/head_fit_dev.json).

How the release recipe's last stage (:mod:`musicsearch.training.head_refit`) is chosen without looking at
the held-out split. Dev tunes are a tenth of the release's *training* tunes (``Corpus.split`` with
``--seed``); for each model (its music encoder, frozen) and each ``head_refit_phrase_share`` a fresh text
head is fitted, with the release preset's settings, on the other nine tenths, starting the music projection
from the model's own. Then, on the dev tunes:

- ``mrr``: each dev tune's own caption (title left out) against all dev tunes;
- ``category_ndcg@10``: 30 dev category queries, worded unlike the evaluation's ``CATEGORY_QUERIES`` (those
  with at least 5 relevant dev tunes count);
- ``zeroshot``: macro-F1 of the prompt ensemble per task, the dev tunes as the test part.

The shipped model's head was fitted on all training tunes, dev tunes included, so only the refitted heads
are compared here. About 3.5 minutes per setting on 2 cores, plus 2 minutes per model.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import time
from pathlib import Path

# Dev category queries: other wordings than the evaluation's, so choosing on them does not fit its phrasing.
DEV_QUERIES = [
    ("fiddle reels", {"tune_type": "reel"}), ("a double jig", {"tune_type": ("jig", "double jig", "single jig")}),
    ("slip jigs", {"tune_type": "slip jig"}), ("a hornpipe for dancing", {"tune_type": "hornpipe"}),
    ("strathspey from Scotland", {"tune_type": "strathspey"}), ("marching tune", {"tune_type": ("march", "quickstep")}),
    ("songs of love", {"tune_type": "love song"}), ("a nursery song for kids", {"tune_type": "children's song"}),
    ("a long narrative ballad", {"tune_type": "ballad"}), ("a narrative song", {"tune_type": "narrative song"}),
    ("a drinking song", {"tune_type": "drinking song"}), ("a sacred hymn", {"tune_type": "sacred song"}),
    ("a wedding song", {"tune_type": "wedding song"}), ("a soldiers' song", {"tune_type": "soldiers' song"}),
    ("a Chinese mountain song", {"tune_type": "Chinese mountain song (shange)"}),
    ("a chorale by J. S. Bach", {"collection": "bach"}), ("folk music from Lorraine", {"origin": "Lorraine"}),
    ("a song from Luxembourg", {"origin": "Luxembourg"}), ("Irish dance music", {"origin": "Ireland"}),
    ("a folk song from Germany", {"origin": "Germany"}), ("Chinese melody", {"origin": "China"}),
    ("sad, in a minor key", {"mode": "minor"}), ("a mixolydian tune", {"mode": "mixolydian"}),
    ("a tune in the dorian mode", {"mode": "dorian"}), ("waltz time, 3/4", {"meter": "3/4"}),
    ("two-four time", {"meter": "2/4"}), ("in common time", {"meter": "4/4"}), ("a melody in major", {"mode": "major"}),
    ("compound time 6/8", {"meter": "6/8"}), ("nine-eight time", {"meter": "9/8"}),
]


def _fit(model, pooled, fit, text_pool, text_ids, phrase_ids, collections, share: float, seed: int, steps: int):
    """A fresh head of the release architecture and a copy of the music projection, fitted on the ``fit`` tunes."""
    import torch

    from musicsearch.models.losses import LogitScale
    from musicsearch.training.config import get_config
    from musicsearch.training.head_refit import fit_head, fresh_text_head
    from musicsearch.training.sampling import CollectionSampler

    config = get_config("release")
    training, architecture = config.training, config.architecture
    torch.manual_seed(seed)
    head = fresh_text_head(model, architecture)
    music_proj = copy.deepcopy(model.music_proj)
    scale = LogitScale(model.logit_scale().item(), model.logit_scale.max_scale)
    sampler = CollectionSampler([collections[i] for i in fit], power=training.sampling_power,
                                ratios=training.collection_ratios, seed=seed)
    fit_head(head, music_proj, pooled[fit], text_pool, [text_ids[i] for i in fit], sampler, random.Random(seed),
             steps=steps, batch_size=training.batch_size, learning_rate=training.learning_rate,
             weight_decay=training.weight_decay, warmup_ratio=training.warmup_ratio, logit_scale=scale,
             phrase_ids=[phrase_ids[i] for i in fit], phrase_share=share)
    fitted = copy.deepcopy(model)
    fitted.text_proj, fitted.music_proj = head.eval(), music_proj
    return fitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", action="append", help="model folder (repeatable; default: the released model)")
    parser.add_argument("--shares", default="0,0.4", help="head_refit_phrase_share values, comma-separated")
    parser.add_argument("--seed", type=int, default=7, help="dev split, head initialisation and draws")
    parser.add_argument("--steps", type=int, default=16_000, help="head-fit steps (the release preset's: 16,000)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "head_fit_dev.json"))
    args = parser.parse_args()

    import numpy as np

    import musicsearch as ms
    from musicsearch import paths
    from musicsearch.data.corpus import Corpus
    from musicsearch.data.texts import query_caption
    from musicsearch.evaluation.checks import check_metrics
    from musicsearch.evaluation.metrics import ndcg_at_k, own_item_metrics
    from musicsearch.evaluation.retrieval import matches
    from musicsearch.evaluation.zeroshot import evaluate_zero_shot
    from musicsearch.training.config import get_config
    from musicsearch.training.head_refit import caption_phrases, pooled_music
    from musicsearch.training.run import prepare_data

    started = time.perf_counter()
    corpus = ms.load_corpus("music21", progress=False)
    data, _ = prepare_data(get_config("release"), corpus)  # the training tunes only: held-out never enters
    by_id = {record.id: record for record in corpus}
    training_tunes = Corpus([by_id[tune] for tune in data.ids], "release-training")
    dev_ids = {record.id for record in training_tunes.split(0.1, seed=args.seed)[1]}
    dev = [i for i, tune in enumerate(data.ids) if tune in dev_ids and query_caption(by_id[tune])]
    fit = [i for i, tune in enumerate(data.ids) if tune not in dev_ids]
    phrases = caption_phrases(data.parts)
    texts = list(dict.fromkeys([t for tune in data.texts for t in tune] + [t for tune in phrases for t in tune]))
    row = {text: i for i, text in enumerate(texts)}
    text_ids = [[row[t] for t in tune] for tune in data.texts]
    phrase_ids = [[row[t] for t in tune] for tune in phrases]
    relevant = [np.array([matches(by_id[data.ids[i]], category) for i in dev]) for _, category in DEV_QUERIES]
    counted = [k for k, rel in enumerate(relevant) if rel.sum() >= 5]
    cache = paths.cache_dir() / "text"
    captions = [query_caption(by_id[data.ids[i]]) for i in dev]
    rows = {}
    for folder in args.model or [str(paths.released_model_dir())]:
        model = ms.load_model(folder)
        pooled = pooled_music(model, data.patches, batch_size=128, progress=True)
        text_pool = model.text_encoder.embed(texts, batch_size=128, progress=True, cache_root=cache).float()
        for share in [float(value) for value in args.shares.split(",")]:
            began = time.perf_counter()
            fitted = _fit(model, pooled, fit, text_pool, text_ids, phrase_ids, data.collections, share, args.seed,
                          args.steps)
            music = fitted.encode_music([by_id[data.ids[i]] for i in dev])
            similarity = fitted.encode_text(captions) @ music.T
            categories = fitted.encode_text([query for query, _ in DEV_QUERIES]) @ music.T
            zeroshot = evaluate_zero_shot(fitted, training_tunes, holdout=0.1, seed=args.seed)
            figures = {"mrr": own_item_metrics(similarity)["mrr"],
                       "category_ndcg@10": float(np.mean([ndcg_at_k(categories[k], relevant[k]) for k in counted])),
                       **{f"zeroshot_{task}_macro_f1": result.scores["zero-shot (ensemble)"]["macro_f1"]
                          for task, result in zeroshot.items()}}
            check_metrics(figures, where=f"head fit on dev tunes ({folder}, share {share})")
            key = f"{model.fingerprint} share {share}"
            rows[key] = {"model": str(folder), "phrase_share": share, **{k: round(v, 4) for k, v in figures.items()},
                         "seconds": round(time.perf_counter() - began, 1)}
            print(key, json.dumps(rows[key]), flush=True)
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "load_average": list(os.getloadavg()),
              "protocol": f"dev = 10% of the release's training tunes (Corpus.split seed {args.seed}), "
                          f"{len(dev)} with a caption; heads fitted on the other {len(fit)} for {args.steps} steps",
              "dev_queries_counted": len(counted), "rows": rows, "seconds": round(time.perf_counter() - started, 1)}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
