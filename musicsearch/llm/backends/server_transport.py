"""The HTTP side of ``musicsearch llm serve``: uvicorn in a background thread, a body-size limit, JSON errors.

Three things an ASGI app alone cannot do:

- **bind first**: the socket is bound before uvicorn starts, so a taken port is an :class:`LLMError` in the
  caller (uvicorn would ``sys.exit`` its thread) and ``port=0`` is known at once;
- **refuse big bodies early**: :class:`BodyLimit` answers 413 from the ``Content-Length`` header, and stops
  reading a chunked body once it passes the limit, before any JSON is parsed;
- **answer broken HTTP in JSON**: a request h11 cannot parse (a non-numeric ``Content-Length``, a bad header
  line) never reaches the app; uvicorn answers it in plain text, this server in OpenAI's error shape.

Example:
    >>> server = BackgroundServer(app, "127.0.0.1", 0, verbose=False)  # doctest: +SKIP
    >>> server.start(); server.address; server.close()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import h11
from fastapi import HTTPException
from uvicorn.protocols.http.h11_impl import H11Protocol

from ...errors import LLMError
from .chat_schema import error_body

MAX_BODY_BYTES = 1_000_000  # a chat request is a few kB; refuse anything that is clearly not one
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0  # requests still running when the server stops get this long to finish


async def _send_json(send: Any, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: bodies over ``limit`` bytes get 413, and ``/path/`` is served as ``/path``.

    Example:
        >>> app = BodyLimit(build_app(server), 1_000_000)  # doctest: +SKIP
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, int(limit)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = {**scope, "path": scope["path"].rstrip("/") or "/"}
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and not declared.strip().isdigit():
            await _send_json(send, 400, error_body(400, f"bad request: Content-Length is {declared[:40]!r}; "
                                                        "it must be a number of bytes"))
            return
        if declared is not None and int(declared) > self.limit:
            await _send_json(send, 413, error_body(413, _too_large(int(declared), self.limit)))
            return
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b"")) if message["type"] == "http.request" else 0
            if received > self.limit:  # a chunked body: stop reading it here
                raise HTTPException(413, _too_large(received, self.limit))
            return message

        await self.app(scope, limited_receive, send)


def _too_large(size: int, limit: int) -> str:
    return f"request body of {size:,}+ bytes; send JSON of at most {limit:,} bytes"


class _JSONErrorH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering requests it cannot parse with an OpenAI-shaped JSON error."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(error_body(400, "bad request: malformed HTTP request (e.g. a non-numeric "
                                          "Content-Length or a bad header line); send valid HTTP/1.1")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=body),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as error:
        raise LLMError(f"cannot serve on {host}:{port}: {error}; pass --host 127.0.0.1") from error
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)  # clients that connect while uvicorn starts wait in the backlog
    except OSError as error:
        sock.close()
        raise LLMError(f"cannot serve on {host}:{port}: {error.strerror or error}; "
                       "pick another --port (0 picks a free one)") from error
    return sock


class BackgroundServer:
    """An ASGI app served by uvicorn from a daemon thread, on a socket bound at construction.

    Args:
        app: the ASGI application.
        host, port: where to listen; ``port=0`` picks a free port.
        verbose: log each request (uvicorn's access log) to the terminal.

    Raises:
        LLMError: the address cannot be bound (port taken, unknown host).
    """

    def __init__(self, app: Any, host: str, port: int, *, verbose: bool = False) -> None:
        import uvicorn

        self.socket = _bind(host, port)
        self.address: tuple[str, int] = tuple(self.socket.getsockname()[:2])  # type: ignore[assignment]
        config = uvicorn.Config(app, host=self.address[0], port=self.address[1], http=_JSONErrorH11Protocol,
                                lifespan="off", access_log=verbose,
                                log_config=uvicorn.config.LOGGING_CONFIG if verbose else None,
                                log_level="info" if verbose else "warning",
                                timeout_graceful_shutdown=STOP_TIMEOUT_S)
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve from a daemon thread; return once uvicorn accepts requests."""
        if self.thread is not None:
            return
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       name="llm-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise LLMError(f"the server on {self.address[0]}:{self.address[1]} did not start; see the log above.")
            time.sleep(0.01)

    def close(self) -> None:
        """Stop uvicorn (running requests get a few seconds) and free the port."""
        if self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=STOP_TIMEOUT_S + 5)
        self.socket.close()
