"""DrumsRNN primers: the opening steps a generation continues from.

Magenta's `drums_rnn_generate --primer_drums="[(36,),(),(42,)]"` syntax (a list of tuples
of MIDI pitches, one tuple per 16th step) or the first bars of a MIDI file.
"""

import ast
from pathlib import Path

import numpy as np

from drumeval.data.drum_classes import PITCH_TO_CLASS
from drumeval.errors import DrumevalError

MAX_PRIMER_STEPS = 512


class InvalidPrimerError(DrumevalError):
    """The primer text is not a list of pitch tuples we understand."""


def primer_from_pitches(text: str) -> np.ndarray:
    """`"[(36,),(),(36, 42)]"` → event ids `[1, 0, 5]`; unknown pitches are an error."""
    try:
        steps = ast.literal_eval(text)
    except (ValueError, SyntaxError) as error:
        raise InvalidPrimerError(f"primer {text!r} is not a list like [(36,),(),(42,)]") from error
    if not isinstance(steps, list | tuple) or not steps:
        raise InvalidPrimerError(f"primer {text!r} must be a non-empty list of pitch tuples")
    if len(steps) > MAX_PRIMER_STEPS:
        raise InvalidPrimerError(f"primer has {len(steps)} steps; at most {MAX_PRIMER_STEPS}")
    event_ids = []
    for step in steps:
        pitches = step if isinstance(step, list | tuple) else (step,)
        event = 0
        for pitch in pitches:
            if not isinstance(pitch, int) or pitch not in PITCH_TO_CLASS:
                raise InvalidPrimerError(f"primer pitch {pitch!r} is not a General MIDI drum pitch")
            event |= 1 << PITCH_TO_CLASS[pitch]
        event_ids.append(event)
    return np.asarray(event_ids, dtype=np.int32)


def parse_primer(
    *, primer: str | None = None, primer_midi: str | Path | None = None, max_bars: int = 4
) -> np.ndarray | None:
    """The primer event ids from text or the first `max_bars` bars of a MIDI file (or None)."""
    if primer and primer_midi:
        raise InvalidPrimerError("give either a primer pattern or a primer MIDI file, not both")
    if primer:
        return primer_from_pitches(primer)
    if primer_midi:
        from drumeval.data.drum_classes import STEPS_PER_BAR
        from drumeval.data.midi import load_drum_track

        return load_drum_track(primer_midi).event_ids[: max_bars * STEPS_PER_BAR].astype(np.int32)
    return None
