"""What a training step eats: bar patches of each tune and the texts that describe it.

Captions name a tune's title, but a title cannot be heard in the notes: training a music encoder to
match titles only teaches it to memorise. So the texts a tune is trained on are its captions with the
title phrase removed (captions made of the title alone are dropped), plus ``caption_variants`` short
text-dropout variants (at most ``dropout_max_parts`` phrases, shuffled: "a jig, in six-eight time"), the
kind of query people type. Short variants also repeat across tunes, which keeps the frozen text
encoder's cache small.

Example:
    >>> training_texts(["A reel, in D major, titled \\"Drowsy Maggie\\"."], ["a reel", "in D major",
    ...                 'titled "Drowsy Maggie"'], random.Random(0), variants=0)
    ['A reel, in D major.']
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .captions import text_dropout
from .errors import ABCError, CorpusError

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


@dataclass
class TrainingSet:
    """Patches and text choices of the training tunes, built once before the loop."""

    patches: list[np.ndarray]  # (P_i, 64) uint8 per tune
    collections: list[str]  # collection of each tune (for the sampler)
    ids: list[str]  # record ids (for error messages and reports)
    texts: list[list[str]]  # candidate texts per tune
    parts: list[list[str]]  # caption parts without title (fresh dropout in fine-tune mode)

    def __len__(self) -> int:
        return len(self.patches)


def build_training_set(records, *, max_patches: int, variants: int, max_parts: int, seed: int) -> TrainingSet:
    """Patch every record and choose its texts; tunes with no caption or unreadable ABC are skipped with a warning.

    Raises:
        CorpusError: no usable tune is left.
    """
    from .patches import abc_to_patches

    rng = random.Random(seed)
    data = TrainingSet([], [], [], [], [])
    no_text, bad_abc = [], []
    for record in records:
        texts = training_texts(record.captions or [], record.caption_parts or [], rng, variants=variants,
                               max_parts=max_parts)
        if not texts:
            no_text.append(record.id)
            continue
        try:
            patches = abc_to_patches(record.abc, max_patches=max_patches)
        except ABCError:
            bad_abc.append(record.id)
            continue
        data.patches.append(patches)
        data.collections.append(record.collection)
        data.ids.append(record.id)
        data.texts.append(texts)
        data.parts.append(content_parts(record.caption_parts or []))
    if no_text:
        warnings.warn(f"{len(no_text)} tune(s) have no caption and were left out of training "
                      f"(e.g. {no_text[0]}); give them captions or metadata.", stacklevel=2)
    if bad_abc:
        warnings.warn(f"{len(bad_abc)} tune(s) have no readable ABC and were left out (e.g. {bad_abc[0]}).",
                      stacklevel=2)
    if not data.patches:
        raise CorpusError("no tune of the training corpus has both music and a caption; nothing to train on.")
    return data
