"""Melodic identity for the music encoder: a fragment of a tune is pulled towards the whole tune.

The caption objective teaches the encoder what *kind* of tune it reads (a reel in D); it never has to tell
two reels in D apart, so a few bars of a tune land near every tune of its kind. This self-supervised
objective asks for *which* tune: each training tune of a batch yields a fragment as a person would
remember it (a random crop of ``melody_min_bars``–``melody_max_bars`` bars, moved to another key for a
``melody_transpose`` share of the batch, with a ``melody_noise`` share of its notes moved by a letter step)
and a symmetric InfoNCE between the fragments' and the whole tunes' music embeddings, with the model's own
logit scale, is added to the caption loss with weight ``melody_weight``.

It stays cheap by working on text: the crop keeps the ``L:``/``M:``/``K:`` lines and whole bars of the
body, the transposition is :func:`~musicsearch.data.transpose.transpose_abc` of those few bars only, and
the fragment is patched with :func:`~musicsearch.data.patches.abc_to_patches` (short: at most 11 patches).
The random choices of step ``s`` come from ``random.Random`` seeded with the run's seed and ``s``, so a run
is reproducible and a resumed run draws the same fragments without any extra checkpoint state.

Example:
    >>> rng = random.Random(0)
    >>> remembered_fragment("L:1/8\\nK:D\\n|:d2fd AdFA|d2fd gfed|B2GB A2FA|dfed d4:|", rng,
    ...               min_bars=2, max_bars=2, noise=0.0, transpose_share=0.0)
    'L:1/8\\nK:D\\nd2fd gfed|B2GB A2FA|'
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence

import torch

from ..data.abc_notes import TOKEN_PATTERN, field_line, strip_comment
from ..data.patches import abc_to_patches, collate_patches, split_bars
from ..data.transpose import transpose_abc
from ..errors import ABCError
from ..models.losses import clip_loss

# Semitones a transposed fragment moves by: every other key, up to a tritone either way.
TRANSPOSITIONS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6)
# Header fields a fragment keeps: what its notes mean (unit length, meter, key), not titles or sources.
_KEPT_FIELDS = frozenset("LMK")
_SCALE = "CDEFGABcdefgab"  # letters of the two unmarked octaves, in pitch order


def crop_bars(abc: str, rng: random.Random, *, min_bars: int = 2, max_bars: int = 8) -> str:
    """``L:``/``M:``/``K:`` header lines and a random run of ``min_bars``–``max_bars`` consecutive bars.

    A tune with fewer bars than drawn is kept whole (its body, without titles). Voices are read in the
    order written, so the crop of a multi-voice tune may span a voice change, as its patches do.

    Example:
        >>> crop_bars("T:x\\nK:G\\nGAB|cde|fga|", random.Random(1), min_bars=2, max_bars=2)
        'K:G\\nGAB|cde|'
    """
    header, bars = _header_and_bars(abc)
    length = min(rng.randint(min_bars, max_bars), len(bars))
    start = rng.randint(0, len(bars) - length) if bars else 0
    return "\n".join([*header, "".join(bars[start:start + length]).strip()])


# Training crops every tune once per epoch: parsing its lines and bars once saves ~3% of a step. Bounded,
# so a notebook that fine-tunes on several corpora does not keep them all.
@functools.lru_cache(maxsize=32_768)
def _header_and_bars(abc: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The kept header lines (``L:``/``M:``/``K:`` before the music) and the bars of the body."""
    header, body = [], []
    for line in abc.split("\n"):
        parsed = field_line(line)
        if parsed is None:
            text = strip_comment(line).strip().removesuffix("\\")
            if text:
                body.append(text)
        elif parsed[0] in _KEPT_FIELDS and not body:
            header.append(line)
    return tuple(header), tuple(split_bars("".join(body)))


def move_notes(abc: str, rng: random.Random, rate: float) -> str:
    """Move each note of the body up or down one letter step (``B`` → ``c``, ``c`` → ``B``) with probability ``rate``.

    The note keeps its accidental and length; a move is a wrong note of a tone or a semitone, the
    kind a player remembering a tune makes. Header lines, chord symbols and decorations are left alone.

    Example:
        >>> move_notes("K:D\\nd2fd|", random.Random(0), 1.0)
        'K:D\\ne2ge|'
    """
    if rate <= 0:
        return abc
    lines = []
    for line in abc.split("\n"):
        if field_line(line) is not None:
            lines.append(line)
            continue
        pieces, position = [], 0
        for match in TOKEN_PATTERN.finditer(line):
            if match.lastgroup == "note" and rng.random() < rate:
                pieces.append(line[position:match.start("letter")])
                pieces.append(_step_letter(match.group("letter"), match.group("octave"), rng.choice((-1, 1))))
                position = match.end("octave")
        lines.append("".join(pieces) + line[position:])
    return "\n".join(lines)


def _step_letter(letter: str, octave_marks: str, step: int) -> str:
    """The letter (with octave marks) one scale step away: ``_step_letter("b", "", 1) == "c'"``."""
    height = _SCALE.index(letter) + 7 * (octave_marks.count("'") - octave_marks.count(",")) + step
    octave, index = divmod(height, 7)
    if octave <= 0:
        return _SCALE[index] + "," * -octave
    return _SCALE[7 + index] + "'" * (octave - 1)


def remembered_fragment(abc: str, rng: random.Random, *, min_bars: int = 2, max_bars: int = 8, noise: float = 0.05,
                  transpose_share: float = 0.5) -> str:
    """A fragment of ``abc`` as a player remembers it: some bars, maybe in another key, a few notes wrong.

    Args:
        abc: one tune's ABC text.
        rng: the random source (the training loop seeds one per step).
        min_bars, max_bars: the crop's length in bars (:func:`crop_bars`).
        noise: share of notes moved by a letter step (:func:`move_notes`).
        transpose_share: probability of moving the fragment by one of :data:`TRANSPOSITIONS` semitones. A
            crop whose key the transposer cannot read stays in its key: it is still a fragment.

    Example:
        >>> remembered_fragment("K:D\\nd2fd|AdFA|gfed|", random.Random(2), min_bars=2, max_bars=2,
        ...                     noise=0.0, transpose_share=1.0)
        'K:B\\nB2dB|FBDF|'
    """
    fragment = crop_bars(abc, rng, min_bars=min_bars, max_bars=max_bars)
    if transpose_share > 0 and rng.random() < transpose_share:
        semitones = rng.choice(TRANSPOSITIONS)
        try:
            fragment = transpose_abc(fragment, semitones)
        except ABCError:
            pass
    return move_notes(fragment, rng, noise)


def fragment_batch(abcs: Sequence[str], rng: random.Random, *, min_bars: int, max_bars: int, noise: float,
                   transpose_share: float, max_patches: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Collated ``(patches, mask)`` of one fragment per tune, row ``i`` from ``abcs[i]``."""
    patches = []
    for abc in abcs:
        fragment = remembered_fragment(abc, rng, min_bars=min_bars, max_bars=max_bars, noise=noise,
                                 transpose_share=transpose_share)
        try:
            patches.append(abc_to_patches(fragment, max_patches=max_patches))
        except ABCError:  # nothing printable left: the whole tune stands in for its fragment
            patches.append(abc_to_patches(abc, max_patches=max_patches))
    return collate_patches(patches)


def step_rng(seed: int, step: int) -> random.Random:
    """The random source of step ``step``'s fragments: a function of the run's seed and the step alone."""
    return random.Random(seed * 1_000_003 + step)


def melody_loss(fragment_music: torch.Tensor, tune_music: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE between fragments and their whole tunes; the other tunes of the batch are negatives.

    Example:
        >>> float(melody_loss(torch.randn(4, 8), torch.randn(4, 8), torch.tensor(10.0))) > 0
        True
    """
    return clip_loss(fragment_music, tune_music, logit_scale)
