"""Shared, cheap inputs of the model tests: a few hand-written tunes with captions, and a tiny corpus."""

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
