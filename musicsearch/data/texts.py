"""Which text of a record is used for what: the texts a tune is trained on and its held-out query.

Captions name a tune's title, but a title cannot be heard in the notes: training a music encoder to
match titles only teaches it to memorise. So the texts a tune is trained on are its captions with the
title phrase removed (captions made of the title alone are dropped), plus short text-dropout variants (at
most ``max_parts`` phrases, shuffled: "a jig, in six-eight time"), the kind of query people type. The
held-out query of a tune (evaluation) is its caption parts without the title, as one sentence.

Example:
    >>> training_texts(["A reel, in D major, titled \\"Drowsy Maggie\\"."], ["a reel", "in D major",
    ...                 'titled "Drowsy Maggie"'], random.Random(0), variants=0)
    ['A reel, in D major.']
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .captions import text_dropout

_TITLE = 'titled "'


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


def short_dropout(parts: Sequence[str], rng: random.Random, max_parts: int = 3) -> str:
    """A text-dropout variant of at most ``max_parts`` phrases."""
    parts = list(parts)
    return text_dropout(rng.sample(parts, min(max_parts, len(parts))), rng) if parts else ""


def training_texts(captions: Sequence[str], parts: Sequence[str], rng: random.Random, *, variants: int = 2,
                   max_parts: int = 3) -> list[str]:
    """The texts one tune is trained on (see the module docstring)."""
    texts = untitled(captions, parts)
    content = content_parts(parts)
    texts += [short_dropout(content, rng, max_parts) for _ in range(variants)]
    return list(dict.fromkeys(text for text in texts if text and text.strip()))


def query_caption(record) -> str:
    """The held-out query of a tune: its caption parts without the title, as one sentence.

    Example:
        >>> from types import SimpleNamespace as R
        >>> query_caption(R(caption_parts=["a jig", "in D major", 'titled "X"'], captions=["A jig."]))
        'A jig, in D major.'
    """
    parts = content_parts(record.caption_parts)
    if not parts:
        texts = untitled(record.captions, record.caption_parts)
        return texts[0] if texts else ""
    text = ", ".join(parts)
    return text[0].upper() + text[1:] + "."
