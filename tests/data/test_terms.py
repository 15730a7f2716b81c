"""The query term tables: every word of every language reads back as its own value."""

from __future__ import annotations

from musicsearch.data import terms
from musicsearch.data.vocab import COUNTRIES, DANCE_TYPES, GERMAN_GENRES
from musicsearch.search.understanding import understand_query

_TABLES = {"tune_type": terms.TUNE_TYPE_TERMS, "origin": terms.ORIGIN_TERMS, "region": terms.REGION_TERMS,
           "mode": terms.MODE_TERMS, "meter": terms.METER_TERMS}
_ENTRIES = [(field, value, language, word) for field, table in _TABLES.items() for value, by_language in table.items()
            for language, words in by_language.items() for word in words]


def test_every_term_reads_back_as_its_value():
    wrong = []
    for field, value, language, word in _ENTRIES:
        query = f"en {word}" if word == "mayor" else word  # "mayor" alone is an English word: a mode in context
        expected = "minor" if value == "aeolian" else value
        if understand_query(query).constraints.get(field) != expected:
            wrong.append((language, word, understand_query(query).constraints))
    assert not wrong
    assert len(_ENTRIES) > 400


def test_tables_use_the_languages_and_the_record_readers_values():
    for table in (terms.TUNE_TYPE_TERMS, terms.ORIGIN_TERMS, terms.MODE_TERMS, terms.TEMPO_TERMS):
        assert all(set(by_language) <= set(terms.LANGUAGES) and "en" in by_language for by_language in table.values())
    known_types = set(DANCE_TYPES) | {english for _, english in GERMAN_GENRES} | {"chorale"}
    assert set(terms.TUNE_TYPE_TERMS) <= known_types
    assert set(terms.ORIGIN_TERMS) <= set(COUNTRIES)
    for language in terms.LANGUAGES:  # the five languages say lullaby, the example
        assert terms.TUNE_TYPE_TERMS["lullaby"][language]


def test_tempo_words_are_read_as_tempo():
    wrong = [(word, understand_query(word).tempo) for value, by_language in terms.TEMPO_TERMS.items()
             for words in by_language.values() for word in words if understand_query(word).tempo != [value]]
    assert not wrong
