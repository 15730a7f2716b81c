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
from typing import TYPE_CHECKING, Any

# Idle OpenMP threads spin by default; on a 2-core laptop that slows torch 5-9x when faiss or tokenizers
# also use threads. Must be set before torch is first imported, so it lives here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

# Module (below musicsearch) -> the public names it defines, bottom layer first, one entry per module.
_MODULE_EXPORTS: dict[str, tuple[str, ...]] = {
    # core
    "errors": ("ABCError", "ArtifactError", "CorpusError", "EvaluationError", "LLMError", "MusicSearchError",
        "NonFiniteValues", "QueryError", "TrainingDiverged"),
    "paths": ("default_index_dir", "default_model_dir", "home", "released_model_dir"),
    "artifacts.versions": ("artifact_exists",),
    # data: ABC text, patches, features, captions, the corpus
    "data.abc": ("ParsedTune", "clean_abc", "parse_header", "parse_tune", "split_tunes"),
    "data.captions": ("CAPTION_TEMPLATES", "Tags", "caption_parts", "describe", "make_captions", "tags_of",
        "text_dropout"),
    "data.corpus": ("BuildReport", "Corpus", "Record"),
    "data.corpus_io": ("build_corpus", "corpus_stats", "load_corpus"),
    "data.corpus_store": ("read_corpus", "save_corpus"),
    "data.features": ("key_words", "meter_words", "music_features", "origin_country", "parse_key",
        "tune_type"),
    "data.formats": ("to_abc",),
    "data.melody": ("Melody", "parse_melody"),
    "data.melody_abc": ("melody_to_abc",),
    "data.patches": ("END_ID", "MASK_ID", "PAD_ID", "PATCH_LENGTH", "VOCAB_SIZE", "abc_to_patches",
        "collate_patches", "patches_to_text", "split_bars"),
    "data.tables": ("write_table",),
    "data.text_repair": ("repair_text",),
    "data.texts": ("own_texts", "prose_text", "query_caption", "training_texts"),
    "data.transpose": ("transpose_abc",),
    # lut: lookup-table layers
    "lut.bench": ("bench_layers", "copy_bandwidth", "format_layer_table", "int8_dynamic", "lut_cost",
        "model_bytes", "time_calls", "torch_threads"),
    "lut.centroids": ("capture_inputs", "finetune_lut", "freeze_model", "kmeans_init", "lut_layers"),
    "lut.convert": ("convert_to_lut", "replace_linear", "select_linear_layers"),
    "lut.layer": ("LUTError", "LUTLinear"),
    # models: configs, the music-text model, loading
    "models.clamp": ("load_clamp_checkpoint",),
    "models.config": ("ModelConfig", "PRESETS"),
    "models.loading": ("load_model", "use_model"),
    "models.losses": ("clip_loss",),
    "models.lut_model": ("compare_text_encoders", "convert_music_model", "convert_text_model", "load_lut_model",
        "music_batches", "save_lut_model", "text_batches"),
    "models.model": ("MusicTextModel",),
    "models.onnx_export": ("export_onnx",),
    "models.onnx_runtime": ("OnnxModel",),
    "models.static_text": ("StaticQueryEncoder",),
    # search: hits, the index, hybrid and keyword search, queries
    "search.ann": ("ANNParams",),
    "search.category_queries": ("make_category_queries",),
    "search.default_index": ("default_index_state", "load_index"),
    "search.hit": ("Hit", "describe_why", "format_hits"),
    "search.fusion_tuning": ("make_dev_queries", "tune_fusion_weights"),
    "search.hybrid": ("FusionWeights", "metadata_text"),
    "search.index": ("SearchIndex",),
    "search.keyword_search": ("KeywordSearch",),
    "search.keywords": ("KeywordIndex",),
    "search.melody": ("MelodyBuildStats", "MelodyIndex", "MelodyMatch", "MelodySearchParams"),
    "search.music_query": ("MelodyFallbackWarning", "MelodyFusion"),
    "search.queries": ("MAX_QUERY_CHARS", "Query", "parse_query"),
    "search.query_encoder": ("load_query_encoder", "prepare_query_encoder"),
    "search.understanding": ("QueryReading", "understand_query"),
    # zeroshot
    "zeroshot.classifier": ("ZeroShotClassifier", "build_zero_shot_classifier"),
    "zeroshot.templates": ("PROMPT_TEMPLATES", "apply_template"),
    # llm: backends, prompts, rewrite, rerank, result pages, DSP, pseudo-captions
    "llm.backends.base": ("Completion", "LLMBackend"),
    "llm.backends.factory": ("load_backend",),
    "llm.backends.openai": ("OpenAIBackend",),
    "llm.backends.server": ("LLMServer", "start_server"),
    "llm.backends.transformers": ("TransformersBackend",),
    "llm.backends.weights": ("build_tiny_model", "default_gguf_path"),
    "llm.dsp": ("DSPResult", "Demonstration", "dsp_search", "make_demonstrations", "two_hop_question"),
    "llm.page": ("PageHit", "SearchPage", "build_search_page"),
    "llm.prompts": ("PromptTemplate", "TEMPLATES", "clean_text", "describe_hit"),
    "llm.pseudo_captions": ("PseudoCaption", "add_pseudo_captions", "generate_pseudo_captions",
        "watermark_config", "watermark_z_scores"),
    "llm.rerank": ("RerankResult", "parse_permutation", "rerank_hits", "rerank_listwise",
        "rerank_pointwise"),
    "llm.rewrite": ("RewrittenQuery", "match_filters", "rewrite_query"),
    # evaluation
    "evaluation.ann": ("format_ann_results", "measure_index", "recall_at_k", "synthetic_embeddings"),
    "evaluation.melody": ("Fragment", "IntervalNGramBaseline", "evaluate_melody", "format_melody_results",
        "make_fragments"),
    "evaluation.retrieval": ("CATEGORY_QUERIES", "evaluate_retrieval", "format_report"),
    "evaluation.zeroshot": ("compare_templates", "evaluate_zero_shot", "format_zero_shot_results",
        "heldout_examples"),
    # training
    "training.config": ("RunConfig", "TrainingConfig", "get_config"),
    "training.finetune": ("format_finetune_report",),
    "training.history": ("TrainingHistory",),
    "training.loop": ("save_trained_model", "train"),
    "training.masked_music": ("corrupt_patches", "pretrain_masked_music"),
    "training.melody_objective": ("remembered_fragment",),
    "training.release": ("release_model",),
    "training.sampling": ("collection_shares",),
    # studies
    "studies.lut_study": ("format_study_table", "study_classifier", "study_music_model"),
    "studies.lut_tasks": ("PatchClassifier", "digits_task", "mlp_classifier", "origin_task",
        "task_accuracy", "train_classifier"),
    "studies.training_modes": ("compare_training_modes",),
    # viz: maps, plots, notation, audio
    "viz.ann_plots": ("plot_recall_latency",),
    "viz.audio": ("abc_to_midi", "abc_to_waveform", "audio_preview", "synthesize"),
    "viz.corpus_plots": ("plot_corpus_overview",),
    "viz.lut_plots": ("pareto_front", "plot_layer_speedups", "plot_pareto", "plot_pareto_interactive",
        "plot_toy_2d", "toy_2d"),
    "viz.map_plots": ("add_query_overlay", "plot_map", "plot_map_static"),
    "viz.maps": ("MapPoints", "map_points", "query_overlay"),
    "viz.notation": ("display_score", "render_svg"),
    "viz.projection": ("project",),
    "viz.similarity_plots": ("plot_similarity_heatmap", "similarity_matrix"),
    "viz.training_plots": ("LivePlot", "plot_history"),
    "viz.zeroshot_plots": ("plot_confusion_matrix",),
    # ui: widget behaviour
    "ui.panels": ("load_lut_study", "zero_shot_summary"),
    "ui.search_view": ("hit_card_html", "run_search"),
}
# Public name -> module that defines it, for the lazy lookup below.
_EXPORTS: dict[str, str] = {name: module for module, names in _MODULE_EXPORTS.items() for name in names}

if TYPE_CHECKING:  # editors and type checkers see every public name; at run time they load lazily
    from .artifacts.versions import artifact_exists
    from .data.abc import ParsedTune, clean_abc, parse_header, parse_tune, split_tunes
    from .data.captions import (
        CAPTION_TEMPLATES,
        Tags,
        caption_parts,
        describe,
        make_captions,
        tags_of,
        text_dropout,
    )
    from .data.corpus import BuildReport, Corpus, Record
    from .data.corpus_io import build_corpus, corpus_stats, load_corpus
    from .data.corpus_store import read_corpus, save_corpus
    from .data.features import key_words, meter_words, music_features, origin_country, parse_key, tune_type
    from .data.formats import to_abc
    from .data.melody import Melody, parse_melody
    from .data.melody_abc import melody_to_abc
    from .data.patches import (
        END_ID,
        MASK_ID,
        PAD_ID,
        PATCH_LENGTH,
        VOCAB_SIZE,
        abc_to_patches,
        collate_patches,
        patches_to_text,
        split_bars,
    )
    from .data.tables import write_table
    from .data.text_repair import repair_text
    from .data.texts import own_texts, prose_text, query_caption, training_texts
    from .data.transpose import transpose_abc
    from .errors import (
        ABCError,
        ArtifactError,
        CorpusError,
        EvaluationError,
        LLMError,
        MusicSearchError,
        NonFiniteValues,
        QueryError,
        TrainingDiverged,
    )
    from .evaluation.ann import format_ann_results, measure_index, recall_at_k, synthetic_embeddings
    from .evaluation.melody import (
        Fragment,
        IntervalNGramBaseline,
        evaluate_melody,
        format_melody_results,
        make_fragments,
    )
    from .evaluation.retrieval import CATEGORY_QUERIES, evaluate_retrieval, format_report
    from .evaluation.zeroshot import (
        compare_templates,
        evaluate_zero_shot,
        format_zero_shot_results,
        heldout_examples,
    )
    from .llm.backends.base import Completion, LLMBackend
    from .llm.backends.factory import load_backend
    from .llm.backends.openai import OpenAIBackend
    from .llm.backends.server import LLMServer, start_server
    from .llm.backends.transformers import TransformersBackend
    from .llm.backends.weights import build_tiny_model, default_gguf_path
    from .llm.dsp import Demonstration, DSPResult, dsp_search, make_demonstrations, two_hop_question
    from .llm.page import PageHit, SearchPage, build_search_page
    from .llm.prompts import TEMPLATES, PromptTemplate, clean_text, describe_hit
    from .llm.pseudo_captions import (
        PseudoCaption,
        add_pseudo_captions,
        generate_pseudo_captions,
        watermark_config,
        watermark_z_scores,
    )
    from .llm.rerank import RerankResult, parse_permutation, rerank_hits, rerank_listwise, rerank_pointwise
    from .llm.rewrite import RewrittenQuery, match_filters, rewrite_query
    from .lut.bench import (
        bench_layers,
        copy_bandwidth,
        format_layer_table,
        int8_dynamic,
        lut_cost,
        model_bytes,
        time_calls,
        torch_threads,
    )
    from .lut.centroids import capture_inputs, finetune_lut, freeze_model, kmeans_init, lut_layers
    from .lut.convert import convert_to_lut, replace_linear, select_linear_layers
    from .lut.layer import LUTError, LUTLinear
    from .models.clamp import load_clamp_checkpoint
    from .models.config import PRESETS, ModelConfig
    from .models.loading import load_model, use_model
    from .models.losses import clip_loss
    from .models.lut_model import (
        compare_text_encoders,
        convert_music_model,
        convert_text_model,
        load_lut_model,
        music_batches,
        save_lut_model,
        text_batches,
    )
    from .models.model import MusicTextModel
    from .models.onnx_export import export_onnx
    from .models.onnx_runtime import OnnxModel
    from .models.static_text import StaticQueryEncoder
    from .paths import default_index_dir, default_model_dir, home, released_model_dir
    from .search.ann import ANNParams
    from .search.category_queries import make_category_queries
    from .search.default_index import default_index_state, load_index
    from .search.fusion_tuning import make_dev_queries, tune_fusion_weights
    from .search.hit import Hit, describe_why, format_hits
    from .search.hybrid import FusionWeights, metadata_text
    from .search.index import SearchIndex
    from .search.keyword_search import KeywordSearch
    from .search.keywords import KeywordIndex
    from .search.melody import MelodyBuildStats, MelodyIndex, MelodyMatch, MelodySearchParams
    from .search.music_query import MelodyFallbackWarning, MelodyFusion
    from .search.queries import MAX_QUERY_CHARS, Query, parse_query
    from .search.query_encoder import load_query_encoder, prepare_query_encoder
    from .search.understanding import QueryReading, understand_query
    from .studies.lut_study import format_study_table, study_classifier, study_music_model
    from .studies.lut_tasks import (
        PatchClassifier,
        digits_task,
        mlp_classifier,
        origin_task,
        task_accuracy,
        train_classifier,
    )
    from .studies.training_modes import compare_training_modes
    from .training.config import RunConfig, TrainingConfig, get_config
    from .training.finetune import format_finetune_report
    from .training.history import TrainingHistory
    from .training.loop import save_trained_model, train
    from .training.masked_music import corrupt_patches, pretrain_masked_music
    from .training.melody_objective import remembered_fragment
    from .training.release import release_model
    from .training.sampling import collection_shares
    from .ui.panels import load_lut_study, zero_shot_summary
    from .ui.search_view import hit_card_html, run_search
    from .viz.ann_plots import plot_recall_latency
    from .viz.audio import abc_to_midi, abc_to_waveform, audio_preview, synthesize
    from .viz.corpus_plots import plot_corpus_overview
    from .viz.lut_plots import (
        pareto_front,
        plot_layer_speedups,
        plot_pareto,
        plot_pareto_interactive,
        plot_toy_2d,
        toy_2d,
    )
    from .viz.map_plots import add_query_overlay, plot_map, plot_map_static
    from .viz.maps import MapPoints, map_points, query_overlay
    from .viz.notation import display_score, render_svg
    from .viz.projection import project
    from .viz.similarity_plots import plot_similarity_heatmap, similarity_matrix
    from .viz.training_plots import LivePlot, plot_history
    from .viz.zeroshot_plots import plot_confusion_matrix
    from .zeroshot.classifier import ZeroShotClassifier, build_zero_shot_classifier
    from .zeroshot.templates import PROMPT_TEMPLATES, apply_template

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
