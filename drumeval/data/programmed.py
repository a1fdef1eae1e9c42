"""Programmed 4/4 techno and house drum tracks: the stand-in for the Lakh techno-house set.

The thesis authors programmed their techno by hand at 130 BPM, and the Lakh MIDI techno/house
subset is not reachable here. So we program tracks the way a producer does in a step sequencer,
with rules instead of hands: an arrangement of 8-bar phrases (intro, build, drop, breakdown,
outro); layers that enter and leave at 4-bar boundaries; a four-on-the-floor kick everywhere but
in breakdowns; claps on 2 and 4; off-beat open hats; a crash on the first beat of each drop; a
fill on the last bar of each phrase, and snare rolls that build up into drops. Every choice is
drawn from a bank of patterns with one generator seeded by the caller, so a seed always gives the
same track and different seeds give different tracks. Output is quantized event ids (no
velocities, no humanisation), which is all the models see.
"""

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from types import MappingProxyType

import numpy as np

from drumeval.data.drum_classes import (
    CLOSED_HIHAT,
    CRASH,
    HIGH_TOM,
    KICK,
    LOW_TOM,
    MID_TOM,
    NUM_DRUM_CLASSES,
    OPEN_HIHAT,
    RIDE,
    SNARE,
    STEPS_PER_BAR,
)
from drumeval.data.encoding import rolls_to_event_ids
from drumeval.errors import DrumevalError

SECTION_NAMES: tuple[str, ...] = ("intro", "build", "drop", "breakdown", "outro")
SUBSTYLES: tuple[str, ...] = ("techno", "house")
PHRASE_BARS = 8  # fills go on the last bar of each phrase
LAYER_BLOCK_BARS = 4  # layers enter and leave every half phrase
MIN_ARRANGED_BARS = 32  # below this a track is too short for a full arrangement
_PLAN_ATTEMPTS = 4

_TOMS = [LOW_TOM, MID_TOM, HIGH_TOM]
_PLAIN_PATTERN_PROBABILITY = 0.4  # bank entry 0 is the plain pattern; keep it common
_LAYER_CHANGE_PROBABILITY = 0.8  # a block boundary sometimes passes without a change


class ProgrammedTrackError(DrumevalError):
    """The arguments of `generate_programmed_track` cannot describe a track."""


@dataclass(frozen=True)
class Section:
    """One arrangement section; bars count from 0 at the start of the track."""

    name: str
    start_bar: int
    num_bars: int

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.num_bars

    def phrase_end_bars(self) -> tuple[int, ...]:
        """Last bar of each 8-bar phrase of the section (where fills go); a section that is not a
        multiple of 8 bars ends with a shorter phrase."""
        inner = range(self.start_bar + PHRASE_BARS - 1, self.end_bar - 1, PHRASE_BARS)
        return (*inner, self.end_bar - 1)


@dataclass(frozen=True, eq=False)
class ProgrammedTrack:
    """A programmed drum track; `event_ids` is read-only int32 [bars * 16]."""

    event_ids: np.ndarray
    sections: tuple[Section, ...]
    substyle: str
    qpm: float
    seed: int

    @property
    def num_bars(self) -> int:
        return len(self.event_ids) // STEPS_PER_BAR

    def sidecar(self) -> dict:
        """What a corpus manifest needs to reproduce and describe the track (JSON-serialisable)."""
        return {
            "seed": int(self.seed),
            "substyle": self.substyle,
            "qpm": float(self.qpm),
            "bars": self.num_bars,
            "sections": [asdict(section) for section in self.sections],
        }


# ---------------------------------------------------------------- pattern banks

Hits = tuple[tuple[int, str], ...]  # (drum class, 16 steps written "x" = hit, "." = rest)


def _bar(hits: Hits) -> np.ndarray:
    """[16, 9] bool bar from readable step strings; read-only because banks are shared."""
    bar = np.zeros((STEPS_PER_BAR, NUM_DRUM_CLASSES), dtype=bool)
    for drum_class, steps in hits:
        if len(steps) != STEPS_PER_BAR:
            raise ValueError(f"pattern {steps!r} is not {STEPS_PER_BAR} steps")
        bar[:, drum_class] |= np.array([step == "x" for step in steps])
    bar.setflags(write=False)
    return bar


def _bank(drum_class: int, *patterns: str) -> tuple[np.ndarray, ...]:
    return tuple(_bar(((drum_class, steps),)) for steps in patterns)


def _multi_bank(*patterns: Hits) -> tuple[np.ndarray, ...]:
    return tuple(_bar(hits) for hits in patterns)


@dataclass(frozen=True)
class _StyleRules:
    """What distinguishes a sub-style: tempo range, pattern banks and how often optional layers
    play. Entry 0 of each bank is the plain pattern."""

    qpm_range: tuple[int, int]  # inclusive
    banks: Mapping[str, tuple[np.ndarray, ...]]  # layer name -> patterns
    ride_probability: float  # chance that a drop phrase carries the ride
    perc_probability: float  # chance that a track has a percussion (tom/conga) line
    variation_probability: float  # chance that a drop phrase re-draws a given layer


# Every open-hat pattern keeps the four off-beats; every clap pattern keeps beats 2 and 4; every
# kick pattern keeps the four beats: the variations add hits, they never remove the groove.
_TECHNO = _StyleRules(
    qpm_range=(128, 134),
    banks=MappingProxyType(
        {
            "kick": _bank(
                KICK,
                "x...x...x...x...",
                "x...x...x...x.x.",
                "x...x...x..xx...",
                "x..xx...x...x...",
                "x...x...x...x..x",
                "x...x..xx...x...",
            ),
            "clap": _bank(
                SNARE,
                "....x.......x...",
                "....x.......x..x",
                "....x.......x.x.",
                "....x..x....x...",
                "....x....x..x...",
                "....x.......xx..",
            ),
            "closed_light": _bank(
                CLOSED_HIHAT,
                "x.x.x.x.x.x.x.x.",
                "..x...x...x...x.",
                "x...x...x...x...",
                "x.x.x.x.x.x.x.xx",
            ),
            "closed_drop": _bank(
                CLOSED_HIHAT,
                "xxxxxxxxxxxxxxxx",
                "xx.xxx.xxx.xxx.x",
                "x.xxx.xxx.xxx.xx",
                "xxx.xxx.xxx.xxx.",
                ".xxx.xxx.xxx.xxx",
                "xxxxxxxxxxxxxx.x",
            ),
            "open": _bank(
                OPEN_HIHAT,
                "..x...x...x...x.",
                "..x...x...x...xx",
                "..x..xx...x..xx.",
                "..xx..x...xx..x.",
            ),
            "ride": _bank(
                RIDE,
                "x.x.x.x.x.x.x.x.",
                "..x...x...x...x.",
                "xxxxxxxxxxxxxxxx",
                "x.xxx.xxx.xxx.xx",
                "x...x...x...x...",
            ),
            "perc": _multi_bank(
                ((LOW_TOM, "...x..x.......x."),),
                ((MID_TOM, "......x..x......"), (LOW_TOM, "..............x.")),
                ((HIGH_TOM, ".x.....x.x.....x"),),
                ((LOW_TOM, "x..x..x..x..x..."),),
                ((MID_TOM, "...x...x...x...x"), (HIGH_TOM, ".........x......")),
            ),
        }
    ),
    ride_probability=0.45,
    perc_probability=0.5,
    variation_probability=0.3,
)

_HOUSE = _StyleRules(
    qpm_range=(122, 126),
    banks=MappingProxyType(
        {
            "kick": _bank(
                KICK,
                "x...x...x...x...",
                "x...x...x...x..x",
                "x...x...x..xx...",
            ),
            "clap": _bank(
                SNARE,
                "....x.......x...",
                "....x.......x..x",
                "....x..x....x...",
                "....x.......x.x.",
            ),
            "closed_light": _bank(
                CLOSED_HIHAT,
                "x.x.x.x.x.x.x.x.",
                "..x...x...x...x.",
                "x..xx..xx..xx..x",
                "x...x...x...x...",
            ),
            "closed_drop": _bank(
                CLOSED_HIHAT,
                "x..xx..xx..xx..x",
                "xx.xxx.xxx.xxx.x",
                ".x.x.x.x.x.x.x.x",
                "x.xxx.xxx.xxx.xx",
                "x..x..x.x..x..x.",
                "x.x.x.x.x.x.x.x.",
            ),
            "open": _bank(
                OPEN_HIHAT,
                "..x...x...x...x.",
                "..x...x...x...xx",
                "..x..xx...x..xx.",
                "..x...x...x.x.x.",
            ),
            "ride": _bank(
                RIDE,
                "..x...x...x...x.",
                "x.x.x.x.x.x.x.x.",
            ),
            "perc": _multi_bank(
                ((HIGH_TOM, "..x..x....x..x.."), (MID_TOM, "......x.......x.")),
                ((HIGH_TOM, "...x..x....x..x."),),
                ((MID_TOM, ".x....x..x....x."), (LOW_TOM, "...........x....")),
                ((HIGH_TOM, "x.x...x.x.x...x."), (LOW_TOM, "...x.......x....")),
                ((MID_TOM, "..x.....x.x....."),),
            ),
        }
    ),
    ride_probability=0.08,
    perc_probability=0.6,
    variation_probability=0.25,
)

_RULES: Mapping[str, _StyleRules] = MappingProxyType({"techno": _TECHNO, "house": _HOUSE})
_VARIED_LAYERS = ("kick", "clap", "closed_drop", "open", "ride", "perc")  # fixed draw order

# Fills overlay the bar (the groove, claps on 2 and 4 included, keeps playing); tom fills replace
# the percussion line from their first hit on.
_SHORT_FILLS = _multi_bank(
    ((SNARE, "............xxxx"),),
    ((SNARE, "........x..x..x."),),
    ((SNARE, "..........x.xxxx"),),
    ((HIGH_TOM, "............xx.."), (MID_TOM, "..............x."), (LOW_TOM, "...............x")),
    ((HIGH_TOM, "........xx......"), (MID_TOM, "..........xx...."), (LOW_TOM, "............xxxx")),
    (
        (SNARE, "........x.xx...."),
        (HIGH_TOM, "............x..."),
        (MID_TOM, ".............x.."),
        (LOW_TOM, "..............xx"),
    ),
)
_ROLL_FILLS = _multi_bank(
    ((SNARE, "xxxxxxxxxxxxxxxx"),),
    ((SNARE, "x.x.x.x.xxxxxxxx"),),
    ((SNARE, "x...x...x.x.xxxx"),),
    ((SNARE, "x.x.x.x.xxxxxxx."), (LOW_TOM, "...............x")),
)
_HALF_ROLL_FILLS = _multi_bank(
    ((SNARE, "........xxxxxxxx"),),
    ((SNARE, "........x.x.xxxx"),),
    ((SNARE, "........xxxx...."), (HIGH_TOM, "............xx.."), (LOW_TOM, "..............xx")),
)
_QUARTER_ROLL, _EIGHTH_ROLL = _bank(SNARE, "x...x...x...x...", "x.x.x.x.x.x.x.x.")
_CRASH_ON_ONE = _bar(((CRASH, "x..............."),))


def _pick(rng: np.random.Generator, options: Sequence[np.ndarray]) -> np.ndarray:
    """A bank entry: the plain one (entry 0) more often than the others."""
    if rng.random() < _PLAIN_PATTERN_PROBABILITY:
        return options[0]
    return options[int(rng.integers(len(options)))]


# ---------------------------------------------------------------- arrangement

# (lengths in bars, weights) per section; every length is a multiple of 4 so sections line up
# with the 4-bar layer blocks.
_SECTION_LENGTHS: Mapping[str, tuple[tuple[int, ...], tuple[float, ...]]] = MappingProxyType(
    {
        "intro": ((8, 16), (0.7, 0.3)),
        "build": ((8, 4, 16), (0.55, 0.35, 0.1)),
        "drop": ((16, 8, 32), (0.6, 0.25, 0.15)),
        "breakdown": ((8, 16, 4), (0.6, 0.25, 0.15)),
        "outro": ((8, 4, 16), (0.6, 0.25, 0.15)),
    }
)
_BODY_CYCLE = ("build", "drop", "breakdown")
# Bars that must stay free after a section so the body can still end on a drop: a build needs a
# drop (>= 8) after it, a breakdown a build and a drop (>= 4 + 8).
_ROOM_AFTER: Mapping[str, int] = MappingProxyType({"build": 8, "drop": 0, "breakdown": 12})


def _draw_length(rng: np.random.Generator, name: str, max_bars: int) -> int | None:
    """A section length that fits in `max_bars`, or None when none does."""
    lengths, weights = _SECTION_LENGTHS[name]
    fitting = [
        (length, w) for length, w in zip(lengths, weights, strict=True) if length <= max_bars
    ]
    if not fitting:
        return None
    p = np.array([w for _, w in fitting])
    return fitting[int(rng.choice(len(fitting), p=p / p.sum()))][0]


def _draw_body(rng: np.random.Generator, body_bars: int) -> tuple[list[str], list[int]]:
    """build, drop, (breakdown, build, drop)* until the next section would not leave room."""
    names: list[str] = []
    lengths: list[int] = []
    for name in itertools.cycle(_BODY_CYCLE):
        length = _draw_length(rng, name, body_bars - sum(lengths) - _ROOM_AFTER[name])
        if length is None:
            return names, lengths
        names.append(name)
        lengths.append(length)
    raise AssertionError("unreachable")  # pragma: no cover


def _short_plan(bars: int) -> tuple[list[str], list[int]]:
    """Too short for an arrangement: a drop, with a 4-bar intro and build when there is room."""
    if bars < 16:
        return ["drop"], [bars]
    return ["intro", "build", "drop"], [4, 4, bars - 8]


def _arranged_plan(rng: np.random.Generator, bars: int) -> tuple[list[str], list[int]]:
    """intro, build, drop, (breakdown, build, drop)*, outro. Bars left over after the last drop
    lengthen random drops by whole phrases; a shorter rest goes to a build, breakdown or the
    outro, whichever stays at most 16 bars."""
    edge_cap = max(PHRASE_BARS, bars * 27 // 100 // 4 * 4)
    intro = _draw_length(rng, "intro", edge_cap) or PHRASE_BARS
    outro = _draw_length(rng, "outro", edge_cap) or PHRASE_BARS
    body_names, body_lengths = _draw_body(rng, bars - intro - outro)
    names = ["intro", *body_names, "outro"]
    lengths = [intro, *body_lengths, outro]
    left_over = bars - sum(lengths)
    drops = [i for i, name in enumerate(names) if name == "drop"]
    while left_over >= PHRASE_BARS:
        lengths[drops[int(rng.integers(len(drops)))]] += PHRASE_BARS
        left_over -= PHRASE_BARS
    if left_over:
        takers = [
            i
            for i, name in enumerate(names)
            if name in ("build", "breakdown", "outro") and lengths[i] + left_over <= 16
        ] or [len(names) - 1]
        lengths[takers[int(rng.integers(len(takers)))]] += left_over
    return names, lengths


def plan_sections(rng: np.random.Generator, bars: int) -> tuple[Section, ...]:
    """A random arrangement covering `bars` contiguously; every section is a multiple of 4 bars
    when `bars` is. A plan is redrawn (a few times) when it has no breakdown, because the
    drop-breakdown contrast is what makes the tracks evolve."""
    if bars < MIN_ARRANGED_BARS:
        names, lengths = _short_plan(bars)
    else:
        for _ in range(_PLAN_ATTEMPTS):
            names, lengths = _arranged_plan(rng, bars)
            if "breakdown" in names:
                break
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return tuple(
        Section(name, int(start), int(length))
        for name, start, length in zip(names, starts, lengths, strict=True)
    )


# ---------------------------------------------------------------- layers per section


@dataclass(frozen=True)
class _TrackStyle:
    """Choices made once per track so that its sections sound like one piece."""

    rules: _StyleRules
    groove: Mapping[str, np.ndarray]  # layer name -> [16, 9] pattern
    uses_perc: bool


LayerChange = tuple[bool, str]  # (True = add / False = remove, layer name)


def _evolve(
    rng: np.random.Generator,
    start: Sequence[str],
    changes: Sequence[LayerChange],
    num_blocks: int,
) -> list[frozenset[str]]:
    """Active layers per 4-bar block: at each block boundary the next change usually happens."""
    active = set(start)
    pending = list(changes)
    schedule = [frozenset(active)]
    for _ in range(1, num_blocks):
        if pending and rng.random() < _LAYER_CHANGE_PROBABILITY:
            add, name = pending.pop(0)
            if add:
                active.add(name)
            else:
                active.discard(name)
            if "closed_drop" in active:  # the busy hats replace the light ones
                active.discard("closed_light")
        schedule.append(frozenset(active))
    return schedule


def _shuffled(rng: np.random.Generator, items: Sequence[str]) -> list[str]:
    return [items[i] for i in rng.permutation(len(items))]


def _intro_plan(rng: np.random.Generator, style: _TrackStyle) -> tuple[list, list]:
    """Starts sparse (kick, maybe light hats) and adds a layer per block."""
    start = ["kick"] + (["closed_light"] if rng.random() < 0.5 else [])
    extras = ["open"] + (["perc"] if style.uses_perc else [])
    adds = ([] if "closed_light" in start else ["closed_light"]) + _shuffled(rng, extras)
    return start, [(True, name) for name in [*adds, "clap"]]


def _build_plan(rng: np.random.Generator, style: _TrackStyle) -> tuple[list, list]:
    """Kick, clap and light hats, then open hats, busy hats and percussion pile up."""
    start = ["kick", "clap", "closed_light"] + (["open"] if rng.random() < 0.4 else [])
    adds = ([] if "open" in start else ["open"]) + ["closed_drop"]
    adds += ["perc"] if style.uses_perc else []
    return start, [(True, name) for name in adds]


_BREAKDOWN_STARTS: tuple[tuple[str, ...], ...] = (
    ("closed_light",),
    ("ride",),
    ("clap",),
    ("closed_light", "clap"),
    ("open",),
    ("ride", "clap"),
    ("perc",),
    ("closed_light", "perc"),
)
_BREAKDOWN_ADDS = ("closed_light", "clap", "open", "ride")


def _breakdown_plan(rng: np.random.Generator, style: _TrackStyle) -> tuple[list, list]:
    """No kick: one or two thin layers, maybe one more in the second half."""
    start = list(_BREAKDOWN_STARTS[int(rng.integers(len(_BREAKDOWN_STARTS)))])
    adds = [name for name in _shuffled(rng, _BREAKDOWN_ADDS) if name not in start]
    return start, [(True, adds[0])]


def _outro_plan(rng: np.random.Generator, style: _TrackStyle) -> tuple[list, list]:
    """Strips layers block by block down to the kick."""
    start = ["kick", "clap", "closed_light", "open"] + (["perc"] if style.uses_perc else [])
    removals = (["perc"] if style.uses_perc else []) + _shuffled(rng, ["open", "clap"])
    return start, [(False, name) for name in [*removals, "closed_light"]]


_LAYER_PLANS = MappingProxyType(
    {
        "intro": _intro_plan,
        "build": _build_plan,
        "breakdown": _breakdown_plan,
        "outro": _outro_plan,
    }
)


def _bar_pattern(groove: Mapping[str, np.ndarray], layers: frozenset[str]) -> np.ndarray:
    """[16, 9] bar of the active layers; an open hat chokes the closed hat on its step."""
    bar = np.zeros((STEPS_PER_BAR, NUM_DRUM_CLASSES), dtype=bool)
    for name in layers:
        bar |= groove[name]
    bar[:, CLOSED_HIHAT] &= ~bar[:, OPEN_HIHAT]
    return bar


def _drop_phrase(
    rng: np.random.Generator, style: _TrackStyle
) -> tuple[dict[str, np.ndarray], frozenset[str]]:
    """A drop phrase: the full groove, with some layers re-drawn and the ride sometimes on."""
    groove = dict(style.groove)
    for name in _VARIED_LAYERS:
        if rng.random() < style.rules.variation_probability:
            groove[name] = _pick(rng, style.rules.banks[name])
    layers = {"kick", "clap", "closed_drop", "open"}
    if style.uses_perc:
        layers.add("perc")
    if rng.random() < style.rules.ride_probability:
        layers.add("ride")
    return groove, frozenset(layers)


def _program_drop(
    rng: np.random.Generator, roll: np.ndarray, section: Section, style: _TrackStyle
) -> None:
    for phrase, start in enumerate(range(section.start_bar, section.end_bar, PHRASE_BARS)):
        groove, layers = _drop_phrase(rng, style)
        roll[start : min(start + PHRASE_BARS, section.end_bar)] = _bar_pattern(groove, layers)
        if phrase == 0 or rng.random() < 0.5:
            roll[start] |= _CRASH_ON_ONE


def _program_layers(
    rng: np.random.Generator, roll: np.ndarray, section: Section, style: _TrackStyle
) -> None:
    starts = range(section.start_bar, section.end_bar, LAYER_BLOCK_BARS)
    start_layers, changes = _LAYER_PLANS[section.name](rng, style)
    schedule = _evolve(rng, start_layers, changes, len(starts))
    for start, layers in zip(starts, schedule, strict=True):
        end = min(start + LAYER_BLOCK_BARS, section.end_bar)
        roll[start:end] = _bar_pattern(style.groove, layers)
    if section.name == "outro" and rng.random() < 0.5:
        roll[section.start_bar] |= _CRASH_ON_ONE


# ---------------------------------------------------------------- fills


def _overlay_fill(roll: np.ndarray, bar: int, fill: np.ndarray) -> None:
    """Adds a fill to a bar; from the fill's first hit on, toms play the fill only."""
    first_step = int(np.argmax(fill.any(axis=1)))
    roll[bar, first_step:, _TOMS] = False
    roll[bar] |= fill


def _build_up(rng: np.random.Generator, roll: np.ndarray, section: Section) -> None:
    """Snare roll on the last bar of a build, often led in by 8ths (and quarters before them) so
    that the density climbs bar by bar into the drop."""
    last = section.end_bar - 1
    if rng.random() < (0.8 if section.num_bars >= PHRASE_BARS else 0.5):
        _overlay_fill(roll, last, _pick(rng, _ROLL_FILLS[:2]))  # densest: they follow 8ths
        _overlay_fill(roll, last - 1, _EIGHTH_ROLL)
        if section.num_bars >= PHRASE_BARS and rng.random() < 0.6:
            _overlay_fill(roll, last - 2, _QUARTER_ROLL)
    else:
        _overlay_fill(roll, last, _pick(rng, _ROLL_FILLS))


def _program_fills(
    rng: np.random.Generator, roll: np.ndarray, section: Section, track_bars: int
) -> None:
    """A fill on the last bar of every phrase except the track's final bar."""
    for bar in section.phrase_end_bars():
        if bar == track_bars - 1:
            continue
        section_end = bar == section.end_bar - 1
        if section_end and section.name == "build":
            _build_up(rng, roll, section)
        elif section_end and section.name == "breakdown":
            _overlay_fill(roll, bar, _pick(rng, _HALF_ROLL_FILLS + _ROLL_FILLS))
        else:
            _overlay_fill(roll, bar, _pick(rng, _SHORT_FILLS))


# ---------------------------------------------------------------- public entry point


def _check_arguments(seed: int, substyle: str | None, bars: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ProgrammedTrackError(f"seed must be a non-negative integer, got {seed!r}")
    if substyle is not None and substyle not in SUBSTYLES:
        raise ProgrammedTrackError(
            f"unknown substyle {substyle!r}: use one of {', '.join(SUBSTYLES)} or None"
        )
    if isinstance(bars, bool) or not isinstance(bars, int | np.integer) or bars < 1:
        raise ProgrammedTrackError(f"bars must be a positive integer, got {bars!r}")


def generate_programmed_track(
    seed: int, *, substyle: str | None = None, bars: int = 60
) -> ProgrammedTrack:
    """A programmed 4/4 techno or house drum track of `bars` bars of 16th notes.

    `substyle=None` draws "techno" (128-134 qpm, 16th hats, rides) or "house" (122-126 qpm,
    shuffled hat patterns, congas on the toms) from the seed. The same seed and arguments always
    give the same track.
    """
    _check_arguments(seed, substyle, bars)
    rng = np.random.default_rng(int(seed))
    drawn = SUBSTYLES[int(rng.integers(len(SUBSTYLES)))]  # drawn even when given: same stream
    style_name = substyle or drawn
    rules = _RULES[style_name]
    qpm = float(rng.integers(rules.qpm_range[0], rules.qpm_range[1] + 1))
    sections = plan_sections(rng, int(bars))
    style = _TrackStyle(
        rules=rules,
        groove=MappingProxyType({name: _pick(rng, bank) for name, bank in rules.banks.items()}),
        uses_perc=bool(rng.random() < rules.perc_probability),
    )
    roll = np.zeros((int(bars), STEPS_PER_BAR, NUM_DRUM_CLASSES), dtype=bool)
    for section in sections:
        if section.name == "drop":
            _program_drop(rng, roll, section, style)
        else:
            _program_layers(rng, roll, section, style)
        _program_fills(rng, roll, section, int(bars))
    event_ids = rolls_to_event_ids(roll.reshape(-1, NUM_DRUM_CLASSES))
    event_ids.setflags(write=False)
    return ProgrammedTrack(event_ids, sections, style_name, qpm, int(seed))
