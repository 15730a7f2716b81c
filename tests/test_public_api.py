"""The public surface: every ``ms.*`` name resolves, editors see the same names, and old names keep working."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import musicsearch as ms

# Every public name of musicsearch before the package was split into subpackages; none may disappear.
NAMES_BEFORE_THE_SUBPACKAGES = (
    "ABCError ANNParams ArtifactError BuildReport CAPTION_TEMPLATES CATEGORY_QUERIES Completion Corpus "
    "CorpusError DSPResult Demonstration END_ID FusionWeights Hit KeywordIndex KeywordSearch LLMBackend "
    "LLMError LLMServer LUTError LUTLinear LivePlot MASK_ID MAX_QUERY_CHARS MapPoints ModelConfig "
    "MusicSearchError MusicTextModel OpenAIBackend PAD_ID PATCH_LENGTH PRESETS PROMPT_TEMPLATES PageHit "
    "ParsedTune PatchClassifier PromptTemplate PseudoCaption QueryError Record RerankResult "
    "RewrittenQuery SearchIndex SearchPage TEMPLATES Tags TrainingHistory TransformersBackend VOCAB_SIZE "
    "ZeroShotClassifier abc_to_midi abc_to_patches abc_to_waveform add_pseudo_captions add_query_overlay "
    "apply_template audio_preview bench_layers build_corpus build_search_page build_tiny_model "
    "build_zero_shot_classifier caption_parts capture_inputs clean_abc clean_text clip_loss "
    "collection_shares compare_templates compare_training_modes convert_music_model convert_to_lut "
    "corpus_stats corrupt_patches default_gguf_path default_index_dir default_model_dir describe "
    "describe_hit digits_task display_score dsp_search evaluate_retrieval evaluate_zero_shot finetune_lut "
    "format_hits format_layer_table format_report format_study_table format_zero_shot_results "
    "freeze_model generate_pseudo_captions get_config heldout_examples hit_card_html home int8_dynamic "
    "key_words kmeans_init load_backend load_clamp_checkpoint load_corpus load_index load_lut_model "
    "load_lut_study load_model lut_cost lut_layers make_captions make_demonstrations make_dev_queries "
    "map_points match_filters measure_index metadata_text meter_words mlp_classifier model_bytes "
    "music_features origin_country origin_task pareto_front parse_header parse_key parse_permutation "
    "parse_tune patches_to_text plot_confusion_matrix plot_corpus_overview plot_history "
    "plot_layer_speedups plot_map plot_map_static plot_pareto plot_pareto_interactive plot_recall_latency "
    "plot_similarity_heatmap plot_toy_2d pretrain_masked_music project query_caption query_overlay "
    "read_corpus recall_at_k render_svg replace_linear rerank_hits rerank_listwise rerank_pointwise "
    "rewrite_query run_search save_corpus save_lut_model save_trained_model select_linear_layers "
    "similarity_matrix split_bars split_tunes start_server study_classifier study_music_model synthesize "
    "synthetic_embeddings tags_of task_accuracy text_dropout time_calls to_abc torch_threads toy_2d train "
    "train_classifier training_texts tune_fusion_weights tune_type two_hop_question watermark_config "
    "watermark_z_scores zero_shot_summary "
).split()


def test_every_public_name_resolves():
    missing = [name for name in ms.__all__ if not hasattr(ms, name)]
    assert missing == []


def test_names_from_before_the_subpackages_still_work():
    assert [name for name in NAMES_BEFORE_THE_SUBPACKAGES if name not in ms.__all__] == []
    assert all(getattr(ms, name) is not None for name in NAMES_BEFORE_THE_SUBPACKAGES)


def test_type_checking_block_matches_the_lazy_exports():
    tree = ast.parse(Path(ms.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING")
    seen = {(node.module, alias.name) for node in block.body for alias in node.names}
    assert seen == {(module, name) for module, names in ms._MODULE_EXPORTS.items() for name in names}


def test_each_name_is_defined_where_the_export_table_says():
    for name, module in ms._EXPORTS.items():
        value = getattr(ms, name)
        defined_in = getattr(value, "__module__", None)
        if defined_in and defined_in.startswith("musicsearch."):  # constants and aliases have no __module__
            assert defined_in == f"musicsearch.{module}", name


def test_import_is_light():
    # A search or a notebook's first cell must not pay for torch, transformers, faiss or umap at import time.
    code = "import sys, musicsearch; print(sorted(m for m in ('torch', 'transformers', 'faiss', 'umap') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
