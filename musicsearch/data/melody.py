"""A tune's melody read from its ABC: the notes of its first voice with pitch, duration and bar.

What is read, and how (ABC 2.1):

* **The melody voice is the first voice**: the first ``V:`` id met in the text (notes before any ``V:``
  belong to it too); other voices are skipped. In a chorale that is the top staff, in a song with
  accompaniment the tune, but in a score whose first staff doubles another instrument it is that staff.
* **Pitches** are MIDI numbers resolved through the key signature (``K:``, inline ``[K:]`` too, modes and
  explicit accidentals), with accidentals carried through the bar to the same letter in every octave
  (``%%propagate-accidentals pitch``, the ABC 2.1 default) and octave marks.
* **Ties** merge into one note; a **chord** counts as its top note; **grace notes** are skipped (their
  accidentals still hold for the rest of the bar, as music21 reads them); **rests**
  leave no note but take time; **repeats** are read as written, once; ``&`` overlays are skipped.
* **Durations** in quarter notes from ``L:`` (or its default from ``M:``), note lengths, broken rhythm
  (``>``, ``<``) and tuplets.
* **Bars** are numbered from 0 as written: a pickup is bar 0, and each bar line after some music starts a
  new bar (a line break is not a bar line).

Transposition and tempo invariance come from :attr:`Melody.intervals` (semitones between notes) and
:attr:`Melody.relative_durations` (log2 of each note's duration over the previous one's).

Example:
    >>> melody = parse_melody("M:6/8\\nL:1/8\\nK:G\\nGAB c2d|e2f g3|")
    >>> melody.pitches.tolist(), melody.bars.tolist()
    ([67, 69, 71, 72, 74, 76, 78, 79], [0, 0, 0, 0, 0, 1, 1, 1])
    >>> melody.intervals.tolist()
    [2, 2, 1, 2, 2, 2, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ABCError
from .abc_notes import (
    ACCIDENTAL_ALTER,
    TOKEN_PATTERN,
    field_line,
    key_signature,
    length_multiplier,
    note_pitch,
    parse_fraction,
    strip_comment,
    unit_length,
)

_BROKEN_FIRST = {">": 1.5, ">>": 1.75, ">>>": 1.875, "<": 0.5, "<<": 0.25, "<<<": 0.125}
_TUPLET_TIME = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}  # (p → q) for p notes in the time of q; 5, 7, 9 depend on meter
_IGNORED_FIELDS = frozenset("wWPTXNRCOSAZHBDFGIUmrs")


@dataclass(frozen=True)
class Melody:
    """The notes of a tune's melody voice, in written order (ties merged, chords as their top note)."""

    pitches: np.ndarray  # (N,) int16 MIDI pitch of each note
    durations: np.ndarray  # (N,) float32 written length in quarter notes (a tied note: the sum)
    onsets: np.ndarray  # (N,) float64 start in quarter notes from the first note or rest
    bars: np.ndarray  # (N,) int32 0-based written bar of each note (a pickup is bar 0)
    bar_count: int  # written bars holding music in the melody voice
    voice: str | None  # the V: id read, or None for a tune without V:
    key_known: bool  # False when a K: value was not understood (read as its tonic's major, or as C)
    skipped: int  # symbols not understood and skipped (0 when read strictly)

    def __len__(self) -> int:
        return int(self.pitches.shape[0])

    @property
    def intervals(self) -> np.ndarray:
        """(N-1,) int16 semitones from each note to the next: the same in every key."""
        return np.diff(self.pitches).astype(np.int16)

    @property
    def relative_durations(self) -> np.ndarray:
        """(N-1,) float32 log2 of each note's duration over the previous one's: the same at every tempo."""
        lengths = np.maximum(self.durations, 1e-3)  # a zero-length note (``A0``) must not give infinity
        return np.log2(lengths[1:] / lengths[:-1]).astype(np.float32)


def parse_melody(abc: str, *, strict: bool = False) -> Melody:
    """Read the melody of one tune (see the module docstring for what is read and how).

    Args:
        abc: one tune's ABC (a corpus record's music, or a fragment; without ``K:`` it is read in C and
            without ``L:`` with the default unit length).
        strict: refuse what is not understood (a symbol, a ``K:`` or ``L:`` value) instead of skipping it
            and counting it in :attr:`Melody.skipped` — for queries, where a silent misreading is worse
            than an error.

    Raises:
        ABCError: no notes in the melody voice (empty, only rests, only chord symbols); in strict mode also
            an unreadable symbol (naming its bar), key or unit length.

    Example:
        >>> parse_melody("K:D\\nL:1/4\\n=F F c- | c2 [FA]/ {g}f/ z|").pitches.tolist()
        [65, 65, 73, 69, 78]
    """
    if not isinstance(abc, str):
        raise ABCError(f"a melody is read from ABC text, got {type(abc).__name__}.")
    reader = _Reader(strict)
    for raw in abc.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw.startswith("%"):
            continue
        field = field_line(raw)
        if field is not None:
            reader.field(field[0], strip_comment(field[1]).strip())
        else:
            reader.line(strip_comment(raw))
    return reader.melody()


class _Reader:
    """The state of one pass over a tune: key, unit length, bar, voice, and the notes so far."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.alters = key_signature("C").alters
        self.key_known = True
        self.meter: str | None = None
        self.unit: float | None = None  # quarter notes per unit; None until L: (or its default) is known
        self.voice: str | None = None  # the melody voice's id once a V: is met
        self.in_melody = True
        self.bar_alters: dict[str, int] = {}
        self.bar = 0
        self.bar_has_music = False
        self.pitches: list[int] = []  # -1 marks a rest: rests take time but are no note
        self.durations: list[float] = []
        self.bars: list[int] = []
        self.tie_open = False
        self.tuplet_left = 0
        self.tuplet_factor = 1.0
        self.next_factor = 1.0  # the second half of a broken rhythm
        self.chord: list[tuple[int, float]] | None = None
        self.in_grace = False
        self.in_overlay = False
        self.skipped = 0
        self.chord_symbols = 0

    # ---------------------------------------------------------------- fields
    def field(self, letter: str, value: str) -> None:
        if letter == "V":
            voice = value.split()[0] if value.split() else ""
            if self.voice is None:
                self.voice = voice
            self.in_melody = voice == self.voice
            return
        if not self.in_melody or letter in _IGNORED_FIELDS:
            return
        if letter == "K":
            signature = key_signature(value)
            if not signature.known and self.strict:
                raise ABCError(f"K:{value} is not a key this reader knows; write a tonic and a mode, e.g. K:G, "
                               "K:Ador, K:F#m, K:Bb mix, or K:none.")
            self.alters, self.key_known = signature.alters, self.key_known and signature.known
        elif letter == "L":
            length = parse_fraction(value)
            if length is None:
                if self.strict:
                    raise ABCError(f"L:{value} is not a unit note length; write a fraction such as L:1/8.")
                return
            self.unit = float(length) * 4
        elif letter == "M":
            self.meter = value

    # ---------------------------------------------------------------- body
    def line(self, text: str) -> None:
        for match in TOKEN_PATTERN.finditer(text):
            kind = match.lastgroup
            if kind == "space":
                continue
            if kind == "field":
                inner = match.group(0)[1:].rstrip("]")
                self.field(inner[0], inner[2:].strip())
                continue
            if not self.in_melody:
                continue
            if self.in_overlay and kind != "bar":
                continue
            if kind == "note":
                self._note(match)
            elif kind == "bar":
                self._bar_line()
            elif kind == "rest":
                self._event(-1, self._unit() * length_multiplier(match.group("rest_length")))
            elif kind == "chord":
                self.chord = []
            elif kind == "chord_end":
                self._chord_end(match.group("chord_length"))
            elif kind == "tie":
                self.tie_open = bool(self.pitches) and self.pitches[-1] >= 0
            elif kind == "broken":
                self._broken(match.group(0))
            elif kind == "tuplet":
                self._tuplet(match)
            elif kind == "grace":
                self.in_grace = True
            elif kind == "grace_end":
                self.in_grace = False
            elif kind == "bar_rest":
                self._event(-1, self._bar_length() * int(match.group(0)[1:] or 1))
            elif kind == "overlay":
                self.in_overlay = True
            elif kind == "quote":
                self.chord_symbols += 1
            elif kind == "other":
                if self.strict:
                    raise ABCError(f"bar {self.bar + 1}: cannot read {match.group(0)!r} in {text.strip()[:60]!r}; "
                                   "write notes (A-G a-g with ^ _ = , '), rests (z), bar lines (|) and lengths.")
                self.skipped += 1

    def _unit(self) -> float:
        if self.unit is None:
            self.unit = float(unit_length(self.meter)) * 4
        return self.unit

    def _bar_length(self) -> float:
        length = parse_fraction(self.meter or "")
        return float(length) * 4 if length is not None else 4.0

    def _note(self, match) -> None:
        letter, accidental = match.group("letter"), match.group("accidental")
        step = letter.upper()
        if accidental:
            alter = self.bar_alters[step] = ACCIDENTAL_ALTER[accidental]
        else:
            alter = self.bar_alters.get(step, self.alters[step])
        if self.in_grace:  # a grace note is no note of the melody, but its accidental holds for the bar
            return
        pitch = note_pitch(letter, match.group("octave"), alter)
        duration = self._unit() * length_multiplier(match.group("length"))
        if self.chord is not None:
            self.chord.append((pitch, duration))
        else:
            self._event(pitch, duration)

    def _chord_end(self, length: str) -> None:
        notes, self.chord = self.chord, None
        if notes:
            # A chord lasts as long as its first note (ABC 2.1 section 4.17) and sounds as its top note here.
            self._event(max(pitch for pitch, _ in notes), notes[0][1] * length_multiplier(length))

    def _event(self, pitch: int, duration: float) -> None:
        duration *= self.next_factor
        self.next_factor = 1.0
        if self.tuplet_left:
            duration *= self.tuplet_factor
            self.tuplet_left -= 1
        self.bar_has_music = True
        if self.tie_open and pitch >= 0 and self.pitches and self.pitches[-1] == pitch:
            self.durations[-1] += duration  # a tied note is one longer note, in the bar where it starts
        else:
            self.pitches.append(pitch)
            self.durations.append(duration)
            self.bars.append(self.bar)
        self.tie_open = False

    def _bar_line(self) -> None:
        self.in_overlay = False
        self.bar_alters = {}
        if self.bar_has_music:
            self.bar += 1
            self.bar_has_music = False

    def _broken(self, text: str) -> None:
        first = _BROKEN_FIRST.get(text[:3])
        if first is None or not self.durations:
            return
        self.durations[-1] *= first
        self.next_factor = 2.0 - first

    def _tuplet(self, match) -> None:
        notes = int(match.group("tuplet_p"))
        compound = (self.meter or "").strip() in ("6/8", "9/8", "12/8", "6/4", "9/4", "12/4")
        time = int(match.group("tuplet_q") or 0) or _TUPLET_TIME.get(notes, 3 if compound else 2)
        self.tuplet_factor = time / notes
        self.tuplet_left = int(match.group("tuplet_r") or 0) or notes

    # ---------------------------------------------------------------- result
    def melody(self) -> Melody:
        pitches = np.asarray(self.pitches, dtype=np.int32)
        durations = np.asarray(self.durations, dtype=np.float64)
        notes = pitches >= 0
        if not notes.any():
            if self.chord_symbols:
                raise ABCError("the melody has chord symbols but no notes: write the tune's notes, not its chords.")
            if pitches.size:
                raise ABCError("the melody has only rests: no note to search with.")
            raise ABCError("the melody has no notes: the text holds no A-G a-g note in its first voice.")
        onsets = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
        return Melody(pitches=pitches[notes].astype(np.int16), durations=durations[notes].astype(np.float32),
                      onsets=onsets[notes], bars=np.asarray(self.bars, dtype=np.int32)[notes],
                      bar_count=self.bar + (1 if self.bar_has_music else 0), voice=self.voice,
                      key_known=self.key_known, skipped=self.skipped)
