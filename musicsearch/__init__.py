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
    "split_tunes": "data.abc", "clean_abc": "data.abc", "parse_header": "data.abc",
    "ParsedTune": "data.abc", "parse_tune": "data.abc",
    "abc_to_patches": "data.patches", "patches_to_text": "data.patches", "split_bars": "data.patches",
    "PATCH_LENGTH": "data.patches", "VOCAB_SIZE": "data.patches", "PAD_ID": "data.patches", "MASK_ID": "data.patches", "END_ID": "data.patches",
    # captions and features
    "music_features": "data.features", "parse_key": "data.features", "meter_words": "data.features", "key_words": "data.features",
    "tune_type": "data.features", "origin_country": "data.features",
    "caption_parts": "data.captions", "make_captions": "data.captions", "text_dropout": "data.captions",
    "CAPTION_TEMPLATES": "data.captions", "Tags": "data.captions", "tags_of": "data.captions", "describe": "data.captions",
    # corpus
    "Record": "data.corpus", "Corpus": "data.corpus", "BuildReport": "data.corpus",
    "build_corpus": "data.corpus", "load_corpus": "data.corpus", "corpus_stats": "data.corpus", "save_corpus": "data.corpus",
    "read_corpus": "data.corpus",
    "to_abc": "data.formats", "render_svg": "viz.notation", "display_score": "viz.notation",
    "plot_corpus_overview": "viz.corpus_plots",
    # model and training (issue 3)
    "MusicTextModel": "models.model", "load_model": "models.model", "ModelConfig": "models.config", "PRESETS": "models.config",
    "get_config": "models.config", "train": "training.loop", "save_trained_model": "training.loop", "TrainingHistory": "training.history",
    "plot_history": "viz.training_plots", "LivePlot": "viz.training_plots",
    "evaluate_retrieval": "evaluation.retrieval", "format_report": "evaluation.retrieval", "CATEGORY_QUERIES": "evaluation.retrieval",
    "compare_training_modes": "studies.training_modes", "clip_loss": "models.losses", "corrupt_patches": "training.masked_music",
    "collection_shares": "training.sampling", "load_clamp_checkpoint": "models.clamp",
    "training_texts": "data.texts", "query_caption": "data.texts", "pretrain_masked_music": "training.masked_music",
    # search and zero-shot (issue 4)
    "Hit": "search.hit", "SearchIndex": "search.index", "load_index": "search.index", "MAX_QUERY_CHARS": "search.queries",
    "ANNParams": "search.ann", "KeywordIndex": "search.keywords",
    "FusionWeights": "search.hybrid", "metadata_text": "search.hybrid", "make_dev_queries": "search.hybrid",
    "tune_fusion_weights": "search.hybrid",
    "ZeroShotClassifier": "zeroshot.classifier", "build_zero_shot_classifier": "zeroshot.classifier", "plot_confusion_matrix": "zeroshot.classifier",
    "evaluate_zero_shot": "evaluation.zeroshot", "format_zero_shot_results": "evaluation.zeroshot",
    "heldout_examples": "evaluation.zeroshot", "compare_templates": "evaluation.zeroshot", "format_hits": "search.hit",
    "PROMPT_TEMPLATES": "zeroshot.templates", "apply_template": "zeroshot.templates",
    "synthetic_embeddings": "evaluation.ann", "recall_at_k": "evaluation.ann", "measure_index": "evaluation.ann",
    "plot_recall_latency": "evaluation.ann",
    # lookup tables (issue 5)
    "LUTLinear": "lut.layer", "LUTError": "lut.layer",
    "replace_linear": "lut.convert", "select_linear_layers": "lut.convert", "convert_to_lut": "lut.convert",
    "convert_music_model": "lut.convert", "save_lut_model": "lut.convert", "load_lut_model": "lut.convert",
    "capture_inputs": "lut.centroids", "kmeans_init": "lut.centroids", "finetune_lut": "lut.centroids",
    "freeze_model": "lut.centroids", "lut_layers": "lut.centroids",
    "lut_cost": "lut.bench", "bench_layers": "lut.bench", "format_layer_table": "lut.bench",
    "time_calls": "lut.bench", "torch_threads": "lut.bench", "model_bytes": "lut.bench", "int8_dynamic": "lut.bench",
    "study_classifier": "studies.lut_study", "study_music_model": "studies.lut_study", "format_study_table": "studies.lut_study",
    "origin_task": "studies.lut_tasks", "digits_task": "studies.lut_tasks", "mlp_classifier": "studies.lut_tasks",
    "PatchClassifier": "studies.lut_tasks", "train_classifier": "studies.lut_tasks", "task_accuracy": "studies.lut_tasks",
    "toy_2d": "viz.lut_plots", "plot_toy_2d": "viz.lut_plots", "plot_layer_speedups": "viz.lut_plots",
    "plot_pareto": "viz.lut_plots", "plot_pareto_interactive": "viz.lut_plots", "pareto_front": "viz.lut_plots",
    # language models and result pages (issue 6)
    "LLMBackend": "llm.backends.base", "Completion": "llm.backends.base", "load_backend": "llm.backends.base",
    "TransformersBackend": "llm.backends.transformers", "OpenAIBackend": "llm.backends.openai",
    "default_gguf_path": "llm.backends.weights", "build_tiny_model": "llm.backends.weights",
    "start_server": "llm.backends.server", "LLMServer": "llm.backends.server",
    "PromptTemplate": "llm.prompts", "TEMPLATES": "llm.prompts", "describe_hit": "llm.prompts",
    "clean_text": "llm.prompts",
    "RewrittenQuery": "llm.rewrite", "rewrite_query": "llm.rewrite", "match_filters": "llm.rewrite",
    "RerankResult": "llm.rerank", "rerank_hits": "llm.rerank", "rerank_pointwise": "llm.rerank", "rerank_listwise": "llm.rerank",
    "parse_permutation": "llm.rerank",
    "SearchPage": "llm.page", "PageHit": "llm.page", "build_search_page": "llm.page",
    "KeywordSearch": "search.keyword_search",
    "Demonstration": "llm.dsp", "DSPResult": "llm.dsp", "make_demonstrations": "llm.dsp", "dsp_search": "llm.dsp",
    "two_hop_question": "llm.dsp",
    "PseudoCaption": "llm.pseudo_captions", "generate_pseudo_captions": "llm.pseudo_captions",
    "watermark_config": "llm.pseudo_captions", "watermark_z_scores": "llm.pseudo_captions",
    "add_pseudo_captions": "llm.pseudo_captions",
    # maps and plots (issue 7)
    "project": "viz.projection", "MapPoints": "viz.maps", "map_points": "viz.maps", "query_overlay": "viz.maps",
    "plot_map": "viz.map_plots", "plot_map_static": "viz.map_plots", "add_query_overlay": "viz.map_plots",
    "similarity_matrix": "viz.similarity_plots", "plot_similarity_heatmap": "viz.similarity_plots",
    "abc_to_midi": "viz.audio", "abc_to_waveform": "viz.audio", "audio_preview": "viz.audio", "synthesize": "viz.audio",
    "run_search": "ui.search_view", "hit_card_html": "ui.search_view", "zero_shot_summary": "ui.panels",
    "load_lut_study": "ui.panels",
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
