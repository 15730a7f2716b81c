"""``musicsearch llm serve``: an OpenAI-compatible endpoint over a local backend, on FastAPI and uvicorn.

It answers ``GET /v1/models``, ``GET /health`` and ``POST /v1/chat/completions`` (``messages``,
``max_tokens``/``max_completion_tokens``, ``temperature``, ``seed``, ``stop``, ``logprobs``,
``top_logprobs``), enough for :class:`~musicsearch.llm.backends.openai.OpenAIBackend` and for other OpenAI clients.
Requests are validated by the pydantic models of :mod:`.chat_schema`; anything malformed (bad JSON, wrong
types, unknown roles, non-finite numbers, oversized bodies, broken HTTP headers) gets a 4xx JSON error in
OpenAI's shape and the server carries on. Requests that arrive together are run as one batch (a short wait
collects them), so a client sending 20 relevance prompts at once costs one batched forward pass, not twenty.

It binds to 127.0.0.1 by default: it has no authentication and is meant for one machine.

Example:
    >>> with start_server(backend) as server:  # doctest: +SKIP
    ...     ms.load_backend(f"openai:{server.url}").generate(["Name a jig."])
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...errors import LLMError
from .chat_schema import (
    ChatCompletionRequest,
    chat_messages,
    error_body,
    generation_settings,
    validation_message,
)
from .server_transport import MAX_BODY_BYTES, BackgroundServer, BodyLimit

logger = logging.getLogger(__name__)
BATCH_WAIT_S = 0.01  # how long the batcher waits for more requests to join a batch


class _Batcher:
    """Runs requests with the same generation settings together through ``backend.complete``."""

    def __init__(self, backend: Any, max_batch: int = 32) -> None:
        self.backend, self.max_batch = backend, max_batch
        self.requests: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="llm-batcher", daemon=True)
        self.thread.start()

    def submit(self, messages: list[dict[str, str]], settings: tuple) -> Future:
        future: Future = Future()
        self.requests.put((messages, settings, future))
        return future

    def _run(self) -> None:
        while True:
            item = self.requests.get()
            if item is None:
                return
            batch, deadline = [item], time.monotonic() + BATCH_WAIT_S
            while len(batch) < self.max_batch:
                try:
                    extra = self.requests.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if extra is None:
                    self.requests.put(None)
                    break
                batch.append(extra)
            for settings in dict.fromkeys(settings for _, settings, _ in batch):
                group = [(messages, future) for messages, s, future in batch if s == settings]
                self._complete(group, settings)

    def _complete(self, group: list[tuple[list[dict[str, str]], Future]], settings: tuple) -> None:
        max_tokens, stop, logprobs, temperature, seed = settings
        try:
            outputs = self.backend.complete([messages for messages, _ in group], max_tokens,
                                            stop=list(stop) or None, logprobs=logprobs,
                                            temperature=temperature, seed=seed)
            if len(outputs) != len(group):
                raise LLMError(f"the backend returned {len(outputs)} completions for {len(group)} prompts")
            for (_, future), output in zip(group, outputs):
                future.set_result(output)
        except Exception as error:
            if len(group) > 1:  # one bad prompt (e.g. longer than the context) must not fail its neighbours
                for single in group:
                    self._complete([single], settings)
                return
            group[0][1].set_exception(error)  # the request gets the error, the server lives on

    def close(self) -> None:
        self.requests.put(None)


def _error(status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, kind=kind, param=param), status_code=status)


def build_app(server: LLMServer) -> FastAPI:
    """The FastAPI application of ``server``: its routes and its OpenAI-shaped error answers.

    Example:
        >>> from fastapi.testclient import TestClient  # doctest: +SKIP
        >>> TestClient(build_app(server)).get("/v1/models").json()["data"][0]["id"]  # doctest: +SKIP
        'SmolLM2-135M-Instruct'
    """
    app = FastAPI(title="musicsearch llm serve", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        message, param = validation_message(error.errors())
        return _error(400, message, param=param)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            return _error(404, f"no route {request.url.path}; try /v1/chat/completions or /v1/models")
        if error.status_code == 405:
            return _error(405, f"{request.method} is not allowed on {request.url.path}")
        if error.status_code == 413:  # the rest of that body is not worth reading: close the connection
            return JSONResponse(error_body(413, str(error.detail)), status_code=413, headers={"Connection": "close"})
        return _error(error.status_code, f"bad request: {error.detail}")

    @app.get("/")
    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": server.model_name}

    @app.get("/v1/models")
    @app.get("/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": server.model_name, "object": "model", "owned_by": "musicsearch",
                                            "max_model_len": server.backend.context_length}]}

    @app.post("/v1/chat/completions")
    @app.post("/chat/completions")
    async def chat_completions(request: ChatCompletionRequest) -> JSONResponse:
        settings = generation_settings(request)
        future = server.batcher.submit(chat_messages(request), settings)
        try:
            output = await asyncio.wait_for(asyncio.wrap_future(future), server.request_timeout)
        except LLMError as error:  # the backend refused the request (e.g. longer than the context)
            return _error(400, str(error))
        except asyncio.TimeoutError:
            return _error(503, f"no reply within {server.request_timeout:g} s; the server is busy, try again",
                          kind="server_error")
        except Exception as error:  # a backend fault answers this request only; the server lives on
            logger.exception("chat completion failed")
            return _error(500, f"{type(error).__name__}: {error}", kind="server_error")
        return JSONResponse(_chat_response(output, server.model_name, settings[2]))

    return app


def _token_entry(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}


def _chat_response(output: Any, model: str, logprobs: int | None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": output.text},
                              "finish_reason": output.finish_reason, "logprobs": None}
    if logprobs is not None:
        choice["logprobs"] = {"content": [
            {**_token_entry(token, logprob),
             "top_logprobs": [_token_entry(t, lp) for t, lp in (output.top_logprobs[i] if output.top_logprobs else [])]}
            for i, (token, logprob) in enumerate(zip(output.tokens, output.token_logprobs))]}
    completion_tokens = len(output.tokens) or max(1, len(output.text) // 4)
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:16]}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [choice],
            "usage": {"prompt_tokens": output.prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": output.prompt_tokens + completion_tokens}}


class LLMServer:
    """An OpenAI-compatible HTTP server bound to one backend; ``url`` is its base URL (``http://HOST:PORT/v1``).

    The port is bound when the server is made (``port=0`` picks a free one); :meth:`start` serves from a
    background thread and :meth:`close` stops it and frees the port.

    Args:
        backend: a backend with ``complete()`` (a :class:`~musicsearch.llm.backends.transformers.TransformersBackend`).
        host, port: where to listen (default: this machine only, a free port).
        model_name: the name ``/v1/models`` reports (default: the backend's).
        verbose: log each request.
        request_timeout: seconds a request may wait for its batch before a 503.

    Raises:
        LLMError: a backend without ``complete()``, or an address that cannot be bound.

    Example:
        >>> with LLMServer(backend).start() as server:  # doctest: +SKIP
        ...     print(server.url)
        http://127.0.0.1:54321/v1
    """

    def __init__(self, backend: Any, host: str = "127.0.0.1", port: int = 0, *, model_name: str | None = None,
                 verbose: bool = False, request_timeout: float = 300.0) -> None:
        if not hasattr(backend, "complete"):
            raise LLMError("llm serve needs a backend with complete() (a TransformersBackend).")
        self.backend, self.verbose, self.request_timeout = backend, verbose, float(request_timeout)
        self.model_name = model_name or getattr(backend, "name", "local")
        self.batcher = _Batcher(backend)
        try:
            self._transport = BackgroundServer(BodyLimit(build_app(self), MAX_BODY_BYTES), host, port,
                                               verbose=verbose)
        except LLMError:
            self.batcher.close()
            raise

    @property
    def server_address(self) -> tuple[str, int]:
        """``(host, port)`` actually bound."""
        return self._transport.address

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"

    @property
    def thread(self) -> threading.Thread | None:
        return self._transport.thread

    def start(self) -> LLMServer:
        """Serve from a background thread; returns once the server accepts requests."""
        self._transport.start()
        return self

    def close(self) -> None:
        """Stop serving and free the port (requests still running are given a few seconds)."""
        self._transport.close()
        self.batcher.close()

    def __enter__(self) -> LLMServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def start_server(backend: Any, host: str = "127.0.0.1", port: int = 0, **options: Any) -> LLMServer:
    """Serve ``backend`` from a background thread (``port=0`` picks a free port); close it when done.

    Example:
        >>> with start_server(backend) as server:  # doctest: +SKIP
        ...     ms.OpenAIBackend(server.url).generate(["Name a reel."])
    """
    return LLMServer(backend, host, port, **options).start()


def serve(backend: Any, host: str = "127.0.0.1", port: int = 8000, *, duration: float | None = None,
          verbose: bool = True) -> None:
    """Serve in the foreground until Ctrl-C (or for ``duration`` seconds)."""
    server = start_server(backend, host, port, verbose=verbose)
    print(f"serving {server.model_name} at {server.url} (OpenAI-compatible; Ctrl-C stops)", flush=True)
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2 if deadline is not None else 1.0)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
