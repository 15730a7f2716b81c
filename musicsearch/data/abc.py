"""ABC text: split multi-tune files, read header fields, and keep only the music.

A model must never read the labels it is evaluated on, so :func:`clean_abc` keeps only the fields that
describe how the music sounds (``L:``, ``M:``, ``K:``, ``Q:``, ``V:``, ``%%score``) plus the body, and drops
titles, rhythm, origin, composer, book, notes, source, transcription, history, lyrics and comments.
Every raw header field is still kept verbatim in the metadata (:func:`parse_header`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import ABCError

# ABC 2.1 information fields by letter -> the metadata name we store them under.
FIELD_NAMES = {
    "A": "area", "B": "book", "C": "composer", "D": "discography", "F": "file_url", "G": "group",
    "H": "history", "I": "instruction", "K": "key", "L": "unit_note_length", "M": "meter", "m": "macro",
    "N": "notes", "O": "origin", "P": "parts", "Q": "tempo", "R": "rhythm", "r": "remark", "S": "source",
    "T": "title", "U": "user_defined", "V": "voice", "W": "words", "w": "lyrics", "X": "reference",
    "Z": "transcription",
}
# Fields that describe the sound of the music; everything else is a label or a comment.
MUSIC_HEADER_FIELDS = frozenset("LMKQV")
MUSIC_BODY_FIELDS = frozenset("LMKQVP")

_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")
_INLINE_FIELD = re.compile(r"\[([A-Za-z]):[^\]\n]*\]")
_NOTE_LETTER = re.compile(r"[A-Ga-g]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_QUOTED = re.compile(r'"[^"\n]*"')
# Text in a tune body that is not notes: chord symbols and annotations, !decorations!, +decorations+, [X:...].
_NOT_NOTES = re.compile(r'"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+|\[[A-Za-z]:[^\]\n]*\]')
_LETTER = re.compile(r"[A-Za-z]")
_NOTE_OR_REST = re.compile(r"[A-Ga-gxyzXZ]")
# Share of the body's letters that must be notes or rests. Every tune of music21's corpus is above 0.77;
# English or German prose is near 0.35 (a-g, x-z are about a third of the letters of ordinary text; a
# short sentence may reach 0.5).
MIN_NOTE_SHARE = 0.65


@dataclass
class ParsedTune:
    """One tune read from ABC text."""

    ref: str | None  # the X: number, or None when the text has no X: line
    abc: str  # the music only (see clean_abc)
    metadata: dict[str, str] = field(default_factory=dict)  # raw header fields by name


def split_tunes(text: str) -> list[tuple[str | None, str]]:
    """Split a multi-tune ABC file on its ``X:`` lines.

    Lines before the first ``X:`` form the file header (ABC's defaults for every tune, e.g. ``L:`` or
    ``%%`` directives); its field lines are prepended to each tune so a tune stays self-contained.

    Returns:
        ``[(ref, tune_text), ...]``; ``ref`` is the ``X:`` value (None for text with no ``X:`` at all).

    Example:
        >>> [ref for ref, _ in split_tunes("X:1\\nK:D\\nabc|\\n\\nX:2\\nK:G\\nGAB|")]
        ['1', '2']
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    starts = [i for i, line in enumerate(lines) if re.match(r"^X:", line)]
    if not starts:
        return [(None, text)] if text.strip() else []
    file_header = [line for line in lines[: starts[0]] if _FIELD_LINE.match(line) and line[0] in MUSIC_HEADER_FIELDS - {"K"}]
    tunes = []
    for position, start in enumerate(starts):
        end = starts[position + 1] if position + 1 < len(starts) else len(lines)
        ref = lines[start][2:].strip() or None
        tune_lines = [lines[start], *file_header, *lines[start + 1 : end]]
        tunes.append((ref, "\n".join(tune_lines).strip("\n")))
    return tunes


def _header_and_body(text: str) -> tuple[list[str], list[str]]:
    # The header ends at the first K: line (ABC 2.1 §3); a tune with no K: is treated as all header
    # until its first line that is not a field, so sloppy files still yield their music.
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    for index, line in enumerate(lines):
        if line.startswith("K:"):
            return lines[: index + 1], lines[index + 1 :]
    for index, line in enumerate(lines):
        if line.strip() and not line.startswith("%") and not _FIELD_LINE.match(line):
            return lines[:index], lines[index:]
    return lines, []


def parse_header(text: str) -> dict[str, str]:
    """Every header field of one tune, by name, verbatim (repeats joined with ``"; "``).

    The first ``T:`` is the ``title``; later ones are ``alternative_titles``.

    Example:
        >>> parse_header("X:1\\nT:Drowsy Maggie\\nR:reel\\nM:4/4\\nK:Edor\\nE2BE|")["rhythm"]
        'reel'
    """
    header, _ = _header_and_body(text)
    metadata: dict[str, str] = {}
    previous = None
    for line in header:
        if line.startswith("+:") and previous:
            metadata[previous] += " " + line[2:].strip()
            continue
        match = _FIELD_LINE.match(line)
        if not match:
            continue
        letter, value = match.group(1), match.group(2).strip()
        name = FIELD_NAMES.get(letter, f"field_{letter}")
        if name == "title" and "title" in metadata:
            name = "alternative_titles"
        if not value:
            continue
        metadata[name] = f"{metadata[name]}; {value}" if name in metadata else value
        previous = name
    return metadata


def header_value(abc: str, field: str) -> str | None:
    """The value of the first ``field:`` line of an ABC text (comment kept), or None.

    Example:
        >>> header_value("X:1\\nM:6/8\\nK:D\\nd2f|", "M")
        '6/8'
    """
    match = re.search(rf"^{field}:\s*(.+)$", abc or "", re.MULTILINE)
    return match.group(1).strip() if match else None


def _strip_comment(line: str) -> str:
    # '%' starts a comment unless escaped as '\%' (ABC 2.1 §2.2); '%%' directives are whole-line.
    index = 0
    while True:
        index = line.find("%", index)
        if index < 0:
            return line
        if index == 0 or line[index - 1] != "\\":
            return line[:index].rstrip()
        index += 1


def _drop_label_inline_fields(line: str) -> str:
    return _INLINE_FIELD.sub(lambda m: m.group(0) if m.group(1) in MUSIC_BODY_FIELDS else "", line)


def clean_abc(text: str) -> str:
    """Keep only the music of one tune: ``L: M: K: Q: V:`` header lines, ``%%score`` and the body.

    Raises:
        ABCError: the text holds no notes (empty, only fields, or not ABC at all) or is binary.

    Example:
        >>> clean_abc("X:1\\nT:The Kesh\\nR:jig\\nM:6/8\\nL:1/8\\nK:G\\nGAG GAB|")
        'M:6/8\\nL:1/8\\nK:G\\nGAG GAB|'
    """
    if not isinstance(text, str):
        raise ABCError(f"ABC text must be a string, got {type(text).__name__}.")
    if _CONTROL.search(text):
        raise ABCError("the text holds control characters: it is binary data, not ABC.")
    header, body = _header_and_body(text)
    kept = []
    previous_kept = False
    for line in header:
        if line.startswith("%%score") or line.startswith("%%staves"):
            kept.append(line)
            previous_kept = False
            continue
        if line.startswith("+:"):
            if previous_kept:
                kept[-1] += " " + line[2:].strip()
            continue
        match = _FIELD_LINE.match(line)
        previous_kept = bool(match and match.group(1) in MUSIC_HEADER_FIELDS)
        if previous_kept:
            kept.append(f"{match.group(1)}:{_strip_comment(match.group(2)).strip()}")
    music_lines = []
    for line in body:
        if line.startswith("%%score") or line.startswith("%%staves"):
            music_lines.append(line)
            continue
        match = _FIELD_LINE.match(line)
        if match:
            if match.group(1) in MUSIC_BODY_FIELDS:
                music_lines.append(f"{match.group(1)}:{_strip_comment(match.group(2)).strip()}")
            continue
        line = _drop_label_inline_fields(_strip_comment(line)).rstrip()
        if line.strip():
            music_lines.append(line)
    if not any(_NOTE_LETTER.search(_QUOTED.sub("", line)) for line in music_lines if not _FIELD_LINE.match(line)):
        raise ABCError("the ABC text has no notes after its header; it is empty, only fields, or not ABC.")
    return "\n".join(kept + music_lines)


def require_music(text: str) -> None:
    """Refuse text that is not ABC music, for readers of files that may hold anything.

    The rule: the tune has a ``K:`` (key) field line, and in its body (after ``K:``; field lines, comments,
    quoted chord symbols and annotations, decorations and inline fields left out) at least
    :data:`MIN_NOTE_SHARE` of the letters are notes or rests (``A-G a-g z x y``). Prose after a ``K:`` line
    fails the second test, since most letters of words are not notes; tunes without bar lines pass (unbarred
    folk songs are real music).

    Raises:
        ABCError: the text has no ``K:`` field, or its body reads as prose rather than notes.

    Example:
        >>> require_music("X:1\\nT:Tam Lin\\nK:Dm\\nA2FA dAFA|")
        >>> require_music("K:G\\nThis file holds my notes about tunes.")
        Traceback (most recent call last):
        musicsearch.errors.ABCError: not ABC music: only 8 of the 30 letters after the K: field are notes or rests; this reads as prose, not a tune body.
    """
    header, body = _header_and_body(text)
    if not header or not header[-1].startswith("K:"):
        raise ABCError("not ABC music: there is no K: (key) field; an ABC tune needs a K: line before its notes.")
    notes = letters = 0
    for line in body:
        if line.startswith("%") or _FIELD_LINE.match(line):
            continue
        line = _NOT_NOTES.sub("", _strip_comment(line))
        notes += len(_NOTE_OR_REST.findall(line))
        letters += len(_LETTER.findall(line))
    if letters and notes < MIN_NOTE_SHARE * letters:
        raise ABCError(f"not ABC music: only {notes} of the {letters} letters after the K: field are notes or "
                       "rests; this reads as prose, not a tune body.")


def parse_tune(text: str, ref: str | None = None) -> ParsedTune:
    """Read one tune: its music (:func:`clean_abc`) and its metadata (:func:`parse_header`).

    Example:
        >>> parse_tune("X:3\\nT:Tam Lin\\nK:Dm\\nA2FA dAFA|").metadata["title"]
        'Tam Lin'
    """
    metadata = parse_header(text)
    if ref is None:
        ref = metadata.get("reference")
    return ParsedTune(ref=ref, abc=clean_abc(text), metadata=metadata)
