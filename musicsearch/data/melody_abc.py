"""Write a melody (pitches, durations, bars) as ABC text, spelled in a key — as a person would type it.

The inverse of :func:`musicsearch.data.melody.parse_melody` for plain melodies: notes, lengths and bar
lines, no chords or ornaments. Used to make query fragments from corpus tunes and to show the bars of a
query. Each pitch is spelled on the letter the key gives it when it is in the key, else as a sharp in a
sharp key and a flat in a flat key; an accidental is written where the key signature, or an accidental
earlier in the bar, would give another pitch.

Example:
    >>> melody_to_abc([62, 66, 69, 70], [1.0, 0.5, 0.5, 2.0], [0, 0, 0, 1], key="D", unit="1/8")
    'L:1/8\\nK:D\\nD2 F A | ^A4 |'
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from ..errors import ABCError
from .abc_notes import LETTERS, NATURAL_PITCH, key_signature, parse_fraction

_ALTER_TEXT = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}


def melody_to_abc(pitches: Sequence[int], durations: Sequence[float], bars: Sequence[int], *, key: str = "C",
                  unit: str = "1/8", meter: str | None = None) -> str:
    """ABC text of a melody: ``M:`` (if given), ``L:``, ``K:`` and one bar per distinct bar number.

    Args:
        pitches: MIDI pitches.
        durations: lengths in quarter notes (a triplet eighth is 1/3).
        bars: the bar of each note; a new bar number starts a new bar.
        key: the ``K:`` value to spell in (its mode matters, e.g. ``"Ador"``).
        unit: the ``L:`` unit note length.
        meter: the ``M:`` value, or None to write none.

    Raises:
        ABCError: lengths of the three sequences differ, or ``unit`` is not a fraction.
    """
    if not len(pitches) == len(durations) == len(bars):
        raise ABCError(f"a melody needs as many durations and bars as pitches, got {len(pitches)} pitches, "
                       f"{len(durations)} durations and {len(bars)} bars.")
    length = parse_fraction(unit)
    if length is None:
        raise ABCError(f"L:{unit} is not a unit note length; write a fraction such as 1/8.")
    signature = key_signature(key)
    prefer_flats = signature.fifths < 0
    unit_quarters = Fraction(length) * 4
    out: list[str] = [f"M:{meter}"] if meter else []
    out += [f"L:{unit}", f"K:{key}"]
    body, bar_alters, previous_bar = [], {}, None
    for pitch, duration, bar in zip(pitches, durations, bars):
        if previous_bar is not None and bar != previous_bar:
            body.append("|")
            bar_alters = {}
        previous_bar = bar
        step, octave, alter = _spell(int(pitch), signature.alters, prefer_flats)
        accidental = ""
        if alter != signature.alters[step] or bar_alters.get(step, alter) != alter:
            accidental = _ALTER_TEXT[alter]
            bar_alters[step] = alter
        length = Fraction(float(duration)).limit_denominator(96) / unit_quarters
        body.append(accidental + _letter(step, octave) + _length(length))
    return "\n".join(out + [" ".join(body) + (" |" if body else "")])


def _spell(pitch: int, alters: dict[str, int], prefer_flats: bool) -> tuple[str, int, int]:
    """(letter, MIDI octave of the letter, alteration) for ``pitch``: in the key when it can be."""
    octave, pitch_class = divmod(pitch, 12)
    for step in LETTERS:  # the key's own letter for this pitch class, if any
        if (NATURAL_PITCH[step] + alters[step]) % 12 == pitch_class:
            return step, octave + _carry(step, alters[step], pitch_class), alters[step]
    for alter in (0, -1, 1) if prefer_flats else (0, 1, -1):
        for step in LETTERS:
            if (NATURAL_PITCH[step] + alter) % 12 == pitch_class:
                return step, octave + _carry(step, alter, pitch_class), alter
    raise AssertionError("every pitch class has a spelling")


def _carry(step: str, alter: int, pitch_class: int) -> int:
    """Octave correction when the spelling crosses C: B# is in the octave below, Cb in the one above."""
    return (pitch_class - NATURAL_PITCH[step] - alter) // 12


def _letter(step: str, octave: int) -> str:
    """ABC for a letter in a MIDI octave (5 holds middle C and is upper case; 6 is lower case)."""
    if octave >= 6:
        return step.lower() + "'" * (octave - 6)
    return step + "," * (5 - octave)


def _length(multiple: Fraction) -> str:
    """A note length as ABC writes it: 1 → "", 2 → "2", 1/2 → "/", 3/2 → "3/2", 1/4 → "/4"."""
    if multiple == 1:
        return ""
    if multiple.denominator == 1:
        return str(multiple.numerator)
    top = "" if multiple.numerator == 1 else str(multiple.numerator)
    return f"{top}/" if multiple.denominator == 2 else f"{top}/{multiple.denominator}"
