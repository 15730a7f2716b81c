"""Other wordings of a caption phrase: what a template says one way, people type many ways.

Caption parts come from templates, so every Bach chorale is described as "in the Bach chorales" and every
key as "in D minor". A music encoder trained against a frozen text encoder on those exact phrases learns
their exact points in the text space, and the longer it trains the less it answers the neighbours a
person types ("a Bach chorale", "a minor-key tune", "in 6/8"). TTMR++ rewrites tags into varied
sentences with an LLM for the same reason; here a few rules per kind of phrase do it offline and
deterministically, and text dropout (:func:`musicsearch.data.texts.short_dropout`) picks among them.

=============================  ================================================================
caption part                   some other wordings
=============================  ================================================================
``a reel``                     ``reel``
``in D minor``                 ``D minor``, ``in the key of D minor``, ``in a minor key``, ``minor``
``in six-eight time``          ``six-eight``, ``in 6/8``, ``6/8 time`` (``in common time``: ``in 4/4``)
``from Swabia, Germany``       ``from Germany``, ``Germany``, ``German``, ``a tune from Swabia``
``in the Bach chorales``       ``from the Bach chorales``, ``Bach chorale``, ``from Bach chorales``
``by Mozart``                  ``composed by Mozart``, ``Mozart``
``with few notes per bar``     ``few notes per bar``
``for four voices``            ``four voices``, ``a piece for four voices``
=============================  ================================================================

Example:
    >>> wordings("in six-eight time")
    ['in six-eight time', 'six-eight', 'in 6/8', '6/8 time']
"""

from __future__ import annotations

import random
import re

from .captions import COLLECTION_NAMES
from .terms import COLLECTION_TERMS, ORIGIN_TERMS
from .vocab import NUMBER_WORDS

_NUMBERS = {word: number for number, word in NUMBER_WORDS.items()}
_MODE_WORDS = ("major", "minor", "dorian", "mixolydian", "lydian", "phrygian", "locrian", "aeolian", "ionian")
_KEY = re.compile(r"^in ([A-G](?:-flat|-sharp)?) (" + "|".join(_MODE_WORDS) + r")$")
_METER = re.compile(r"^in ([a-z]+)-([a-z]+) time$")
_NAMED_METERS = {"in common time": ["common time", "in 4/4", "4/4 time"],
                 "in cut time": ["cut time", "in 2/2", "alla breve"]}
_COLLECTION_KEYS = {name: key for key, name in COLLECTION_NAMES.items()}
_COUNTRY_ADJECTIVES = {country: terms["en"][0] for country, terms in ORIGIN_TERMS.items() if terms.get("en")}


def _key_wordings(tonic: str, mode: str) -> list[str]:
    mode_only = f"in a {mode} key" if mode in ("major", "minor") else f"in the {mode} mode"
    return [f"{tonic} {mode}", f"in the key of {tonic} {mode}", mode_only, mode]


def _meter_wordings(top: str, bottom: str) -> list[str]:
    digits = f"{_NUMBERS[top]}/{_NUMBERS[bottom]}"
    return [f"{top}-{bottom}", f"in {digits}", f"{digits} time"]


def _place_wordings(places: str) -> list[str]:
    names = [name.strip() for name in places.split(",") if name.strip()]
    country = names[-1]
    found = [f"from {country}", country] if len(names) > 1 else [country]
    adjective = _COUNTRY_ADJECTIVES.get(country)
    if adjective and adjective != country:
        found.append(adjective)
    return found + [f"a tune from {names[0]}"]


def _collection_wordings(name: str) -> list[str]:
    found = [f"from {name}"]
    for alias in COLLECTION_TERMS.get(_COLLECTION_KEYS.get(name, ""), ()):
        found += [alias, f"from {alias}"]
    return found


def wordings(part: str) -> list[str]:
    """Every wording of one caption part, the part itself first (a part no rule knows has only itself).

    Example:
        >>> wordings("in D minor")
        ['in D minor', 'D minor', 'in the key of D minor', 'in a minor key', 'minor']
    """
    found = [part]
    if match := _KEY.match(part):
        found += _key_wordings(match.group(1), match.group(2))
    elif (match := _METER.match(part)) and match.group(1) in _NUMBERS and match.group(2) in _NUMBERS:
        found += _meter_wordings(match.group(1), match.group(2))
    elif part in _NAMED_METERS:
        found += _NAMED_METERS[part]
    elif part.startswith("from "):
        found += _place_wordings(part[len("from "):])
    elif part.startswith("in ") and part[len("in "):] in _COLLECTION_KEYS:
        found += _collection_wordings(part[len("in "):])
    elif part.startswith("by "):
        found += [f"composed by {part[3:]}", part[3:]]
    elif match := re.match(r"^for (\w+) voices$", part):
        found += [f"{match.group(1)} voices", f"a piece for {match.group(1)} voices"]
    elif part.startswith("with "):
        found.append(part[len("with "):])
    elif re.match(r"^an? [a-z]", part):
        found.append(part.split(" ", 1)[1])
    return list(dict.fromkeys(found))


def reword(part: str, rng: random.Random, share: float) -> str:
    """``part`` itself, or with probability ``share`` one of its other wordings (drawn from ``rng``).

    Example:
        >>> reword("in D minor", random.Random(0), share=0.0)
        'in D minor'
    """
    if share <= 0 or rng.random() >= share:
        return part
    others = wordings(part)[1:]
    return rng.choice(others) if others else part
