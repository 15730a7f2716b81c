"""CLaMP bar patches: ABC text as a short sequence of fixed-width character patches.

Each kept header line is one patch and the body is split on bar lines, the bar line staying with the
bar it closes. Characters map ASCII 32–126 → 1–95; 0 pads, 96 masks (for the masked music model), 97
ends a patch shorter than 64 characters. Unlike CLaMP's reference code, a trailing bar with no closing
bar line is kept, not dropped. A bar longer than 64 characters is cut at 64 (CLaMP does the same); a
tune with more patches than ``max_patches`` keeps its first ``max_patches``, and the split stops there, so
a huge tune costs no more than a short one. :func:`patchify` patches a batch of tunes (ABC strings or
Records) and :func:`collate_patches` pads them into the tensors an encoder takes.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import ABCError

PATCH_LENGTH = 64
PAD_ID = 0
MASK_ID = 96
END_ID = 97
VOCAB_SIZE = 98
_FIRST_CHAR = 32
_LAST_CHAR = 126

BAR_LINES = ("|:", "::", ":|", "[|", "||", "|]", "|")
# Longest delimiters first, so "||" is not read as two "|".
_BAR_SPLIT = re.compile("(" + "|".join(re.escape(d) for d in sorted(BAR_LINES, key=len, reverse=True)) + ")")
_HEADER_LINE = re.compile(r"^(?:[A-Za-z]:|%%score|%%staves)")


def _to_ascii(text: str) -> str:
    # Patches only encode printable ASCII: fold accents (é -> e) and drop what has no ASCII form.
    if text.isascii():
        return text
    try:
        from unidecode import unidecode

        return unidecode(text)
    except ImportError:  # pragma: no cover - unidecode ships with abctoolkit
        return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def split_bars(body: str) -> list[str]:
    """Split an ABC body into bars, each bar line kept with the bar it closes.

    Example:
        >>> split_bars("|:abc|def:|ga")
        ['|:abc|', 'def:|', 'ga']
    """
    return list(_bars(body))


def _bars(body: str) -> Iterator[str]:
    """The bars of :func:`split_bars`, one at a time, so a caller that needs only the first few stops early."""
    current = ""
    has_music = False
    finished: str | None = None  # the last closed bar, held back: a final bare repeat sign joins it
    position = 0
    for match in _BAR_SPLIT.finditer(body):
        text = body[position : match.start()]
        position = match.end()
        if text:
            current += text
            has_music = has_music or bool(text.strip())
        # A bar line with no music before it (at the start, or right after another bar line as in
        # ":||:") opens the next bar instead of closing an empty one.
        current += match.group(0)
        if has_music:
            if finished is not None:
                yield finished
            finished, current, has_music = current, "", False
    text = body[position:]
    current += text
    has_music = has_music or bool(text.strip())
    if has_music:
        if finished is not None:
            yield finished
        yield current
    elif finished is not None:
        yield finished + current  # a final repeat sign with nothing after it belongs to the last bar


def _segments(abc: str) -> Iterator[str]:
    """Header lines and bars of a tune, in order, produced lazily."""
    body: list[str] = []
    for line in abc.split("\n"):
        if not line.strip():
            continue
        if _HEADER_LINE.match(line):
            if body:
                yield from _bars("".join(body))
                body = []
            yield line
        else:
            # A trailing backslash only continues the line in print; it carries no music.
            body.append(line.strip().removesuffix("\\"))
    if body:
        yield from _bars("".join(body))


def abc_to_patches(abc: str, max_patches: int | None = None) -> np.ndarray:
    """Encode ABC text as bar patches.

    Args:
        abc: the music of one tune (ideally cleaned by :func:`musicsearch.clean_abc`).
        max_patches: keep at most this many patches (the first ones); None keeps all.

    Returns:
        ``uint8`` array of shape ``(num_patches, 64)``.

    Raises:
        ABCError: ``abc`` is not a string or holds no printable characters.

    Example:
        >>> abc_to_patches("L:1/8\\nK:D\\n|:d2fd A2FA|").shape
        (3, 64)
    """
    if not isinstance(abc, str):
        raise ABCError(f"ABC text must be a string, got {type(abc).__name__}.")
    if max_patches is not None and max_patches < 1:
        raise ABCError(f"max_patches must be at least 1, got {max_patches}.")
    # islice stops the lazy split at max_patches: a huge one-line tune costs no more than a short one.
    segments = list(itertools.islice(_segments(_to_ascii(abc)), max_patches))
    if not segments:
        raise ABCError("the ABC text is empty: there is nothing to turn into patches.")
    patches = np.zeros((len(segments), PATCH_LENGTH), dtype=np.uint8)
    for row, segment in enumerate(segments):
        codes = np.frombuffer(segment[:PATCH_LENGTH].encode("ascii", "ignore"), dtype=np.uint8)
        codes = codes[(codes >= _FIRST_CHAR) & (codes <= _LAST_CHAR)] - (_FIRST_CHAR - 1)
        patches[row, : len(codes)] = codes
        if len(codes) < PATCH_LENGTH:
            patches[row, len(codes)] = END_ID
    return patches


def patches_to_text(patches: np.ndarray) -> list[str]:
    """Decode patches back to their text (for display); mask ids show as ``□``.

    Example:
        >>> patches_to_text(abc_to_patches("K:G\\nGAB|"))
        ['K:G', 'GAB|']
    """
    texts = []
    for patch in np.asarray(patches):
        characters = []
        for code in patch:
            code = int(code)
            if code in (PAD_ID, END_ID):
                break
            characters.append("□" if code == MASK_ID else chr(code + _FIRST_CHAR - 1))
        texts.append("".join(characters))
    return texts


def _abc_of(item: Any, position: int) -> str:
    if isinstance(item, str):
        return item
    abc = getattr(item, "abc", None)
    if isinstance(abc, str):
        return abc
    raise ABCError(f"item {position} is a {type(item).__name__}; pass ABC strings, Records or a Corpus.")


def patchify(items: Iterable[Any], max_patches: int) -> list[np.ndarray]:
    """Bar patches of each item (ABC string or Record); tunes longer than ``max_patches`` keep their start.

    Raises:
        ABCError: an item is neither ABC text nor has an ``abc`` field, or holds no music (the message
            names the record id or the item's position).

    Example:
        >>> [p.shape for p in patchify(["K:G\\nGAB|cde|", "K:D\\nd2|"], max_patches=8)]
        [(3, 64), (2, 64)]
    """
    patches = []
    for position, item in enumerate(items):
        try:
            patches.append(abc_to_patches(_abc_of(item, position), max_patches=max_patches))
        except ABCError as error:
            name = getattr(item, "id", None) or f"item {position}"
            raise ABCError(f"{name}: {error}") from error
    return patches


def collate_patches(patch_list: list[np.ndarray]) -> tuple[Any, Any]:
    """Pad ``(P_i, 64)`` arrays into ``(B, max P, 64)`` int64 patches and a ``(B, max P)`` bool mask (torch).

    Example:
        >>> patches, mask = collate_patches(patchify(["K:G\\nGAB|cde|", "K:D\\nd2|"], max_patches=8))
        >>> tuple(patches.shape), mask.sum(1).tolist()
        ((2, 3, 64), [3, 2])
    """
    import torch  # here, not at the top: the data layer stays importable without torch's start-up cost

    batch, mask = pad_patch_arrays(patch_list, dtype=np.uint8)
    return torch.from_numpy(batch).long(), torch.from_numpy(mask)


def pad_patch_arrays(patch_list: Sequence[np.ndarray], dtype: Any = np.int64) -> tuple[np.ndarray, np.ndarray]:
    """Pad ``(P_i, 64)`` arrays into ``(B, max P, 64)`` NumPy patches and a ``(B, max P)`` bool mask.

    The NumPy half of :func:`collate_patches`, for code that runs without torch (the ONNX encoders).

    Example:
        >>> batch, mask = pad_patch_arrays([np.ones((2, 64)), np.ones((1, 64))])
        >>> batch.shape, mask.sum(1).tolist()
        ((2, 2, 64), [2, 1])
    """
    length = max(len(patches) for patches in patch_list)
    batch = np.zeros((len(patch_list), length, patch_list[0].shape[1]), dtype=dtype)
    mask = np.zeros((len(patch_list), length), dtype=bool)
    for row, patches in enumerate(patch_list):
        batch[row, : len(patches)] = patches
        mask[row, : len(patches)] = True
    return batch, mask
