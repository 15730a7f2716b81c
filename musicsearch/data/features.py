"""Musical tags read from a tune: tune type, key and mode, meter, origin, and features of the notes.

Everything here works on the ABC text and header fields directly (no music21 parse), so tagging the
whole corpus takes about a second. German and coded tags of the Essen collection are normalised to
English words; the word lists are data below and easy to extend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .abc import header_value
from .vocab import (
    BROAD_GENRES,
    COLLECTION_ORIGINS,
    CONTINENTS,
    COUNTRIES,
    DANCE_TYPES,
    GERMAN_GENRES,
    NUMBER_WORDS,
    PLACE_NAMES,
    UNKNOWN_GENRE_WORDS,
)

_MODES = (("maj", "major"), ("ion", "major"), ("min", "minor"), ("aeo", "minor"), ("mix", "mixolydian"),
          ("dor", "dorian"), ("phr", "phrygian"), ("lyd", "lydian"), ("loc", "locrian"), ("m", "minor"))
_KEY = re.compile(r"^\s*([A-Ga-g])([b#]?)\s*([A-Za-z]*)")


_NOTE = re.compile(r"([_=^]*)([A-Ga-g])([,']*)")
_NOTE_OR_BAR = re.compile(r"\|+|([_=^]*)([A-Ga-g])([,']*)")
_SKIP = re.compile(r'"[^"]*"|![^!\n]*!|\+[^+\n]*\+|\[[A-Za-z]:[^\]]*\]|\{[^}]*\}')
_PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_LETTERS = "CDEFGAB"
_LETTERS_BY_CLASS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass
class KeyInfo:
    """A key signature read from a ``K:`` field."""

    tonic: str | None  # "A", "Bb", "F#", or None for "none"/"Hp"/unreadable
    mode: str | None  # "major", "minor", "dorian", ... or None when the field gives none explicitly
    explicit_mode: bool  # whether K: named the mode (Essen writes only the tonic)


def parse_key(value: str | None) -> KeyInfo:
    """Read a ``K:`` value such as ``"G"``, ``"Ador"``, ``"E Minor"``, ``"F#m"``.

    Example:
        >>> parse_key("A Mixolydian")
        KeyInfo(tonic='A', mode='mixolydian', explicit_mode=True)
    """
    match = _KEY.match(value or "")
    if not match or (value or "").strip().lower().startswith(("none", "hp")):
        return KeyInfo(None, None, False)
    tonic = match.group(1).upper() + match.group(2)
    word = match.group(3).lower()
    for prefix, mode in _MODES:
        if word.startswith(prefix) and (prefix != "m" or word in ("m", "mi")):
            return KeyInfo(tonic, mode, True)
    return KeyInfo(tonic, "major", False)


def key_words(key: KeyInfo) -> str | None:
    """``"B-flat major"`` style words for a key. Example: ``key_words(parse_key("Bb"))`` → ``'B-flat major'``."""
    if key.tonic is None:
        return None
    tonic = key.tonic[0] + {"b": "-flat", "#": "-sharp"}.get(key.tonic[1:], "")
    return f"{tonic} {key.mode}"


def record_meter(metadata: dict[str, str] | None, abc: str = "") -> str | None:
    """A record's meter as written (``"6/8"``, ``"C|"``): the ``meter`` field, else the ABC's ``M:`` line.

    The one place that reads a meter with the header fallback; comments after ``%`` are dropped.

    Example:
        >>> record_meter({}, "X:1\\nM:6/8 % jig\\nK:D\\nd2f|")
        '6/8'
    """
    value = (metadata or {}).get("meter") or header_value(abc, "M") or ""
    return value.split("%")[0].strip() or None


def meter_signature(meter: str | None) -> str:
    """A meter as a time signature, so that tunes written either way compare equal: ``"C"`` → ``"4/4"``,
    ``"C|"`` → ``"2/2"``, others as written without spaces (``""`` for none).

    Example:
        >>> meter_signature("C"), meter_signature("C|"), meter_signature("6 / 8")
        ('4/4', '2/2', '6/8')
    """
    value = (meter or "").split("%")[0].replace(" ", "")
    return {"C": "4/4", "C|": "2/2"}.get(value, value)


def record_key(metadata: dict[str, str] | None, abc: str = "") -> str | None:
    """A record's key as written (``"Ador"``, ``"G"``): the ``key`` field, else the ABC's ``K:`` line.

    Example:
        >>> record_key({"key": "Ador"})
        'Ador'
    """
    value = (metadata or {}).get("key") or header_value(abc, "K") or ""
    return value.split("%")[0].strip() or None


def meter_words(meter: str | None) -> str | None:
    """Word form of a meter: ``"6/8"`` → ``"six-eight"``, ``"C|"`` → ``"cut time"``, ``"none"`` → ``"free meter"``."""
    value = (meter or "").split("%")[0].strip()
    if not value:
        return None
    if value == "C":
        return "common time"
    if value == "C|":
        return "cut time"
    match = re.search(r"(\d+)/(\d+)", value)
    if value.lower().startswith(("none", "frei")) and not match:
        return "free meter"
    if not match:
        return None
    top, bottom = int(match.group(1)), int(match.group(2))
    words = f"{NUMBER_WORDS.get(top, str(top))}-{NUMBER_WORDS.get(bottom, str(bottom))}"
    return f"free meter, mostly {words}" if value.lower().startswith("frei") else words


def tune_type(metadata: dict[str, str]) -> str | None:
    """The tune type or genre in English: the ``R:`` field, else a type named in the title.

    Example:
        >>> tune_type({"rhythm": "Liebes - Lied"}), tune_type({"title": "7th Regiment -- Reel"})
        ('love song', 'reel')
    """
    lowered = _genre_label(metadata.get("rhythm") or "").replace(" - ", "").replace(" -", "")
    lowered = lowered.replace("slipjig", "slip jig")
    if lowered:
        for dance in DANCE_TYPES:
            if re.search(rf"\b{dance}\b", lowered):
                return {"double jig": "jig", "single jig": "jig"}.get(dance, dance)
        found = genre_words(metadata)
        if found:
            return next((english for english in found if english not in BROAD_GENRES), found[0])
        return lowered
    title = (metadata.get("title") or "").lower()
    for dance in DANCE_TYPES:
        if re.search(rf"\b{dance}s?\b", title):
            return {"double jig": "jig", "single jig": "jig"}.get(dance, dance)
    return None


def _genre_label(rhythm: str) -> str:
    """An ``R:`` field lower-cased without Essen's doubt marks and placeholders ("???, Brautwerbung?]")."""
    text = re.sub(r"\(\s*\?+\s*\)", "", rhythm.lower()).replace("?", "").replace("]", "")
    pieces = (piece.strip() for piece in re.split(r"[,;]", text))
    return ", ".join(piece for piece in pieces if piece and piece not in UNKNOWN_GENRE_WORDS)


def genre_words(metadata: dict[str, str]) -> list[str]:
    """Every English genre word found in an Essen-style ``R:`` field, in order, without repeats."""
    lowered = _genre_label(metadata.get("rhythm") or "").replace(" - ", "").replace(" -", "")
    found = sorted((lowered.find(stem), english) for stem, english in GERMAN_GENRES if stem in lowered)
    return list(dict.fromkeys(english for _, english in found))


def origin_places(metadata: dict[str, str], collection: str = "") -> list[str]:
    """Places of an ``O:`` field in English, most specific first, continents dropped when others are known.

    Example:
        >>> origin_places({"origin": "Europa, Mitteleuropa, Deutschland, Schwaben"})
        ['Swabia', 'Germany']
    """
    raw = metadata.get("origin") or ""
    raw = re.sub(r"\((?:DDR|BRD)\)", "", raw)
    places = []
    for token in re.split(r"[,;/]", raw):
        token = token.strip()
        if token:
            places.append(PLACE_NAMES.get(token.lower(), token))
    specific = [place for place in places if place not in CONTINENTS]
    places = list(dict.fromkeys(reversed(specific or places)))
    if not places and collection in COLLECTION_ORIGINS:
        places = [COLLECTION_ORIGINS[collection]]
    return places


def origin_country(metadata: dict[str, str], collection: str = "") -> str | None:
    """The country-level origin (``"Germany"``, ``"Ireland"``, ``"China"``...), or None."""
    places = origin_places(metadata, collection)
    for place in places:
        if place in COUNTRIES:
            return place
    return places[-1] if places else None


_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7, "F": -1, "Bb": -2, "Eb": -3,
           "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7}
_MODE_SHIFT = {"major": 0, "minor": -3, "dorian": -2, "mixolydian": -1, "lydian": 1, "phrygian": -4, "locrian": -5}
_ACCIDENTAL = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}


def _signature(key: KeyInfo) -> dict[str, int]:
    # Letters altered by the key signature: +1 sharp, -1 flat.
    fifths = _FIFTHS.get(key.tonic or "C", 0) + _MODE_SHIFT.get(key.mode or "major", 0)
    if fifths >= 0:
        return {letter: 1 for letter in "FCGDAEB"[:fifths]}
    return {letter: -1 for letter in "BEADGCF"[:-fifths]}


def _notes(abc: str, key: KeyInfo) -> list[tuple[int, int]]:
    # (pitch, pitch class) of every note. An explicit accidental overrides the signature and carries on
    # to the end of its bar for that letter and octave, as in ABC 2.1.
    signature = _signature(key)
    notes = []
    for line in abc.split("\n"):
        if re.match(r"^[A-Za-z]:", line) or line.startswith("%"):
            continue
        carried: dict[str, int] = {}
        for match in _NOTE_OR_BAR.finditer(_SKIP.sub(" ", line)):
            if match.group(0).startswith("|"):
                carried = {}
                continue
            accidental, letter, octave = match.group(1), match.group(2), match.group(3)
            upper, name = letter.upper(), letter + octave
            if accidental:
                carried[name] = _ACCIDENTAL.get(accidental, 0)
            alter = carried.get(name, signature.get(upper, 0))
            pitch = _PITCH[upper] + alter + (12 if letter.islower() else 0)
            pitch += 12 * octave.count("'") - 12 * octave.count(",")
            notes.append((pitch, pitch % 12))
    return notes


def music_features(abc: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """Features computed from the notes of a cleaned tune.

    A key written without a mode is major, except that a tune ending on the tonic or the relative minor's
    tonic reads as minor when the minor third above its final note is the more frequent (Essen writes
    only the signature and spells minor with accidentals).

    Returns:
        ``{"num_notes", "num_bars", "notes_per_bar", "range_semitones", "num_voices", "mode", "tonic",
        "final_note"}``; ``tonic`` is the final note's pitch name when minor was read from the notes.

    Example:
        >>> music_features("M:6/8\\nK:G\\nGAG GAB|d2d dBG|")["num_bars"]
        2
    """
    metadata = metadata or {}
    body = "\n".join(line for line in abc.split("\n") if not re.match(r"^[A-Za-z]:", line))
    num_bars = max(1, len(re.findall(r"\|+:?|:\|", _SKIP.sub(" ", body))))
    voices = set(re.findall(r"^V:\s*(\S+)", abc, flags=re.MULTILINE)) | set(re.findall(r"\[V:\s*([^\]\s]+)", abc))
    key = parse_key(record_key(metadata, abc))
    notes = _notes(abc, key)
    pitches = [pitch for pitch, _ in notes]
    final_letter = None
    final = re.findall(r"([A-Ga-g])[,']*[\d/]*[^A-Ga-g]*$", _SKIP.sub(" ", body))
    if final:
        final_letter = final[0].upper()
    mode = key.mode
    tonic = key.tonic
    if not key.explicit_mode and notes and key.tonic:
        # A key written without a mode reads as major (ABC 2.1), but Essen writes only the signature and
        # spells minor with accidentals. So when the tune ends on the tonic or on the relative minor's
        # tonic, the third above that final decides: minor when its minor third is the more frequent.
        final_class = notes[-1][1]
        tonic_class = (_PITCH[key.tonic[0]] + {"b": -1, "#": 1}.get(key.tonic[1:], 0)) % 12
        if final_class in (tonic_class, (tonic_class + 9) % 12):
            classes = [pitch_class for _, pitch_class in notes]
            minor_thirds = classes.count((final_class + 3) % 12)
            major_thirds = classes.count((final_class + 4) % 12)
            if minor_thirds > major_thirds:
                mode, tonic = "minor", _LETTERS_BY_CLASS[final_class]
    return {
        "num_notes": len(pitches),
        "num_bars": num_bars,
        "notes_per_bar": round(len(pitches) / num_bars, 2),
        "range_semitones": (max(pitches) - min(pitches)) if pitches else 0,
        "num_voices": max(1, len(voices)),
        "mode": mode,
        "tonic": tonic,
        "final_note": final_letter,
    }
