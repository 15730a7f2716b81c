"""musicsearch: search and understand symbolic music (ABC, MusicXML, MIDI, kern) with natural language.

A notebook needs only ``import musicsearch as ms``. Names are resolved lazily (PEP 562), so importing the
package stays fast and heavy libraries (torch, faiss, transformers, umap) load only when first used.

Example:
    >>> import musicsearch as ms
    >>> ms.abc_to_patches("L:1/8\\nK:D\\n|:d2fd A2FA|").shape
    (3, 64)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> module that defines it. Each topic keeps its own block.
_EXPORTS: dict[str, str] = {
    # paths and artifacts
    "home": "paths", "default_model_dir": "paths", "default_index_dir": "paths",
    "MusicSearchError": "errors", "ABCError": "errors", "CorpusError": "errors",
    "ArtifactError": "errors", "QueryError": "errors", "LLMError": "errors",
    # ABC text and bar patches
    "split_tunes": "abc_notation", "clean_abc": "abc_notation", "parse_header": "abc_notation",
    "ParsedTune": "abc_notation", "parse_tune": "abc_notation",
    "abc_to_patches": "patches", "patches_to_text": "patches", "split_bars": "patches",
    "PATCH_LENGTH": "patches", "VOCAB_SIZE": "patches", "PAD_ID": "patches", "MASK_ID": "patches", "END_ID": "patches",
    # captions and features
    "music_features": "features", "parse_key": "features", "meter_words": "features", "key_words": "features",
    "tune_type": "features", "origin_country": "features",
    "caption_parts": "captions", "make_captions": "captions", "text_dropout": "captions",
    "CAPTION_TEMPLATES": "captions", "Tags": "captions", "tags_of": "captions", "describe": "captions",
    # corpus
    "Record": "corpus", "Corpus": "corpus", "BuildReport": "corpus",
    "build_corpus": "corpus", "load_corpus": "corpus", "corpus_stats": "corpus", "save_corpus": "corpus",
    "read_corpus": "corpus",
    "to_abc": "convert", "render_svg": "render", "display_score": "render",
    "plot_corpus_overview": "corpus_plots",
    # model and training (issue 3)
    # search and zero-shot (issue 4)
    "Hit": "index", "SearchIndex": "index", "load_index": "index", "MAX_QUERY_CHARS": "index",
    "ANNParams": "ann", "KeywordIndex": "keywords",
    "FusionWeights": "hybrid", "metadata_text": "hybrid", "make_dev_queries": "hybrid",
    "tune_fusion_weights": "hybrid",
    "ZeroShotClassifier": "zeroshot", "build_zero_shot_classifier": "zeroshot", "plot_confusion_matrix": "zeroshot",
    "evaluate_zero_shot": "zeroshot_eval", "format_zero_shot_results": "zeroshot_eval",
    "PROMPT_TEMPLATES": "prompts", "apply_template": "prompts",
    "synthetic_embeddings": "search_eval", "recall_at_k": "search_eval", "measure_index": "search_eval",
    "plot_recall_latency": "search_eval",
    # lookup tables (issue 5)
    # language models and result pages (issue 6)
    # maps and plots (issue 7)
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'musicsearch' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value  # cache, so the next access is a plain attribute lookup
    return value


def __dir__() -> list[str]:
    return __all__
