import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import musicsearch as ms

TUNE = """X:7
T:The Kesh
T:The Kesh Jig
R:jig
C:Trad.
O:Ireland
B:O'Neill's
N:Often played in sessions
Z:transcribed by someone
M:6/8
L:1/8
Q:3/8=120
K:G
% a comment naming the jig
|:GAG GAB|ABA ABd|edd gdd|edB dBA:|
w:some lyrics here
T:Part two
|:[r:remark]gfg gdB|[K:D]DEF GAB|]
"""


def test_clean_abc_keeps_only_music_fields_and_body():
    clean = ms.clean_abc(TUNE)
    lines = clean.split("\n")
    assert lines[:4] == ["M:6/8", "L:1/8", "Q:3/8=120", "K:G"]
    for label in ("Kesh", "jig", "Trad", "Ireland", "O'Neill", "sessions", "transcribed", "lyrics", "Part two",
                  "comment", "remark"):
        assert label not in clean
    assert "|:GAG GAB|" in clean and "[K:D]" in clean


def test_parse_header_keeps_every_field_verbatim():
    metadata = ms.parse_header(TUNE)
    assert metadata["title"] == "The Kesh"
    assert metadata["alternative_titles"] == "The Kesh Jig"
    assert metadata["rhythm"] == "jig" and metadata["composer"] == "Trad."
    assert metadata["origin"] == "Ireland" and metadata["key"] == "G" and metadata["meter"] == "6/8"
    assert metadata["transcription"] == "transcribed by someone"


def test_split_tunes_prepends_file_header_and_reads_refs():
    text = "L:1/8\n%%directive\n\nX:1\nT:A\nK:D\nabc|\n\nX:2\nT:B\nK:G\nGAB|\n"
    tunes = ms.split_tunes(text)
    assert [ref for ref, _ in tunes] == ["1", "2"]
    assert all("L:1/8" in tune for _, tune in tunes)
    assert "T:B" not in tunes[0][1]


def test_text_without_x_is_one_tune():
    assert ms.split_tunes("K:D\nabc|") == [(None, "K:D\nabc|")]
    assert ms.split_tunes("   \n") == []


@pytest.mark.parametrize("text", ["", "X:1\nT:Only a title\nK:G\n", "\x00\x01binary", "T:x\nK:C\n% only a comment"])
def test_text_without_notes_is_a_clear_abc_error(text):
    with pytest.raises(ms.ABCError, match="no notes|binary"):
        ms.clean_abc(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_cleaning_arbitrary_text_raises_only_the_documented_error(text):
    try:
        clean = ms.clean_abc(text)
    except ms.ABCError:
        return
    assert isinstance(clean, str) and clean
    for line in clean.split("\n"):
        assert not line.startswith(("T:", "R:", "O:", "C:", "N:", "w:", "W:", "Z:", "B:", "S:", "H:"))


@pytest.mark.parametrize("text, message", [
    ("These are the tunes we played at the session last week.", "no K: .key. field"),
    ("X:1\nT:Notes\nK:G\nThis reel was played by a fiddler from Donegal.", "reads as prose"),
    ("X:1\nT:Lied\nK:C\nDer Spielmannssohn ging ueber die Heide und sang ein Lied.", "reads as prose"),
])
def test_prose_is_not_music(text, message):
    ms.clean_abc(text)  # cleaning alone accepts it: it has letters a-g outside the header
    from musicsearch.data.abc import require_music

    with pytest.raises(ms.ABCError, match=message):
        require_music(text)


@pytest.mark.parametrize("text", [
    TUNE,
    "X:26\nT:Unbarred\nM:none\nL:1/8\nK:E\nA2A2A2A2B2=c2A2A4z2\nc2c2c2B4A2B2A2A4",
    'X:1\nK:D\n"Am"!trill!d2 [P:A]~e/f/ uv(d2.B) AFA|]\nw:words of the song here\n',
    "X:1\nK:C\nV:1\nz4|z4|c4|\n%%comment line with many words in it\nV:2\nx4|x4|e4|",
])
def test_real_tunes_are_music(text):
    from musicsearch.data.abc import require_music

    require_music(text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_the_music_check_raises_only_the_documented_error(text):
    from musicsearch.data.abc import require_music

    try:
        require_music(text)
    except ms.ABCError as error:
        assert str(error).startswith("not ABC music")
