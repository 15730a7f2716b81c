import os
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import musicsearch as ms
from musicsearch.data.corpus import Record
from musicsearch.data.melody import parse_melody
from musicsearch.data.melody_abc import melody_to_abc
from musicsearch.data.transpose import transpose_abc
from musicsearch.search import melody_kernel
from musicsearch.search.melody import MAX_QUERY_NOTES, MelodyIndex, MelodySearchParams
from musicsearch.search.melody_align import AlignmentParams, align_many, aligned_spans
from musicsearch.search.melody_grams import GramIndex, window_codes

# numba is a dependency: without it (an odd platform) the NumPy path still runs and its tests skip locally,
# but CI must exercise the compiled kernel, so there a missing numba fails instead.
NO_NUMBA = not melody_kernel.available() and not os.environ.get("CI")
BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(NO_NUMBA, reason="numba cannot be imported"))]


def reference_alignment(query, query_rhythm, tune, tune_rhythm, p: AlignmentParams) -> float:
    """The recurrence written cell by cell, as the docstring of melody_align describes it."""
    def sub(a, b):
        distance = abs(max(-15, min(15, a)) - max(-15, min(15, b)))
        return {0: p.match, 1: p.near, 2: p.near2}.get(distance, p.mismatch)

    def bonus(i, j):
        return p.rhythm if abs(query_rhythm[i] - tune_rhythm[j]) < 0.01 else 0.0

    rows, cols = len(query), len(tune)
    h = [[0.0] * (cols + 2) for _ in range(rows + 2)]  # h[i + 2][j + 2] is cell (i, j); the rest is 0
    best = 0.0
    for i in range(rows):
        for j in range(cols):
            value = max(0.0, h[i + 1][j + 1] + sub(query[i], tune[j]) + bonus(i, j), h[i + 1][j + 2] - p.gap,
                        h[i + 2][j + 1] - p.gap)
            if j >= 1:
                value = max(value, h[i + 1][j] + sub(query[i], tune[j - 1] + tune[j]) - p.merge_penalty)
            if i >= 1:
                value = max(value, h[i][j + 1] + sub(query[i - 1] + query[i], tune[j]) - p.merge_penalty)
            if i >= 1 and j >= 1 and query[i - 1] + query[i] == tune[j - 1] + tune[j]:
                value = max(value, h[i][j] + p.wrong_note + bonus(i, j) + bonus(i - 1, j - 1))
            h[i + 2][j + 2] = value
            best = max(best, value)
    return best


intervals = st.lists(st.integers(-5, 5), max_size=12)
rhythms = st.sampled_from([-1.0, 0.0, 1.0])


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=150, deadline=None)
@given(query=st.lists(st.integers(-5, 5), min_size=1, max_size=8), tunes=st.lists(intervals, min_size=1, max_size=4),
       seed=st.integers(0, 1000))
def test_vectorised_alignment_equals_the_cell_by_cell_recurrence(backend, query, tunes, seed):
    rng = np.random.default_rng(seed)
    query_rhythm = rng.choice([-1.0, 0.0, 1.0], len(query))
    tune_rhythms = [rng.choice([-1.0, 0.0, 1.0], len(tune)) for tune in tunes]
    params = AlignmentParams()
    scores, _, _ = align_many(np.array(query), query_rhythm, [np.array(t, dtype=np.int64) for t in tunes],
                              tune_rhythms, params, backend=backend)
    expected = [reference_alignment(query, query_rhythm, tune, rhythm, params) for tune, rhythm in zip(tunes, tune_rhythms)]
    assert scores.tolist() == pytest.approx(expected)


def test_both_backends_agree_on_ends_and_ties():
    if NO_NUMBA:
        pytest.skip("numba cannot be imported")
    assert melody_kernel.available(), "numba cannot be imported (a dependency; required in CI)"
    rng = np.random.default_rng(0)
    for _ in range(50):
        query = rng.integers(-3, 4, rng.integers(1, 10))
        tunes = [rng.integers(-3, 4, rng.integers(0, 25)) for _ in range(6)]
        rhythm = [np.zeros(len(t)) for t in tunes]
        numpy_result = align_many(query, np.zeros(len(query)), tunes, rhythm, backend="numpy")
        numba_result = align_many(query, np.zeros(len(query)), tunes, rhythm, backend="numba")
        for ours, theirs in zip(numpy_result, numba_result):
            assert ours.tolist() == theirs.tolist()


def test_alignment_tolerates_a_wrong_a_missing_and_an_extra_note():
    tune = parse_melody("L:1/8\nK:D\nd2fd A2FA|dfaf e2de|").intervals
    params = AlignmentParams()
    exact = parse_melody("L:1/8\nK:D\nd2fd A2FA|").intervals
    wrong = parse_melody("L:1/8\nK:D\nd2gd A2FA|").intervals  # f -> g
    missing = parse_melody("L:1/8\nK:D\nd2f A2FA|").intervals
    extra = parse_melody("L:1/8\nK:D\nd2fed A2FA|").intervals
    unrelated = parse_melody("L:1/8\nK:D\nc4 =c4 B4|").intervals
    scores = {name: align_many(q, np.zeros(len(q)), [tune], [np.zeros(len(tune))], params)[0][0]
              for name, q in [("exact", exact), ("wrong", wrong), ("missing", missing), ("extra", extra),
                              ("unrelated", unrelated)]}
    assert scores["exact"] == params.best_score(len(exact))
    assert scores["exact"] > scores["wrong"] > scores["unrelated"]
    assert scores["missing"] > scores["unrelated"] and scores["extra"] > scores["unrelated"]


def test_aligned_spans_cover_the_matching_intervals():
    spans = aligned_spans(np.array([2, 2, 1]), np.zeros(3), [np.array([7, 7, 2, 2, 1, -5])], [np.zeros(6)])
    assert spans[0][1:] == ((2, 4), (0, 2))
    assert aligned_spans(np.array([2]), np.zeros(1), [np.array([], dtype=np.int64)], [np.zeros(0)])[0][1] == (0, -1)


def test_window_codes_and_candidates_find_the_passage_and_where_it_starts():
    assert [len(codes) for codes, _ in window_codes(np.arange(6), 3)] == [4, 3, 3, 3, 1]
    tunes = [np.array([1, 1, 1, 1, 1, 1]), np.array([4, -2, 5, 2, 2, 1, -5, 3]), np.array([2, 2, 1])]
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in tunes])])
    grams = GramIndex.build(np.concatenate(tunes), offsets, 3)
    rows, starts, _ = grams.candidates(np.array([5, 2, 2, 1]), limit=2)
    assert rows.tolist()[0] == 1 and starts.tolist()[0] == 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_code_lists_its_positions_in_order_and_weighs_by_the_tunes_holding_it(seed):
    rng = np.random.default_rng(seed)
    tunes = [rng.integers(-2, 3, size=int(rng.integers(0, 12))) for _ in range(9)]  # small alphabet: repeats
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in tunes])])
    grams = GramIndex.build(np.concatenate(tunes).astype(np.int16), offsets, 3)
    assert np.all(np.diff(grams.codes) > 0) and grams.starts[0] == 0 and grams.starts[-1] == len(grams.positions)
    tune_of = {position: number for number in range(len(tunes))
               for position in range(int(offsets[number]), int(offsets[number + 1]))}
    for g in range(len(grams.codes)):
        positions = grams.positions[grams.starts[g]:grams.starts[g + 1]].tolist()
        assert positions and positions == sorted(positions)
        holders = {tune_of[position] for position in positions}
        assert grams.weights[g] == pytest.approx(np.log((len(tunes) + 1) / len(holders)), rel=1e-6)


# ---------------------------------------------------------------------------------------------- the index
@pytest.fixture(scope="module")
def melody_index(small_corpus):
    return MelodyIndex.build(small_corpus)


def fragment(record, first_bar: int, bars: int, *, key: str | None = None) -> str:
    melody = parse_melody(record.abc)
    chosen = (melody.bars >= first_bar) & (melody.bars < first_bar + bars)
    key = key or record.key or "C"
    return melody_to_abc(melody.pitches[chosen], melody.durations[chosen], melody.bars[chosen], key=key,
                         unit="1/16" if "L:1/16" in record.abc else "1/8")


def test_build_reads_every_tune_and_counts_what_it_cannot_read(small_corpus):
    records = list(small_corpus)[:20] + [Record("bad#1", "bad.abc", "1", "demo", 'K:C\n"Am" z4|')]
    index = MelodyIndex.build(records)
    assert (index.stats.seen, index.stats.indexed, len(index.stats.unreadable)) == (21, 20, 1)
    assert index.stats.unreadable[0][0] == "bad#1" and "chord symbols" in index.stats.unreadable[0][1]
    assert len(index) == 21 and len(index.melody(20)) == 0  # rows stay aligned with the records


def test_exact_and_transposed_fragments_find_their_tune_and_bars(melody_index, small_corpus):
    record = small_corpus[3]
    query = fragment(record, 4, 4)
    for text in (query, transpose_abc(query, 5), transpose_abc(query, -2)):
        match = melody_index.search(text, k=5)[0]
        assert record.id in (match.id, *match.also_in)
        assert match.bar_span == (4, 7) and match.query_bar_span == (0, 3)
        assert match.score == pytest.approx(1.0)


def test_a_fragment_with_a_wrong_note_in_every_bar_still_finds_its_tune(melody_index, small_corpus):
    record = small_corpus[10]
    melody = parse_melody(record.abc)
    chosen = np.flatnonzero((melody.bars >= 2) & (melody.bars < 6))
    pitches = melody.pitches[chosen].astype(int)
    for bar in range(2, 6):  # the second note of each bar a tone too high
        pitches[np.flatnonzero(melody.bars[chosen] == bar)[1]] += 2
    query = melody_to_abc(pitches, melody.durations[chosen], melody.bars[chosen], key=record.key or "C")
    matches = melody_index.search(query, k=10)
    assert record.id in [match.id for match in matches] + [i for match in matches for i in match.also_in]


def test_identical_melodies_are_one_match_with_also_in():
    tune = "L:1/8\nK:G\nGABc dBGB|cBAG FGAF|GABc dBGB|cAFA G4|"
    records = [Record("a#1", "a.abc", "1", "demo", tune),
               Record("b#1", "b.abc", "1", "demo", transpose_abc(tune, 2)),  # the same tune in A, another file
               Record("c#1", "c.abc", "1", "demo", "L:1/8\nK:G\nGABc dBGB|cBAG FGAB|c2e2 d2B2|A4 G4|")]
    index = MelodyIndex.build(records)
    assert (index.stats.duplicate_groups, index.stats.duplicate_tunes) == (1, 2)
    matches = index.search("L:1/8\nK:G\nGABc dBGB|cBAG", k=10)
    assert [(match.id, match.also_in) for match in matches] == [("a#1", ("b#1",)), ("c#1", ())]


@pytest.mark.parametrize(("query", "message"), [
    ("", "ABC text of a few bars"),
    ("K:C\n|  |", "no notes"),
    ("K:C\nC4|", "has 1 note; melody search needs at least 4"),
    ("K:C\nz4 | z4 |", "only rests"),
    ('K:C\n"Am" z4 | "Dm" z4 | "E7" z4 |', "chord symbols but no notes"),
    ("K:C\nCDEF | GA#B |", "bar 2: cannot read '#'"),
    ("K:Xyz\nCDEF|", "K:Xyz is not a key"),
    ("K:C\n" + "CDEF|" * 2000, f"at most {MAX_QUERY_NOTES} notes"),
])
def test_bad_queries_are_query_errors_saying_what_to_do(melody_index, query, message):
    with pytest.raises(ms.QueryError, match=message):
        melody_index.search(query)


def test_chords_only_are_read_as_their_top_notes(melody_index):
    # A chord accompaniment is a melody of its top notes: searchable, not an error.
    chords = melody_index.search("L:1/4\nK:C\n[CEG] [DFA] [EGB] [FAc] | [GBd]4 |", k=3)
    top_notes = melody_index.search("L:1/4\nK:C\nG A B c | d4 |", k=3)
    assert chords and [m.to_dict() for m in chords] == [m.to_dict() for m in top_notes]


def test_save_and_load_give_the_same_answers(melody_index, small_corpus, tmp_path):
    path = melody_index.save(tmp_path / "melody.npz")
    loaded = MelodyIndex.load(path)
    query = fragment(small_corpus[30], 2, 4)
    assert [m.to_dict() for m in loaded.search(query)] == [m.to_dict() for m in melody_index.search(query)]
    assert loaded.stats.to_dict() == melody_index.stats.to_dict()
    assert loaded.params == melody_index.params


def test_a_damaged_index_file_is_an_artifact_error_naming_it(melody_index, tmp_path):
    path = melody_index.save(tmp_path / "melody.npz")
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ms.ArtifactError, match="cut.npz: not a readable melody index"):
        MelodyIndex.load(tmp_path / "cut.npz")
    with pytest.raises(ms.ArtifactError, match="no melody index here"):
        MelodyIndex.load(tmp_path / "missing.npz")
    arrays = dict(np.load(path, allow_pickle=False))
    np.savez(tmp_path / "short.npz", **{**arrays, "bars": arrays["bars"][:-1]})
    with pytest.raises(ms.ArtifactError, match="do not fit together"):
        MelodyIndex.load(tmp_path / "short.npz")
    np.savez(tmp_path / "floats.npz", **{**arrays, "pitches": arrays["pitches"].astype(float)})
    with pytest.raises(ms.ArtifactError, match="'pitches' holds float64 values, expected integers"):
        MelodyIndex.load(tmp_path / "floats.npz")
    newer = str(arrays["meta"]).replace('"format_version": 1', '"format_version": 99')
    np.savez(tmp_path / "newer.npz", **{**arrays, "meta": np.array(newer)})
    with pytest.raises(ms.ArtifactError, match="'format_version' is 99"):
        MelodyIndex.load(tmp_path / "newer.npz")
    with zipfile.ZipFile(tmp_path / "nometa.npz", "w") as archive:
        archive.writestr("ids.npy", b"")
    with pytest.raises(ms.ArtifactError, match="nometa.npz"):
        MelodyIndex.load(tmp_path / "nometa.npz")


def test_search_params_trade_candidates_for_query_length():
    params = MelodySearchParams()
    assert params.candidates(5) > params.candidates(30) > params.candidates(60) >= params.min_candidates
    assert MelodySearchParams.from_dict(params.to_dict()) == params
