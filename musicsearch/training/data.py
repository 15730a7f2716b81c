"""What a training step eats: bar patches of each tune and the texts that describe it.

Each training tune is patched once and its candidate texts chosen once (see :mod:`musicsearch.data.texts`
for which texts: captions without the title, plus short text-dropout variants). Short variants also
repeat across tunes, which keeps the frozen text encoder's cache small.

A tune with its own texts (a table's text column, :func:`musicsearch.data.texts.own_texts`) is paired
with one of them :data:`OWN_TEXT_SHARE` of the time: they fill that share of its candidates, and no fresh
dropout variant of its generated caption parts is drawn for it (those would crowd its own words out).

Example:
    >>> build_training_set(corpus, max_patches=64, variants=2, max_parts=3, seed=0).texts[0]  # doctest: +SKIP
    ['A reel, in D major.', 'in D major, a reel']
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..data.texts import content_parts, own_texts, training_texts
from ..errors import ABCError, CorpusError

OWN_TEXT_SHARE = 0.5  # how often a tune with its own texts is paired with one of them


@dataclass
class TrainingSet:
    """Patches and text choices of the training tunes, built once before the loop."""

    patches: list[np.ndarray]  # (P_i, 64) uint8 per tune
    collections: list[str]  # collection of each tune (for the sampler)
    ids: list[str]  # record ids (for error messages and reports)
    texts: list[list[str]]  # candidate texts per tune
    parts: list[list[str]]  # caption parts without title (fresh dropout in fine-tune mode)
    abc: list[str] = field(default_factory=list)  # the tune's ABC text (fragments for the melodic objective)
    own_text_tunes: int = 0  # tunes trained on their own texts (a table's text column), not only captions

    def __len__(self) -> int:
        return len(self.patches)


def build_training_set(records, *, max_patches: int, variants: int, max_parts: int, seed: int,
                       rewording: float = 0.0) -> TrainingSet:
    """Patch every record and choose its texts; tunes with no caption or unreadable ABC are skipped with a warning.

    Raises:
        CorpusError: no usable tune is left.
    """
    from ..data.patches import abc_to_patches

    rng = random.Random(seed)
    data = TrainingSet([], [], [], [], [])
    no_text, bad_abc = [], []
    for record in records:
        texts = training_texts(record.captions or [], record.caption_parts or [], rng, variants=variants,
                               max_parts=max_parts, rewording=rewording)
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
        own = own_texts(record.captions or [], record.caption_parts or [])
        if own:
            own = list(dict.fromkeys(own))
            texts = _weighted(own, [text for text in texts if text not in own])
            data.own_text_tunes += 1
        data.texts.append(texts)
        data.parts.append([] if own else content_parts(record.caption_parts or []))
        data.abc.append(record.abc)
    if no_text:
        warnings.warn(f"{len(no_text)} tune(s) have no caption and were left out of training "
                      f"(e.g. {no_text[0]}); give them captions or metadata.", stacklevel=2)
    if bad_abc:
        warnings.warn(f"{len(bad_abc)} tune(s) have no readable ABC and were left out (e.g. {bad_abc[0]}).",
                      stacklevel=2)
    if not data.patches:
        raise CorpusError("no tune of the training corpus has both music and a caption; nothing to train on.")
    return data


def _weighted(own: list[str], generated: list[str]) -> list[str]:
    """Candidates in which ``own`` texts make up :data:`OWN_TEXT_SHARE` of the draws (or all, with no others).

    Example:
        >>> _weighted(["my words"], ["A reel.", "a reel", "in D major"])
        ['my words', 'my words', 'my words', 'A reel.', 'a reel', 'in D major']
    """
    if not generated:
        return list(own)
    copies = max(1, round(OWN_TEXT_SHARE / (1 - OWN_TEXT_SHARE) * len(generated) / len(own)))
    return list(own) * copies + list(generated)
