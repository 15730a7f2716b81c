"""``musicsearch llm serve``: a small OpenAI-compatible endpoint over a local backend (standard library only).

It answers ``GET /v1/models``, ``GET /health`` and ``POST /v1/chat/completions`` (``messages``,
``max_tokens``/``max_completion_tokens``, ``temperature``, ``seed``, ``stop``, ``logprobs``,
``top_logprobs``), enough for :class:`~musicsearch.llm.backends.openai.OpenAIBackend` and for other OpenAI clients.
Requests that arrive together are run as one batch (a short wait collects them), so a client sending 20
relevance prompts at once costs one batched forward pass, not twenty.

It binds to 127.0.0.1 by default: it has no authentication and is meant for one machine.

Example:
    >>> with start_server(backend) as server:  # doctest: +SKIP
    ...     ms.load_backend(f"openai:{server.url}").generate(["Name a jig."])
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ...errors import LLMError
from .base import as_messages

MAX_BODY_BYTES = 1_000_000  # a chat request is a few kB; refuse anything that is clearly not one
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
                max_tokens, stop, logprobs, temperature, seed = settings
                try:
                    outputs = self.backend.complete([messages for messages, _ in group], max_tokens,
                                                    stop=list(stop) or None, logprobs=logprobs,
                                                    temperature=temperature, seed=seed)
                    for (_, future), output in zip(group, outputs):
                        future.set_result(output)
                except Exception as error:  # every waiting request gets the error, the server lives on
                    for _, future in group:
                        future.set_exception(error)

    def close(self) -> None:
        self.requests.put(None)


def _token_entry(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}


class _Handler(BaseHTTPRequestHandler):
    server: LLMServer
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds a client may take to send its request

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        self._send(status, {"error": {"message": message, "type": kind, "code": status}})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send(200, {"object": "list", "data": [{
                "id": self.server.model_name, "object": "model", "owned_by": "musicsearch",
                "max_model_len": self.server.backend.context_length}]})
        elif self.path.rstrip("/") in ("/health", ""):
            self._send(200, {"status": "ok", "model": self.server.model_name})
        else:
            self._error(404, f"no route {self.path}; try /v1/chat/completions or /v1/models")

    def do_POST(self) -> None:  # noqa: N802
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._error(404, f"no route {self.path}; this server answers /v1/chat/completions")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY_BYTES:
            self._error(413 if length else 400, f"request body of {length} bytes; send JSON up to {MAX_BODY_BYTES}")
            return
        try:
            request = json.loads(self.rfile.read(length))
            messages = as_messages(request["messages"])
            settings = _settings(request)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, LLMError) as error:
            self._error(400, f"bad request: {error}")
            return
        try:
            output = self.server.batcher.submit(messages, settings).result(timeout=self.server.request_timeout)
        except LLMError as error:
            self._error(400, str(error))
            return
        except Exception as error:
            self._error(500, f"{type(error).__name__}: {error}", "server_error")
            return
        self._send(200, _chat_response(output, self.server.model_name, settings[2]))


def _settings(request: dict[str, Any]) -> tuple:
    max_tokens = int(request.get("max_completion_tokens") or request.get("max_tokens") or 64)
    stop = request.get("stop") or []
    stop = (stop,) if isinstance(stop, str) else tuple(str(s) for s in stop)
    top = int(request.get("top_logprobs") or 0)
    logprobs = min(top, 20) if request.get("logprobs") else None
    return (max(1, min(max_tokens, 4096)), stop, logprobs, float(request.get("temperature") or 0.0),
            int(request.get("seed") or 0))


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


class LLMServer(ThreadingHTTPServer):
    """An HTTP server bound to one backend; ``url`` is its OpenAI base URL (``http://HOST:PORT/v1``)."""

    daemon_threads = True

    def __init__(self, backend: Any, host: str = "127.0.0.1", port: int = 0, *, model_name: str | None = None,
                 verbose: bool = False, request_timeout: float = 300.0) -> None:
        if not hasattr(backend, "complete"):
            raise LLMError("llm serve needs a backend with complete() (a TransformersBackend).")
        super().__init__((host, port), _Handler)
        self.backend, self.verbose, self.request_timeout = backend, verbose, request_timeout
        self.model_name = model_name or getattr(backend, "name", "local")
        self.batcher = _Batcher(backend)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def close(self) -> None:
        """Stop serving and free the port."""
        if self.thread is not None:
            self.shutdown()
            self.thread.join(timeout=10)
        self.batcher.close()
        self.server_close()

    def __enter__(self) -> LLMServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def start_server(backend: Any, host: str = "127.0.0.1", port: int = 0, **options: Any) -> LLMServer:
    """Serve ``backend`` from a background thread (``port=0`` picks a free port); close it when done."""
    server = LLMServer(backend, host, port, **options)
    server.thread = threading.Thread(target=server.serve_forever, name="llm-server", daemon=True)
    server.thread.start()
    return server


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
