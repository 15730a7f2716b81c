"""Query understanding: one parser, five languages, function words consumed, bad input read with a note."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicsearch.search.understanding import FIELDS, understand_query


@pytest.mark.parametrize("query, constraints", [
    ("a slow Irish air in a minor key", {"tune_type": "air", "mode": "minor", "origin": "Ireland"}),
    ("an Irish reel in F sharp minor", {"tune_type": "reel", "key": "F# minor", "mode": "minor", "origin": "Ireland"}),
    ("hornpipes in B-flat", {"tune_type": "hornpipe", "key": "Bb major", "mode": "major"}),
    ("a jig in six-eight", {"tune_type": "jig", "meter": "6/8"}),
    ("ein irisches Wiegenlied in Moll", {"tune_type": "lullaby", "mode": "minor", "origin": "Ireland"}),
    ("ein Walzer im Dreivierteltakt", {"tune_type": "waltz", "meter": "3/4"}),
    ("d-Moll", {"key": "D minor", "mode": "minor"}),
    ("in Es-Dur", {"key": "Eb major", "mode": "major"}),
    ("une berceuse", {"tune_type": "lullaby"}),
    ("un air irlandais en ré mineur", {"tune_type": "air", "key": "D minor", "mode": "minor", "origin": "Ireland"}),
    ("une gigue d'Irlande en 6/8", {"tune_type": "jig", "meter": "6/8", "origin": "Ireland"}),
    ("una ninna nanna in re maggiore", {"tune_type": "lullaby", "key": "D major", "mode": "major"}),
    ("una giga dall'Irlanda in sei ottavi", {"tune_type": "jig", "meter": "6/8", "origin": "Ireland"}),
    ("una canción de cuna en la menor", {"tune_type": "lullaby", "key": "A minor", "mode": "minor"}),
    ("una balada alemana en modo menor", {"tune_type": "ballad", "mode": "minor", "origin": "Germany"}),
    ("seis por ocho", {"meter": "6/8"}),
    ("a Bavarian dance song", {"tune_type": "dance song", "region": "Bavaria"}),
    ("tunes by O'Carolan", {"composer": "O'Carolan"}),
    ("tunes by Irish", {"composer": "Irish"}),  # the composer field of some tunes says "Irish."
    ("O'Neill's airs", {"tune_type": "air", "collection": "oneills1850"}),
])
def test_field_words_in_five_languages(query, constraints):
    assert understand_query(query).constraints == constraints


def test_function_words_are_consumed_not_matched():
    reading = understand_query("a slow Irish air in a minor key")
    assert reading.free_words == ["air"] and {"a", "in", "key"} <= {word.lower() for word in reading.consumed}
    assert reading.tempo == ["slow"]
    title = understand_query("The Key of Kindness")
    assert title.free_words == ["Kindness"] and title.constraints == {}
    assert understand_query("Drowsy Maggie").free_words == ["Drowsy", "Maggie"]


def test_type_words_are_also_matched_as_words():
    assert understand_query("a double jig").free_words == ["double", "jig"]
    assert understand_query("Liebeslieder").constraints == {"tune_type": "love song"}


def test_a_lowercase_a_is_an_article_and_an_uppercase_letter_a_key():
    assert understand_query("a tune in a minor key").constraints == {"mode": "minor"}
    assert understand_query("a tune in A minor").constraints == {"key": "A minor", "mode": "minor"}
    assert understand_query("a tune in A").constraints == {"key": "A major", "mode": "major"}


@pytest.mark.parametrize("query, note", [
    ("a tune in a key", "only function words"),
    ("a reel in 3/4", "usually in 4/4 or 2/2"),
    ("a jig reel", "two values for type"),
    ("a Peruvian song", "no tunes from the place 'Peruvian'"),
    ("an Irish Wiegenlied", "mixed languages (de, en)"),
    ("a \x00jig\x9f", "control character"),
    ("jig " * 400, "first"),
])
def test_bad_input_gives_a_reading_and_a_note(query, note):
    reading = understand_query(query)
    assert any(note in line for line in reading.notes), reading.notes
    assert note.split()[0] in reading.summary() or reading.notes[0] in reading.summary()


def test_contradictions_keep_both_constraints():
    assert understand_query("a reel in 3/4").constraints == {"tune_type": "reel", "meter": "3/4"}
    assert understand_query("a jig reel").constraints == {"tune_type": "jig"}


def test_english_rendering_for_the_text_encoder():
    assert understand_query("une berceuse irlandaise en 6/8").english() == "a lullaby from Ireland in 6/8"
    assert understand_query("ein Lied in Moll").english() == "a tune in a minor key"
    assert understand_query("The Silver Spear").english() == "The Silver Spear"  # nothing read: the query itself


def test_summary_and_dict():
    reading = understand_query("a reel in 3/4")
    assert reading.summary().startswith("understood: type reel, meter 3/4; ignored: a, in")
    assert reading.to_dict()["constraints"] == {"tune_type": "reel", "meter": "3/4"}


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_read_without_error(text):
    reading = understand_query(text)
    assert set(reading.constraints) <= set(FIELDS)
    assert list(reading.constraints) == [name for name in FIELDS if name in reading.constraints]
    assert reading.summary().startswith("understood:")
    assert all(not (0 <= ord(char) < 32 and char not in "\t\n\r") for char in reading.query)
