import numpy as np
import pytest

from musicsearch.data.melody import parse_melody
from musicsearch.evaluation.melody import (
    FRAGMENT_KINDS,
    TRANSPOSITIONS,
    IntervalNGramBaseline,
    evaluate_melody,
    format_melody_results,
    make_fragments,
)
from musicsearch.search.melody import MelodyIndex


@pytest.fixture(scope="module")
def melody_index(small_corpus):
    return MelodyIndex.build(small_corpus)


@pytest.fixture(scope="module")
def fragments(small_corpus):
    return make_fragments(list(small_corpus)[::12], bars=(2, 4), seed=0)


def by_kind(fragments, kind, bars=4):
    return {fragment.source_id: fragment for fragment in fragments if fragment.kind == kind and fragment.bars == bars}


def test_every_kind_is_the_same_bars_changed_as_its_kind_says(small_corpus, fragments):
    exact = by_kind(fragments, "exact")
    assert exact and {fragment.kind for fragment in fragments} == set(FRAGMENT_KINDS)
    for source_id, fragment in exact.items():
        tune = parse_melody(next(r for r in small_corpus if r.id == source_id).abc)
        inside = (tune.bars >= fragment.first_bar) & (tune.bars < fragment.first_bar + 4)
        assert parse_melody(fragment.abc).pitches.tolist() == tune.pitches[inside].tolist()
    for source_id, fragment in by_kind(fragments, "transposed").items():
        assert fragment.semitones in TRANSPOSITIONS
        moved = parse_melody(fragment.abc).pitches
        assert moved.tolist() == (parse_melody(exact[source_id].abc).pitches + fragment.semitones).tolist()
    for kind, per_bar in (("wrong_1", 1), ("wrong_2", 2)):
        for source_id, fragment in by_kind(fragments, kind).items():
            wrong, right = parse_melody(fragment.abc), parse_melody(exact[source_id].abc)
            for bar in range(4):
                changed = (wrong.pitches != right.pitches)[right.bars == bar]
                assert changed.sum() == min(per_bar, len(changed))
    for source_id, fragment in by_kind(fragments, "dropped").items():
        dropped, right = parse_melody(fragment.abc), parse_melody(exact[source_id].abc)
        for bar in range(4):
            before = int((right.bars == bar).sum())
            assert int((dropped.bars == bar).sum()) == (before - 1 if before > 1 else before)


def test_fragments_are_reproducible_from_their_seed(small_corpus):
    records = list(small_corpus)[:10]
    assert make_fragments(records, bars=(4,), seed=3) == make_fragments(records, bars=(4,), seed=3)
    with pytest.raises(ValueError, match="unknown fragment kinds"):
        make_fragments(records, kinds=("backwards",))


def test_baseline_ranks_by_shared_ngrams():
    baseline = IntervalNGramBaseline([np.array([2, 2, 1, 2, 2]), np.array([2, 2, 1]), np.array([5, 5, 5])], n=3)
    assert baseline.search(np.array([2, 2, 1, 2]), k=5) == [0, 1]
    assert baseline.search(np.array([7, 7, 7]), k=5) == []


def test_report_has_every_set_and_method_with_metrics_in_range(melody_index, fragments):
    baseline = IntervalNGramBaseline([melody_index.melody(row).intervals for row in range(len(melody_index))])
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(melody_index), 8)).astype(np.float32)

    def encode(texts):  # a stand-in embedding that knows nothing of melodies
        return rng.normal(size=(len(texts), 8)).astype(np.float32)

    report = evaluate_melody(melody_index, fragments, baseline=baseline, embedding=(encode, vectors))
    assert report["methods"] == ["melody", "ngram", "embedding"]
    assert set(report["sets"]) == {f"{kind}/{bars}" for kind in FRAGMENT_KINDS for bars in (2, 4)}
    for row in report["sets"].values():
        for method in report["methods"]:
            figures = row[method]
            assert 0 <= figures["hit@1"] <= figures["hit@10"] <= 1 and 0 <= figures["mrr"] <= 1
            assert figures["p50_ms"] <= figures["p99_ms"]
    assert report["sets"]["exact/4"]["melody"]["hit@10"] == 1.0
    assert report["sets"]["transposed/4"]["melody"]["hit@10"] == 1.0
    table = format_melody_results(report)
    assert "exact/4" in table and "embedding" in table
