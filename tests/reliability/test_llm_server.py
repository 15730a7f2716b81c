"""``musicsearch llm serve`` against careless and hostile clients, and our OpenAI client against it, on loopback.

Every malformed request (bad JSON, wrong types, unknown roles, non-finite numbers, oversized bodies, broken
HTTP) must get a 4xx JSON error in OpenAI's shape, leave no traceback in the server's log, and leave the
server answering the next good request; 20 concurrent requests, good and bad mixed, are each answered.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from musicsearch.llm.backends.openai import OpenAIBackend
from musicsearch.llm.backends.server import start_server
from tests.helpers.llm import tiny_backend

GOOD = {"messages": [{"role": "user", "content": "Name a reel."}], "max_tokens": 2}


def _with(**fields) -> bytes:
    return json.dumps({**GOOD, **fields}).encode()


def _message(**fields) -> bytes:
    return json.dumps({**GOOD, "messages": [{"role": "user", "content": "hi", **fields}]}).encode()


# name -> a JSON body that must be refused with 400 (sent with a correct Content-Length).
BAD_BODIES: dict[str, bytes] = {
    "max_tokens 1e999": b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1e999}',
    "max_tokens a string": _with(max_tokens="10"),
    "max_tokens a fraction": _with(max_tokens=10.5),
    "max_tokens zero": _with(max_tokens=0),
    "max_tokens negative": _with(max_tokens=-3),
    "max_tokens a boolean": _with(max_tokens=True),
    "max_completion_tokens null-ish": _with(max_completion_tokens=[]),
    "temperature NaN": b'{"messages": [{"role": "user", "content": "hi"}], "temperature": NaN}',
    "temperature Infinity": b'{"messages": [{"role": "user", "content": "hi"}], "temperature": -Infinity}',
    "temperature out of range": _with(temperature=3),
    "temperature a word": _with(temperature="hot"),
    "seed too large": _with(seed=2**70),
    "seed 1e999": b'{"messages": [{"role": "user", "content": "hi"}], "seed": 1e999}',
    "role hacker": _message(role="hacker"),
    "role tool": _message(role="tool"),
    "role missing": json.dumps({"messages": [{"content": "hi"}]}).encode(),
    "content missing": json.dumps({"messages": [{"role": "user"}]}).encode(),
    "content a number": _message(content=42),
    "content an image part": _message(content=[{"type": "image_url", "image_url": {"url": "http://x"}}]),
    "messages missing": json.dumps({"max_tokens": 2}).encode(),
    "messages empty": _with(messages=[]),
    "messages a string": _with(messages="hi"),
    "messages of strings": _with(messages=["hi"]),
    "stop of numbers": _with(stop=[1, 2]),
    "stop of five strings": _with(stop=["a", "b", "c", "d", "e"]),
    "logprobs a string": _with(logprobs="yes"),
    "top_logprobs 99": _with(logprobs=True, top_logprobs=99),
    "n 2": _with(n=2),
    "stream true": _with(stream=True),
    "body a JSON array": b"[1, 2, 3]",
    "body null": b"null",
    "body a JSON string": b'"hello"',
    "invalid JSON": b"{not json",
    "truncated JSON": b'{"messages": [{"role": "user", "content": "hi"',
    "not UTF-8": b'{"messages": "\xff\xfe\xfa"}',
    "JSON nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "prompt longer than the context": _message(content="word " * 5000),
}

# name -> raw bytes of a request that is broken at the HTTP level, and the status it must get.
BAD_HTTP: dict[str, tuple[bytes, int]] = {
    "non-numeric Content-Length": (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n{}", 400),
    "negative Content-Length": (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}", 400),
    "two Content-Lengths": (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                            b"Content-Length: 3\r\n\r\n{}", 400),
    "header line without a colon": (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n", 400),
    "declared body of 2 MB": (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 2000000\r\n\r\n{}", 413),
    "chunked body of 1.2 MB": (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n" + (b"927c0\r\n" + b" " * 600_000 + b"\r\n") * 2
                               + b"0\r\n\r\n", 413),
    "form-encoded body": (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          b"application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nq=hello", 400),
    "unknown route": (b"POST /v1/completions/extra HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 404),
    "wrong method": (b"DELETE /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n", 405),
}


@pytest.fixture(scope="module")
def server():
    with start_server(tiny_backend("causal"), "127.0.0.1", 0) as running:
        yield running


@pytest.fixture
def server_log(caplog):
    """Everything the server logs while a test runs (uvicorn and asyncio log through the root logger)."""
    with caplog.at_level(logging.WARNING):
        yield caplog
    tracebacks = [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]
    assert not tracebacks, [record.getMessage() for record in tracebacks]


def _exchange(server, request: bytes) -> tuple[int, dict]:
    """Send raw bytes and read one reply; return its status and JSON body."""
    host, port = server.server_address
    with socket.create_connection((host, port), timeout=30) as connection:
        try:
            connection.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything: the answer is still there
        reply = b""
        while not _complete(reply):
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert re.search(rb"(?im)^content-type: application/json", head), head
    return status, json.loads(body)


def _complete(reply: bytes) -> bool:
    head, found, body = reply.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    return bool(found and length and len(body) >= int(length.group(1)))


def _post(server, body: bytes) -> tuple[int, dict]:
    return _exchange(server, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def _assert_openai_error(status: int, body: dict, expected: int) -> None:
    assert status == expected, body
    error = body["error"]
    assert {"message", "type", "code"} <= set(error) and error["code"] == status
    assert isinstance(error["message"], str) and len(error["message"]) > 10
    assert error["type"] == "invalid_request_error"


def _still_answers(server) -> None:
    status, body = _post(server, json.dumps(GOOD).encode())
    assert status == 200 and body["choices"][0]["message"]["role"] == "assistant"


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_malformed_body_gets_a_400_and_the_server_answers_the_next(server, server_log, name):
    status, body = _post(server, BAD_BODIES[name])
    _assert_openai_error(status, body, 400)
    _still_answers(server)


@pytest.mark.parametrize("name", list(BAD_HTTP))
def test_broken_http_gets_a_json_4xx_and_the_server_answers_the_next(server, server_log, name):
    request, expected = BAD_HTTP[name]
    status, body = _exchange(server, request)
    _assert_openai_error(status, body, expected)
    _still_answers(server)


def test_errors_name_the_field_and_what_came(server):
    _, body = _post(server, BAD_BODIES["role hacker"])
    assert body["error"]["param"] == "messages[0].role" and "'hacker'" in body["error"]["message"]
    _, body = _post(server, BAD_BODIES["max_tokens 1e999"])
    assert body["error"]["param"] == "max_tokens" and "inf" in body["error"]["message"]
    _, body = _post(server, BAD_BODIES["temperature NaN"])
    assert body["error"]["param"] == "temperature" and "finite" in body["error"]["message"]
    _, body = _post(server, BAD_BODIES["prompt longer than the context"])
    assert "context" in body["error"]["message"]


def test_our_client_against_our_server_matches_the_local_backend(server):
    local, remote = tiny_backend("causal"), OpenAIBackend(server.url, timeout=60, max_retries=0)
    prompts = ["Name a reel.", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "A jig?"}]]
    assert remote.model == local.name and remote.context_length == local.context_length
    assert remote.generate(prompts, 5) == local.generate(prompts, 5)
    remote_top = remote.complete(prompts[:1], 1, logprobs=20)[0].top_logprobs[0]
    local_top = local.complete(prompts[:1], 1, logprobs=20)[0].top_logprobs[0]
    assert [token for token, _ in remote_top] == [token for token, _ in local_top]


def test_twenty_concurrent_requests_good_and_bad_are_each_answered(server, server_log):
    remote = OpenAIBackend(server.url, timeout=120, max_workers=20, max_retries=0)
    prompts = [f"Tune number {index}: name it." for index in range(20)]
    assert remote.generate(prompts, 3) == tiny_backend("causal").generate(prompts, 3)
    bad = list(BAD_BODIES.values())
    requests = [json.dumps({**GOOD, "messages": [{"role": "user", "content": prompts[i]}]}).encode() if i % 2
                else bad[i % len(bad)] for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda body: _post(server, body), requests))
    assert [status for status, _ in replies] == [400 if i % 2 == 0 else 200 for i in range(20)]
    for index in range(1, 20, 2):
        assert replies[index][1]["choices"][0]["message"]["content"] == remote.generate([prompts[index]], 2)[0]
