"""The OpenAI-compatible client against ``musicsearch llm serve`` on loopback, and its errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from musicsearch.errors import LLMError
from musicsearch.llm.backends.base import Completion
from musicsearch.llm.backends.openai import OpenAIBackend
from musicsearch.llm.backends.server import LLMServer, _Batcher, start_server
from tests.helpers.llm import tiny_backend


@pytest.fixture(scope="module")
def server():
    with start_server(tiny_backend("causal"), "127.0.0.1", 0) as running:
        yield running


def _post(url: str, body: bytes) -> tuple[int, dict]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_client_matches_the_local_backend(server):
    local, remote = tiny_backend("causal"), OpenAIBackend(server.url, timeout=60)
    assert remote.model == local.name and remote.context_length == local.context_length
    prompts = ["Name a reel.", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "A jig?"}]]
    assert remote.generate(prompts, 6) == local.generate(prompts, 6)
    completion = remote.complete(prompts[:1], 4, logprobs=5)[0]
    expected = local.complete(prompts[:1], 4, logprobs=5)[0]
    assert completion.finish_reason == expected.finish_reason == "length"
    np.testing.assert_allclose(completion.token_logprobs, expected.token_logprobs, atol=1e-5)


def test_client_scores_first_tokens_like_the_local_backend(server):
    local, remote = tiny_backend("causal"), OpenAIBackend(server.url)
    prompt = "Is this tune a reel? Answer Yes or No."
    top = local.complete([prompt], 1, logprobs=20)[0].top_logprobs[0]
    listed = next(token for token, _ in top if token.strip() and token == token.strip())
    assert remote.score([prompt], [listed])[0] == pytest.approx(local.score([prompt], [listed])[0], abs=1e-4)
    unlisted = remote.score([prompt], ["Zebra-unlikely-continuation"])[0]
    assert unlisted < min(logprob for _, logprob in top)  # below every listed token, as documented


def test_concurrent_requests_come_back_in_order(server):
    remote = OpenAIBackend(server.url, max_workers=8)
    prompts = [f"Tune number {index}" for index in range(10)]
    assert remote.generate(prompts, 3) == tiny_backend("causal").generate(prompts, 3)


def test_server_rejects_bad_requests_with_openai_errors(server):
    status, body = _post(server.url + "/chat/completions", b"{not json")
    assert status == 400 and "bad request" in body["error"]["message"]
    status, body = _post(server.url + "/chat/completions", json.dumps({"messages": []}).encode())
    assert status == 400
    status, body = _post(server.url + "/nowhere", b"{}")
    assert status == 404
    status, body = _post(server.url + "/chat/completions",
                         json.dumps({"messages": [{"role": "user", "content": "word " * 5000}]}).encode())
    assert status == 400 and "context" in body["error"]["message"]  # the backend's clear error, server alive
    assert OpenAIBackend(server.url).generate(["still alive?"], 2) is not None


def test_unreachable_server_gives_a_hint():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = OpenAIBackend(f"http://127.0.0.1:{port}", model="m", timeout=5)
    with pytest.raises(LLMError, match="cannot reach .*musicsearch llm serve"):
        backend.generate(["hi"])


def test_silent_server_times_out_clearly():
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        backend = OpenAIBackend(f"http://127.0.0.1:{silent.getsockname()[1]}/v1", model="m", timeout=0.5)
        with pytest.raises(LLMError, match="did not answer within 0.5 s"):
            backend.generate(["hi"])


class _NoLogprobs(BaseHTTPRequestHandler):
    """A minimal OpenAI-style server that gives text but no log-probabilities (like some llama.cpp builds)."""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"choices": [{"message": {"content": "[2] > [1]"}, "finish_reason": "stop"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_server_without_logprobs_is_refused_for_pointwise_but_serves_listwise():
    import musicsearch as ms

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NoLogprobs)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        backend = OpenAIBackend(f"http://127.0.0.1:{httpd.server_address[1]}/v1", model="m", timeout=10)
        with pytest.raises(LLMError, match="no log-probabilities.*listwise"):
            backend.score(["q"], ["Yes"])
        hits = [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}]
        assert ms.rerank_listwise("q", hits, backend).order == [1, 0]
        with pytest.raises(LLMError, match="cannot score whole continuations"):
            ms.rerank_pointwise("q", hits, backend, method="likelihood")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_cli_serve_runs_for_a_bounded_time_and_answers(tmp_path):
    import musicsearch as ms

    folder = ms.build_tiny_model(tmp_path / "tiny")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "musicsearch.cli.app", "llm", "serve", "--backend", f"hf:{folder}",
                                "--port", str(port), "--duration", "40", "--quiet", "--threads", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        backend = OpenAIBackend(f"http://127.0.0.1:{port}/v1", timeout=10)
        deadline = time.monotonic() + 35
        while True:
            try:
                assert backend.generate(["hello"], 2) is not None
                break
            except LLMError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        process.terminate()
        process.wait(timeout=20)


class _Scripted(BaseHTTPRequestHandler):
    """A server that answers each POST with the next scripted ``(status, body)``: faults a real server may have."""

    script: list[tuple[int, bytes]] = []
    requests = 0

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests += 1
        status, body = type(self).script.pop(0) if type(self).script else (200, b"{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body.startswith(b"{") else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Scripted.script, _Scripted.requests = [], 0
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


GOOD_REPLY = json.dumps({"choices": [{"message": {"content": "a reel"}, "finish_reason": "stop"}]}).encode()


def test_client_errors_name_the_url_and_what_failed(scripted):
    backend = OpenAIBackend(scripted, model="m", max_retries=0)
    _Scripted.script = [(400, json.dumps({"error": {"message": "messages[0].role is wrong"}}).encode()),
                        (200, b"<html>a login page</html>"),
                        (200, json.dumps({"object": "nothing"}).encode())]
    with pytest.raises(LLMError, match=f"{scripted}/chat/completions answered HTTP 400: messages.0..role is wrong"):
        backend.generate(["hi"])
    with pytest.raises(LLMError, match="did not return JSON.*a login page"):
        backend.generate(["hi"])
    with pytest.raises(LLMError, match="/chat/completions gave a reply that is not a chat completion"):
        backend.generate(["hi"])


def test_client_retries_busy_servers_as_asked(scripted):
    busy = (503, json.dumps({"error": {"message": "busy"}}).encode())
    _Scripted.script = [busy, (200, GOOD_REPLY)]
    assert OpenAIBackend(scripted, model="m", max_retries=1).generate(["hi"]) == ["a reel"]
    assert _Scripted.requests == 2
    _Scripted.script = [busy, (200, GOOD_REPLY)]
    with pytest.raises(LLMError, match="answered HTTP 503: busy"):
        OpenAIBackend(scripted, model="m", max_retries=0).generate(["hi"])


def test_server_binds_at_once_refuses_a_taken_port_and_frees_it_on_close():
    backend = tiny_backend("causal")
    server = LLMServer(backend, "127.0.0.1", 0)
    port = server.server_address[1]
    with pytest.raises(LLMError, match=f"cannot serve on 127.0.0.1:{port}.*another --port"):
        LLMServer(backend, "127.0.0.1", port)
    server.start()
    assert OpenAIBackend(server.url, timeout=30).generate(["hi"], 2) is not None
    server.close()
    with start_server(backend, "127.0.0.1", port) as again:  # the port is free again
        assert again.server_address[1] == port


class _FailsOnBad:
    """A backend that holds its first batch until released and refuses any batch with a "BAD" prompt."""

    name, context_length = "fails-on-bad", 64

    def __init__(self):
        self.entered, self.release, self.batches = threading.Event(), threading.Event(), []

    def complete(self, prompts, max_new_tokens, **options):
        self.entered.set()
        self.release.wait(10)
        texts = [prompt[-1]["content"] for prompt in prompts]
        self.batches.append(texts)
        if any("BAD" in text for text in texts):
            raise LLMError("prompt BAD exceeds the context")
        return [Completion(text=text.upper()) for text in texts]


def test_one_bad_prompt_does_not_fail_the_requests_batched_with_it():
    backend = _FailsOnBad()
    batcher = _Batcher(backend)
    settings = (4, (), None, 0.0, 0)
    try:
        gate = batcher.submit([{"role": "user", "content": "gate"}], settings)  # holds the batcher busy
        assert backend.entered.wait(10)  # the next three queue up while it waits: they form one batch
        futures = [batcher.submit([{"role": "user", "content": text}], settings) for text in ("a", "BAD", "b")]
        backend.release.set()
        assert gate.result(10).text == "GATE"
        assert futures[0].result(10).text == "A" and futures[2].result(10).text == "B"
        with pytest.raises(LLMError, match="BAD"):
            futures[1].result(10)
        assert ["a", "BAD", "b"] in backend.batches  # they were one batch, then retried one by one
    finally:
        batcher.close()
