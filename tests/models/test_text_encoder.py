"""TextEncoder.embed: a text's vector is a function of the text alone (no padding), batches of equal length."""

from __future__ import annotations

import numpy as np
import pytest

from musicsearch.models.config import get_model_config
from musicsearch.models.model import MusicTextModel

SHORT = "a jig"
OTHERS = ["a reel", "a slow air in a minor key from the north of the county",
          "a hornpipe in common time with a long title that needs many more tokens than the others"]


@pytest.fixture(scope="module")
def encoder():
    # Frozen, as in training with the embedding cache (the tiny preset fine-tunes its text tower).
    return MusicTextModel(get_model_config("tiny", text_mode="frozen")).text_encoder


def _fresh_embed(encoder, texts, **options):
    encoder._cache = None  # an in-memory cache would hand back the first call's vectors
    return encoder.embed(texts, **options).numpy()


def test_a_texts_vector_does_not_depend_on_the_texts_beside_it(encoder):
    # Bulk calls (captions, index sentences) are the ones the cache shares with training.
    fillers = [f"a {word} tune number {number}" for word in ("slow", "quick", "lively") for number in range(12)]
    alone = _fresh_embed(encoder, [*fillers, SHORT])[-1]
    # Longer texts in the same call used to pad it (its last float bits moved with them).
    among = _fresh_embed(encoder, [*OTHERS, *fillers[:30], SHORT], batch_size=2)
    np.testing.assert_array_equal(among[-1], alone)
    again = _fresh_embed(encoder, [OTHERS[2], SHORT, OTHERS[0], *fillers[5:]], batch_size=64)
    np.testing.assert_array_equal(again[1], alone)
    np.testing.assert_array_equal(again[0], among[2])


def test_a_small_calls_vectors_never_reach_a_bulk_call(encoder):
    from musicsearch.models.embedding_cache import PERSIST_MIN

    encoder._cache = None
    query = encoder.embed([SHORT]).numpy()[0]
    cache = encoder._cache
    assert cache.get(SHORT) is None
    np.testing.assert_array_equal(cache.get(SHORT, include_queries=True), query)
    bulk = [SHORT, *(f"a tune number {number}" for number in range(PERSIST_MIN))]
    encoder.embed(bulk)
    assert cache.get(SHORT) is not None  # computed again by the bulk call, on its own path


def test_batches_hold_texts_of_one_token_count_and_cover_every_text(encoder):
    texts = sorted({SHORT, *OTHERS, "a march", "a waltz", "a polka"})
    truncated: list[str] = []
    batches = encoder._equal_length_batches(texts, 2, truncated)
    assert sorted(text for chunk, _ in batches for text in chunk) == texts
    for chunk, ids in batches:
        assert 1 <= len(chunk) == len(ids) <= 2
        assert len({len(row) for row in ids}) == 1
    lengths = [len(ids[0]) for _, ids in batches]
    assert lengths == sorted(lengths) and truncated == []
    assert encoder._equal_length_batches([], 2, truncated) == []


def test_too_long_texts_are_cut_and_named_once(encoder):
    long_text = "jig " * (encoder.max_length + 20)
    with pytest.warns(UserWarning, match="1 text"):
        vectors = _fresh_embed(encoder, [long_text, SHORT])
    assert vectors.shape == (2, encoder.hidden_size) and np.isfinite(vectors).all()


def test_query_vectors_stay_in_memory_and_out_of_plain_lookups(tmp_path):
    from musicsearch.models.embedding_cache import PERSIST_MIN, EmbeddingCache

    cache = EmbeddingCache(tmp_path, "encoder")
    cache.put_query([f"query {number}" for number in range(PERSIST_MIN)], np.ones((PERSIST_MIN, 4)))
    assert cache.get("query 0") is None and cache.get("query 0", include_queries=True).shape == (4,)
    assert cache.flush(force=True) is None and not list(tmp_path.rglob("*.npz"))
