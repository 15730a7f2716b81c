"""Export a saved model's query encoders to ONNX (needs torch; runs once per model, at build time).

:func:`export_onnx` traces the text path (token ids + mask → backbone → mean pooling → projection → L2
norm) and the music path (patches + mask → music encoder → projection → L2 norm) with ``torch.onnx.export``
(the TorchScript exporter: no extra dependency), lets onnxruntime optimise both graphs once, checks them
against PyTorch on fixed probe queries (cosine ≥ :data:`MIN_COSINE`, else nothing is published) and
publishes them atomically under ``MUSICSEARCH_HOME/cache/onnx/`` with a manifest; see
:mod:`musicsearch.models.onnx_runtime` for the layout and the reader.

Example:
    >>> folder = export_onnx(load_model("models/default"), "models/default")  # doctest: +SKIP
    >>> load_onnx_model("models/default").encode_text(["a jig"]).shape  # doctest: +SKIP
    (1, 256)
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ArtifactError
from .onnx_runtime import (
    MANIFEST,
    MINILM_PACKAGE,
    MUSIC_FILE,
    ONNX_FORMAT,
    ONNX_KIND,
    OPSET,
    TEXT_FILE,
    TOKENIZER_FILE,
    OnnxModel,
    file_sha256,
    model_facts,
    onnx_dir,
    package_version,
    runtime_version,
)

MIN_COSINE = 0.999  # below this on any probe the export is refused: results must not change with the path
# Probes cover short and long queries (one past every length limit: the truncation rule) and odd characters.
PROBE_TEXTS = ("a slow air in a minor key", "jig", "tunes by O'Carolan", "Ein Lied aus dem Elsass, 3/4, in G",
               "a lively reel in D major for fiddle with a repeated B part " * 12, "é ♪ — 日本の民謡")
PROBE_TUNES = ("X:1\nL:1/8\nM:6/8\nK:D\n|:dfa afd|gfe dcB|AFA dFA|GBA G3:|",
               "L:1/4\nM:3/4\nK:Am\nA2 B|c2 B|A3|E3|",
               "L:1/8\nM:4/4\nK:G\n" + "|GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA" * 20 + "|")


def export_onnx(model: Any, model_dir: str | os.PathLike, *, quiet: bool = False) -> Path:
    """Export ``model`` (the one saved in ``model_dir``) to the ONNX cache and return the cache folder.

    Args:
        model: the loaded :class:`~musicsearch.models.model.MusicTextModel` of ``model_dir``.
        model_dir: its folder; the export is keyed by the fingerprint recorded there.
        quiet: no line on stderr about the export.

    Raises:
        OnnxUnavailable: onnxruntime is missing or the model's kind is not exported.
        ArtifactError: ``model`` is not the model saved in ``model_dir``, or the exported graphs disagree
            with PyTorch (nothing is published then).

    Example:
        >>> export_onnx(model, "models/default").parent.name  # doctest: +SKIP
        'onnx'
    """
    import sys

    from ..artifacts import MODEL, publish, write_json

    facts = model_facts(model_dir)
    if model.fingerprint != facts["fingerprint"]:
        raise ArtifactError(f"the model given has fingerprint {model.fingerprint} but {model_dir} holds "
                            f"{facts['fingerprint']}; export the model saved in that folder.")
    target = onnx_dir(model_dir)
    started = time.perf_counter()
    if not quiet:
        print(f"musicsearch: exporting the query encoders of {model_dir} to ONNX, once, so later searches "
              "start without PyTorch ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="musicsearch-onnx-") as scratch:
        scratch = Path(scratch)
        _export_text(model, scratch / "raw-text.onnx")
        _export_music(model, scratch / "raw-music.onnx")
        _optimise(scratch / "raw-text.onnx", scratch / TEXT_FILE)
        _optimise(scratch / "raw-music.onnx", scratch / MUSIC_FILE)
        tokenizer = model.text_encoder.tokenizer
        tokenizer.backend_tokenizer.save(str(scratch / TOKENIZER_FILE))
        manifest = _manifest(model, model_dir, facts, tokenizer.pad_token_id)
        agreement = check_agreement(model, OnnxModel(scratch, manifest))
        if agreement["min_cosine"] < MIN_COSINE:
            raise ArtifactError(f"the ONNX export of {model_dir} disagrees with PyTorch (lowest cosine "
                                f"{agreement['min_cosine']:.5f} < {MIN_COSINE}); searches keep using PyTorch. "
                                "Please report this with your onnxruntime and torch versions.")
        files = (TEXT_FILE, MUSIC_FILE, TOKENIZER_FILE)
        manifest["agreement"] = agreement
        manifest["files"] = {name: {"sha256": file_sha256(scratch / name), "bytes": (scratch / name).stat().st_size}
                             for name in files}
        with publish(target, MODEL) as staging:
            for name in files:
                shutil.move(scratch / name, staging / name)  # /tmp may be another disk
            write_json(staging / MANIFEST, manifest)
    if not quiet:
        print(f"musicsearch: ONNX export written to {target} ({time.perf_counter() - started:.1f} s).",
              file=sys.stderr)
    return target


def check_agreement(model: Any, onnx_model: Any, texts: Any = PROBE_TEXTS, tunes: Any = PROBE_TUNES) -> dict[str, float]:
    """Lowest cosine between the PyTorch and ONNX embeddings of ``texts`` and ``tunes``.

    Example:
        >>> check_agreement(model, load_onnx_model("models/default"))["min_cosine"] > 0.999  # doctest: +SKIP
        True
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the long probe is truncated on purpose
        text = np.sum(model.encode_text(list(texts)) * onnx_model.encode_text(list(texts)), axis=1)
    music = np.sum(model.encode_music(list(tunes)) * onnx_model.encode_music(list(tunes)), axis=1)
    return {"min_cosine_text": float(text.min()), "min_cosine_music": float(music.min()),
            "min_cosine": float(min(text.min(), music.min()))}


def _embedding_path(encoder: Any, projection: Any) -> Any:
    """An encoder, its projection and L2 normalisation as one module: what a query goes through."""
    import torch.nn.functional as F
    from torch import nn

    class EmbeddingPath(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.projection = encoder, projection

        def forward(self, inputs, mask):
            return F.normalize(self.projection(self.encoder(inputs, mask)), dim=-1)

    return EmbeddingPath().eval()


def _export_text(model: Any, path: Path) -> None:
    batch = model.text_encoder.tokenize(["a slow air in a minor key", "a jig"])
    _export(_embedding_path(model.text_encoder, model.text_proj), (batch["input_ids"], batch["attention_mask"]),
            path, ["input_ids", "attention_mask"], {"input_ids": {0: "batch", 1: "tokens"},
                                                    "attention_mask": {0: "batch", 1: "tokens"}})


def _export_music(model: Any, path: Path) -> None:
    from ..data.patches import collate_patches, patchify

    patches, mask = collate_patches(patchify(list(PROBE_TUNES[:2]), model.config.max_patches))
    _export(_embedding_path(model.music_encoder, model.music_proj), (patches, mask), path, ["patches", "mask"],
            {"patches": {0: "batch", 1: "patches"}, "mask": {0: "batch", 1: "patches"}})


def _export(module: Any, inputs: tuple, path: Path, names: list[str], axes: dict[str, dict[int, str]]) -> None:
    import torch

    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        # Tracing warns about Python-level checks (e.g. the patch-count guard) it bakes in: expected.
        warnings.simplefilter("ignore")
        torch.onnx.export(module, inputs, str(path), dynamo=False, opset_version=OPSET, input_names=names,
                          output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}})


def _optimise(source: Path, target: Path) -> None:
    """Let onnxruntime fuse the graph once (portable "extended" level), so each search skips that step."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.log_severity_level = 3
    onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def _manifest(model: Any, model_dir: str | os.PathLike, facts: dict[str, Any], pad_id: Any) -> dict[str, Any]:
    from ..artifacts import library_versions

    return {"kind": ONNX_KIND, "format_version": ONNX_FORMAT, "fingerprint": facts["fingerprint"],
            "text_weights": facts["text_weights"], "minilm": facts["minilm"], "onnxruntime": runtime_version(),
            "opset": OPSET, "model_dir": str(Path(model_dir).resolve()), "dim": int(model.dim),
            "max_text_length": int(model.text_encoder.max_length), "max_patches": int(model.config.max_patches),
            "pad_id": int(pad_id or 0),
            "versions": {**library_versions(), "onnx": package_version("onnx"), MINILM_PACKAGE: str(facts["minilm"])}}

