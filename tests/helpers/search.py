"""Shared test helpers for search and zero-shot: a deterministic fake encoder and hand-made records.

The fake model has the two encode methods of the embedding contract. It reads musical words from the
ABC itself (6/8 -> "jig", 4/4 -> "reel", 3/4 -> "waltz", 3/2 -> "hornpipe"-like, key letter, minor
mode) and hashes words into a vector, so a text query such as "a jig in D" lands near the D-major 6/8
tunes: enough semantics to test ranking without training anything.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from musicsearch.data.corpus import Record

DIM = 64
METER_WORDS = {"6/8": "jig", "4/4": "reel", "3/4": "waltz", "2/4": "polka", "9/8": "slipjig"}
_WORD = re.compile(r"[a-z0-9]+")


def _word_vector(word: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)


def _embed_words(words: list[str], weights: list[float] | None = None) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    for word, weight in zip(words, weights or [1.0] * len(words)):
        vector += weight * _word_vector(word)
    return vector


def music_words(abc: str) -> list[str]:
    """The words the fake music encoder 'hears' in an ABC tune."""
    meter = re.search(r"^M:\s*(\S+)", abc, re.M)
    key = re.search(r"^K:\s*([A-G])(m?)", abc, re.M)
    words = [METER_WORDS.get(meter.group(1), "tune") if meter else "tune"]
    if key:
        words += [key.group(1).lower(), "minor" if key.group(2) else "major"]
    return words


class FakeModel:
    """Deterministic stand-in for MusicTextModel: ``encode_text`` / ``encode_music`` -> (N, DIM) float32."""

    dim = DIM

    def __init__(self, fingerprint: str = "fake-model-1") -> None:
        self.fingerprint = fingerprint
        self.text_calls = 0
        self.music_calls = 0

    def encode_text(self, texts, *, batch_size=64, normalize=True, progress=False):
        self.text_calls += 1
        texts = [texts] if isinstance(texts, str) else list(texts)
        rows = [_embed_words(_WORD.findall(text.lower())) + 0.01 for text in texts]
        return _finish(rows, normalize)

    def encode_music(self, items, *, batch_size=64, normalize=True, progress=False):
        self.music_calls += 1
        items = [items] if isinstance(items, str) else list(items)
        rows = []
        for item in items:
            abc = item if isinstance(item, str) else item.abc
            words = music_words(abc)
            # A little of the tune's own notes, so tunes of one kind still differ.
            noise = _word_vector("notes:" + abc) * 0.3
            rows.append(_embed_words(words) + noise)
        return _finish(rows, normalize)


def _finish(rows, normalize):
    matrix = np.stack(rows).astype(np.float32) if rows else np.zeros((0, DIM), np.float32)
    if normalize and len(matrix):
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix


_TUNES = [
    # title, composer, rhythm, meter, key, origin
    ("The Kesh", "", "jig", "6/8", "G", "Ireland"),
    ("Out on the Ocean", "", "jig", "6/8", "G", "Ireland"),
    ("Tobin's Jig", "", "jig", "6/8", "D", "Ireland"),
    ("The Blarney Pilgrim", "", "jig", "6/8", "D", "Ireland"),
    ("Drowsy Maggie", "", "reel", "4/4", "Em", "Ireland"),
    ("The Silver Spear", "", "reel", "4/4", "D", "Ireland"),
    ("The Maid Behind the Bar", "", "reel", "4/4", "D", "Ireland"),
    ("Cooley's Reel", "", "reel", "4/4", "Em", "Ireland"),
    ("Planxty Irwin", "Turlough O'Carolan", "waltz", "3/4", "G", "Ireland"),
    ("Carolan's Concerto", "Turlough O'Carolan", "air", "3/4", "D", "Ireland"),
    ("Sheebeg and Sheemore", "Turlough O'Carolan", "air", "3/4", "D", "Ireland"),
    ("Fanny Power", "Turlough O'Carolan", "waltz", "3/4", "G", "Ireland"),
    ("The Rights of Man", "", "hornpipe", "4/4", "Em", "Ireland"),
    ("Harvest Home", "", "hornpipe", "4/4", "D", "Ireland"),
    ("Soldier's Joy", "", "reel", "4/4", "D", "Scotland"),
    ("The Swallowtail Jig", "", "jig", "6/8", "Em", "Ireland"),
    ("Ein feste Burg", "Martin Luther", "chorale", "4/4", "C", "Germany"),
    ("Es ist ein Ros entsprungen", "", "chorale", "4/4", "F", "Germany"),
    ("Der Mond ist aufgegangen", "", "Lied", "4/4", "F", "Germany"),
    ("Kommt ein Vogel geflogen", "", "Lied", "3/4", "G", "Germany"),
    ("Am Brunnen vor dem Tore", "Franz Schubert", "Lied", "3/4", "E", "Germany"),
    ("Muss i denn", "", "Lied", "2/4", "G", "Germany"),
    ("The Butterfly", "", "slip jig", "9/8", "Em", "Ireland"),
    ("Dever the Dancer", "", "slip jig", "9/8", "D", "Ireland"),
    ("Britches Full of Stitches", "", "polka", "2/4", "A", "Ireland"),
    ("Ballydesmond Polka", "", "polka", "2/4", "Am", "Ireland"),
    ("Si Bheag Si Mhor", "Turlough O'Carolan", "air", "3/4", "D", "Ireland"),
    ("The Kesh", "", "jig", "6/8", "G", "Ireland"),
]

_BODIES = ["|:GAG GAB|d2d dBG|", "|:dfa afd|gfe dcB|", "|:ABc dcB|AGF E3|", "|:e2e efg|fed cBA|",
           "|:GABc dedB|cABG FGAF|", "|:d2fd AdFA|G2BG dGBG|", "|:G3 A B2|c2 B2 A2|"]


def make_records() -> list[Record]:
    """28 small tunes with titles, composers, types and keys (two share a title on purpose)."""
    records = []
    for number, (title, composer, rhythm, meter, key, origin) in enumerate(_TUNES, 1):
        abc = f"L:1/8\nM:{meter}\nK:{key}\n{_BODIES[number % len(_BODIES)]}{'c' * (number % 5)}|"
        metadata = {"title": title, "rhythm": rhythm, "meter": meter, "key": key, "origin": origin}
        if composer:
            metadata["composer"] = composer
        collection = "essenFolksong" if origin == "Germany" else "ryansMammoth"
        caption = f"A {rhythm} in {key} from {origin}" + (f" by {composer}" if composer else "")
        records.append(Record(id=f"{collection}/tune{number:02d}.abc#1", source=f"{collection}/tune{number:02d}.abc",
                              ref="1", collection=collection, abc=abc, metadata=metadata, captions=[caption],
                              caption_parts=[f"a {rhythm}", f"in {key}"]))
    return records


def make_many_records(count: int = 240) -> list[Record]:
    """``count`` variants of :func:`make_records` (distinct ids and notes), for evaluation tests."""
    base = make_records()
    records = []
    for number in range(count):
        record = base[number % len(base)]
        variant = number // len(base)
        abc = record.abc + _BODIES[(number + variant) % len(_BODIES)] * (1 + variant % 3)
        records.append(Record(id=f"{record.id}-{number}", source=record.source, ref=str(number),
                              collection=record.collection, abc=abc, metadata=dict(record.metadata),
                              captions=list(record.captions), caption_parts=list(record.caption_parts)))
    return records
