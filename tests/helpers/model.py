"""Shared, cheap inputs of the model tests: a few hand-written tunes with captions, a tiny corpus, and the
presets in the flat layout configs had before architecture and training settings were split."""

from __future__ import annotations

import functools

from musicsearch.data.captions import caption_parts, make_captions, tags_of
from musicsearch.data.corpus import Corpus, Record

TUNES = {
    "reel": ("L:1/8\nM:4/4\nK:D\n|:d2fd AdFA|d2fd gfed|B2GB A2FA|dfed d4:|", {"rhythm": "reel", "key": "D"}),
    "jig": ("L:1/8\nM:6/8\nK:G\n|:GAG GBd|gdB GBd|cAF DFA|GBA G3:|", {"rhythm": "jig", "meter": "6/8"}),
    "air": ("L:1/4\nM:3/4\nK:Am\nA2 B|c2 B|A3|E3|", {"rhythm": "air", "key": "Am"}),
    "hornpipe": ("L:1/8\nM:2/4\nK:A\n|:(3efg|afec A2 Bc|d2fd cAEA:|", {"rhythm": "hornpipe"}),
}


def _record(index: int, name: str, abc: str, metadata: dict[str, str], collection: str) -> Record:
    metadata = {"title": f"Tune {index}", **metadata}
    tags = tags_of(abc, metadata, collection)
    return Record(id=f"{collection}/{name}{index}.abc", source=f"{name}{index}.abc", ref=None,
                  collection=collection, abc=abc, metadata=metadata, captions=make_captions(tags),
                  caption_parts=caption_parts(tags))


@functools.lru_cache(maxsize=1)
def tiny_corpus(copies: int = 12) -> Corpus:
    """``copies`` slightly varied copies of each tune, in two collections (about 50 records, no files read)."""
    records = []
    for index in range(copies):
        for position, (name, (abc, metadata)) in enumerate(TUNES.items()):
            # Vary the notes so tunes are not identical: append one bar that depends on the copy.
            bar = "abcdefg"[index % 7] + "ABCDEFG"[(index + position) % 7] + "2|"
            collection = "ryansMammoth" if position % 2 == 0 else "oneills1850"
            records.append(_record(index, name, abc + bar, metadata, collection))
    return Corpus(records, "tiny-test")


# The presets as they were when architecture and training settings shared one flat config: the split must
# not change a single value.
FLAT_DEFAULTS = {
    "preset": "quick", "max_patches": 64, "hidden_size": 192, "num_layers": 3, "num_heads": 4,
    "intermediate_size": 576, "dropout": 0.1, "embed_dim": 256, "init_logit_scale": 14.3, "max_logit_scale": 100.0,
    "text_model": "all-MiniLM-L6-v2", "text_mode": "frozen", "text_trainable_layers": 2, "max_text_length": 128,
    "tiny_text_hidden": 32, "tiny_text_layers": 2, "holdout": 0.1, "split_seed": 0, "text_dropout": True,
    "caption_variants": 2, "dropout_max_parts": 3, "sampling_power": 0.5, "collection_ratios": {}, "epochs": 8.0,
    "max_steps": 0, "batch_size": 128, "length_buckets": 4, "learning_rate": 0.001, "text_learning_rate": 3e-05,
    "weight_decay": 0.01, "warmup_ratio": 0.05, "grad_clip": 1.0, "seed": 0, "mlm_weight": 0.0,
    "mlm_pretrain_steps": 0, "mask_ratio": 0.45, "decoder_size": 32, "eval_every": 100, "eval_size": 500,
    "checkpoint_every": 200, "num_threads": 0}
FLAT_PRESETS = {
    "tiny": {**FLAT_DEFAULTS, "preset": "tiny", "max_patches": 32, "hidden_size": 32, "num_layers": 2,
             "num_heads": 2, "intermediate_size": 64, "embed_dim": 32, "text_model": "tiny-random-bert",
             "text_mode": "finetune", "caption_variants": 1, "epochs": 1.0, "batch_size": 16,
             "learning_rate": 0.003, "text_learning_rate": 0.001, "decoder_size": 8, "eval_every": 0,
             "eval_size": 64, "checkpoint_every": 0},
    "quick": FLAT_DEFAULTS,
    "base": {**FLAT_DEFAULTS, "preset": "base", "max_patches": 256, "hidden_size": 512, "num_layers": 6,
             "num_heads": 8, "intermediate_size": 2048, "embed_dim": 512, "text_mode": "finetune",
             "text_trainable_layers": 6, "max_text_length": 256, "caption_variants": 4, "dropout_max_parts": 4,
             "epochs": 30.0, "batch_size": 256, "learning_rate": 0.0003, "mlm_weight": 0.2,
             "mlm_pretrain_steps": 2000, "eval_every": 500, "eval_size": 1000, "checkpoint_every": 1000},
}
