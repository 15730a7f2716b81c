import random

import pytest

import musicsearch as ms
from musicsearch.data import captions, features


@pytest.mark.parametrize("value, expected", [
    ("G", ("G", "major", False)), ("Ador", ("A", "dorian", True)), ("E Minor", ("E", "minor", True)),
    ("F#m", ("F#", "minor", True)), ("Dmix", ("D", "mixolydian", True)), ("Bb", ("Bb", "major", False)),
    ("none", (None, None, False)),
])
def test_parse_key(value, expected):
    key = ms.parse_key(value)
    assert (key.tonic, key.mode, key.explicit_mode) == expected


@pytest.mark.parametrize("meter, words", [("6/8", "six-eight"), ("C|", "cut time"), ("C", "common time"),
                                          ("none", "free meter"), ("9/8 % comment", "nine-eight")])
def test_meter_words(meter, words):
    assert ms.meter_words(meter) == words


@pytest.mark.parametrize("metadata, expected", [
    ({"rhythm": "Liebes - Lied, Leid, Klage"}, "love song"), ({"rhythm": "Kinder -, Wiegen - Lied"}, "children's song"),
    ({"rhythm": "Xiaodiao]"}, "Chinese ditty (xiaodiao)"), ({"rhythm": "slipjig"}, "slip jig"),
    ({"rhythm": "double jig"}, "jig"), ({"title": "The Mason's Apron -- Reel"}, "reel"), ({"rhythm": "???"}, None),
    # Essen's placeholders and doubt marks, its themes and Chinese genre names
    ({"rhythm": "yyy]"}, None), ({"rhythm": "???, ]"}, None), ({"rhythm": "???, Brautwerbung?]"}, "courtship song"),
    ({"rhythm": "??, Walzer]"}, "waltz"), ({"rhythm": "Vaterland und Wehr"}, "patriotic song"),
    ({"rhythm": "Verrat, Mord"}, "murder ballad"), ({"rhythm": "wuge, huadeng"}, "Chinese dance song (wuge)"),
    ({"rhythm": "Wuge, Yangge, Jinzhong yangge]"}, "Chinese yangge dance song"),
    ({"rhythm": "Xiao diao"}, "Chinese ditty (xiaodiao)"), ({"rhythm": "Standesunterschied, Gefangenschaft"},
                                                          "standesunterschied, gefangenschaft"),
])
def test_tune_types_are_normalised_to_english(metadata, expected):
    assert ms.tune_type(metadata) == expected


def test_origin_in_english_most_specific_first():
    assert features.origin_places({"origin": "Europa, Mitteleuropa, Deutschland, Schwaben"}) == ["Swabia", "Germany"]
    assert ms.origin_country({"origin": "Europa, Mitteleuropa, Deutschland, Schwaben"}) == "Germany"
    assert ms.origin_country({}, "oneills1850") == "Ireland"


def test_minor_tune_written_with_major_signature_reads_as_minor():
    # Essen style: the signature says G, the flats are written out, and the tune ends on G.
    assert ms.music_features("K:G\nG2 _B2 c2 d2|_B2 A2 G4|")["mode"] == "minor"
    assert ms.music_features("K:G\nG2 B2 c2 d2|B2 A2 G4|")["mode"] == "major"
    # A tune that ends on the third is not re-read.
    assert ms.music_features("K:G\nG2 B2 d2 B2|d2 B2 B4|")["mode"] == "major"


def test_features_count_notes_bars_range_and_voices():
    facts = ms.music_features("M:4/4\nK:C\nV:1\nCDEF|GABc|\nV:2\nC,4|C,4|")
    assert facts["num_voices"] == 2
    assert facts["range_semitones"] == 24
    assert facts["num_notes"] == 10


def test_captions_from_tags_and_text_dropout():
    abc = "M:6/8\nL:1/8\nK:D\n|:dfa afd|gfe d3:|"
    described = ms.describe(abc, {"title": "The Kesh", "rhythm": "jig", "origin": "Irland"}, "oneills1850")
    first = described["captions"][0]
    for words in ("jig", "D major", "six-eight", "Ireland", "O'Neill", "The Kesh"):
        assert words in first
    assert len(described["captions"]) >= 3
    rng = random.Random(0)
    parts = ["a jig", "in D major", "in six-eight time", "from Ireland"]
    samples = {ms.text_dropout(parts, rng) for _ in range(60)}
    assert len(samples) > 10  # subsets and orders vary
    assert all(sample and set(sample.split(", ")) <= set(parts) for sample in samples)
    assert any(len(sample.split(", ")) == 1 for sample in samples) and any(len(sample.split(", ")) == 4 for sample in samples)
    assert ms.text_dropout([], rng) == ""


def test_every_caption_template_is_used_when_tags_allow():
    tags = captions.Tags(tune_type="reel", key="D major", meter="cut time", title="The Silver Spear",
                         composer="Trad", collection="O'Neill's", similar_to="The Merry Blacksmith",
                         range_words="a wide range", density_words="many notes per bar")
    assert len(ms.make_captions(tags)) == len(ms.CAPTION_TEMPLATES)
