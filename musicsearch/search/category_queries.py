"""Everyday category queries for evaluating search: type, origin, mode and meter, in five languages.

People ask for kinds of tunes ("an Irish air in a minor key", "ein Wiegenlied in Moll") more than for
titles. :func:`make_category_queries` writes such queries from records (e.g. held-out tunes): it takes a
combination of a record's own facts (type + origin, type + mode + meter, ...), so every query has an
answer, and writes the *same* constraints in English, German, French, Italian and Spanish, with
function words ("a jig from Ireland in a minor key") and without ("jig Ireland minor"). The words come
from :mod:`musicsearch.data.terms`, the table the query parser reads.

Relevance is by the data, not by hand: a tune answers a query when it satisfies every stated constraint,
as :class:`~musicsearch.search.fields.FieldIndex` reads it with the record readers of
:mod:`musicsearch.data.features`. A search that reads the query well can therefore reach 1.0; the
figure measures understanding and ranking by fields, not taste.

Example:
    >>> queries = make_category_queries(heldout, index.records, per_language=2)  # doctest: +SKIP
    >>> [(q.language, q.text) for q in queries[:2]]  # doctest: +SKIP
    [('en', 'a jig from Ireland in a minor key'), ('de', 'ein Jig aus Irland in Moll')]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data import terms
from .fields import FieldIndex, record_facts
from .fusion_tuning import DevQuery

COMBINATIONS = (("tune_type",), ("tune_type", "origin"), ("tune_type", "mode"), ("tune_type", "meter"),
                ("tune_type", "origin", "mode"), ("origin", "mode"), ("tune_type", "mode", "meter"),
                ("tune_type", "origin", "mode", "meter"))
# How each language says "a TYPE", "from PLACE", "in MODE", "in METER" (with function words).
_PHRASES = {
    "en": {"tune_type": "a {}", "origin": "from {}", "mode": "in a {} key", "meter": "in {} time", "tune": "a tune"},
    "de": {"tune_type": "ein {}", "origin": "aus {}", "mode": "in {}", "meter": "im {}-Takt", "tune": "ein Lied"},
    "fr": {"tune_type": "un {}", "origin": "de {}", "mode": "en mode {}", "meter": "en {}", "tune": "un air populaire"},
    "it": {"tune_type": "un {}", "origin": "dall'{}", "mode": "in {}", "meter": "in {}", "tune": "una canzone"},
    "es": {"tune_type": "un {}", "origin": "de {}", "mode": "en modo {}", "meter": "en compás de {}",
           "tune": "una canción"},
}
_MODES = ("major", "minor")  # modes people ask for by name; modal tunes are asked for as "dorian" rarely


def make_category_queries(records: Sequence[Any], pool: Sequence[Any], *, per_language: int = 50, seed: int = 0,
                          languages: Sequence[str] = terms.LANGUAGES, fields: FieldIndex | None = None,
                          ) -> list[DevQuery]:
    """``per_language`` category queries written from ``records``, answered over ``pool``, in each language.

    Every base query is written once per language (same constraints, same relevant tunes), alternately
    with and without function words. Queries are deterministic for a seed.

    Args:
        records: tunes to write queries from (their facts are the constraints).
        pool: the records of the index the queries run on (``index.records``).
        fields: the pool's :class:`FieldIndex`, when the caller has it (hybrid search builds one per index).
    """
    fields = fields or FieldIndex(pool)
    rng = np.random.default_rng(seed)
    ids = [record.id for record in pool]
    queries: list[DevQuery] = []
    seen: set[tuple] = set()
    for position in rng.permutation(len(records)):
        if len(seen) >= per_language:
            break
        record = records[int(position)]
        facts = record_facts(record.metadata, record.abc, record.collection)
        combination = COMBINATIONS[len(seen) % len(COMBINATIONS)]
        constraints = {name: facts[name] for name in combination}
        if not all(_sayable(name, value) for name, value in constraints.items()):
            continue
        key = tuple(sorted(constraints.items()))
        if key in seen:
            continue
        seen.add(key)
        relevant = frozenset(ids[row] for row in np.flatnonzero(fields.matches(constraints).all(axis=1)))
        plain = len(seen) % 2 == 0  # every other query without function words
        for language in languages:
            queries.append(DevQuery(render(constraints, language, plain=plain), relevant, "category", language))
    return queries


def render(constraints: dict[str, str], language: str, *, plain: bool = False) -> str:
    """A query stating ``constraints`` in ``language``, with function words or (``plain``) without.

    Example:
        >>> render({"tune_type": "lullaby", "origin": "Ireland", "mode": "minor"}, "fr")
        "une berceuse d'Irlande en mode mineur"
        >>> render({"tune_type": "jig", "meter": "6/8"}, "de", plain=True)
        'Jig 6/8'
    """
    words = {name: _word(name, value, language) for name, value in constraints.items()}
    phrases = _PHRASES[language]
    if plain:
        return " ".join(words[name] for name in ("tune_type", "origin", "mode", "meter") if name in words)
    parts = [_article(words["tune_type"], language) + " " + words["tune_type"] if "tune_type" in words
             else phrases["tune"]]
    if "origin" in words:
        parts.append(_from(words["origin"], language))
    parts += [phrases[name].format(words[name]) for name in ("mode", "meter") if name in words]
    return " ".join(parts)


def _article(word: str, language: str) -> str:
    """The indefinite article of a tune-type word (grammatical gender by the word's form, as people write)."""
    first = word.split()[0].lower()
    feminine = {"de": first.endswith(("e", "a")),
                "fr": first in ("chanson", "berceuse", "valse", "marche", "gigue", "ballade", "complainte", "comptine",
                                "polka", "mazurka", "lamentation"),
                "it": first.endswith("a") or first in ("canzone", "ninne"),
                "es": first.endswith("a") or first in ("canción", "canciones")}.get(language, False)
    if language == "en":
        return "an" if first[0] in "aeiou" else "a"
    return {"de": "eine", "fr": "une", "it": "una", "es": "una"}[language] if feminine else _PHRASES[language][
        "tune_type"].split()[0]


def _from(place: str, language: str) -> str:
    vowel = place[0].lower() in "aeiouéèêí"
    if language == "fr":
        return f"d'{place}" if vowel else f"de {place}"
    if language == "it":
        return f"dall'{place}" if vowel else (f"dalla {place}" if place.endswith("a") else f"dal {place}")
    return _PHRASES[language]["origin"].format(place)


def _word(name: str, value: str, language: str) -> str:
    if name == "meter":
        return value
    if name == "tune_type":
        table = terms.TUNE_TYPE_TERMS[value]
        return (table.get(language) or table["en"])[0]
    if name == "mode":
        return terms.MODE_TERMS[value][language][0]
    names = [word for word in terms.ORIGIN_TERMS[value].get(language, ()) if word[0].isupper()]
    return names[-1] if names else terms.ORIGIN_TERMS[value]["en"][-1]


def _sayable(name: str, value: str) -> bool:
    """Whether the term tables can say this value in every language (and it is worth asking for)."""
    if not value:
        return False
    if name == "tune_type":
        return value in terms.TUNE_TYPE_TERMS
    if name == "origin":
        return value in terms.ORIGIN_TERMS
    if name == "mode":
        return value in _MODES
    return name == "meter" and value in ("2/4", "3/4", "4/4", "6/8", "9/8", "3/8", "2/2", "12/8")
