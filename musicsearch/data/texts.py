"""Which text of a record is used for what: the texts a tune is trained on and its held-out query.

Captions name a tune's title, but a title cannot be heard in the notes: training a music encoder to
match titles only teaches it to memorise. So the texts a tune is trained on are its captions with the
title phrase removed (captions made of the title alone are dropped), plus short text-dropout variants (at
most ``max_parts`` phrases, shuffled: "a jig, in six-eight time"), the kind of query people type. The
held-out query of a tune (evaluation) is its caption parts without the title, as one sentence.

A tune's *own texts* (a table's text column: a user's descriptions, :func:`own_texts`) are different:
they are what the user wants to find the tune by, so they are trained on whole (even when they name the
title) and are the tune's held-out query.

Example:
    >>> training_texts(["A reel, in D major, titled \\"Drowsy Maggie\\"."], ["a reel", "in D major",
    ...                 'titled "Drowsy Maggie"'], random.Random(0), variants=0)
    ['A reel, in D major.']
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from .captions import sentence_of, text_dropout
from .phrasings import reword

_TITLE = 'titled "'


def own_texts(captions: Sequence[str], parts: Sequence[str]) -> list[str]:
    """The tune's own descriptions (a table's text column), as opposed to captions generated from its tags.

    :func:`musicsearch.data.captions.describe` puts a user's texts first, before the generated captions,
    which start with the sentence made of every caption part. Texts are only counted as the user's when
    that sentence is found after them; a record with no user text (every tune of music21's corpus) has none.

    Example:
        >>> own_texts(["A lullaby my grandmother sang", "A tune in G major."], ["in G major"])
        ['A lullaby my grandmother sang']
        >>> own_texts(["A tune in G major."], ["in G major"])
        []
    """
    sentence = sentence_of(parts)
    if sentence is None or sentence not in captions:
        return []
    return [text for text in captions[: list(captions).index(sentence)] if text.strip()]


def untitled(captions: Sequence[str], parts: Sequence[str]) -> list[str]:
    """Captions with the ``titled "..."`` phrase cut out; captions that still contain the title are dropped."""
    titles = [part for part in parts if part.startswith(_TITLE)]
    names = [title[len(_TITLE):-1] for title in titles]
    kept = []
    for caption in captions:
        for title in titles:
            caption = caption.replace(", " + title, "").replace(title + ", ", "").replace(title, "")
        if caption.strip(" ,.") and not any(name and name in caption for name in names):
            kept.append(caption)
    return list(dict.fromkeys(kept))


def content_parts(parts: Sequence[str]) -> list[str]:
    """Caption parts without the title phrase."""
    return [part for part in parts if part and not part.startswith(_TITLE)]


def short_dropout(parts: Sequence[str], rng: random.Random, max_parts: int = 3, *, rewording: float = 0.0) -> str:
    """A text-dropout variant of at most ``max_parts`` phrases, each reworded with probability ``rewording``
    (:mod:`musicsearch.data.phrasings`: "in D minor" may become "in a minor key")."""
    parts = list(parts)
    if not parts:
        return ""
    chosen = rng.sample(parts, min(max_parts, len(parts)))
    if rewording > 0:
        chosen = [reword(part, rng, rewording) for part in chosen]
    return text_dropout(chosen, rng)


def training_texts(captions: Sequence[str], parts: Sequence[str], rng: random.Random, *, variants: int = 2,
                   max_parts: int = 3, rewording: float = 0.0) -> list[str]:
    """The texts one tune is trained on (see the module docstring); its own texts come first, whole."""
    texts = own_texts(captions, parts) + untitled(captions, parts)
    content = content_parts(parts)
    texts += [short_dropout(content, rng, max_parts, rewording=rewording) for _ in range(variants)]
    return list(dict.fromkeys(text for text in texts if text and text.strip()))


def query_caption(record) -> str:
    """The held-out query of a tune: its first own text (a user's description) when it has one, else its
    caption parts without the title, as one sentence.

    Example:
        >>> from types import SimpleNamespace as R
        >>> query_caption(R(caption_parts=["a jig", "in D major", 'titled "X"'], captions=["A jig."]))
        'A jig, in D major.'
    """
    own = own_texts(record.captions, record.caption_parts)
    if own:
        return own[0].strip()
    parts = content_parts(record.caption_parts)
    if not parts:
        texts = untitled(record.captions, record.caption_parts)
        return texts[0] if texts else ""
    text = ", ".join(parts)
    return text[0].upper() + text[1:] + "."


# Header fields that hold free prose in real collections: N: notes (Essen's remarks after its catalogue
# number, O'Neill's "Slow; collected by ..."), H: history, S: source (Essen's song books), r: remarks.
PROSE_FIELDS = ("notes", "history", "source", "remark")
_CATALOGUE_NUMBER = re.compile(r"^[A-Z]\d{3,5}[A-Z]?\b")  # Essen's "B0472", "Q2068C"
_WORD_LETTER = re.compile(r"[^\W\d_]")


def prose_text(record, fields: Sequence[str] = PROSE_FIELDS, *, min_letters: int = 12) -> str | None:
    """The free prose of a tune's metadata (notes, history, source remarks), or None when it has none.

    Each field is cut at ``";"`` (how repeated ABC fields are joined); catalogue numbers (``B0472``),
    stray brackets and pieces with fewer than ``min_letters`` letters (page numbers, ``"III, 448]"``) are
    dropped. These are texts a person wrote about the tune, not tags: the demonstration of fine-tuning
    on your own texts (notebook 02) uses them as a collection's descriptions.

    Example:
        >>> from types import SimpleNamespace as R
        >>> prose_text(R(metadata={"notes": "Q2068C; Schwedische Fassung der Ballade.", "source": "III, 448]"}))
        'Schwedische Fassung der Ballade.'
    """
    pieces = []
    for name in fields:
        for piece in str(record.metadata.get(name) or "").split(";"):
            piece = _CATALOGUE_NUMBER.sub("", piece.strip().strip('"[]').strip()).strip(' ,;"[]')
            if len(_WORD_LETTER.findall(piece)) >= min_letters:
                pieces.append(piece)
    return "; ".join(dict.fromkeys(pieces)) or None
