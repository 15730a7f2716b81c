"""TTMR++-style captions: tags turned into sentences a person might type, plus metadata texts.

A tune's tags (tune type, meter, key and mode, origin, collection, composer, title and features of the
notes) become short phrases, its *caption parts*. Templates join them into several captions:

========================  ==========================================================================
template                  example
========================  ==========================================================================
``sentence``              "A reel in A major and two-four time, from Ryan's Mammoth Collection, ..."
``tags``                  "reel, A major, two-four, Ryan's Mammoth Collection"
``metadata``              "7th Regiment -- Reel by Conn. Higgins, in Ryan's Mammoth Collection"
``features``              "A melody in A major with a wide range and many notes per bar."
``similar``               "Similar to Flowing Tide Hornpipe" (only when the notes say so)
========================  ==========================================================================

The first caption is always the fullest. :func:`text_dropout` samples a random subset of the parts and
shuffles them, so a model learns from partial descriptions like the ones people actually type.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import features as _features
from .vocab import NUMBER_WORDS

COLLECTION_NAMES = {
    "essenFolksong": "the Essen folk song collection", "oneills1850": "O'Neill's Music of Ireland (1850)",
    "airdsAirs": "Aird's Selection of Scotch, English, Irish and Foreign Airs",
    "ryansMammoth": "Ryan's Mammoth Collection", "miscFolk": "a miscellany of folk tunes",
    "josquin": "the works of Josquin des Prez", "nottingham-dataset": "the Nottingham folk music database",
    "bach": "the Bach chorales", "trecento": "Italian Trecento music", "monteverdi": "the madrigals of Monteverdi",
    "beethoven": "the works of Beethoven", "mozart": "the works of Mozart", "haydn": "the works of Haydn",
}


@dataclass
class Tags:
    """The tags of one tune, in words."""

    tune_type: str | None = None  # "reel", "love song", ...
    genres: list[str] = field(default_factory=list)  # every genre word (Essen lists several)
    meter: str | None = None  # word form, "six-eight"
    key: str | None = None  # "D major"
    mode: str | None = None  # "major", "minor", "dorian", ...
    places: list[str] = field(default_factory=list)  # origin, most specific first
    collection: str | None = None  # display name of the collection
    composer: str | None = None
    title: str | None = None
    similar_to: str | None = None  # from notes such as "Similar to Flowing Tide Hornpipe"
    range_words: str | None = None
    density_words: str | None = None
    voices_words: str | None = None


def _article(word: str) -> str:
    return "An" if word[:1].lower() in "aeiou" else "A"


def _range_words(semitones: int) -> str | None:
    if semitones <= 0:
        return None
    if semitones < 12:
        return "a narrow range, within an octave"
    if semitones <= 17:
        return "a range of about an octave"
    return "a wide range of " + ("two octaves or more" if semitones >= 24 else "over an octave and a half")


def _density_words(notes_per_bar: float) -> str | None:
    if notes_per_bar <= 0:
        return None
    if notes_per_bar < 4:
        return "few notes per bar"
    return "a moderate number of notes per bar" if notes_per_bar <= 8 else "many notes per bar"


def _clean_name(value: str | None) -> str | None:
    if not value:
        return None
    value = value.split(";")[0].strip().rstrip(".")
    return value.title() if value.isupper() else value


def tags_of(abc: str, metadata: dict[str, str], collection: str) -> Tags:
    """Read the :class:`Tags` of one tune from its cleaned ABC and raw metadata."""
    facts = _features.music_features(abc, metadata)
    key = _features.parse_key(metadata.get("key") or next(iter(re.findall(r"^K:(.*)$", abc, re.M)), None))
    key.mode = facts["mode"] or key.mode
    key.tonic = facts["tonic"] or key.tonic
    similar = re.search(r"similar to ([^;]+)", metadata.get("notes", ""), flags=re.IGNORECASE)
    voices = facts["num_voices"]
    return Tags(
        tune_type=_features.tune_type(metadata), genres=_features.genre_words(metadata),
        meter=_features.meter_words(_features.record_meter(metadata, abc)),
        key=_features.key_words(key), mode=key.mode,
        places=_features.origin_places(metadata, collection),
        collection=COLLECTION_NAMES.get(collection, collection or None),
        composer=_clean_name(metadata.get("composer")), title=_clean_name(metadata.get("title")),
        similar_to=similar.group(1).strip().rstrip(".") if similar else None,
        range_words=_range_words(facts["range_semitones"]), density_words=_density_words(facts["notes_per_bar"]),
        voices_words="a single melodic line" if voices == 1 else f"{NUMBER_WORDS.get(voices, voices)} voices",
    )


def caption_parts(tags: Tags) -> list[str]:
    """The phrases captions are made of, in reading order; :func:`text_dropout` samples from these.

    Example:
        >>> caption_parts(Tags(tune_type="jig", meter="six-eight", key="D major"))
        ['a jig', 'in D major', 'in six-eight time']
    """
    parts = []
    if tags.tune_type:
        parts.append(f"{_article(tags.tune_type).lower()} {tags.tune_type}")
    parts += [f"a {genre}" if genre[0].islower() else genre for genre in tags.genres if genre != tags.tune_type][:2]
    if tags.key:
        parts.append(f"in {tags.key}")
    if tags.meter:
        parts.append(f"in {tags.meter} time" if "meter" not in tags.meter and "time" not in tags.meter else f"in {tags.meter}")
    if tags.places:
        parts.append("from " + ", ".join(tags.places[:2]))
    if tags.collection:
        parts.append(f"in {tags.collection}")
    if tags.composer:
        parts.append(f"by {tags.composer}")
    if tags.title:
        parts.append(f'titled "{tags.title}"')
    parts += [f"with {words}" for words in (tags.range_words, tags.density_words) if words]
    if tags.voices_words:
        parts.append(f"for {tags.voices_words}" if "voices" in tags.voices_words else f"as {tags.voices_words}")
    return parts


def sentence_of(parts: Sequence[str]) -> str | None:
    """The ``sentence`` caption made of caption parts (None without parts).

    Example:
        >>> sentence_of(["a reel", "in A major"])
        'A reel, in A major.'
    """
    if not parts:
        return None
    head = parts[0][0].upper() + parts[0][1:]
    if not re.match(r"^an? ", parts[0]):
        head = "A tune " + parts[0]
    return head + (", " + ", ".join(parts[1:]) if len(parts) > 1 else "") + "."


def _sentence(tags: Tags) -> str | None:
    return sentence_of(caption_parts(tags))


def _tag_list(tags: Tags) -> str | None:
    words = [tags.tune_type, tags.key, tags.meter, tags.places[0] if tags.places else None, tags.collection]
    words = [word for word in words if word]
    return ", ".join(words) if words else None


def _metadata_text(tags: Tags) -> str | None:
    if not tags.title:
        return None
    text = tags.title + (f" by {tags.composer}" if tags.composer else "")
    return text + (f", in {tags.collection}" if tags.collection else "")


def _features_text(tags: Tags) -> str | None:
    details = [words for words in (tags.range_words, tags.density_words) if words]
    if not details or not tags.key:
        return None
    return f"A melody in {tags.key} with " + " and ".join(details) + "."


def _similar_text(tags: Tags) -> str | None:
    return f"Similar to {tags.similar_to}" if tags.similar_to else None


# Templates are data: name -> function from Tags to a caption (or None when the tags don't allow it).
CAPTION_TEMPLATES: dict[str, Callable[[Tags], str | None]] = {
    "sentence": _sentence, "tags": _tag_list, "metadata": _metadata_text,
    "features": _features_text, "similar": _similar_text,
}


def make_captions(tags: Tags, templates: Sequence[str] | None = None) -> list[str]:
    """Apply the caption templates to a tune's tags; the first caption is the fullest.

    Example:
        >>> make_captions(Tags(tune_type="reel", key="D major", title="Drowsy Maggie"))[:2]
        ['A reel, in D major, titled "Drowsy Maggie".', 'reel, D major']
    """
    names = templates or list(CAPTION_TEMPLATES)
    captions = [CAPTION_TEMPLATES[name](tags) for name in names]
    return list(dict.fromkeys(caption for caption in captions if caption))


def text_dropout(parts: Sequence[str], rng: random.Random, *, min_parts: int = 1) -> str:
    """A random non-empty subset of caption parts, shuffled and joined (TTMR++ / CLaMP text dropout).

    Example:
        >>> text_dropout(["a jig", "in D major", "from Ireland"], random.Random(0))  # doctest: +SKIP
        'from Ireland, a jig'
    """
    parts = [part for part in parts if part]
    if not parts:
        return ""
    count = rng.randint(min(min_parts, len(parts)), len(parts))
    chosen = rng.sample(parts, count)
    return ", ".join(chosen)


def describe(abc: str, metadata: dict[str, str], collection: str, extra_texts: Sequence[str] = ()) -> dict[str, Any]:
    """Captions and caption parts of one tune; ``extra_texts`` (a user's own descriptions) come first."""
    tags = tags_of(abc, metadata, collection)
    captions = [text.strip() for text in extra_texts if text and text.strip()] + make_captions(tags)
    return {"captions": list(dict.fromkeys(captions)), "caption_parts": caption_parts(tags), "tags": tags}
