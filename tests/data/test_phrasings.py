"""Other wordings of caption phrases, and text dropout that uses them."""

import random

import pytest

from musicsearch.data.captions import Tags, caption_parts
from musicsearch.data.phrasings import reword, wordings
from musicsearch.data.texts import short_dropout, training_texts
from musicsearch.errors import MusicSearchError
from musicsearch.training.config import TrainingConfig


@pytest.mark.parametrize(("part", "expected"), [
    ("in D minor", ["in a minor key", "in the key of D minor", "minor"]),
    ("in B-flat major", ["in a major key", "B-flat major"]),
    ("in E dorian", ["in the dorian mode", "dorian"]),
    ("in six-eight time", ["in 6/8", "6/8 time", "six-eight"]),
    ("in common time", ["in 4/4"]),
    ("from Swabia, Germany", ["from Germany", "German", "a tune from Swabia"]),
    ("from Ireland", ["Irish", "Ireland"]),
    ("in the Bach chorales", ["from the Bach chorales", "Bach chorale"]),
    ("by Mozart", ["composed by Mozart", "Mozart"]),
    ("for four voices", ["four voices", "a piece for four voices"]),
    ("a slip jig", ["slip jig"]),
])
def test_each_kind_of_caption_phrase_has_the_wordings_people_type(part, expected):
    found = wordings(part)
    assert found[0] == part
    assert set(expected) <= set(found)
    assert len(found) == len(set(found))


@pytest.mark.parametrize("part", ['titled "Drowsy Maggie"', "as a single melodic line", "in 13-eight time",
                                  "in an unknown collection"])
def test_a_phrase_no_rule_knows_keeps_only_itself(part):
    assert wordings(part) == [part]


def test_every_generated_caption_part_has_wordings_that_are_not_empty():
    tags = Tags(tune_type="reel", meter="two-four", key="A major", mode="major", places=["Kerry", "Ireland"],
                collection="O'Neill's Music of Ireland (1850)", composer="Turlough O'Carolan",
                range_words="a narrow range, within an octave", voices_words="two voices")
    for part in caption_parts(tags):
        assert all(text.strip() for text in wordings(part))
        if not part.startswith("titled"):
            assert len(wordings(part)) > 1, part


def test_reword_with_share_zero_returns_the_part_and_draws_nothing():
    rng = random.Random(3)
    assert reword("in D minor", rng, 0.0) == "in D minor"
    assert rng.random() == random.Random(3).random()


def test_reword_with_share_one_always_picks_another_wording():
    rng = random.Random(0)
    drawn = {reword("in D minor", rng, 1.0) for _ in range(200)}
    assert "in D minor" not in drawn
    assert drawn == set(wordings("in D minor")[1:])


def test_dropout_without_rewording_is_the_same_draw_as_before():
    parts = ["a jig", "in D major", "in six-eight time", "from Ireland"]
    plain = [short_dropout(parts, random.Random(seed), 3) for seed in range(20)]
    zero = [short_dropout(parts, random.Random(seed), 3, rewording=0.0) for seed in range(20)]
    assert plain == zero
    assert all(set(text.split(", ")) <= set(parts) for text in plain)


def test_training_texts_with_rewording_are_seeded_and_contain_other_wordings():
    captions = ["A jig, in D minor, in six-eight time, from Ireland."]
    parts = ["a jig", "in D minor", "in six-eight time", "from Ireland"]
    first = training_texts(captions, parts, random.Random(7), variants=30, rewording=1.0)
    again = training_texts(captions, parts, random.Random(7), variants=30, rewording=1.0)
    assert first == again
    phrases = {phrase for text in first[1:] for phrase in text.split(", ")}
    assert phrases - set(parts), "every phrase kept its template wording"
    allowed = {wording for part in parts for wording in wordings(part)}
    assert phrases <= allowed


def test_rewording_outside_zero_to_one_is_refused_by_name():
    with pytest.raises(MusicSearchError, match="rewording"):
        TrainingConfig(rewording=1.5).validate()
