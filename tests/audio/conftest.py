"""Drum MIDI built in code for the audio tests (no files from disk)."""

import pretty_midi
import pytest

QPM = 120.0
STEP_S = 60.0 / QPM / 4


def simple_beat(bars: int, *, qpm: float = QPM, program: int = 0) -> pretty_midi.PrettyMIDI:
    """Kick on quarters, snare on 2 and 4, closed hi-hat on 8ths, a crash every 4 bars."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    drums = pretty_midi.Instrument(program=program, is_drum=True)
    step_s = 60.0 / qpm / 4
    for step in range(bars * 16):
        start = step * step_s
        pitches = [42] if step % 2 == 0 else []
        if step % 4 == 0:
            pitches.append(36)
        if step % 8 == 4:
            pitches.append(38)
        if step % 64 == 0:
            pitches.append(49)
        drums.notes.extend(
            pretty_midi.Note(velocity=100, pitch=p, start=start, end=start + step_s)
            for p in pitches
        )
    midi.instruments.append(drums)
    return midi


@pytest.fixture(scope="module")
def audio_cache(tmp_path_factory) -> object:
    """One cache folder per test module."""
    return tmp_path_factory.mktemp("audio-cache")
