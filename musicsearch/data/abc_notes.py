"""The notes of an ABC body: a lexer that finds every token with its place in the text, key signatures,
unit note lengths and the pitch of a written note.

Shared by :mod:`musicsearch.data.melody` (notes → a melody) and :mod:`musicsearch.data.transpose` (notes
→ the same notes in another key), so both read ABC the same way. Pitches are MIDI numbers (``C`` = 60,
``c`` = 72, ``,`` and ``'`` move an octave); a clef or ``octave=`` in ``K:`` does not change them, which
matters nowhere here because melodies are compared by their intervals.

Example:
    >>> [match.lastgroup for match in TOKEN_PATTERN.finditer("^F2 [CE]|z") if match.lastgroup != "space"]
    ['note', 'chord', 'note', 'note', 'chord_end', 'bar', 'rest']
    >>> key_signature("Ador").alters["F"], key_signature("Bb").alters["E"]
    (1, -1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

LETTERS = "CDEFGAB"
NATURAL_PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACCIDENTAL_ALTER = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
# Position of each major key on the circle of fifths, and of each mode relative to its major.
MAJOR_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7, "F": -1, "Bb": -2, "Eb": -3,
                "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7, "G#": 8, "D#": 9, "A#": 10, "E#": 11, "B#": 12, "Fb": -8}
MODE_FIFTHS = {"maj": 0, "ion": 0, "mix": -1, "dor": -2, "min": -3, "aeo": -3, "phr": -4, "loc": -5, "lyd": 1}
SHARP_ORDER = "FCGDAEB"
# Words a K: field may hold besides tonic and mode: clefs, octave and staff settings, explicit accidentals.
_CLEF_WORD = re.compile(r"^(?:treble|bass|alto|tenor|baritone|soprano|mezzo|perc|none|clef=\S*|middle=\S*|"
                        r"transpose=\S*|octave=\S*|stafflines=\S*|t=\S*|[-+]8va|exp|"
                        r"(?:treble|bass|alto|tenor)[-+]?\d*|[_=^]{1,2}[a-gA-G])$", re.IGNORECASE)
_TONIC = re.compile(r"^\s*([A-Ga-g])([#b]?)\s*(.*)$")
# A mode is named by its first three letters in any case ("Mixolydian", "min", "m"), glued or spaced.
_MODE_WORD = re.compile(r"\s*(?!middle|mezzo)(maj|ion|mix|dor|min|aeo|phr|loc|lyd|m)[a-z]*(?!\w)", re.IGNORECASE)

# One token of a body line (the group that matched names its kind). Order matters: fields, bar lines and endings before chords ("[K:", "[|", "[1").
TOKEN_PATTERN = re.compile(r"""
 (?P<quote>"[^"\n]*"?)
|(?P<deco>![^!\n]*!|\+[^+\n]*\+)
|(?P<field>\[[A-Za-z]:[^\]\n]*\]?)
|(?P<bar>:*(?:\[\||\|\]|\|+)[\]:]*(?:\d+(?:[,-]\d+)*)?|:{2,})
|(?P<ending>\[\d+(?:[,-]\d+)*)
|(?P<chord>\[)
|(?P<chord_end>\](?P<chord_length>\d*/*\d*))
|(?P<note>(?P<accidental>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<octave>[,']*)(?P<length>\d*/*\d*))
|(?P<rest>[zx](?P<rest_length>\d*/*\d*))
|(?P<bar_rest>[ZX]\d*)
|(?P<tuplet>\((?P<tuplet_p>[1-9]\d?)(?::(?P<tuplet_q>\d*))?(?::(?P<tuplet_r>\d*))?)
|(?P<broken>[<>]{1,3})
|(?P<tie>-)
|(?P<grace>\{/?)
|(?P<grace_end>\})
|(?P<overlay>&)
|(?P<space>[\s).~`$\\*;'y]+|\((?!\d)|[HJLMOPRSTuv])
|(?P<other>.)
""", re.VERBOSE)
_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")


@dataclass
class KeySignature:
    """A key signature read from a ``K:`` value: the alteration of every letter, and how it was read."""

    tonic: str | None  # "D", "Bb", "F#"; None for K:none / K:HP or a value with no tonic
    mode: str  # "maj", "min", "dor", ...
    alters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LETTERS, 0))
    known: bool = True  # False: the value had a word that is neither a mode nor a clef setting
    rest: str = ""  # what followed tonic and mode (clef, octave...), kept verbatim for rewriting

    @property
    def fifths(self) -> int:
        """Sharps (positive) or flats (negative) of the signature."""
        return sum(self.alters.values())


def key_signature(value: str) -> KeySignature:
    """Read a ``K:`` value: tonic, mode (first three letters, any case), clef words, explicit accidentals.

    ``none``, ``HP`` and an empty value are no signature; ``Hp`` is the Highland bagpipe's F# and C#. A word
    that is neither a mode nor a clef setting (``K:Bn``) is read as the tonic's major key with
    ``known=False``, as music21 does; a value with no tonic at all (``K:H``) is no signature, ``known=False``.

    Example:
        >>> key_signature("D mix").fifths, key_signature("Hp").fifths, key_signature("Bn").known
        (1, 2, False)
    """
    text = (value or "").split("%")[0].strip()
    if text == "Hp":
        return KeySignature(None, "maj", {**dict.fromkeys(LETTERS, 0), "F": 1, "C": 1}, rest="")
    first = text.split(" ", 1)[0] if text else ""
    if not text or first.lower() == "none" or first == "HP" or _CLEF_WORD.match(first):
        return KeySignature(None, "maj", rest=text)
    match = _TONIC.match(text)
    if not match:
        return KeySignature(None, "maj", known=False, rest=text)
    tonic = match.group(1).upper() + match.group(2)
    mode, known, explicit = "maj", True, {}
    rest = match.group(3)
    mode_match = _MODE_WORD.match(rest)
    if mode_match:
        word = mode_match.group(1).lower()
        mode = "min" if word == "m" else word
        rest = rest[mode_match.end():]
    rest_words = rest.split()
    for word in rest_words:
        if re.fullmatch(r"[_=^]{1,2}[a-gA-G]", word):
            explicit[word[-1].upper()] = ACCIDENTAL_ALTER[word[:-1]]
        elif not _CLEF_WORD.match(word):
            known = False
    if tonic not in MAJOR_FIFTHS or mode not in MODE_FIFTHS:
        known = False
        tonic_fifths = MAJOR_FIFTHS.get(tonic, 0)
        mode = mode if mode in MODE_FIFTHS else "maj"
    else:
        tonic_fifths = MAJOR_FIFTHS[tonic]
    # "exp" means the explicit accidentals are the whole signature (ABC 2.1 section 3.1.14).
    alters = dict.fromkeys(LETTERS, 0) if "exp" in rest_words else signature_alters(tonic_fifths + MODE_FIFTHS[mode])
    alters.update(explicit)
    return KeySignature(tonic, mode, alters, known=known, rest=" ".join(rest_words))


def signature_alters(fifths: int) -> dict[str, int]:
    """Alteration of each letter for a signature of ``fifths`` sharps (negative: flats), double ones too.

    Example:
        >>> signature_alters(-2)["B"], signature_alters(-2)["E"], signature_alters(-2)["A"]
        (-1, -1, 0)
    """
    alters = dict.fromkeys(LETTERS, 0)
    for position in range(abs(fifths)):
        letter = SHARP_ORDER[position % 7] if fifths > 0 else SHARP_ORDER[6 - position % 7]
        alters[letter] += 1 if fifths > 0 else -1
    return alters


def unit_length(meter: str | None) -> Fraction:
    """ABC's default unit note length: 1/16 for meters under 3/4, else 1/8 (also for no or free meter).

    Example:
        >>> unit_length("2/4"), unit_length("6/8"), unit_length(None)
        (Fraction(1, 16), Fraction(1, 8), Fraction(1, 8))
    """
    value = (meter or "").split("%")[0].strip()
    match = re.match(r"^(\d+)\s*/\s*(\d+)", value)
    if match and int(match.group(2)) and Fraction(int(match.group(1)), int(match.group(2))) < Fraction(3, 4):
        return Fraction(1, 16)
    return Fraction(1, 8)


def parse_fraction(value: str) -> Fraction | None:
    """A ``L:`` value (``"1/8"``, ``"1"``) as a fraction of a whole note, or None when unreadable."""
    match = re.match(r"^\s*(\d+)\s*(?:/\s*(\d+))?", value or "")
    if not match or int(match.group(1)) == 0 or (match.group(2) is not None and int(match.group(2)) == 0):
        return None
    return Fraction(int(match.group(1)), int(match.group(2) or 1))


def length_multiplier(text: str) -> float:
    """The multiplier written after a note: ``""`` 1, ``"3"`` 3, ``"/"`` 0.5, ``"//"`` 0.25, ``"3/2"`` 1.5.

    Example:
        >>> length_multiplier("3/"), length_multiplier("/4")
        (1.5, 0.25)
    """
    if not text:
        return 1.0
    numerator, slashes, denominator = text.partition("/")
    if not slashes:
        return float(int(numerator))
    top = int(numerator) if numerator else 1
    if denominator.isdigit():
        return top / int(denominator)
    return top / 2.0 ** (1 + denominator.count("/"))


def note_pitch(letter: str, octave_marks: str, alter: int) -> int:
    """MIDI pitch of a written note (``C`` = 60, ``c`` = 72) with the alteration that applies to it.

    Example:
        >>> note_pitch("c", "'", 1), note_pitch("B", ",", -1)
        (85, 58)
    """
    pitch = NATURAL_PITCH[letter.upper()] + (72 if letter.islower() else 60) + alter
    return pitch + 12 * (octave_marks.count("'") - octave_marks.count(","))


def field_line(line: str) -> tuple[str, str] | None:
    """``(letter, value)`` of an ABC field line such as ``K:G``, else None."""
    match = _FIELD_LINE.match(line)
    return (match.group(1), match.group(2)) if match else None


def strip_comment(line: str) -> str:
    """A body line without its ``%`` comment (``\\%`` is an escaped percent sign, not a comment)."""
    index = line.find("%")
    while index >= 0:
        if index == 0 or line[index - 1] != "\\":
            return line[:index]
        index = line.find("%", index + 1)
    return line
