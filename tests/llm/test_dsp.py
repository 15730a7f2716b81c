"""Keyword first stage, demonstrate-search-predict, and tags-to-caption pseudo-captions (with watermarking)."""

from __future__ import annotations

import json
import math

import pytest

import musicsearch as ms
from musicsearch.errors import LLMError, QueryError
from tests.helpers.llm import ScriptedBackend, tiny_backend


@pytest.fixture(scope="module")
def ryans(small_corpus):
    return [r for r in small_corpus if r.collection == "ryansMammoth"]


def test_keyword_search_finds_titles_and_types(ryans):
    search = ms.KeywordSearch(ryans)
    target = ryans[17]
    assert search.search(target.metadata["title"], k=1)[0].id == target.id
    hits = search.search("hornpipe", k=5)
    assert [hit.rank for hit in hits] == [1, 2, 3, 4, 5] and all(hit.abc for hit in hits)
    assert all(hits[i].score >= hits[i + 1].score for i in range(4))
    with pytest.raises(QueryError):
        search.search("  ")
    with pytest.raises(QueryError):
        search.search("reel", k=0)
    assert "captions" in ms.KeywordSearch(ryans[:10], captions=True).name


def test_demonstrations_come_from_real_tunes(ryans):
    demos = ms.make_demonstrations(ryans, n=2, seed=0)
    assert len(demos) == 2
    titles = {r.metadata.get("title") for r in ryans}
    for demo in demos:
        assert demo.answer in {ms.clean_text(t, 80) for t in titles if t}
        assert demo.question.startswith("Find a tune in the same key and meter as")
        assert demo.search_query and demo.context
    assert ms.make_demonstrations(ryans, n=2, seed=0) == demos


def test_two_hop_dsp_falls_back_to_metadata_when_the_model_is_useless(ryans):
    search = ms.KeywordSearch(ryans)
    record = next(r for r in ryans if r.tune_type == "hornpipe")
    question = ms.two_hop_question(record)
    result = ms.dsp_search(question, search, tiny_backend("causal"), demonstrations=ms.make_demonstrations(ryans),
                           k=4, max_new_tokens=8)
    assert [hop.source for hop in result.hops] == ["question", "metadata"]
    assert result.hops[0].hits[0].id == record.id  # hop 1 found the tune the question names
    assert result.hops[1].query.startswith("hornpipe")
    assert record.id not in [hit.id for hit in result.hits] and len(result.hits) <= 4
    assert result.answer and result.notes and "predict" in result.prompts


def test_dsp_uses_a_good_model_query_and_answer(ryans):
    search = ms.KeywordSearch(ryans)

    def reply(text):
        return "reel" if text.rstrip().endswith("Search query:") else "Try [1], a reel."

    result = ms.dsp_search("Which reels are there?", search, ScriptedBackend(reply=reply), hops=2, k=3)
    assert (result.hops[1].query, result.hops[1].source) == ("reel", "llm")
    assert result.answer == "Try [1], a reel."
    without = ms.dsp_search("Which reels are there?", search, None, hops=1, k=3)
    assert without.answer.startswith("Candidates:") and len(without.hops) == 1
    with pytest.raises(QueryError):
        ms.dsp_search(" ", search, None)


def test_pseudo_captions_are_cached_and_checked(ryans, musicsearch_home):
    backend = ScriptedBackend(reply=lambda text: "A reel in G major." if "a reel" in text else "A waltz in F.",
                              name="scripted-captions")
    captions = ms.generate_pseudo_captions(ryans, backend, n=8, seed=1)
    assert len(captions) == 8 and len({c.id for c in captions}) == 8
    assert all(caption.tags for caption in captions)
    by_id = {r.id: r for r in ryans}
    for caption in captions:
        record = by_id[caption.id]
        if caption.source == "llm":  # only captions that agree with the tune's own facts survive
            assert record.tune_type == "reel" and caption.caption == "A reel in G major."
        else:
            assert caption.caption == record.captions[0]
    files = list((musicsearch_home / "cache" / "pseudo_captions").glob("scripted-captions-*.jsonl"))
    assert len(files) == 1 and len(files[0].read_text().splitlines()) == 8
    calls = len(backend.seen)
    again = ms.generate_pseudo_captions(ryans, backend, n=8, seed=1)
    assert again == captions and len(backend.seen) == calls  # all from the cache
    files[0].write_text(files[0].read_text() + "{not json\n")  # a damaged line is skipped, not fatal
    assert ms.generate_pseudo_captions(ryans, backend, n=8, seed=1) == captions
    corpus = ms.Corpus(ryans, "ryans")
    extended = ms.add_pseudo_captions(corpus, captions)
    assert extended.fingerprint != corpus.fingerprint
    added = sum(len(a.captions) - len(b.captions) for a, b in zip(extended, corpus))
    assert added == sum(c.source == "llm" for c in captions)


def test_watermarked_captions_score_higher(ryans):
    backend = tiny_backend("causal")
    config = ms.watermark_config(bias=8.0)
    prompts = [f"Describe tune {index}." for index in range(4)]
    # Sampling, because the random model's greedy text is blank lines, which score nothing.
    marked = backend.generate(prompts, 24, watermarking_config=config, temperature=1.0)
    plain = backend.generate(prompts, 24, temperature=1.0)
    marked_z = ms.watermark_z_scores(marked, backend, config)
    plain_z = ms.watermark_z_scores(plain, backend, config)
    valid = [(m, p) for m, p in zip(marked_z, plain_z) if not (math.isnan(m) or math.isnan(p))]
    assert valid and sum(m for m, _ in valid) > sum(p for _, p in valid)
    with pytest.raises(LLMError, match="watermarking needs a local"):
        ms.generate_pseudo_captions(ryans, ScriptedBackend(), n=2, watermark=True)


def test_generated_captions_json_lines_are_plain_data(ryans, musicsearch_home):
    ms.generate_pseudo_captions(ryans, tiny_backend("causal"), n=3, max_new_tokens=6)
    for path in (musicsearch_home / "cache" / "pseudo_captions").glob("tiny*.jsonl"):
        for line in path.read_text().splitlines():
            item = json.loads(line)
            assert set(item) == {"id", "tags", "caption", "source", "model", "watermarked"}


def test_dsp_reads_whatever_the_search_returns_as_hits(ryans):
    from musicsearch.llm.dsp import follow_up_query

    rows = [{"id": r.id, "score": 1.0, "metadata": dict(r.metadata), "abc": r.abc} for r in ryans[:6]]
    result = ms.dsp_search("Which reels are there?", lambda query, k: rows[:k], None, hops=2, k=3)
    assert all(isinstance(hit, ms.Hit) for hop in result.hops for hit in hop.hits)
    assert [hit.rank for hit in result.hops[0].hits] == [1, 2, 3]
    assert (result.hops[1].source, result.hops[1].query) == ("metadata", follow_up_query(rows[0]))
