"""Lookup-table versions of a :class:`~musicsearch.MusicTextModel`: convert its music or text encoder, save, load.

The generic machinery (choosing layers, k-means, centroid learning, saving any converted module) lives in
:mod:`musicsearch.lut`, which knows no models; this module applies it to the music encoder
(:func:`convert_music_model`) or to the text encoder's BERT layers (:func:`convert_text_model`: the
feed-forward layers, or every linear layer, calibrated on real captions). A converted MusicTextModel is saved
with its own ``save_pretrained`` plus the list of layers that are tables (``lut_layers`` in ``config.json``),
so :func:`musicsearch.load_model` opens it like any model. A converted text encoder is no longer the
package's MiniLM, so its weights are saved with the model.

Example:
    >>> small = convert_music_model(model, corpus.sample(512), k=16, v=8)  # doctest: +SKIP
    >>> save_lut_model(small, "models/quick-lut")  # doctest: +SKIP
    >>> load_lut_model("models/quick-lut").encode_music(["X:1\\nK:D\\n|dfa|"]).shape  # doctest: +SKIP
    (1, 256)
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.patches import collate_patches, patchify
from ..lut.convert import convert
from ..lut.storage import (
    LUT_MODEL_KIND,
    install_lut_layers,
    load_lut_module,
    lut_specs,
    read_lut_specs,
    save_lut_module,
)
from .model import MusicTextModel


def music_batches(model: Any, items: Any, *, batch_size: int = 32) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(patches, mask)`` batches of a MusicTextModel's music encoder for ABC strings/Records/a Corpus.

    Tunes are sorted by length first, so a batch pads little.
    """
    patch_list = sorted(patchify(list(items), model.config.max_patches), key=len)
    return [collate_patches(patch_list[i:i + batch_size]) for i in range(0, len(patch_list), batch_size)]


def convert_music_model(model: Any, items: Any, k: int = 16, v: int = 8, **kwargs: Any) -> Any:
    """A copy of a :class:`~musicsearch.MusicTextModel` whose music encoder is converted to lookup tables.

    Args:
        model: the dense model.
        items: calibration tunes (ABC strings, Records or a Corpus), a few hundred are enough.
        k, v, **kwargs: passed to :func:`musicsearch.lut.convert.convert` (e.g. ``finetune_epochs=2``).
    """
    # Measured on the quick model (hit@10 on held-out tunes): the embedding MSE needs a larger step than the
    # convert() defaults; 3 epochs over 1024 tunes then recover the dense metric.
    kwargs.setdefault("lr", 1e-2)
    kwargs.setdefault("weight_lr", 3e-4)
    batches = music_batches(model, items)
    converted = copy.copy(model)  # shallow: shares the text side and projections, which are not converted
    converted._modules = dict(model._modules)  # its own module table, so the swap below leaves `model` alone
    converted.music_encoder = convert(model.music_encoder, batches, k, v, **kwargs)
    return converted.eval()


# Which linear layers of a BERT text encoder each ``layers`` choice converts: (include, exclude) patterns.
# The feed-forward pair is 2/3 of a layer's multiply-adds; "all" adds the four attention projections.
TEXT_LAYER_SETS = {
    "ffn": (("*.intermediate.dense", "*.output.dense"), ("*attention*",)),
    "all": (None, ()),
}


def text_batches(model: Any, texts: Any, *, batch_size: int = 32) -> list[dict[str, torch.Tensor]]:
    """Tokenized ``{"input_ids", "attention_mask"}`` batches of a MusicTextModel's text backbone.

    Texts are sorted by length first, so a batch pads little.

    Example:
        >>> text_batches(model, ["a reel", "a slow air"])[0]["input_ids"].shape  # doctest: +SKIP
        torch.Size([2, 5])
    """
    from .text_encoder import check_texts

    ordered = sorted(check_texts(list(texts)), key=len)
    encoder = model.text_encoder
    return [dict(encoder.tokenize(ordered[i:i + batch_size])) for i in range(0, len(ordered), batch_size)]


def convert_text_model(model: Any, texts: Any, k: int = 16, v: int = 8, *, layers: str = "ffn",
                       **kwargs: Any) -> Any:
    """A copy of a :class:`~musicsearch.MusicTextModel` whose text encoder's linear layers are lookup tables.

    Query encoding runs MiniLM on a few tokens, where its linear layers are bound by reading their weights:
    the regime where a table that reads ``C·out`` bytes per token instead of ``4·D·out`` pays.

    Args:
        model: the dense model (a BERT-like text encoder, e.g. MiniLM).
        texts: calibration texts: real captions or queries (a few hundred); k-means runs on the activations
            they produce in each layer.
        k, v: centroids per codebook and sub-vector length.
        layers: "ffn" (the feed-forward layers, 384x1536 and 1536x384 in MiniLM) or "all" (also the
            attention projections).
        **kwargs: passed to :func:`musicsearch.lut.convert.convert` (e.g. ``finetune_epochs=1``).

    Raises:
        LUTError: ``layers`` is not a known set, or ``v`` does not divide a layer's input size.

    Example:
        >>> small = convert_text_model(model, captions[:256], layers="all")  # doctest: +SKIP
        >>> small.encode_text(["a slow air"]).shape  # doctest: +SKIP
        (1, 256)
    """
    from ..lut.layer import LUTError

    if layers not in TEXT_LAYER_SETS:
        raise LUTError(f"layers must be one of {sorted(TEXT_LAYER_SETS)}, got {layers!r}.")
    include, exclude = TEXT_LAYER_SETS[layers]
    kwargs.setdefault("max_rows", 4096)  # rows are tokens: a few hundred captions give tens of thousands
    batches = text_batches(model, texts)
    encoder = copy.copy(model.text_encoder)  # shallow: shares the tokenizer
    encoder._modules = dict(model.text_encoder._modules)
    encoder.backbone = convert(model.text_encoder.backbone, batches, k, v, include_modules=include,
                               exclude=exclude, keep_first_last=False, **kwargs)
    encoder._digest, encoder._cache = None, None  # another backbone: its own digest, its own embedding cache
    converted = copy.copy(model)
    converted._modules = dict(model._modules)
    converted.text_encoder = encoder
    _keep_text_weights(converted)
    return converted.eval()


def compare_text_encoders(dense: Any, converted: Any, texts: Any, *, query: str = "a slow air in a minor key",
                          repeats: int = 20, threads: int | None = 1) -> dict[str, float]:
    """How a converted text encoder compares with the dense one: batch-1 latency of ``query`` (the backbone
    and pooling, what a search pays per query) and the mean cosine between their embeddings of ``texts``.

    Returns:
        ``{"dense_us", "lut_us", "speedup", "cosine", "tokens"}``.

    Example:
        >>> compare_text_encoders(model, small, captions[:64])["speedup"]  # doctest: +SKIP
        1.9
    """
    import torch.nn.functional as F

    from ..lut.bench import time_calls, torch_threads

    batch = text_batches(dense, [query], batch_size=1)[0]
    ids, mask = batch["input_ids"], batch["attention_mask"]
    with torch_threads(threads):
        times = time_calls({"dense": lambda: dense.text_encoder(ids, mask),
                            "lut": lambda: converted.text_encoder(ids, mask)}, repeats=repeats)
    cosines = []
    with torch.inference_mode():
        for chunk in text_batches(dense, texts, batch_size=64):
            pair = [F.normalize(m.text_proj(m.text_encoder(chunk["input_ids"], chunk["attention_mask"])), dim=-1)
                    for m in (dense, converted)]
            cosines.append((pair[0] * pair[1]).sum(-1))
    return {"dense_us": round(times["dense"], 1), "lut_us": round(times["lut"], 1),
            "speedup": round(times["dense"] / times["lut"], 3), "cosine": round(float(torch.cat(cosines).mean()), 4),
            "tokens": int(ids.shape[1])}


def _keep_text_weights(model: Any) -> None:
    # A frozen MiniLM is normally not saved (it is read from its package); converted, it is the model's own.
    model.__dict__["_saves_text_backbone"] = lambda: True


def save_lut_model(model: nn.Module, directory: str | os.PathLike) -> Path:
    """Save a converted model: ``config.json`` (with its LUT layer specs) + ``model.safetensors``, published
    as one new version of ``directory``.

    A converted :class:`~musicsearch.MusicTextModel` goes through its own ``save_pretrained`` so its
    config (and the frozen MiniLM digest) is kept; other modules save their full state dict.
    """
    if isinstance(model, MusicTextModel):
        directory = Path(directory)
        model.save_pretrained(directory, lut_layers=lut_specs(model))
        return directory
    return save_lut_module(model, directory)


def load_lut_model(directory: str | os.PathLike, model: nn.Module | None = None) -> nn.Module:
    """Load a model written by :func:`save_lut_model`.

    Args:
        directory: the folder.
        model: for generic modules, a freshly built dense model of the same architecture (its linear layers
            are replaced by empty tables, then the weights are loaded). Not needed for a MusicTextModel.

    Raises:
        ArtifactError: missing/corrupted files, no ``lut_layers`` in the config, or weights that do not fit.
    """
    from ..artifacts import MODEL, read_artifact

    def read(version: Path) -> nn.Module:
        specs, payload = read_lut_specs(version)
        if payload.get("kind") == LUT_MODEL_KIND:
            return load_lut_module(version, model)
        music_model, payload = MusicTextModel.empty_from_pretrained(version)
        install_lut_layers(music_model, specs, version)
        if any(name.startswith("text_encoder.") for name in specs):
            _keep_text_weights(music_model)
        music_model.load_pretrained_weights(version, payload)
        return music_model

    return read_artifact(Path(directory), MODEL, read, missing="convert a model first (musicsearch lut convert)")
