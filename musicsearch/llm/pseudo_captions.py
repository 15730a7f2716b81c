"""Tags to captions (TTMR++ pseudo-captions): a language model writes a sentence from a tune's tags.

The corpus's own captions come from templates; a model's sentences add variety for training the text side
(``add_pseudo_captions`` appends them to the records' captions). Generated captions are cached per model
and prompt under ``MUSICSEARCH_HOME/cache/pseudo_captions/``, one JSON line per tune, so a second run only
generates what is missing. A reply that is garbage, or that states a tune type, key, meter or origin the tune
does not have (a small model's typical slip), is replaced by the template caption, ``source="template"``.

Optionally the text is watermarked (Kirchenbauer et al.'s green-list bias, transformers'
``WatermarkingConfig``) so synthetic captions can be told apart later: :func:`watermark_z_scores` gives the
detector's z-score per text (about 0 for human text, large for watermarked text).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import LLMError
from .backends.base import complete
from .page_text import clean_snippet
from .prompts import TAGS_CAPTION, clean_text

# Caption parts that describe the recording of the data rather than the music: not tags.
_NOT_TAGS = re.compile(r"^(titled|with a |with few|with many|as a single|in the .*collection|in .*collection)", re.I)


@dataclass
class PseudoCaption:
    """A generated caption for one tune."""

    id: str  # record id
    tags: list[str]  # what the model was given
    caption: str  # what it wrote (or the template caption when its text was unusable)
    source: str  # "llm" or "template"
    model: str  # backend name
    watermarked: bool = False


def caption_tags(record: Any) -> list[str]:
    """A tune's tags for the prompt: its caption parts about the music (type, key, meter, origin, composer).

    Example:
        >>> caption_tags(record)  # doctest: +SKIP
        ['a hornpipe', 'in A major', 'in two-four time', 'by G.L. Tracy']
    """
    parts = list(getattr(record, "caption_parts", None) or [])
    return [part for part in parts if not _NOT_TAGS.match(part)] or parts[:3]


def watermark_config(*, bias: float = 4.0, greenlist_ratio: float = 0.25, hashing_key: int = 15485863) -> Any:
    """A ``transformers.WatermarkingConfig``; a higher ``bias`` marks short texts more surely but bends them more."""
    from transformers import WatermarkingConfig

    return WatermarkingConfig(greenlist_ratio=greenlist_ratio, bias=bias, hashing_key=hashing_key,
                              seeding_scheme="lefthash", context_width=1)


def _cache_path(backend: Any, watermark: Any) -> Path:
    from ..paths import cache_dir

    key = json.dumps([getattr(backend, "name", "model"), TAGS_CAPTION.system, TAGS_CAPTION.user,
                      watermark.to_dict() if watermark is not None else None], sort_keys=True, default=str)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(getattr(backend, "name", "model")))[:40]
    return cache_dir() / "pseudo_captions" / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.jsonl"


def generate_pseudo_captions(records: Sequence[Any], backend: Any, *, n: int | None = 50, seed: int = 0,
                             cache: bool = True, watermark: bool | Any = False, max_new_tokens: int = 40,
                             batch_size: int = 16) -> list[PseudoCaption]:
    """Generate captions from tags for a sample of tunes.

    Args:
        records: corpus records (with ``caption_parts``).
        backend: an LLM backend; watermarking needs a local :class:`~musicsearch.llm.backends.transformers.TransformersBackend`.
        n: sample size (``None`` for every record); the sample is the same for the same seed.
        seed: sampling seed.
        cache: read and extend the JSONL cache under ``MUSICSEARCH_HOME/cache/pseudo_captions``.
        watermark: ``True`` for :func:`watermark_config`'s defaults, or a ``WatermarkingConfig``.
        max_new_tokens: budget per caption.
        batch_size: prompts per generation call.

    Returns:
        One :class:`PseudoCaption` per sampled record, in sample order.
    """
    sample = list(records)
    if n is not None and n < len(sample):
        sample = random.Random(seed).sample(sample, n)
    config = watermark_config() if watermark is True else (watermark or None)
    if config is not None and not hasattr(backend, "model"):
        raise LLMError("watermarking needs a local transformers backend (it changes the model's logits).")
    path = _cache_path(backend, config)
    cached: dict[str, PseudoCaption] = {}
    if cache and path.is_file():
        for line in path.read_text(encoding="utf-8").split("\n"):  # not splitlines: see index_store
            try:
                item = PseudoCaption(**json.loads(line))
                cached[item.id] = item
            except (json.JSONDecodeError, TypeError):
                continue  # a damaged line is generated again
    missing = [record for record in sample if record.id not in cached]
    new: list[PseudoCaption] = []
    for start in range(0, len(missing), batch_size):
        chunk = missing[start:start + batch_size]
        tags = [caption_tags(record) for record in chunk]
        prompts = [TAGS_CAPTION.render(tags=clean_text(", ".join(t), 300)) for t in tags]
        options = {"watermarking_config": config} if config is not None else {}
        replies = complete(backend, prompts, max_new_tokens, stop=["\n"]) if not options else \
            backend.complete(prompts, max_new_tokens, stop=["\n"], **options)
        for record, record_tags, reply in zip(chunk, tags, replies):
            text = clean_snippet(reply.text, truncated=reply.truncated, hit=record)
            usable = bool(text)
            fallback = record.captions[0] if getattr(record, "captions", None) else ", ".join(record_tags)
            new.append(PseudoCaption(record.id, record_tags, text if usable else fallback,
                                     "llm" if usable else "template", getattr(backend, "name", "model"),
                                     config is not None and usable))
    if cache and new:
        from ..artifacts import atomic_write_text

        lines = [json.dumps(asdict(item), ensure_ascii=False) for item in [*cached.values(), *new]]
        atomic_write_text(path, "\n".join(lines) + "\n")
    cached.update({item.id: item for item in new})
    return [cached[record.id] for record in sample]


def watermark_z_scores(texts: Sequence[str], backend: Any, watermark: Any = None) -> list[float]:
    """The watermark detector's z-score of each text (needs the same tokenizer and config as generation).

    Texts too short to score (fewer than two tokens) get ``nan``.
    """
    import torch
    from transformers.generation import WatermarkDetector

    config = watermark or watermark_config()
    detector = WatermarkDetector(backend.model.config, "cpu", config)
    scores = []
    for text in texts:
        ids = backend.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        if ids.shape[1] < 2:
            scores.append(float("nan"))
            continue
        with torch.inference_mode():
            scores.append(float(detector(ids, return_dict=True).z_score[0]))
    return scores


def add_pseudo_captions(corpus: Any, captions: Sequence[PseudoCaption], *, include_template: bool = False) -> Any:
    """A copy of ``corpus`` whose records carry their generated caption after their own (for training).

    Args:
        corpus: a :class:`~musicsearch.data.corpus.Corpus` or a list of records.
        captions: from :func:`generate_pseudo_captions`.
        include_template: also add captions that fell back to the template (usually already present).
    """
    by_id = {item.id: item.caption for item in captions if include_template or item.source == "llm"}
    records = [dataclasses.replace(record, captions=[*record.captions, by_id[record.id]])
               if record.id in by_id and by_id[record.id] not in record.captions else record for record in corpus]
    if hasattr(corpus, "report"):
        from ..data.corpus import Corpus

        digest = hashlib.sha256(json.dumps(sorted(by_id.items())).encode()).hexdigest()[:8]
        return Corpus(records, f"{corpus.name}+pseudo", corpus.report,
                      fingerprint=f"{getattr(corpus, 'fingerprint', '')}+pseudo-{digest}")
    return records
