"""Repairing text that was written in a DOS or Windows code page and read as Latin-1 ("mojibake").

The Essen folk song files in music21's corpus were typed on DOS: their German notes, titles and origins
hold code page 437 bytes (0x84 = ä, 0x94 = ö, 0x81 = ü, 0xE1 = ß, 0x8E = Ä, 0x99 = Ö, 0x9A = Ü), and
were later converted to UTF-8 as if they were Latin-1. A DOS ``ä`` thus reads as the C1 control
character U+0084 (``N\\x84chstenliebe``), and a DOS ``ß`` as ``á`` (``Schloá``). Text like this is
repaired here, once, where it is read (:func:`musicsearch.data.sources.records_from_text`), so titles,
metadata, captions and the keyword index all see ``Nächstenliebe``.

The rules (:func:`repair_text`):

* Text with no C1 control character (U+0080–U+009F) is returned unchanged: no correct text holds one,
  and without one there is no evidence that a ``á`` is a misread ``ß`` (Irish titles hold real ``á``).
* Otherwise the code page is chosen from the C1 characters (:func:`detect_codepage`): **cp437** (DOS)
  when one of them is a byte Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) or most of
  them sit inside words (``N\\x84chsten``); **cp1252** (Windows) when most sit at word edges, as
  Windows quotes and dashes do (``\\x93Hello\\x94``, ``a \\x96 b``).
* cp437: every C1 character becomes its cp437 letter, and ``á`` after a letter becomes ``ß`` (cp437
  0xE1). 0x9E is read as ``ß``: cp437 has the peseta sign ``₧`` there, which no word holds, while every
  0x9E in the Essen files stands for ß (``Stra\\x9een``, ``Gro\\x9evater``), as in the Atari ST character
  set that shares cp437's letters. Other Latin-1 letters (``ö``, ``é``) are kept: files mix both
  encodings (``religiöse`` beside ``sch\\x94ne``), and cp437 would turn them into symbols (``÷``).
* cp1252: every C1 character becomes its Windows-1252 character.

Ambiguous and left as chosen: 0x9B and 0x9D are ``¢``/``¥`` in cp437 but ``ø``/``Ø`` in cp850 (the
other DOS code page of Western Europe); cp437 is used, and neither occurs in music21's corpus. A ``á``
in text with no C1 character stays ``á`` even where a German word shows it is a misread ``ß``
(``aufgefaát``): nothing in such a line says which reading is right.

Example:
    >>> repair_text("N\\x84chstenliebe")
    'Nächstenliebe'
    >>> repair_text("Es steht ein Schloá in \\x99sterreich")
    'Es steht ein Schloß in Österreich'
    >>> repair_text("T\\u00e1 m\\u00e9 'mo shu\\u00ed")  # Irish, no DOS bytes: unchanged
    "Tá mé 'mo shuí"
"""

from __future__ import annotations

import re

C1_CONTROLS = re.compile("[\x80-\x9f]")
# Bytes Windows-1252 leaves undefined: text holding them was not written in it.
_UNDEFINED_IN_CP1252 = frozenset("\x81\x8d\x8f\x90\x9d")
# DOS capitals that start German words (Ä, Ö, Ü): at a word start, followed by a small letter.
_DOS_CAPITALS = frozenset("\x8e\x99\x9a")
_CP437_OVERRIDES = {"\x9e": "ß"}  # see the module docstring
_MISREAD_SHARP_S = re.compile(r"(?<=[^\W\d_])\u00e1")  # "á" after a letter: cp437 0xE1 read as Latin-1


def has_mojibake(text: str) -> bool:
    """True when ``text`` holds a C1 control character (U+0080–U+009F), the mark of a misread code page.

    Example:
        >>> has_mojibake("N\\x84chstenliebe"), has_mojibake("Nächstenliebe")
        (True, False)
    """
    return bool(C1_CONTROLS.search(text))


def _inside_word(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else " "
    after = text[index + 1] if index + 1 < len(text) else " "
    if text[index] in _DOS_CAPITALS and after.islower():
        return True
    return (before.isalpha() or has_mojibake(before)) and (after.isalpha() or has_mojibake(after))


def detect_codepage(text: str) -> str | None:
    """The code page ``text`` was written in before it was misread as Latin-1: ``"cp437"``, ``"cp1252"``
    or None when it shows no sign of a misread (no C1 control character).

    Example:
        >>> detect_codepage("gef\\x81hlvoll"), detect_codepage("\\x93Hello\\x94"), detect_codepage("Hello")
        ('cp437', 'cp1252', None)
    """
    positions = [match.start() for match in C1_CONTROLS.finditer(text)]
    if not positions:
        return None
    if any(text[index] in _UNDEFINED_IN_CP1252 for index in positions):
        return "cp437"
    inside = sum(_inside_word(text, index) for index in positions)
    # Ties go to cp437: the only misread text known in the corpus is DOS.
    return "cp437" if 2 * inside >= len(positions) else "cp1252"


def _decode(character: str, codepage: str) -> str:
    if codepage == "cp437" and character in _CP437_OVERRIDES:
        return _CP437_OVERRIDES[character]
    return character.encode("latin-1").decode(codepage)


def repair_text(text: str, codepage: str | None = None) -> str:
    """``text`` with its misread code-page characters decoded (see the module docstring for the rules).

    Args:
        text: any text, e.g. a whole ABC file or one metadata value.
        codepage: ``"cp437"`` or ``"cp1252"`` to force the reading, e.g. the one :func:`detect_codepage`
            found for the whole file a tune comes from (a tune with no C1 character of its own then still
            gets its ``á`` after a letter read as ``ß``); None detects it from ``text`` itself.

    Returns:
        The repaired text; ``text`` itself when no code page is given and it holds no C1 control character.

    Raises:
        ValueError: ``codepage`` is not one of the two above.

    Example:
        >>> repair_text("Adieu du G\\x82n\\x82ral Bertrand")
        'Adieu du Général Bertrand'
    """
    if codepage not in (None, "cp437", "cp1252"):
        raise ValueError(f"codepage must be 'cp437', 'cp1252' or None, got {codepage!r}.")
    codepage = codepage or detect_codepage(text)
    if codepage is None:
        return text
    repaired = C1_CONTROLS.sub(lambda match: _decode(match.group(0), codepage), text)
    if codepage == "cp437":
        repaired = _MISREAD_SHARP_S.sub("ß", repaired)
    return repaired
