import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import musicsearch as ms


def test_header_lines_and_bars_become_patches():
    patches = ms.abc_to_patches("L:1/8\nM:6/8\nK:D\n|:d2fd A2FA|dfa gfe:|\nfed")
    assert patches.dtype == np.uint8 and patches.shape[1] == ms.PATCH_LENGTH
    assert ms.patches_to_text(patches) == ["L:1/8", "M:6/8", "K:D", "|:d2fd A2FA|", "dfa gfe:|", "fed"]


def test_trailing_bar_without_bar_line_is_kept():
    assert ms.patches_to_text(ms.abc_to_patches("K:G\nGAB|cde"))[-1] == "cde"


@pytest.mark.parametrize("body, bars", [
    ("|:abc|def:|", ["|:abc|", "def:|"]),
    ("abc||def|]", ["abc||", "def|]"]),
    ("ab:||:cd|", ["ab:|", "|:cd|"]),
    ("[|ab|cd::ef|", ["[|ab|", "cd::", "ef|"]),
])
def test_bar_lines_stay_with_the_bar_they_close(body, bars):
    assert ms.split_bars(body) == bars


def test_character_codes_pad_and_end_ids():
    patch = ms.abc_to_patches("K:G")[0]
    assert list(patch[:3]) == [ord("K") - 31, ord(":") - 31, ord("G") - 31]
    assert patch[3] == ms.END_ID and (patch[4:] == ms.PAD_ID).all()


def test_long_bar_is_cut_at_64_characters_without_end_id():
    patch = ms.abc_to_patches("K:C\n" + "c" * 100 + "|")[1]
    assert (patch == ord("c") - 31).all()


def test_max_patches_keeps_the_first_ones():
    abc = "K:C\n" + "|".join(["cdef"] * 50) + "|"
    assert len(ms.abc_to_patches(abc)) == 51
    assert ms.abc_to_patches(abc, max_patches=10).shape == (10, 64)
    with pytest.raises(ms.ABCError):
        ms.abc_to_patches(abc, max_patches=0)


def test_non_ascii_is_folded():
    assert ms.patches_to_text(ms.abc_to_patches('K:G\n"^Größe"GAB|'))[1] == '"^Grosse"GAB|'


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_patching_arbitrary_text_gives_valid_codes_or_the_documented_error(text):
    try:
        patches = ms.abc_to_patches(text)
    except ms.ABCError:
        return
    assert patches.ndim == 2 and patches.shape[1] == 64 and len(patches) >= 1
    assert int(patches.max()) <= ms.END_ID and ms.MASK_ID not in patches


def test_max_patches_stops_the_split_early(monkeypatch):
    from musicsearch.data import patches as patches_module

    produced = []
    real_bars = patches_module._bars

    def counted_bars(body):
        for bar in real_bars(body):
            produced.append(bar)
            yield bar

    monkeypatch.setattr(patches_module, "_bars", counted_bars)
    abc = "K:D\n" + "dfa|" * 100_000
    assert ms.abc_to_patches(abc, max_patches=8).shape == (8, 64)
    assert len(produced) <= 8  # not the 100,000 bars of the whole line
    assert ms.patches_to_text(ms.abc_to_patches(abc, max_patches=3)) == ["K:D", "dfa|", "dfa|"]
