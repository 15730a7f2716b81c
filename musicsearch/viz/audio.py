"""Hearing a tune: ABC → MIDI (music21) → a waveform from a small additive synthesiser (NumPy).

No sound font and no external program: each MIDI note becomes a few sine harmonics under an
attack/decay envelope, which is enough to recognise a melody in a notebook or a Voila page.

Example:
    >>> wave, rate = abc_to_waveform("L:1/8\\nM:6/8\\nK:G\\n|:GAG GBd|gdB GBd:|")  # doctest: +SKIP
    >>> wave.dtype, rate  # doctest: +SKIP
    (dtype('float32'), 22050)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ABCError

SAMPLE_RATE = 22050  # plenty for a melody, and half the bytes of 44.1 kHz in an embedded <audio> tag
HARMONICS = (1.0, 0.35, 0.15)  # relative amplitudes of partials 1-3: a soft, organ-like timbre
_META_TEMPO = 0x51  # MIDI meta event "set tempo": microseconds per quarter note


def _prepare(abc: str) -> str:
    from ..data.abc import clean_abc

    if not isinstance(abc, str) or not abc.strip():
        raise ABCError("no ABC to play; pass a tune such as 'L:1/8\\nK:D\\n|:dfa afd|'.")
    text = clean_abc(abc)  # raises ABCError for text with no notes
    if not any(line.startswith("L:") for line in text.splitlines()):
        text = "L:1/8\n" + text  # the ABC standard's default for most meters; music21 insists on one
    return "X:1\n" + text


def abc_to_midi(abc: str) -> bytes:
    """A Standard MIDI File of the tune (music21's ABC reader and MIDI writer).

    Raises:
        ABCError: the text holds no notes or music21 cannot read it.

    Example:
        >>> abc_to_midi("L:1/8\\nK:D\\n|:dfa afd:|")[:4]  # doctest: +SKIP
        b'MThd'
    """
    from music21 import converter, midi

    text = _prepare(abc)
    try:
        score = converter.parse(text, format="abc")
    except Exception as error:  # music21 raises several unrelated exception types for bad ABC
        raise ABCError(
            f"music21 could not read this ABC ({str(error)[:120]}); check its L:, M: and K: lines."
        ) from error
    if not score.flatten().notes:
        raise ABCError("the ABC holds no notes to play.")
    try:
        return midi.translate.streamToMidiFile(score).writestr()
    except Exception:  # noqa: BLE001 - music21's repeat expander refuses unbalanced repeats (3% of Ryan's)
        pass
    try:  # play it straight through instead: a preview without its repeats beats no preview
        return midi.translate.streamToMidiFile(_without_repeats(score)).writestr()
    except Exception as error:  # noqa: BLE001
        raise ABCError(f"music21 could not turn this ABC into MIDI ({str(error)[:120]}).") from error


def _without_repeats(score: Any) -> Any:
    """The score with repeat barlines and first/second-ending brackets removed (played once, in order)."""
    from music21 import bar, spanner, stream

    for measure in score.recurse().getElementsByClass(stream.Measure):
        for side in ("leftBarline", "rightBarline"):
            if isinstance(getattr(measure, side), bar.Repeat):
                setattr(measure, side, bar.Barline("regular"))
    for bracket in list(score.recurse().getElementsByClass(spanner.RepeatBracket)):
        for site in list(bracket.sites.get()):
            if hasattr(site, "remove") and bracket in site:
                site.remove(bracket)
    return score


def midi_notes(data: bytes) -> list[tuple[float, float, int, int]]:
    """Notes of a MIDI file as ``(start_seconds, duration_seconds, pitch, velocity)``, sorted by start."""
    from music21 import midi

    midi_file = midi.MidiFile()
    midi_file.readstr(data)
    ticks_per_quarter = midi_file.ticksPerQuarterNote
    events, tempos = [], [(0, 500_000)]  # (tick, microseconds per quarter); 120 bpm until told otherwise
    for track in midi_file.tracks:
        tick = 0
        for event in track.events:
            if isinstance(event, midi.DeltaTime):
                tick += event.time
            elif int(getattr(event.type, "value", 0) or 0) == _META_TEMPO and event.data:
                tempos.append((tick, int.from_bytes(event.data, "big")))
            elif event.isNoteOn() or event.isNoteOff():
                events.append((tick, event.isNoteOn(), event.pitch, event.velocity))
    tempos.sort()

    def seconds(tick: int) -> float:
        total, last_tick, last_tempo = 0.0, 0, tempos[0][1]
        for change_tick, tempo in tempos:
            if change_tick > tick:
                break
            total += (change_tick - last_tick) * last_tempo / ticks_per_quarter / 1e6
            last_tick, last_tempo = change_tick, tempo
        return total + (tick - last_tick) * last_tempo / ticks_per_quarter / 1e6

    notes, sounding = [], {}
    for tick, is_on, pitch, velocity in sorted(events, key=lambda e: (e[0], e[1])):  # offs before ons
        if is_on:
            sounding[pitch] = (tick, velocity)
        elif pitch in sounding:
            start, velocity_on = sounding.pop(pitch)
            notes.append((seconds(start), seconds(tick) - seconds(start), pitch, velocity_on))
    return sorted(notes)


def synthesize(
    notes: list[tuple[float, float, int, int]],
    *,
    sample_rate: int = SAMPLE_RATE,
    max_seconds: float | None = 20.0,
) -> np.ndarray:
    """Render notes to a mono float32 waveform in [-1, 1] (additive sines, 10 ms attack, exponential decay).

    Example:
        >>> synthesize([(0.0, 0.5, 69, 90)], sample_rate=8000).shape
        (4400,)
    """
    end = max((start + duration for start, duration, _, _ in notes), default=0.0) + 0.05
    if max_seconds is not None:
        end = min(end, max_seconds)
    wave = np.zeros(int(end * sample_rate), dtype=np.float64)
    attack = int(0.01 * sample_rate)
    for start, duration, pitch, velocity in notes:
        first = int(start * sample_rate)
        if first >= len(wave):
            continue
        length = min(
            int((duration + 0.05) * sample_rate), len(wave) - first
        )  # 50 ms release overlaps the next
        time = np.arange(length) / sample_rate
        frequency = 440.0 * 2 ** ((pitch - 69) / 12)
        tone = sum(
            amplitude * np.sin(2 * np.pi * frequency * (n + 1) * time)
            for n, amplitude in enumerate(HARMONICS)
        )
        envelope = np.exp(-3.0 * time / max(duration, 0.05))
        envelope[:attack] *= np.linspace(0.0, 1.0, min(attack, length))  # no click at the onset
        wave[first : first + length] += (velocity / 127) * envelope * tone
    peak = np.abs(wave).max() if len(wave) else 0.0
    return (wave / peak * 0.8 if peak > 0 else wave).astype(np.float32)


def abc_to_waveform(
    abc: str, *, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = 20.0
) -> tuple[np.ndarray, int]:
    """ABC → MIDI → waveform; returns ``(samples, sample_rate)``. Raises :class:`ABCError` for bad ABC."""
    return synthesize(
        midi_notes(abc_to_midi(abc)), sample_rate=sample_rate, max_seconds=max_seconds
    ), sample_rate


def audio_preview(abc: str, *, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = 20.0) -> Any:
    """An ``IPython.display.Audio`` player of the tune (the first ``max_seconds``), for notebooks and widgets.

    Example:
        >>> audio_preview("L:1/8\\nK:D\\n|:dfa afd:|")  # doctest: +SKIP
        <IPython.lib.display.Audio object>
    """
    from IPython.display import Audio

    wave, rate = abc_to_waveform(abc, sample_rate=sample_rate, max_seconds=max_seconds)
    return Audio(wave, rate=rate, normalize=False)
