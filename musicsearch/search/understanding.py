"""Query understanding: one parser turns a typed query into field constraints, free words and notes.

Every text search path reads a query through :func:`understand_query`: hybrid search (API, CLI, search
box), the search page's rule rewrite (:func:`musicsearch.llm.rewrite.rule_rewrite`) and the benchmark. It
reads, in English, German, French, Italian and Spanish (the tables of :mod:`musicsearch.data.terms`):

- constraints: ``tune_type``, ``meter``, ``key`` (``"F# minor"``), ``mode``, ``origin`` (a country),
  ``region``, ``composer`` (after "by", "von", "par", "di"), ``collection`` ("O'Neill's");
- ``tempo``: tempo and character words (slow, lebhaft, triste...), reported but not ranked by: the corpus
  records a tempo for few tunes;
- ``free_words``: what is left (names, title words), for keyword search, and the tune-type words as typed
  (a "double jig" or "Liebeslieder" is a jig or a love song that also says so in its metadata);
- ``consumed``: function words (*a*, *key*, *tune*, *in*, *Lied*, *canción*...), never matched to titles;
- ``notes``: what could not be used, said in words: contradictions ("a reel in 3/4"), two values for one
  field, places the corpus has no tunes from, control characters, a query of function words only.

Example:
    >>> reading = understand_query("a slow Irish air in a minor key")
    >>> reading.constraints, reading.free_words
    ({'tune_type': 'air', 'mode': 'minor', 'origin': 'Ireland'}, ['air'])
    >>> understand_query("ein irisches Wiegenlied in Moll").constraints
    {'tune_type': 'lullaby', 'mode': 'minor', 'origin': 'Ireland'}
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..data import features, terms
from .queries import MAX_QUERY_CHARS
from .term_index import accidentals, fold, genre_stem, longest_phrase, mode_words, phrases, tokens, tonics

FIELDS = ("tune_type", "meter", "key", "mode", "origin", "region", "composer", "collection")
_LABELS = {"tune_type": "type", "meter": "meter", "key": "key", "mode": "mode", "origin": "origin",
           "region": "region", "composer": "composer", "collection": "collection", "tempo": "tempo"}
_METER = re.compile(r"\b(\d{1,2})\s*/\s*(\d{1,2})\b")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ENGLISH_TONIC = re.compile(r"^([A-G])([#♯♭b]?)$")
_NAME_INTRO = {"by": "en", "von": "de", "par": "fr", "di": "it", "de": "es"}
_PARTICLES = {"des", "de", "du", "van", "von", "di", "da", "del", "la", "le", "y"}  # inside a name, lower case
# Mode words that are also common words elsewhere ("mayor"): a mode only after a key word or "in"/"en".
_AMBIGUOUS_MODES = {"mayor", "dur"}
_MODE_CONTEXT = {"in", "en", "im", "tono", "modo", "tonalidad", "tonart", "tonalite", "tonalita"}


@dataclass
class QueryReading:
    """What :func:`understand_query` read in a query (see the module docstring for each part)."""

    query: str  # the query as read (control characters removed, cut to MAX_QUERY_CHARS)
    constraints: dict[str, str] = field(default_factory=dict)  # FIELDS -> canonical value, in FIELDS order
    tempo: list[str] = field(default_factory=list)  # "slow", "lively", "sad", "happy"
    free_words: list[str] = field(default_factory=list)  # words left for keyword and title matching
    consumed: list[str] = field(default_factory=list)  # function words, as typed
    understood: list[tuple[str, str, str]] = field(default_factory=list)  # (field, value, the words typed)
    languages: list[str] = field(default_factory=list)  # languages a word was recognised in, unambiguously
    notes: list[str] = field(default_factory=list)  # contradictions, unknown places, what was ignored

    @property
    def text(self) -> str:
        """The free words joined: what keyword search and titles are matched against."""
        return " ".join(self.free_words)

    def english(self) -> str:
        """The reading as an English sentence for the text encoder (the query itself when nothing was read).

        Example:
            >>> understand_query("une berceuse irlandaise en 6/8").english()
            'a lullaby from Ireland in 6/8'
        """
        if not self.constraints and not self.tempo:
            return self.query
        c = self.constraints
        parts = [" ".join(self.tempo), c.get("tune_type") or "tune"]
        if "composer" in c:
            parts.append(f"by {c['composer']}")
        place = ", ".join(v for v in (c.get("region"), c.get("origin")) if v)
        parts += [f"from {place}" if place else "", f"in {c['key']}" if "key" in c else
                  (f"in a {c['mode']} key" if "mode" in c else ""), f"in {c['meter']}" if "meter" in c else "",
                  f"from {c['collection']}" if "collection" in c else "", " ".join(self._other_words())]
        return "a " + " ".join(part for part in parts if part)

    def _other_words(self) -> list[str]:
        """Free words that are not the type's own words (those the English rendering already says)."""
        typed = {word for name, _, words in self.understood if name == "tune_type" for word in words.split()}
        return [word for word in self.free_words if word not in typed]

    def summary(self) -> str:
        """One line for a person: what was understood, what was ignored, and the notes.

        Example:
            >>> understand_query("a reel in 3/4").summary()[:48]
            'understood: type reel, meter 3/4; ignored: a, in'
        """
        read = ", ".join(f"{_LABELS[name]} {value}" for name, value in self.constraints.items())
        read += (", " if read and self.tempo else "") + ", ".join(f"tempo {word}" for word in self.tempo)
        parts = [f"understood: {read or 'no field words'}"]
        if self.consumed:
            parts.append("ignored: " + ", ".join(dict.fromkeys(word.lower() for word in self.consumed)))
        if self.free_words:
            parts.append("matched as words: " + " ".join(self.free_words))
        return "; ".join(parts + self.notes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def understand_query(query: str) -> QueryReading:
    """Read a text query into constraints, tempo words, free words and notes (never raises on text).

    Example:
        >>> understand_query("a reel in 3/4").notes
        ['a reel is usually in 4/4 or 2/2, not 3/4: tunes matching either come first']
    """
    notes: list[str] = []
    text = str(query or "")
    if _CONTROL.search(text):
        notes.append(f"removed {len(_CONTROL.findall(text))} control character(s)")
        text = _CONTROL.sub(" ", text)
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0]
        notes.append(f"read the first {len(text)} characters only")
    reading = QueryReading(query=text, notes=notes)
    words = tokens(_METER.sub(lambda m: f" <meter:{int(m.group(1))}/{int(m.group(2))}> ", text))
    found: dict[str, str] = {}
    languages: set[str] = set()
    position = 0
    while position < len(words):
        position += _read_one(words, position, reading, found, languages)
    reading.constraints = {name: found[name] for name in FIELDS if name in found}
    reading.languages = sorted(languages)
    _add_notes(reading)
    return reading


def _read_one(tokens: list[str], at: int, reading: QueryReading, found: dict[str, str], languages: set[str]) -> int:
    """Read the token(s) at ``at``; returns how many were used."""
    token = tokens[at]
    if token.startswith("<meter:"):
        _set(reading, found, "meter", token[7:-1], token[7:-1])
        return 1
    key = _read_key(tokens, at)
    if key is not None:
        used, tonic, mode, language = key
        if language:
            languages.add(language)
        _set(reading, found, "key", f"{tonic} {mode}", " ".join(tokens[at:at + used]))
        _set(reading, found, "mode", mode, "", quiet=True)
        return used
    folded = [fold(word) for word in tokens[at:at + 5]]
    if folded[0] in _NAME_INTRO and at + 1 < len(tokens):
        name = _read_name(tokens, at + 1, folded[0])
        if name:
            reading.consumed.append(token)
            _set(reading, found, "composer", " ".join(name), " ".join(name))
            reading.free_words.extend(name)  # names are matched as words too (BM25 knows spellings)
            return 1 + len(name)
    for size in range(min(len(folded), longest_phrase()), 0, -1):
        entry = phrases().get(tuple(folded[:size]))
        if entry is None:
            continue
        name, value, langs = entry
        words = " ".join(tokens[at:at + size])
        if name == "mode" and folded[0] in _AMBIGUOUS_MODES and not _mode_context(tokens, at, reading):
            continue
        if len(langs) == 1 and name != "function":
            languages.update(langs)
        if name == "function":
            reading.consumed.append(words)
        elif name == "tempo":
            reading.tempo.append(value)
            reading.understood.append(("tempo", value, words))
        elif name == "unknown":
            reading.notes.append(f"no tunes from the place {words!r} in this corpus: ignored it")
        else:
            _set(reading, found, name, value, words)
            if name == "tune_type":  # also matched as words: "double jig", "Liebeslieder" narrow the type
                reading.free_words.extend(tokens[at:at + size])
        return size
    genre = genre_stem(token) if token[:1].isupper() else None  # German nouns are capitalised
    if genre is not None:
        languages.add("de")
        _set(reading, found, "tune_type", genre, token)
    reading.free_words.append(token)
    return 1


def _mode_context(tokens: list[str], at: int, reading: QueryReading) -> bool:
    """Whether an ambiguous mode word ("mayor", "dur") is a mode here: "Dur", "en mayor", "Irlanda mayor"."""
    if tokens[at] == "Dur" or (at and fold(tokens[at - 1]) in _MODE_CONTEXT):
        return True
    return bool(at and reading.understood) and reading.understood[-1][2].split()[-1] == tokens[at - 1]


def _set(reading: QueryReading, found: dict[str, str], name: str, value: str, words: str, *,
         quiet: bool = False) -> None:
    if name in found and found[name] != value:
        if not quiet:
            reading.notes.append(f"two values for {_LABELS[name]} ({found[name]}, {value}): used {found[name]}")
        return
    found.setdefault(name, value)
    if words:
        reading.understood.append((name, value, words))


def _read_key(tokens: list[str], at: int) -> tuple[int, str, str, str] | None:
    """``(tokens used, tonic, mode, language)`` of a key named at ``at`` ("D major", "d-Moll", "ré mineur")."""
    words = [fold(word) for word in tokens[at:at + 4]]
    modes = mode_words()
    english = _ENGLISH_TONIC.match(tokens[at])
    lowercase = re.fullmatch(r"[b-g][#b]?", tokens[at])  # "a" is an article: "in a minor key" names a mode
    if english or lowercase:
        tonic = tokens[at][0].upper() + terms.ACCIDENTALS.get(tokens[at][1:], tokens[at][1:])
        used = 1
        if len(words) > used and words[used] in ("sharp", "flat"):
            tonic, used = tonic[0] + terms.ACCIDENTALS[words[used]], used + 1
        mode = modes.get(words[used]) if len(words) > used else None
        if mode is not None and "en" in mode[1]:
            return used + 1, tonic, mode[0], ""
        before = fold(tokens[at - 1]) if at else ""
        if english and before in ("in", "of") and (len(words) <= used or words[used] not in modes):
            return used, tonic, "major", ""  # "in D", "key of G": a tonic alone is major
    for language in ("de", "fr", "it", "es"):
        tonic = tonics()[language].get(words[0])
        if tonic is None or len(words) < 2:
            continue
        used = 1
        if language != "de" and words[used] in accidentals() and len(words) > 2:
            tonic, used = tonic[0] + accidentals()[words[used]], used + 1
        mode = modes.get(words[used]) if len(words) > used else None
        if mode is not None and language in mode[1]:
            return used + 1, tonic, mode[0], language
    return None


def _read_name(tokens: list[str], at: int, intro: str) -> list[str]:
    """The name after "by"/"von"/...: capitalised words (or any word after English "by"), up to a known term."""
    name: list[str] = []
    for position, token in enumerate(tokens[at:at + 5], at):
        following = tokens[position + 1] if position + 1 < len(tokens) else ""
        if name and token in _PARTICLES and following[:1].isupper():
            name.append(token)  # "Josquin des Prez", "Ludwig van Beethoven"
            continue
        known = phrases().get((fold(token),))
        # After "by", a capitalised collection or place word is a name ("by O'Neill", the composer field's
        # "Irish."); after "de"/"von"/"di" a place is where the tune is from ("de Irlanda").
        as_name = known is not None and token[0].isupper() and (
            known[0] == "collection" or (intro == "by" and known[0] in ("origin", "region")))
        if token.startswith("<meter:") or (known is not None and not as_name):
            break
        if not (token[0].isupper() or "'" in token or (intro == "by" and not name)):
            break
        name.append(token)
    return name


def _add_notes(reading: QueryReading) -> None:
    c = reading.constraints
    typical = terms.TYPICAL_METERS.get(c.get("tune_type", ""), ())
    meter = features.meter_signature(c.get("meter"))
    if typical and meter and meter not in typical:
        reading.notes.append(f"a {c['tune_type']} is usually in {' or '.join(typical)}, not {meter}: "
                             "tunes matching either come first")
    if len(reading.languages) > 1:
        reading.notes.append(f"mixed languages ({', '.join(reading.languages)}): each word was read in its own")
    if reading.tempo:
        reading.notes.append("tempo and character words are not used to rank: few tunes record a tempo")
    if not c and not reading.free_words:
        reading.notes.append("only function words: nothing to match, so tunes are ranked by how they sound")
