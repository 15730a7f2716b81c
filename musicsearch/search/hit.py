"""One search result, the :class:`Hit`, read the same way by every layer above search.

Every first stage (the index, hybrid fusion, keyword search) returns hits; result pages, DSP, widgets and
the CLI read them. Code that also accepts a plain dict (a hit read back from JSON) or a corpus record
converts it once with :meth:`Hit.of` and then reads attributes, never a private accessor.

Example:
    >>> Hit.of({"id": "a#1", "title": "The Kesh", "metadata": {"rhythm": "jig"}}).title
    'The Kesh'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Hit:
    """One search result: which tune, where it comes from, and how well it matched."""

    id: str  # stable record id, e.g. "ryansMammoth/7thRegimentReel.abc#1"
    source: str  # file path relative to the corpus root
    ref: str | None  # X: number inside a multi-tune file
    score: float  # inner product (cosine) for content search, fused score for hybrid
    title: str | None
    collection: str
    metadata: dict[str, str] = field(default_factory=dict)
    abc: str = ""
    rank: int = 0  # 1-based position in the result list
    # Melody search (:meth:`SearchIndex.search_music`); empty for text hits and tunes the melody did not find.
    melody_score: float | None = None  # alignment score over the query's best possible: 1.0 = the query exactly
    bar_span: tuple[int, int] | None = None  # first and last bar of this tune the query matched (0-based)
    query_bar_span: tuple[int, int] | None = None  # the query's bars that matched
    also_in: tuple[str, ...] = ()  # ids of tunes with the identical melody, shown as this one hit
    # Hybrid text search: why the tune matched. "content" (cosine with the query), "fields" / "missed"
    # (the query's constraints it satisfies / not), "words" (query words in its metadata), "title" (True),
    # "type_as_written" (True: the query is its type as the collection writes it, "Ballade, Romanze").
    why: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, *, abc: bool = True) -> dict[str, Any]:
        """A JSON-ready dict; ``abc=False`` leaves out the music text (batch output stays small).

        The melody fields and ``why`` appear only when set, so content hits keep the shape they always had.
        """
        payload = asdict(self)
        if not abc:
            payload.pop("abc")
        for name in _MELODY_FIELDS:
            if payload[name] is None or payload[name] == ():
                payload.pop(name)
            elif isinstance(payload[name], tuple):
                payload[name] = list(payload[name])
        if not payload["why"]:
            payload.pop("why")
        return payload

    @classmethod
    def from_record(cls, record: Any, score: float = 0.0, rank: int = 0) -> Hit:
        """The hit for a corpus record (anything with id, source, ref, collection, metadata, abc)."""
        metadata = dict(getattr(record, "metadata", {}) or {})
        return cls(id=str(record.id), source=str(getattr(record, "source", "") or ""),
                   ref=getattr(record, "ref", None), score=float(score), title=metadata.get("title"),
                   collection=str(getattr(record, "collection", "") or ""), metadata=metadata,
                   abc=str(getattr(record, "abc", "") or ""), rank=rank)

    @classmethod
    def of(cls, value: Any, *, rank: int = 0) -> Hit:
        """A :class:`Hit` from a hit, a dict of hit fields (missing ones empty) or a corpus record.

        The title falls back to ``metadata["title"]``; ``rank`` is used when the value has none.
        """
        if isinstance(value, Hit):
            return value
        if not isinstance(value, Mapping):
            if hasattr(value, "score") and hasattr(value, "title"):  # another hit-like object
                value = {name.name: getattr(value, name.name, None) for name in fields(cls)}
            else:
                return cls.from_record(value, rank=rank)
        metadata = dict(value.get("metadata") or {})
        return cls(id=str(value.get("id") or f"hit-{rank}"), source=str(value.get("source") or ""),
                   ref=value.get("ref"), score=float(value.get("score") or 0.0),
                   title=value.get("title") or metadata.get("title"),
                   collection=str(value.get("collection") or ""), metadata=metadata,
                   abc=str(value.get("abc") or ""), rank=int(value.get("rank") or rank),
                   melody_score=_optional_float(value.get("melody_score")), bar_span=_span(value.get("bar_span")),
                   query_bar_span=_span(value.get("query_bar_span")),
                   also_in=tuple(str(item) for item in value.get("also_in") or ()),
                   why=dict(value.get("why") or {}))


_MELODY_FIELDS = ("melody_score", "bar_span", "query_bar_span", "also_in")


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _span(value: Any) -> tuple[int, int] | None:
    """A bar span read back from JSON (a list of two numbers), or None."""
    if value is None or len(value) != 2:
        return None
    return int(value[0]), int(value[1])


def format_hits(hits: Sequence[Hit], *, width: int = 44) -> str:
    """Hits as a plain-text table (rank, score, title, type, collection, id), for terminals and notebooks.

    Example:
        >>> print(format_hits([Hit("a#1", "a.abc", "1", 0.5, "The Kesh", "ryansMammoth", {"rhythm": "jig"}, rank=1)]))
          1   0.500  The Kesh                                      jig         ryansMammoth    a#1
    """
    if not hits:
        return "no hits"
    rows = []
    for hit in hits:
        title = (hit.title or "(untitled)")[:width]
        kind = (hit.metadata.get("rhythm") or "")[:10]
        row = f"{hit.rank:>3}  {hit.score:6.3f}  {title:<{width}}  {kind:<10}  {hit.collection:<14}  {hit.id}"
        rows.append(row + describe_match(hit, prefix="  "))
    return "\n".join(rows)


def describe_why(hit: Hit, *, prefix: str = "") -> str:
    """Why a hybrid hit matched, in one short line (``""`` for a hit without ``why``).

    Example:
        >>> describe_why(Hit("a#1", "a.abc", "1", 1.0, "The Kesh", "c", why={"content": 0.41,
        ...     "fields": {"tune_type": "jig", "origin": "Ireland"}, "missed": {"mode": "minor"}, "words": ["kesh"]}))
        'matches type jig, origin Ireland; not mode minor; words: kesh; sound 0.41'
    """
    why = hit.why or {}
    if not why:
        return ""
    parts = []
    if why.get("fields"):
        parts.append("matches " + ", ".join(f"{_FIELD_WORDS.get(n, n)} {v}" for n, v in why["fields"].items()))
    if why.get("missed"):
        parts.append("not " + ", ".join(f"{_FIELD_WORDS.get(n, n)} {v}" for n, v in why["missed"].items()))
    if why.get("title"):
        parts.append("title")
    if why.get("type_as_written"):
        parts.append("type as written")
    if why.get("words"):
        parts.append("words: " + ", ".join(why["words"]))
    if "content" in why:
        parts.append(f"sound {float(why['content']):.2f}")
    return prefix + "; ".join(parts)


_FIELD_WORDS = {"tune_type": "type"}


def describe_match(hit: Hit, *, prefix: str = "") -> str:
    """Where a melody query matched a hit, in words (``""`` for a hit without melody fields).

    Bars are shown 1-based, as a musician counts them (a pickup is bar 1).

    Example:
        >>> describe_match(Hit("a#1", "a.abc", "1", 1.0, "The Kesh", "c", bar_span=(4, 5), query_bar_span=(0, 1),
        ...                    melody_score=0.9, also_in=("b#2",)))
        'bars 5-6 (query bars 1-2, melody 0.90); also in b#2'
    """
    parts = []
    if hit.bar_span is not None:
        text = f"bars {hit.bar_span[0] + 1}-{hit.bar_span[1] + 1}"
        if hit.query_bar_span is not None:
            text += f" (query bars {hit.query_bar_span[0] + 1}-{hit.query_bar_span[1] + 1}"
            text += f", melody {hit.melody_score:.2f})" if hit.melody_score is not None else ")"
        parts.append(text)
    if hit.also_in:
        parts.append("also in " + ", ".join(hit.also_in))
    return prefix + "; ".join(parts) if parts else ""
