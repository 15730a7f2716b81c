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
import os
from typing import Any

# Idle OpenMP threads spin by default; on a 2-core laptop that slows torch 5-9x when faiss or tokenizers
# also use threads. Must be set before torch is first imported, so it lives here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
    "MusicTextModel": "model", "load_model": "model", "ModelConfig": "model_config", "PRESETS": "model_config",
    "get_config": "model_config", "train": "training", "save_trained_model": "training", "TrainingHistory": "training_history",
    "plot_history": "training_plots", "LivePlot": "training_plots",
    "evaluate_retrieval": "evaluate", "format_report": "evaluate", "CATEGORY_QUERIES": "evaluate",
    "compare_training_modes": "experiments", "clip_loss": "losses", "corrupt_patches": "masked_music",
    "collection_shares": "sampling", "load_clamp_checkpoint": "clamp_checkpoint",
    "training_texts": "training_data", "query_caption": "training_data", "pretrain_masked_music": "masked_music",
    # search and zero-shot (issue 4)
    "Hit": "index", "SearchIndex": "index", "load_index": "index", "MAX_QUERY_CHARS": "queries",
    "ANNParams": "ann", "KeywordIndex": "keywords",
    "FusionWeights": "hybrid", "metadata_text": "hybrid", "make_dev_queries": "hybrid",
    "tune_fusion_weights": "hybrid",
    "ZeroShotClassifier": "zeroshot", "build_zero_shot_classifier": "zeroshot", "plot_confusion_matrix": "zeroshot",
    "evaluate_zero_shot": "zeroshot_eval", "format_zero_shot_results": "zeroshot_eval",
    "heldout_examples": "zeroshot_eval", "compare_templates": "zeroshot_eval", "format_hits": "index",
    "PROMPT_TEMPLATES": "prompts", "apply_template": "prompts",
    "synthetic_embeddings": "search_eval", "recall_at_k": "search_eval", "measure_index": "search_eval",
    "plot_recall_latency": "search_eval",
    # lookup tables (issue 5)
    "LUTLinear": "lut", "LUTError": "lut",
    "replace_linear": "lut_convert", "select_linear_layers": "lut_convert", "convert_to_lut": "lut_convert",
    "convert_music_model": "lut_convert", "save_lut_model": "lut_convert", "load_lut_model": "lut_convert",
    "capture_inputs": "lut_train", "kmeans_init": "lut_train", "finetune_lut": "lut_train",
    "freeze_model": "lut_train", "lut_layers": "lut_train",
    "lut_cost": "lut_bench", "bench_layers": "lut_bench", "format_layer_table": "lut_bench",
    "time_calls": "lut_bench", "torch_threads": "lut_bench", "model_bytes": "lut_bench", "int8_dynamic": "lut_bench",
    "study_classifier": "lut_study", "study_music_model": "lut_study", "format_study_table": "lut_study",
    "origin_task": "lut_tasks", "digits_task": "lut_tasks", "mlp_classifier": "lut_tasks",
    "PatchClassifier": "lut_tasks", "train_classifier": "lut_tasks", "task_accuracy": "lut_tasks",
    "toy_2d": "lut_plots", "plot_toy_2d": "lut_plots", "plot_layer_speedups": "lut_plots",
    "plot_pareto": "lut_plots", "plot_pareto_interactive": "lut_plots", "pareto_front": "lut_plots",
    # language models and result pages (issue 6)
    "LLMBackend": "llm", "Completion": "llm", "load_backend": "llm",
    "TransformersBackend": "llm_transformers", "OpenAIBackend": "llm_openai",
    "default_gguf_path": "llm_models", "build_tiny_model": "llm_models",
    "start_server": "llm_server", "LLMServer": "llm_server",
    "PromptTemplate": "llm_prompts", "TEMPLATES": "llm_prompts", "describe_hit": "llm_prompts",
    "clean_text": "llm_prompts",
    "RewrittenQuery": "rewrite", "rewrite_query": "rewrite", "match_filters": "rewrite",
    "RerankResult": "rerank", "rerank_hits": "rerank", "rerank_pointwise": "rerank", "rerank_listwise": "rerank",
    "parse_permutation": "rerank",
    "SearchPage": "serp", "PageHit": "serp", "build_search_page": "serp",
    "KeywordSearch": "keyword_search",
    "Demonstration": "dsp", "DSPResult": "dsp", "make_demonstrations": "dsp", "dsp_search": "dsp",
    "two_hop_question": "dsp",
    "PseudoCaption": "pseudo_captions", "generate_pseudo_captions": "pseudo_captions",
    "watermark_config": "pseudo_captions", "watermark_z_scores": "pseudo_captions",
    "add_pseudo_captions": "pseudo_captions",
    # maps and plots (issue 7)
    "project": "projection", "MapPoints": "maps", "map_points": "maps", "query_overlay": "maps",
    "plot_map": "map_plots", "plot_map_static": "map_plots", "add_query_overlay": "map_plots",
    "similarity_matrix": "similarity_plots", "plot_similarity_heatmap": "similarity_plots",
    "abc_to_midi": "audio", "abc_to_waveform": "audio", "audio_preview": "audio", "synthesize": "audio",
    "run_search": "search_view", "hit_card_html": "search_view", "zero_shot_summary": "panel_views",
    "load_lut_study": "panel_views",
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
