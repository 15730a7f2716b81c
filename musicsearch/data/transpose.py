"""Transpose ABC text: key signatures, notes with their accidentals and octave marks, chord symbols.

Every note of every voice (chords and grace notes included) sounds ``semitones`` higher or lower; the
text around the notes (bar lines, decorations, lyrics, comments, lengths) is kept as written.

* **Keys**: each ``K:`` (header, body line or inline ``[K:]``, per voice) moves to the key ``semitones``
  away, spelled with the fewest sharps or flats (D + 1 is Eb, not D#); its mode and clef words are kept.
  ``K:none`` stays none (notes are then spelled nearest to the natural letters), as does a ``K:Hp``.
* **Notes** keep their letter distance from the tonic (a third stays a third), so the spelling follows the
  key; an accidental is written where the new pitch differs from the new key signature or from an
  accidental already written for that letter in the bar, so the text reads right whether a reader carries
  accidentals through the bar (ABC 2.1) or not (ABC 1.x).
* **Chord symbols** (``"Am7/G"``) move with the notes; annotations (``"^text"``) stay.

Example:
    >>> transpose_abc("K:D\\nL:1/8\\nd2f2 ^g a|", 1)
    'K:Eb\\nL:1/8\\ne2g2 =a b|'
    >>> transpose_abc('K:G\\n"Em"B,E G2|', -2)
    'K:F\\n"Dm"A,D F2|'
"""

from __future__ import annotations

import re

from ..errors import ABCError
from .abc_notes import (
    ACCIDENTAL_ALTER,
    LETTERS,
    MAJOR_FIFTHS,
    MODE_FIFTHS,
    NATURAL_PITCH,
    TOKEN_PATTERN,
    KeySignature,
    field_line,
    key_signature,
    note_pitch,
    signature_alters,
    strip_comment,
)

_ALTER_TEXT = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}
_TONIC_NAMES = {fifths: name for name, fifths in MAJOR_FIFTHS.items()}
# Letter steps of the simplest spelling of each interval in semitones, for music without a key.
_STEPS_BY_SEMITONES = (0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6)
_CHORD_SYMBOL = re.compile(r"^([A-G])([#b]?)([^/]*)(?:/([A-G])([#b]?))?(.*)$")
_KEY_TONIC = re.compile(r"^(\s*)([A-Ga-g][#b]?)")
_EXPLICIT_ACCIDENTAL = re.compile(r"\s*(?:exp\b|[_=^]{1,2}[a-gA-G](?![\w=]))")


def transpose_abc(abc: str, semitones: int) -> str:
    """The same tune ``semitones`` higher (negative: lower), every voice, key and chord symbol moved.

    Args:
        abc: one tune (or fragment) of ABC text.
        semitones: the interval to move by; 12 moves an octave and keeps every letter.

    Raises:
        ABCError: ``abc`` is not text, or ``semitones`` is not a whole number.

    Example:
        >>> transpose_abc("K:Ador\\nA2 c'e|", 12)
        "K:Ador\\na2 c''e'|"
    """
    if not isinstance(abc, str):
        raise ABCError(f"transpose_abc transposes ABC text, got {type(abc).__name__}.")
    if int(semitones) != semitones:
        raise ABCError(f"transpose by a whole number of semitones, got {semitones!r}.")
    return _Transposer(int(semitones)).run(abc)


class _Key:
    """One voice's key before and after transposing, and the letter distance between them."""

    def __init__(self, signature: KeySignature, semitones: int):
        self.source = signature
        if signature.tonic is None:  # no key: spell each note by the interval alone
            self.steps = _STEPS_BY_SEMITONES[semitones % 12] + 7 * (semitones // 12)
            self.target = KeySignature(None, "maj")
            self.tonic_out = None
            return
        mode_fifths = MODE_FIFTHS[signature.mode]
        fifths_in = MAJOR_FIFTHS[signature.tonic] + mode_fifths
        fifths_out = _nearest_fifths(fifths_in + 7 * semitones)
        # A fifth up is four letters up, so the letter distance follows from the move round the circle.
        letter_shift = (4 * (fifths_out - fifths_in)) % 7
        octaves = round((semitones - _semitones_of_letter_shift(signature.tonic, letter_shift)) / 12)
        self.steps = letter_shift + 7 * octaves
        self.tonic_out = _TONIC_NAMES[fifths_out - mode_fifths]
        self.target = KeySignature(self.tonic_out, signature.mode, signature_alters(fifths_out))


class _Transposer:
    def __init__(self, semitones: int):
        self.semitones = semitones
        self.keys: dict[str | None, _Key] = {None: _Key(key_signature("C"), semitones)}
        self.voice: str | None = None
        self.bar_in: dict[str, int] = {}
        self.bar_out: dict[str, int] = {}

    @property
    def key(self) -> _Key:
        return self.keys.get(self.voice) or self.keys[None]

    def run(self, abc: str) -> str:
        lines = abc.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return "\n".join(self._line(line) for line in lines)

    def _line(self, line: str) -> str:
        if line.startswith("%"):
            return line
        field = field_line(line)
        if field is not None:
            return self._field(line, *field)
        music = strip_comment(line)
        return self._music(music) + line[len(music):]

    def _field(self, line: str, letter: str, value: str) -> str:
        if letter == "V":
            self._switch_voice(value)
            return line
        if letter != "K":
            return line
        text = strip_comment(value)
        return f"K:{self._set_key(text)}{value[len(text):]}"

    def _switch_voice(self, value: str) -> None:
        self.voice = value.split()[0] if value.split() else None
        self.bar_in, self.bar_out = {}, {}

    def _set_key(self, value: str) -> str:
        key = _Key(key_signature(value), self.semitones)
        # A K: before any V: is every voice's key; after one, it is that voice's.
        if self.voice is None:
            self.keys = {None: key}
        else:
            self.keys[self.voice] = key
        self.bar_in, self.bar_out = {}, {}
        if key.tonic_out is None:
            return value
        return _KEY_TONIC.sub(lambda m: m.group(1) + key.tonic_out, _EXPLICIT_ACCIDENTAL.sub("", value), count=1)

    def _music(self, text: str) -> str:
        pieces = []
        for match in TOKEN_PATTERN.finditer(text):
            kind = match.lastgroup
            if kind == "note":
                pieces.append(self._note(match))
            elif kind == "quote":
                pieces.append(self._chord_symbol(match.group(0)))
            elif kind == "field":
                pieces.append(self._inline_field(match.group(0)))
            else:
                if kind in ("bar", "overlay"):
                    self.bar_in, self.bar_out = {}, {}
                pieces.append(match.group(0))
        return "".join(pieces)

    def _inline_field(self, text: str) -> str:
        letter, value = text[1], text[3:].rstrip("]")
        if letter == "V":
            self._switch_voice(value)
        elif letter == "K":
            return f"[K:{self._set_key(value)}{']' if text.endswith(']') else ''}"
        return text

    def _note(self, match: re.Match) -> str:
        letter, accidental, octave = match.group("letter"), match.group("accidental"), match.group("octave")
        step = letter.upper()
        key = self.key
        if accidental:
            alter = self.bar_in[step] = ACCIDENTAL_ALTER[accidental]
        else:
            alter = self.bar_in.get(step, key.source.alters[step])
        pitch = note_pitch(letter, octave, alter) + self.semitones
        index = LETTERS.index(step) + 7 * (note_pitch(letter, octave, 0) // 12) + key.steps
        new_step = LETTERS[index % 7]
        new_alter = pitch - (NATURAL_PITCH[new_step] + 12 * (index // 7))
        if abs(new_alter) > 2:  # a spelling beyond a double sharp or flat: take the nearest letter instead
            index, new_alter = _nearest_spelling(pitch)
            new_step = LETTERS[index % 7]
        written = ""
        if new_alter != key.target.alters[new_step] or self.bar_out.get(new_step, new_alter) != new_alter:
            written = _ALTER_TEXT[new_alter]
            self.bar_out[new_step] = new_alter
        return written + _letter_text(new_step, index // 7) + match.group("length")

    def _chord_symbol(self, text: str) -> str:
        inner = text[1:-1] if text.endswith('"') and len(text) > 1 else text[1:]
        match = _CHORD_SYMBOL.match(inner)
        if not match:  # an annotation ("^text", "<text") or free text: not a chord
            return text
        root = _spell(match.group(1) + match.group(2), self.semitones, self.key.steps)
        bass = _spell(match.group(4) + match.group(5), self.semitones, self.key.steps) if match.group(4) else ""
        return f'"{root}{match.group(3)}{"/" + bass if bass else ""}{match.group(6)}"'


def _nearest_fifths(fifths: int) -> int:
    """The key signature enharmonic to ``fifths`` (mod 12) with the fewest sharps or flats (6: sharps)."""
    return (fifths + 5) % 12 - 5


def _semitones_of_letter_shift(tonic: str, shift: int) -> int:
    """Semitones from ``tonic``'s letter up ``shift`` letters (natural letters), e.g. D up 2 → 3 (D to F)."""
    start = LETTERS.index(tonic[0])
    return NATURAL_PITCH[LETTERS[(start + shift) % 7]] - NATURAL_PITCH[tonic[0]] + (12 if start + shift >= 7 else 0)


def _nearest_spelling(pitch: int) -> tuple[int, int]:
    """(letter index counted from C of octave 0, alteration) of the plainest spelling of a MIDI pitch."""
    octave, pitch_class = divmod(pitch, 12)
    for alter in (0, 1, -1):
        for step, natural in NATURAL_PITCH.items():
            if natural + alter == pitch_class:
                return LETTERS.index(step) + 7 * octave, alter
    raise AssertionError("every pitch class is a natural or a sharp")


def _letter_text(step: str, octave: int) -> str:
    """ABC for a letter in a MIDI octave (5 is C..B from middle C, written upper case; 6 lower case)."""
    if octave >= 6:
        return step.lower() + "'" * (octave - 6)
    return step + "," * (5 - octave)


def _spell(name: str, semitones: int, steps: int) -> str:
    """A chord root such as ``"F#"`` moved by ``semitones``, its letter moved by ``steps``."""
    letter = LETTERS[(LETTERS.index(name[0]) + steps) % 7]
    alter = (NATURAL_PITCH[name[0]] + {"#": 1, "b": -1}.get(name[1:], 0) + semitones - NATURAL_PITCH[letter]) % 12
    alter = alter - 12 if alter > 6 else alter
    if abs(alter) > 1:
        octave_free = _nearest_spelling(NATURAL_PITCH[name[0]] + {"#": 1, "b": -1}.get(name[1:], 0) + semitones + 120)
        letter, alter = LETTERS[octave_free[0] % 7], octave_free[1]
    return letter + {1: "#", -1: "b", 0: ""}[alter]
