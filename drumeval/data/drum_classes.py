"""The 9 drum classes shared by DrumsRNN (`drum_kit`) and MusicVAE (`cat-drums_2bar_small`).

Both Magenta models use note-seq's `DEFAULT_DRUM_TYPE_PITCHES` (MusicVAE's
`REDUCED_DRUM_PITCH_CLASSES` is the same list). note-seq ≥ 0.0.4 already maps the
Groove MIDI Dataset's hi-hat edge pitches 22 → closed and 26 → open hi-hat; we keep
them explicit here so the mapping does not depend on the note-seq version.
"""

from types import MappingProxyType

DRUM_CLASS_NAMES: tuple[str, ...] = (
    "kick",
    "snare",
    "closed_hihat",
    "open_hihat",
    "low_tom",
    "mid_tom",
    "high_tom",
    "crash",
    "ride",
)
NUM_DRUM_CLASSES = len(DRUM_CLASS_NAMES)
NUM_DRUM_EVENTS = 2**NUM_DRUM_CLASSES  # 512 multi-drum events: a bit per class

STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16  # 4/4 only
DEFAULT_BARS = 60
DEFAULT_STEPS = DEFAULT_BARS * STEPS_PER_BAR  # 960 steps = 2 minutes at 120 qpm
OUTPUT_QPM = 120.0

DRUM_TYPE_PITCHES: tuple[tuple[int, ...], ...] = (
    (36, 35),
    (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),
    (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),
    (46, 67, 72, 74, 79, 81, 26),
    (45, 29, 41, 43, 61, 64, 84),
    (48, 47, 60, 63, 77, 86, 87),
    (50, 30, 62, 76, 83),
    (49, 52, 55, 57, 58),
    (51, 53, 59, 82),
)

PITCH_TO_CLASS: MappingProxyType[int, int] = MappingProxyType(
    {pitch: cls for cls, pitches in enumerate(DRUM_TYPE_PITCHES) for pitch in pitches}
)

# Pitch written for each class on output: the first (canonical GM) pitch of the class.
CLASS_TO_PITCH: tuple[int, ...] = tuple(pitches[0] for pitches in DRUM_TYPE_PITCHES)

KICK, SNARE, CLOSED_HIHAT, OPEN_HIHAT, LOW_TOM, MID_TOM, HIGH_TOM, CRASH, RIDE = range(9)
