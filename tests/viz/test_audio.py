"""Audio previews: ABC → MIDI (music21) → notes with the right timing → a bounded waveform."""

from __future__ import annotations

import numpy as np
import pytest

import musicsearch as ms
from musicsearch.errors import ABCError
from musicsearch.viz.audio import midi_notes

JIG = "L:1/8\nM:6/8\nK:G\n|GAG GBd|"


def test_midi_file_and_note_timing():
    data = ms.abc_to_midi("L:1/8\nM:6/8\nQ:1/4=60\nK:G\n|GAG GBd|")
    assert data[:4] == b"MThd"
    notes = midi_notes(data)
    # At a quarter note = 60 bpm an eighth note lasts half a second.
    assert [pitch for _, _, pitch, _ in notes] == [67, 69, 67, 67, 71, 74]
    np.testing.assert_allclose([start for start, *_ in notes], np.arange(6) * 0.5, atol=1e-6)
    np.testing.assert_allclose([duration for _, duration, *_ in notes], 0.5, atol=1e-6)


def test_default_tempo_and_missing_length_field():
    notes = midi_notes(ms.abc_to_midi("K:D\n|:dfa afd:|"))  # no L: (1/8 assumed), 120 bpm default
    assert [pitch for _, _, pitch, _ in notes[:6]] == [74, 78, 81, 81, 78, 74]
    assert notes[1][0] == pytest.approx(0.25)


def test_waveform_has_energy_at_the_note_frequency():
    wave = ms.synthesize([(0.0, 1.0, 69, 100)], sample_rate=8000, max_seconds=None)
    assert wave.dtype == np.float32 and np.abs(wave).max() <= 0.8 + 1e-6
    spectrum = np.abs(np.fft.rfft(wave))
    assert np.argmax(spectrum) * 8000 / len(wave) == pytest.approx(440, abs=2)


def test_waveform_is_cut_at_max_seconds():
    wave, rate = ms.abc_to_waveform(JIG * 8, sample_rate=8000, max_seconds=1.5)
    assert len(wave) == int(1.5 * rate)


def test_audio_preview_is_an_html_player():
    assert "<audio" in ms.audio_preview(JIG)._repr_html_()


@pytest.mark.parametrize("bad", ["", "K:D\n|]]]", "X:1\nT:only a title\n"])
def test_unreadable_abc_raises_abc_error(bad):
    with pytest.raises(ABCError):
        ms.abc_to_midi(bad)


def test_real_tunes_with_unbalanced_repeats_still_play(small_corpus):
    # music21's repeat expander refuses these two Ryan's Mammoth tunes; they are played without repeats.
    from musicsearch.viz.audio import abc_to_midi, midi_notes

    wanted = {"ryansMammoth/AbithaMugginsFavoriteReel.abc#1", "ryansMammoth/BossJig.abc#1"}
    tunes = [record for record in small_corpus if record.id in wanted]
    assert len(tunes) == 2
    for tune in tunes:
        assert len(midi_notes(abc_to_midi(tune.abc))) > 20
