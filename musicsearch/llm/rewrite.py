"""Query rewrite for the search page: a free query becomes keywords and filters (tune type, meter, key, mode, origin).

Rules read what a query states plainly ("a jig in 6/8", "in D minor", "Scottish", "ein Wiegenlied in Moll"),
with the parser every search path shares (:mod:`musicsearch.search.understanding`); a language model can add
keywords and fill what the rules miss. A small model invents filters freely, so by default a filter from
the model is kept only when the query itself mentions it (``trust_llm=False``): the page stays grounded in
what the user typed. Filters then re-order hits (``filter_order``) without dropping any.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..data.vocab import ORIGINS
from ..search.fields import record_facts, satisfies
from ..search.hit import Hit
from ..search.understanding import understand_query
from .backends.base import complete
from .prompts import REWRITE

FILTER_FIELDS = ("tune_type", "meter", "key", "mode", "origin")

_STOPWORDS = set("a an the in of on for with and or to from by some any tune tunes piece pieces music song "
                 "me find show give i want like that is are something".split())


@dataclass
class RewrittenQuery:
    """A query as the page understood it.

    Example:
        >>> rule_rewrite("a Scottish strathspey in A minor").filters
        {'tune_type': 'strathspey', 'key': 'A minor', 'mode': 'minor', 'origin': 'Scotland'}
    """

    query: str  # what the user typed
    keywords: list[str] = field(default_factory=list)  # content words, model additions after the query's
    filters: dict[str, str] = field(default_factory=dict)  # subset of FILTER_FIELDS -> canonical value
    source: str = "rules"  # "rules" or "llm+rules"
    notes: list[str] = field(default_factory=list)  # dropped model filters, parse failures

    @property
    def text(self) -> str:
        """Keywords joined, for keyword search or display."""
        return " ".join(self.keywords) or self.query

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9/#']+", " ", text.lower()).replace("'", " ") + " "


def rule_rewrite(query: str) -> RewrittenQuery:
    """Keywords and filters that the query states plainly (no model), in any of the five languages.

    The filters are the reading of the one query parser every search path shares
    (:func:`musicsearch.search.understanding.understand_query`), limited to :data:`FILTER_FIELDS`; its notes
    are the search's to show (``SearchIndex.explain``).
    """
    reading = understand_query(query)
    filters = {name: reading.constraints[name] for name in FILTER_FIELDS if name in reading.constraints}
    keywords = [word for word in _words(query).split() if word not in _STOPWORDS and len(word) > 1]
    return RewrittenQuery(query=query, keywords=list(dict.fromkeys(keywords)), filters=filters)


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model's reply, repairing single quotes and Python literals."""
    match = re.search(r"\{.*\}", text or "", re.DOTALL)
    if not match:
        return None
    raw = match.group(0)
    for candidate in (raw, raw.replace("'", '"').replace("None", "null").replace("True", "true")):
        try:
            value = json.loads(candidate)
            return value if isinstance(value, dict) else None
        except json.JSONDecodeError:
            continue
    return None


def merge_llm_rewrite(rules: RewrittenQuery, reply: str, *, trust_llm: bool = False) -> RewrittenQuery:
    """Combine the rules' reading with a model's JSON reply (garbage replies leave the rules' reading)."""
    parsed = _json_object(reply)
    result = RewrittenQuery(rules.query, list(rules.keywords), dict(rules.filters), "llm+rules", list(rules.notes))
    if parsed is None:
        result.notes.append("the model's rewrite was not JSON; kept the rule-based reading")
        return result
    words = _words(rules.query)
    extra = parsed.get("keywords") or []
    dropped = []
    for keyword in extra if isinstance(extra, list) else []:
        keyword = re.sub(r"[^\w /#'-]", "", str(keyword)).strip().lower()
        if not keyword or len(keyword) > 30 or keyword in result.keywords or len(result.keywords) >= 12:
            continue
        if trust_llm or f" {keyword} " in words:
            result.keywords.append(keyword)
        else:
            dropped.append(keyword)
    if dropped:  # small models copy the prompt's example ("lively", "jig") into every rewrite
        result.notes.append(f"dropped the model's keywords {dropped}: the query does not mention them")
    for name in FILTER_FIELDS:
        value = parsed.get(name)
        if name in result.filters or value in (None, "", "null", "none", []):
            continue
        value = str(value).strip()
        reading = rule_rewrite(value if name != "key" else f"in {value}").filters
        canonical = reading.get(name) or (value if name == "origin" else None)
        if canonical is None:
            result.notes.append(f"dropped the model's {name}={value!r}: not a valid value")
        elif trust_llm or value.lower() in words or canonical.lower() in words or (
                name == "origin" and any(f" {w} " in words for w in ORIGINS.get(canonical, ()))):
            result.filters[name] = canonical
        else:
            result.notes.append(f"dropped the model's {name}={value!r}: the query does not mention it")
    return result


def rewrite_query(query: str, backend: Any = None, *, trust_llm: bool = False, max_new_tokens: int = 64) -> RewrittenQuery:
    """Rewrite ``query`` into keywords and filters, with a model when ``backend`` is given.

    Example:
        >>> rewrite_query("an Irish reel in 2/4").filters
        {'tune_type': 'reel', 'meter': '2/4', 'origin': 'Ireland'}
    """
    rules = rule_rewrite(query)
    if backend is None:
        return rules
    reply = complete(backend, [REWRITE.render(query=query)], max_new_tokens, stop=["}"])[0]
    text = reply.text + ("}" if "{" in reply.text and not reply.truncated else "")  # the stop string is cut off
    return merge_llm_rewrite(rules, text, trust_llm=trust_llm)


def match_filters(filters: dict[str, str], hit: Any) -> dict[str, bool]:
    """Which filters a hit satisfies, read from its metadata and ABC as the corpus reads them.

    Uses the checks hybrid search ranks by (:func:`musicsearch.search.fields.satisfies` over the facts
    :mod:`musicsearch.data.features` reads: tune type from ``R:`` or the title, country of origin, key and the
    mode guessed from the notes), so the page, hybrid search and the evaluation agree on what "a jig" or
    "minor" means.

    Args:
        filters: canonical filter values, as :func:`rule_rewrite` gives them.
        hit: a :class:`~musicsearch.search.hit.Hit`, a corpus record, or a dict of hit fields.

    Example:
        >>> match_filters({"tune_type": "reel", "meter": "6/8"}, {"metadata": {"rhythm": "reel", "meter": "2/4"}})
        {'tune_type': True, 'meter': False}
    """
    hit = Hit.of(hit)
    metadata = {str(key).lower(): str(value) for key, value in hit.metadata.items()}
    if "title" not in metadata and hit.title:
        metadata["title"] = str(hit.title)
    return satisfies(filters, record_facts(metadata, hit.abc, hit.collection))
