"""Tunes with long, distinct melodies for melody-search tests, and fragments cut from them.

Each tune has eight bars drawn at random (seeded) from a scale, so any two bars identify their tune;
the last tune is a copy of the first under another title and file (an identical melody stored twice).
"""

from __future__ import annotations

import numpy as np

from musicsearch.data.corpus import Record

_LETTERS = "DEFGABcdefgab"
TUNE_COUNT = 12


def melody_bars(number: int) -> list[str]:
    """The eight bars of tune ``number`` (6/8, L:1/8: six eighth notes each)."""
    rng = np.random.default_rng(1000 + number)
    return ["".join(_LETTERS[i] for i in rng.integers(0, len(_LETTERS), 6)) for _ in range(8)]


def make_melody_records() -> list[Record]:
    """``TUNE_COUNT`` tunes in D (jigs), then a copy of tune 0 stored as another tune."""
    records = []
    for number in range(TUNE_COUNT):
        bars = melody_bars(number)
        abc = "L:1/8\nM:6/8\nK:D\n" + "|".join(bars[:4]) + "|\n" + "|".join(bars[4:]) + "|]"
        records.append(Record(id=f"melodies/tune{number:02d}.abc#1", source=f"melodies/tune{number:02d}.abc",
                              ref="1", collection="melodies", abc=abc,
                              metadata={"title": f"Tune {number}", "rhythm": "jig", "meter": "6/8", "key": "D"}))
    first = records[0]
    records.append(Record(id="melodies/copy.abc#1", source="melodies/copy.abc", ref="1", collection="melodies",
                          abc=first.abc, metadata={**first.metadata, "title": "The same tune, another name"}))
    return records


def fragment(number: int, first_bar: int, bars: int = 2) -> str:
    """ABC of ``bars`` bars of tune ``number`` from ``first_bar`` (0-based), as a person would type them."""
    return "L:1/8\nM:6/8\nK:D\n" + "|".join(melody_bars(number)[first_bar:first_bar + bars]) + "|"
