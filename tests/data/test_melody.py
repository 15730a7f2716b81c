import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import musicsearch as ms
from musicsearch.data.abc_notes import key_signature
from musicsearch.data.melody import parse_melody
from musicsearch.data.melody_abc import melody_to_abc
from tests.helpers.music21_reference import compare, music21_melody


def pitches(abc: str) -> list[int]:
    return parse_melody(abc).pitches.tolist()


@pytest.mark.parametrize(("key", "fifths"), [("C", 0), ("G", 1), ("Bb", -2), ("F#m", 3), ("Ador", 1), ("A Dorian", 1),
                                             ("D mix", 1), ("Eb", -3), ("E phr -8va", 0), ("Gm clef=bass", -2),
                                             ("none", 0), ("Hp", 2), ("C#", 7), ("Cb", -7), ("Dmix ^g", 2)])
def test_key_signatures(key, fifths):
    assert key_signature(key).fifths == fifths
    assert key_signature(key).known


def test_a_key_with_an_unknown_word_is_its_tonics_major_and_flagged():
    signature = key_signature("Bn")  # read as B major, as music21 does
    assert (signature.tonic, signature.fifths, signature.known) == ("B", 5, False)
    assert not key_signature("H").known


def test_pitches_follow_key_octave_marks_and_accidentals():
    assert pitches("K:G\nF f") == [66, 78]
    assert pitches("K:C\nC,, c'' _B,, ^^F __B =F") == [36, 96, 46, 67, 69, 65]
    # "K:D exp ^f" means only the written accidentals, F sharp.
    assert pitches("K:D exp ^f\nF C") == [66, 60]


def test_accidentals_carry_through_the_bar_to_every_octave_and_stop_at_the_bar_line():
    assert pitches("L:1/8\nK:G\n|:GAB ^c2c C|c d:|") == [67, 69, 71, 73, 73, 61, 72, 74]


def test_ties_merge_into_one_note_in_the_bar_where_it_starts():
    melody = parse_melody("L:1/4\nK:C\nA2- | A B- B")
    assert melody.pitches.tolist() == [69, 71]
    assert melody.durations.tolist() == [3.0, 2.0]
    assert melody.bars.tolist() == [0, 1]


def test_a_tie_between_different_pitches_joins_nothing():
    assert pitches("K:C\nA-B") == [69, 71]


def test_chords_are_their_top_note_lasting_as_their_first_note_and_grace_notes_are_skipped():
    melody = parse_melody("L:1/8\nK:C\n[CEG]2 [c2e]/ {ga}f")
    assert melody.pitches.tolist() == [67, 76, 77]
    assert melody.durations.tolist() == [1.0, 0.5, 0.5]
    assert pitches("L:1/8\nK:C\n{^f}f f | f") == [78, 78, 77]  # a grace note's accidental holds for the bar


def test_broken_rhythm_tuplets_and_default_unit_length():
    melody = parse_melody("L:1/8\nK:C\nA>B (3cde")
    assert np.allclose(melody.durations, [0.75, 0.25, 1 / 3, 1 / 3, 1 / 3])
    assert parse_melody("M:2/4\nK:C\nC D|").durations.tolist() == [0.25, 0.25]  # L: defaults to 1/16 under 3/4
    assert parse_melody("M:6/8\nK:C\nC D|").durations.tolist() == [0.5, 0.5]


def test_rests_take_time_but_are_no_note():
    melody = parse_melody("L:1/8\nK:C\nC z2 D")
    assert melody.pitches.tolist() == [60, 62]
    assert melody.onsets.tolist() == [0.0, 1.5]


def test_bars_count_from_a_pickup_and_repeats_are_read_once_as_written():
    melody = parse_melody("L:1/8\nK:C\nG2 |: c2 d2 | e4 :|")
    assert melody.bars.tolist() == [0, 1, 1, 2]
    assert melody.bar_count == 3


def test_the_melody_is_the_first_voice_with_its_own_fields():
    abc = "L:1/4\nK:C\nV:1\nL:1/8\nV:2\nV:1\nCDE|\nV:2\nGAB|\nV:1\nF[V:2]c[V:1]G|"
    melody = parse_melody(abc)
    assert melody.pitches.tolist() == [60, 62, 64, 65, 67]
    assert melody.voice == "1"
    assert melody.durations.tolist() == [0.5] * 5  # voice 1's own L:1/8, not the global L:1/4


def test_inline_key_changes_apply_from_where_they_stand():
    assert pitches("L:1/8\nK:C\nCD[K:D]FC|") == [60, 62, 66, 61]


def test_intervals_and_relative_durations_ignore_key_and_tempo():
    melody = parse_melody("L:1/8\nK:G\nGAB d2B|")
    moved = parse_melody("L:1/16\nK:A\nABc e2c|")  # a tone up, and every note written twice as short
    assert melody.intervals.tolist() == moved.intervals.tolist() == [2, 2, 3, -3]
    assert melody.relative_durations.tolist() == moved.relative_durations.tolist() == [0.0, 0.0, 1.0, -1.0]


@pytest.mark.parametrize(("text", "reason"), [("K:C\nz4 | z2 x2 |", "only rests"),
                                              ('K:C\n"Am" z4 | "G" z4 |', "chord symbols but no notes"),
                                              ("K:C\n|  |", "no notes"), ("", "no notes")])
def test_no_notes_is_an_abc_error_saying_why(text, reason):
    with pytest.raises(ms.ABCError, match=reason):
        parse_melody(text)


def test_strict_reading_refuses_what_it_does_not_understand_and_names_the_bar():
    with pytest.raises(ms.ABCError, match=r"bar 2: cannot read '#'"):
        parse_melody("K:C\nCDE | F#G |", strict=True)
    with pytest.raises(ms.ABCError, match="K:Xyz is not a key"):
        parse_melody("K:Xyz\nCDE|", strict=True)
    with pytest.raises(ms.ABCError, match="L:eighth is not a unit note length"):
        parse_melody("L:eighth\nK:C\nCDE|", strict=True)
    with pytest.raises(ms.ABCError, match="ABC text"):
        parse_melody(None)


def test_lenient_reading_skips_and_counts_what_it_does_not_understand():
    melody = parse_melody("K:Xyz\nCDE | F#G |")
    assert melody.pitches.tolist() == [60, 62, 64, 65, 67]
    assert (melody.skipped, melody.key_known) == (1, False)


ABC_CHARACTERS = st.text(alphabet="ABCDEFGabcdefgz^_=,'/2348|:[]()-<>{}\"!K\n xLM", max_size=80)


@settings(max_examples=200, deadline=None)
@given(ABC_CHARACTERS)
def test_any_text_is_a_melody_or_an_abc_error(text):
    try:
        melody = parse_melody(text)
    except ms.ABCError:
        return
    assert len(melody) == len(melody.durations) == len(melody.bars) >= 1
    assert np.all(np.diff(melody.bars) >= 0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(36, 96), st.sampled_from([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 1 / 3])),
                min_size=1, max_size=24),
       st.sampled_from(["C", "G", "F", "Bb", "E", "Ab", "F#", "Dm", "Ador", "Gb"]), st.integers(1, 4))
def test_melody_to_abc_writes_what_parse_melody_reads(notes, key, notes_per_bar):
    pitches_in = [pitch for pitch, _ in notes]
    durations_in = [duration for _, duration in notes]
    bars = [position // notes_per_bar for position in range(len(notes))]
    melody = parse_melody(melody_to_abc(pitches_in, durations_in, bars, key=key, unit="1/8"))
    assert melody.pitches.tolist() == pitches_in
    assert np.allclose(melody.durations, durations_in, atol=1e-4)
    assert melody.bars.tolist() == bars


# Passages where reading mistakes show: carried accidentals, naturals, ties, chords, tuplets, broken rhythm.
TRICKY = [
    "L:1/8\nK:G\nGAB ^c2c | c d e2 |",
    "L:1/8\nK:Bb\nB2 =B B | _e e =e2 |",
    "L:1/4\nK:C\nC- C D2- | D E |",
    "L:1/8\nK:D\n[DFA]2 [Ace]2 | d4 |",
    "L:1/8\nK:Am\n(3ABc d2 | e>d c<B |",
    "L:1/16\nM:2/4\nK:F\nF2A2c2f2 | _e4 d4 |",
    "L:1/8\nK:Ador\nA,B,C D2 | E^F^G a2 |",
    "L:1/8\nK:C\n{^f}f f {_B}A B | c2 |",
]


@pytest.mark.parametrize("abc", TRICKY)
def test_tricky_passages_read_as_music21_reads_them(abc):
    melody = parse_melody(abc)
    theirs = music21_melody(abc)
    assert (melody.pitches.tolist(), melody.durations.tolist()) == (theirs[0], pytest.approx(theirs[1]))


@pytest.mark.slow
def test_corpus_tunes_read_as_music21_reads_them(small_corpus):
    # music21 (with %abc-2.1) is the reference; the known differences are its own misreadings (a note after
    # the H fermata dropped, ties between different pitches merged, broken rhythm inside slurs ignored).
    sample = [record for position, record in enumerate(small_corpus) if position % 10 == 0]
    ours = [(parse_melody(record.abc).pitches.tolist(), parse_melody(record.abc).durations.tolist())
            for record in sample]
    agreement = compare(ours, [music21_melody(record.abc) for record in sample])
    assert agreement.tunes == len(sample)
    assert agreement.same_pitches / agreement.tunes >= 0.9
    assert agreement.notes_agreeing / agreement.notes >= 0.97
