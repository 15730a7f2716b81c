"""A backend for any OpenAI-compatible chat endpoint: Ollama, vLLM, llama.cpp's server, ``musicsearch llm serve``.

Requests go through the ``openai`` package (its timeouts, retries with back-off and connection pool); every
failure becomes an :class:`~musicsearch.errors.LLMError` that names the URL and what went wrong.

Generation uses ``/v1/chat/completions``; prompts of a batch are sent concurrently (a server that batches,
like vLLM or ``musicsearch llm serve``, runs them together). Scoring uses the log-probabilities such servers
return for generated tokens (``logprobs`` + ``top_logprobs``): the score of a continuation is the log-prob
of its first token as the reply's first token, exact for one-token answers such as "Yes"/"No" (pointwise
reranking). A continuation not among the top 20 gets the smallest listed log-prob minus 1 (its true value is
below every listed one). Whole-continuation scores (query likelihood) need a local backend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

import numpy as np

from ...errors import LLMError
from .base import Completion, Prompt, apply_stop, as_messages

TOP_LOGPROBS = 20  # the most OpenAI's API allows
NO_KEY = "EMPTY"  # what local servers get as a key: the openai client needs one, they ignore it (vLLM's convention)
_HINT = ("Is the server running? Start one with `musicsearch llm serve --port 8000` (then use "
         "--backend openai:http://127.0.0.1:8000/v1), `ollama serve` (openai:http://127.0.0.1:11434/v1) or "
         "vLLM/llama.cpp; or use --backend local for the bundled model.")


class OpenAIBackend:
    """Chat completions over HTTP behind the :class:`~musicsearch.llm.backends.base.LLMBackend` protocol.

    Args:
        base_url: the server's OpenAI base URL, e.g. ``http://127.0.0.1:11434/v1`` (``/v1`` is added when missing).
        model: model name to request; ``None`` asks the server's ``/v1/models`` and takes the first.
        api_key: sent as a bearer token (default: ``MUSICSEARCH_LLM_API_KEY`` from the environment; for
            ``*.openai.com`` also ``OPENAI_API_KEY``). Local servers need none.
        timeout: seconds to wait for each reply.
        context_length: the model's context in tokens (default: what ``/v1/models`` reports, else 4096).
        max_workers: concurrent requests for a batch.
        max_retries: retries of a request that failed to connect, timed out or got a 408/429/5xx answer
            (with the ``openai`` client's back-off).

    Raises:
        LLMError: ``base_url`` is not an http(s) URL; later, a request that fails says which URL and why.

    Example:
        >>> backend = OpenAIBackend("http://127.0.0.1:8000/v1")  # doctest: +SKIP
        >>> backend.generate(["Name a jig."], max_new_tokens=8)  # doctest: +SKIP
    """

    scores_continuations = False  # score() reads first-token log-probs only

    def __init__(self, base_url: str, model: str | None = None, *, api_key: str | None = None,
                 timeout: float = 60.0, context_length: int | None = None, max_workers: int = 8,
                 max_retries: int = 2) -> None:
        import openai  # a second to import: only backends that talk HTTP pay for it

        url = base_url.strip().rstrip("/")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise LLMError(f"{base_url!r} is not an http(s) URL; e.g. openai:http://127.0.0.1:11434/v1")
        self.base_url = url if parsed.path.endswith("/v1") else url + "/v1"
        self.timeout, self.max_workers = float(timeout), max(1, int(max_workers))
        if api_key is None:  # OpenAI's own key goes to OpenAI only, never to whatever server a URL names
            api_key = os.environ.get("MUSICSEARCH_LLM_API_KEY") or (
                os.environ.get("OPENAI_API_KEY") if (parsed.hostname or "").endswith("openai.com") else None)
        self.api_key = api_key
        loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
        # Environment proxies must not catch requests to this machine.
        http_client = openai.DefaultHttpxClient(trust_env=False) if loopback else None
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key or NO_KEY, timeout=self.timeout,
                                     max_retries=max(0, int(max_retries)), http_client=http_client)
        self._model, self._context = model, context_length
        self.name = f"openai:{self.base_url}" + (f"#{model}" if model else "")

    # -- HTTP ----------------------------------------------------------------------------------------------
    def _call(self, path: str, request: Callable[[], Any]) -> Any:
        """Run one ``openai`` client call; every failure becomes an :class:`LLMError` naming the URL."""
        import openai

        url = self.base_url + path
        try:
            reply = request()
        except openai.APITimeoutError as error:
            raise LLMError(f"{url} did not answer within {self.timeout:g} s; pass a longer timeout "
                           "(OpenAIBackend(..., timeout=120)) or use a smaller model.") from error
        except openai.APIConnectionError as error:
            reason = error.__cause__ or error
            raise LLMError(f"cannot reach {url} ({type(reason).__name__}: {reason}). {_HINT}") from error
        except openai.APIStatusError as error:
            detail = _error_detail(error)
            raise LLMError(f"{url} answered HTTP {error.status_code}: {detail}") from error
        except Exception as error:  # a reply the client could not read: not an OpenAI-compatible server
            raise LLMError(f"{url} gave a reply that is not an OpenAI response ({type(error).__name__}: "
                           f"{str(error)[:200]}); is it an OpenAI-compatible server?") from error
        if isinstance(reply, (str, bytes)):  # the client returns the raw text of a non-JSON reply
            raise LLMError(f"{url} did not return JSON ({str(reply)[:120]!r}); is it an OpenAI-compatible server?")
        return reply

    def _models(self) -> list[dict[str, Any]]:
        page = self._call("/models", self._client.models.list)
        entries = [_as_dict(entry) for entry in getattr(page, "data", None) or []]
        return [entry for entry in entries if entry]

    @property
    def model(self) -> str:
        """The model requested (asked from the server once when not given)."""
        if self._model is None:
            models = self._models()
            if not models:
                raise LLMError(f"{self.base_url}/models lists no model; pass one: openai:URL#MODEL_NAME")
            self._model = str(models[0].get("id"))
            self._context = self._context or models[0].get("max_model_len")
        return self._model

    @property
    def context_length(self) -> int:
        if self._context is None:
            try:
                _ = self.model
                for entry in self._models():
                    if entry.get("id") == self._model and entry.get("max_model_len"):
                        self._context = int(entry["max_model_len"])
            except LLMError:
                pass
            self._context = self._context or 4096
        return int(self._context)

    # -- protocol ------------------------------------------------------------------------------------------
    def _chat(self, prompt: Prompt, max_new_tokens: int, stop: Sequence[str] | None, logprobs: int | None,
              temperature: float, seed: int) -> Completion:
        payload: dict[str, Any] = {"model": self.model, "messages": as_messages(prompt),
                                   "max_tokens": int(max_new_tokens), "temperature": float(temperature)}
        if temperature > 0:
            payload["seed"] = int(seed)
        if stop:
            payload["stop"] = list(stop)[:4]  # OpenAI accepts up to four
        if logprobs is not None:
            payload["logprobs"] = True
            payload["top_logprobs"] = int(logprobs)
        reply = _as_dict(self._call("/chat/completions", lambda: self._client.chat.completions.create(**payload)))
        try:
            return _completion(reply, stop)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as error:
            raise LLMError(f"{self.base_url}/chat/completions gave a reply that is not a chat completion "
                           f"({type(error).__name__}: {error}): {str(reply)[:200]}") from error

    def complete(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, *, stop: Sequence[str] | None = None,
                 logprobs: int | None = None, temperature: float = 0.0, seed: int = 0) -> list[Completion]:
        """Chat completions for each prompt, sent concurrently; same options as the local backend's."""
        if not prompts:
            return []
        _ = self.model  # resolve once, before the threads
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(prompts))) as pool:
            return list(pool.map(lambda p: self._chat(p, max_new_tokens, stop, logprobs, temperature, seed), prompts))

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, *,
                 stop: Sequence[str] | None = None, **options: Any) -> list[str]:
        return [completion.text for completion in self.complete(prompts, max_new_tokens, stop=stop, **options)]

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[str], *, normalize: bool = False) -> np.ndarray:
        """First-token log-probability of each continuation (see the module docstring for the exact rule)."""
        if len(prompts) != len(continuations):
            raise LLMError(f"score() got {len(prompts)} prompts but {len(continuations)} continuations.")
        keys = [json.dumps(as_messages(prompt), sort_keys=True) for prompt in prompts]
        unique = list(dict.fromkeys(keys))  # "Yes" and "No" of one prompt need one request
        replies = dict(zip(unique, self.complete([json.loads(key) for key in unique], 1, logprobs=TOP_LOGPROBS)))
        scores = np.zeros(len(prompts), dtype=np.float64)
        for index, (key, continuation) in enumerate(zip(keys, continuations)):
            reply = replies[key]
            if not reply.top_logprobs:
                raise LLMError(f"{self.base_url} returned no log-probabilities; pointwise reranking needs them. "
                               "Use rerank='listwise' with this server, or a server that supports logprobs.")
            scores[index] = _first_token_logprob(reply.top_logprobs[0], continuation)
        return scores


def _completion(reply: dict[str, Any], stop: Sequence[str] | None) -> Completion:
    """A :class:`Completion` from a chat-completion reply; a missing or mistyped field raises."""
    choice = reply["choices"][0]
    text, stopped = apply_stop(choice["message"].get("content") or "", stop)  # for servers that ignore "stop"
    completion = Completion(text=text.strip(), finish_reason="stop" if stopped else str(choice.get("finish_reason") or "stop"),
                            prompt_tokens=int((reply.get("usage") or {}).get("prompt_tokens") or 0))
    for entry in ((choice.get("logprobs") or {}).get("content") or []):
        completion.tokens.append(str(entry.get("token", "")))
        completion.token_logprobs.append(float(entry.get("logprob", float("-inf"))))
        completion.top_logprobs.append([(str(alt.get("token", "")), float(alt.get("logprob", float("-inf"))))
                                        for alt in entry.get("top_logprobs") or []])
    return completion


def _as_dict(reply: Any) -> dict[str, Any]:
    """A reply of the ``openai`` client as the plain JSON it came from (fields the server left out stay out)."""
    if isinstance(reply, dict):
        return reply
    to_dict = getattr(reply, "to_dict", None)
    return to_dict() if callable(to_dict) else {}


def _error_detail(error: Any) -> str:
    """The server's own words for an HTTP error: OpenAI's ``error.message`` when present, else the body."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message:
            return str(message)[:300]
    response = getattr(error, "response", None)
    return (getattr(response, "text", "") or str(error))[:300]


def _first_token_logprob(alternatives: list[tuple[str, float]], continuation: str) -> float:
    """Log-prob of the listed token that starts ``continuation`` (longest match, spelling variants such as
    "Yes" and " Yes" added up), else a floor below every listed token.

    Example:
        >>> round(_first_token_logprob([("Yes", -0.5), (" Yes", -2.0), ("No", -1.5)], "Yes"), 3)
        -0.299
    """
    target = continuation.strip()
    if not target:
        return 0.0
    pieces = [(token.strip(), logprob) for token, logprob in alternatives]
    matching = [piece for piece, _ in pieces if piece and target.startswith(piece)]
    if matching:
        longest = max(matching, key=len)
        return float(np.logaddexp.reduce([logprob for piece, logprob in pieces if piece == longest]))
    return min((logprob for _, logprob in alternatives), default=-30.0) - 1.0
