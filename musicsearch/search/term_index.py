"""The term tables of :mod:`musicsearch.data.terms` as lookups: folded phrases, mode words, tonic names.

The query parser (:mod:`musicsearch.search.understanding`) reads words through these: :func:`tokens` splits a
query as the tables are split, :func:`fold` drops case and accents, :func:`phrases` maps every folded phrase
to its field, canonical value and languages. Built once per process.

Example:
    >>> phrases()[("canzone", "d", "amore")][:2]
    ('tune_type', 'love song')
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ..data import terms, vocab

_TOKEN = re.compile(r"<meter:\d+/\d+>|[\w#♯♭]+(?:'[\w]+)*", re.UNICODE)
# French and Italian elisions ("d'Irlande", "dell'Irlanda", "l'air"): the article is a word of its own.
_ELISION = re.compile(r"\b(d|l|qu|dell|dall|all|nell|sull|un)'(?=\w)", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case without accents (``"Canción"`` → ``"cancion"``), the form the term tables are matched in."""
    text = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    return "".join(char for char in text if not unicodedata.combining(char))


def tokens(text: str) -> list[str]:
    """A query's words, with elisions split and numeric meters kept whole ("<meter:6/8>").

    Example:
        >>> tokens("une gigue d'Irlande")
        ['une', 'gigue', 'd', 'Irlande']
    """
    return _TOKEN.findall(_ELISION.sub(r"\1 ", text.replace("\u2019", "'")))


@lru_cache(maxsize=1)
def phrases() -> dict[tuple[str, ...], tuple[str, str, frozenset[str]]]:
    """Folded phrase -> (field, canonical value, languages), from the term tables (first table wins)."""
    table: dict[tuple[str, ...], tuple[str, str, set[str]]] = {}

    def add(name: str, value: str, language: str, phrase: str) -> None:
        key = tuple(fold(word) for word in tokens(phrase.replace("-", " ")))
        entry = table.setdefault(key, (name, value, set()))
        if entry[:2] == (name, value):
            entry[2].add(language)

    for name, source in (("tune_type", terms.TUNE_TYPE_TERMS), ("meter", terms.METER_TERMS),
                         ("origin", terms.ORIGIN_TERMS), ("region", terms.REGION_TERMS),
                         ("mode", terms.MODE_TERMS), ("tempo", terms.TEMPO_TERMS)):
        for value, by_language in source.items():
            for language, phrases in by_language.items():
                for phrase in phrases:
                    add(name, "minor" if value == "aeolian" else value, language, phrase)
    for language, numbers in terms.METER_NUMBERS.items():
        for number, top in numbers.items():
            for unit, bottom in terms.METER_UNITS[language].items():
                meter = f"{top}/{bottom}"
                for phrase in {"en": [f"{number} {unit}"], "fr": [f"{number} {unit}"], "it": [f"{number} {unit}"],
                               "es": [f"{number} por {unit}"],
                               "de": [f"{number}{unit}takt", f"{number}{unit}"]}[language]:
                    add("meter", meter, language, phrase)
    for value, phrases in terms.COLLECTION_TERMS.items():
        for phrase in phrases:
            add("collection", value, "en", phrase)
    for phrase in terms.UNKNOWN_PLACES:
        add("unknown", phrase, "en", phrase)
    for language, words in terms.FUNCTION_WORDS.items():
        for word in words:
            add("function", word, language, word)
    return {key: (name, value, frozenset(languages)) for key, (name, value, languages) in table.items() if key}


@lru_cache(maxsize=1)
def longest_phrase() -> int:
    return max(len(key) for key in phrases())


@lru_cache(maxsize=1)
def mode_words() -> dict[str, tuple[str, set[str]]]:
    """Folded mode word -> (canonical mode, languages it is that word in)."""
    table: dict[str, tuple[str, set[str]]] = {}
    for mode, by_language in terms.MODE_TERMS.items():
        for language, words in by_language.items():
            for word in words:
                table.setdefault(fold(word), ("minor" if mode == "aeolian" else mode, set()))[1].add(language)
    return table


@lru_cache(maxsize=1)
def tonics() -> dict[str, dict[str, str]]:
    return {language: {fold(name): tonic for name, tonic in names.items()} for language, names in terms.TONICS.items()}


@lru_cache(maxsize=1)
def accidentals() -> dict[str, str]:
    return {fold(word): sign for word, sign in terms.ACCIDENTALS.items() if word.isalpha()}


def genre_stem(word: str) -> str | None:
    """The English genre of a German genre word read as the corpus's own records are read
    (:data:`musicsearch.data.vocab.GERMAN_GENRES`, by stem), or None.

    Essen writes genres as truncated compounds ("Staende -, Soldaten - Lied": *Ständelied und
    Soldatenlied*); the term tables hold whole words, so a word they do not know is tried by stem. A stem of
    five letters or more starts the word; a shorter one ("tanz", "sage") must be the word or the word's
    first part before "lied", so that English words are not read as German genres.

    Example:
        >>> genre_stem("Staende"), genre_stem("Soldaten"), genre_stem("sage"), genre_stem("sausage")
        ('trade song', "soldiers' song", 'legend song', None)
    """
    folded = fold(word)
    for stem, english in vocab.GERMAN_GENRES:
        if len(stem) >= 5 and folded.startswith(stem):
            return english
        if folded == stem or (folded.startswith(stem) and folded.removeprefix(stem).lstrip("s") in ("lied", "lieder")):
            return english
    return None

