"""music21 as the reference reader of ABC melodies and transpositions (slow; tests and benchmarks only).

music21 reads ABC 1.x by default, where an accidental does not carry through the bar; ``%abc-2.1`` on
the first line makes it read ABC 2.1 (accidentals carry to the same letter in every octave), as the
corpus is written and as :func:`musicsearch.data.melody.parse_melody` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Agreement:
    """How far two readings of the same tunes agree, tune by tune and note by note."""

    tunes: int = 0  # tunes both readers read
    same_pitches: int = 0  # tunes whose pitch sequences are identical
    same_intervals: int = 0  # tunes whose interval sequences are identical (a different octave is fine)
    same_durations: int = 0  # tunes whose duration sequences are identical (within 1e-3 quarter notes)
    notes: int = 0  # notes compared (the longer reading of each tune)
    notes_agreeing: int = 0  # notes at the same position with the same pitch
    failed: int = 0  # tunes music21 could not read

    def to_dict(self) -> dict:
        def share(count: int) -> float | None:
            return round(count / self.tunes, 4) if self.tunes else None

        return {"tunes": self.tunes, "failed_in_music21": self.failed,
                "same_pitch_sequence": share(self.same_pitches), "same_interval_sequence": share(self.same_intervals),
                "same_duration_sequence": share(self.same_durations),
                "note_agreement": round(self.notes_agreeing / self.notes, 4) if self.notes else None}


def music21_melody(abc: str) -> tuple[list[int], list[float]]:
    """MIDI pitches and quarter-note durations of the first part with notes as music21 reads it (ties
    merged, chords as their top note, grace notes left out).

    music21 makes an empty part of each ``V:`` declared in the header, so the first part with notes is the
    first voice.
    """
    from music21 import chord, converter, note

    score = converter.parse("%abc-2.1\n" + abc_with_reference(abc), format="abc", forceSource=True)
    parts = [part for part in getattr(score, "parts", []) if part.recurse().notes] or [score]
    part = parts[0].stripTies()
    pitches, durations = [], []
    for element in part.recurse().notes:
        if element.duration.isGrace:
            continue
        if isinstance(element, chord.Chord):
            pitches.append(max(p.midi for p in element.pitches))
        elif isinstance(element, note.Note):
            pitches.append(element.pitch.midi)
        else:
            continue
        durations.append(float(element.quarterLength))
    return pitches, durations


def abc_with_reference(abc: str) -> str:
    """``abc`` with an ``X:`` line first (music21 needs one to read a tune)."""
    return abc if abc.lstrip().startswith("X:") else "X:1\n" + abc


def compare(ours: Sequence[tuple[Sequence[int], Sequence[float]]],
            theirs: Sequence[tuple[Sequence[int], Sequence[float]] | None]) -> Agreement:
    """Agreement of two readings, tune by tune (``None`` in ``theirs``: music21 failed on that tune)."""
    result = Agreement()
    for (our_pitches, our_durations), their in zip(ours, theirs):
        if their is None:
            result.failed += 1
            continue
        their_pitches, their_durations = their
        result.tunes += 1
        result.same_pitches += list(our_pitches) == list(their_pitches)
        result.same_intervals += list(np.diff(our_pitches)) == list(np.diff(their_pitches))
        result.same_durations += len(our_durations) == len(their_durations) and bool(
            np.allclose(our_durations, their_durations, atol=1e-3))
        result.notes += max(len(our_pitches), len(their_pitches))
        result.notes_agreeing += sum(a == b for a, b in zip(our_pitches, their_pitches))
    return result
