"""Checking and tidying what a model writes for a page: snippets, answers, and the metadata fallback.

Small models often reply with nothing, with the prompt echoed back, with one word repeated, or with a
sentence cut at the token limit. These helpers decide what is usable, cut truncated text back to its last
complete sentence (marked with "…"), and drop citations of hits that do not exist. Whether a sentence
contradicts a tune is read with the query reader (:mod:`.rewrite`): a snippet states a type, key or meter
the same way a query does.
"""

from __future__ import annotations

import re
from typing import Any

from ..data import features
from ..search.hit import Hit
from .prompts import clean_text
from .rewrite import match_filters, rule_rewrite

_ECHO = re.compile(r"\b(?:title|type|meter|key|origin|composer|collection|music):\s", re.IGNORECASE)


def is_garbage(text: str) -> bool:
    """True for text a page should not show: empty, mostly non-letters, looping, or the prompt echoed back.

    Example:
        >>> is_garbage("hor hor hor hor hor hor"), is_garbage("A reel in G major.")
        (True, False)
    """
    text = (text or "").strip()
    visible = re.sub(r"\[\d+\]|\s", "", text)  # citations and spaces are neither letters nor noise
    if len(visible) < 3 or sum(char.isalpha() for char in visible) < 0.5 * len(visible):
        return True
    words = re.findall(r"\w+", text.lower())
    if len(words) >= 4 and max(words.count(word) for word in set(words)) / len(words) > 0.5:
        return True
    trigrams = list(zip(words, words[1:], words[2:]))
    if len(trigrams) >= 6 and len(set(trigrams)) < 0.7 * len(trigrams):  # "a hornpipe that is a hornpipe ..."
        return True
    if len(_ECHO.findall(text)) >= 2 or re.search(r"</?\s*\w*>|<\|", text):  # the prompt's data copied back
        return True
    return False


def contradicts(text: str, hit: Any) -> bool:
    """Whether ``text`` states a tune type, meter, key, mode or origin that ``hit`` does not have.

    Example:
        >>> contradicts("A reel in G major.", {"metadata": {"rhythm": "jig", "key": "G"}})
        True
    """
    stated = rule_rewrite(text).filters
    return bool(stated) and not all(match_filters(stated, hit).values())


def _cut_to_sentence(text: str) -> str:
    """Text up to its last complete sentence, or up to its last whole word, with "…"."""
    ends = [match.end() for match in re.finditer(r"[.!?](?=\s|$)", text)]
    if ends and ends[-1] >= len(text) // 3:
        return text[:ends[-1]]
    return text.rsplit(" ", 1)[0].rstrip(",;: ") + "…" if " " in text else text + "…"


def clean_snippet(text: str, *, truncated: bool = False, max_chars: int = 240, hit: Any = None) -> str:
    """The first sentence of a model's snippet, cleaned; "" when it is unusable (or, given ``hit``, when
    it contradicts the hit's metadata).

    Example:
        >>> clean_snippet("A brisk reel in G. It was popular.")
        'A brisk reel in G.'
    """
    text = clean_text(text)
    if truncated:
        text = _cut_to_sentence(text)
    first = re.match(r".+?[.!?](?=\s|$)", text)
    text = clean_text(first.group(0) if first else text, max_chars)
    if text and not truncated and text[-1].isalnum():
        text += "."  # the reply was cut at its sentence end (a stop string), which removes the full stop
    if is_garbage(text) or (hit is not None and contradicts(text, hit)):
        return ""
    return text


def clean_answer(text: str, hits: int, *, truncated: bool = False, max_chars: int = 600) -> tuple[str, list[str]]:
    """A model's answer, cleaned: invalid citations removed, a truncated answer cut to whole sentences.

    Returns:
        ``(answer, notes)``; the answer is "" when unusable.

    Example:
        >>> clean_answer("Try [2] or [7].", hits=3)
        ('Try [2] or.', ['removed 1 citation(s) of hits that are not on the page'])
    """
    notes = []
    text = " ".join((text or "").split())
    text = re.sub(r"<\|[^|>]{0,40}\|>|</?tune>", " ", text)
    invalid = [match for match in re.finditer(r"\[(\d+)\]", text) if not 1 <= int(match.group(1)) <= hits]
    if invalid:
        text = re.sub(r"\s*\[(\d+)\]", lambda m: m.group(0) if 1 <= int(m.group(1)) <= hits else "", text)
        notes.append(f"removed {len(invalid)} citation(s) of hits that are not on the page")
    if truncated:
        text = _cut_to_sentence(text.strip())
        notes.append("the answer reached the token limit; cut to its last complete sentence")
    text = text.strip()
    if len(text) > max_chars:
        text = _cut_to_sentence(text[:max_chars])
    return ("" if is_garbage(text) else text), notes


def metadata_snippet(hit: Any) -> str:
    """A snippet from metadata alone, used when there is no model or its text is unusable.

    Example:
        >>> metadata_snippet({"metadata": {"rhythm": "reel", "key": "G", "meter": "2/4", "book": "Ryan's Mammoth"}})
        "Reel in G, 2/4, from Ryan's Mammoth."
    """
    hit = Hit.of(hit)
    metadata = hit.metadata
    kind = metadata.get("rhythm") or "Tune"
    parts = [kind[:1].upper() + kind[1:]]
    key, meter = features.record_key(metadata, hit.abc), features.record_meter(metadata, hit.abc)
    if key:
        parts[0] += f" in {key}"
    if meter:
        parts.append(meter)
    if metadata.get("composer"):
        parts.append(f"by {metadata['composer']}")
    where = metadata.get("book") or metadata.get("origin") or hit.collection
    if where:
        parts.append(f"from {where}")
    return clean_text(", ".join(parts) + ".", 240)
