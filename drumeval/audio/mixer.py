"""The fast engine's core: drum notes → which cached one-shot plays where, and the mix.

FluidSynth renders a drum note as a sample through a volume envelope, panned, plus a
shared reverb. Every note of a 2-minute clip is one of few (key, velocity layer, note
length) sounds, so the fast engine renders each such sound once (`oneshots`) and adds
copies at the onsets. What FluidSynth does between notes is replayed here:

- velocity: within a sample layer a lower velocity only attenuates, by the SoundFont
  default modulator's 40·log10(127/v) dB (amplitude (v/127)²; measured on FluidR3 hi-hats
  within 0.05 dB), so a one-shot rendered at the top of its velocity bucket is scaled by
  (v/top)²; buckets are `VELOCITY_STEP` wide and never straddle a sound-font layer;
- note length: the note-off starts the zone's release, so the one-shot is rendered with
  the note's length, quantised to `DURATIONS_PER_OCTAVE` steps per octave; a repeated
  key releases the earlier note (FluidSynth releases a voice on the same note);
- timing: FluidSynth starts a note at the first 64-frame block boundary at or after
  its time (measured: onsets land on multiples of 64 frames), so hits do too;
- exclusive classes: a note kills the sounding notes of its class (an open hi-hat cut
  by the closed one) with FluidSynth's kill release (−200 timecents from full scale
  to −96 dB, ≈ 108 dB/s), never before `MIN_NOTE_SECONDS` after their onset.

Known differences (see tests/audio/test_fast_render.py for the measured tolerances):
the kill fade also fades the killed note's reverb, which in FluidSynth rings on (from
0.2 s after a choke FluidSynth's hat is 5.7 dB louder than ours, both ≥ 24 dB under
an unchoked hat); within a velocity bucket
the SoundFont's velocity→filter cutoff is the bucket top's (≤ 150 cents apart);
FluidSynth's reverb is shared and slowly modulated, so waveforms differ (cymbals
decorrelate) while band envelopes and loudness agree.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from drumeval.audio.sf2 import KitZones

VELOCITY_STEP = 8
DURATION_ANCHOR_S = 0.125  # a 16th note at 120 qpm (every generated track) is exact
DURATIONS_PER_OCTAVE = 4
MAX_DURATION_S = 8.0  # longer notes outlast every FluidR3 drum sample
MIN_NOTE_SECONDS = 0.010  # FluidSynth's synth.min-note-length default
KILL_RELEASE_S = 2.0 ** (-200 / 1200)  # FluidSynth's exclusive-class kill release
PEAK_ATTENUATION_DB = 96.0  # an envelope release runs from 0 to −96 dB
SYNTH_BLOCK = 64  # FluidSynth's FLUID_BUFSIZE: events take effect at block starts


class ShotKey(NamedTuple):
    """One sound of a kit: key, velocity it is rendered at, note length in ms."""

    pitch: int
    velocity: int
    duration_ms: int


@dataclass(frozen=True)
class HitPlan:
    """Hits as parallel arrays; `choke` is the sample a hit is killed at (−1: never)."""

    keys: tuple[ShotKey, ...]
    key_index: np.ndarray  # int64 [hits] into `keys`
    onset: np.ndarray  # int64 [hits], samples
    gain: np.ndarray  # float32 [hits]
    choke: np.ndarray  # int64 [hits]


def velocity_bucket_top(velocity: int, layer_starts: Sequence[int] = ()) -> int:
    """Highest velocity of `velocity`'s bucket (where the one-shot is rendered)."""
    starts = sorted({*range(VELOCITY_STEP + 1, 128, VELOCITY_STEP), *layer_starts})
    return next((start - 1 for start in starts if start > velocity), 127)


def quantise_duration_ms(seconds: float) -> int:
    """Note length on a log grid through `DURATION_ANCHOR_S`, in whole milliseconds."""
    seconds = min(max(seconds, MIN_NOTE_SECONDS), MAX_DURATION_S)
    step = round(DURATIONS_PER_OCTAVE * math.log2(seconds / DURATION_ANCHOR_S))
    return round(1000 * DURATION_ANCHOR_S * 2.0 ** (step / DURATIONS_PER_OCTAVE))


def plan_hits(
    notes: Sequence[tuple[float, float, int, int]], *, rate: int, zones: KitZones, length: int
) -> HitPlan:
    """Which one-shot starts where, how loud, and where it is cut off.

    `notes` are (start_s, end_s, pitch, velocity); notes starting at or after `length`
    samples are dropped. Simultaneous notes are ordered by pitch, then velocity, as
    pretty_midi writes them (the later one wins an exclusive class).
    """
    ordered = sorted((start, pitch, velocity, end) for start, end, pitch, velocity in notes)
    ordered = [note for note in ordered if _block_start(note[0], rate) < length]
    next_same_key: dict[int, float] = {}
    next_same_class: dict[int, float] = {}
    keys: dict[ShotKey, int] = {}
    rows = []
    for start, pitch, velocity, end in reversed(ordered):
        velocity = min(max(velocity, 1), 127)
        note_off = min(end, next_same_key.get(pitch, math.inf))
        top = velocity_bucket_top(velocity, zones.velocity_splits.get(pitch, ()))
        key = ShotKey(pitch, top, quantise_duration_ms(note_off - start))
        exclusive = zones.exclusive_class.get(pitch, 0)
        killer = next_same_class.get(exclusive, math.inf) if exclusive else math.inf
        choke = -1
        if math.isfinite(killer):
            choke = _block_start(max(killer, start + MIN_NOTE_SECONDS), rate)
        onset = _block_start(start, rate)
        rows.append((keys.setdefault(key, len(keys)), onset, (velocity / top) ** 2, choke))
        next_same_key[pitch] = start
        if exclusive:
            next_same_class[exclusive] = start
    columns = list(zip(*reversed(rows), strict=True)) or [(), (), (), ()]
    return HitPlan(
        keys=tuple(keys),
        key_index=np.asarray(columns[0], dtype=np.int64),
        onset=np.asarray(columns[1], dtype=np.int64),
        gain=np.asarray(columns[2], dtype=np.float32),
        choke=np.asarray(columns[3], dtype=np.int64),
    )


def _block_start(seconds: float, rate: int) -> int:
    """The first synth block boundary at or after `seconds`, in samples."""
    return -(-round(seconds * rate) // SYNTH_BLOCK) * SYNTH_BLOCK


def kill_fade(rate: int) -> np.ndarray:
    """Gain curve of a killed note from the kill on: linear in dB down to −96 dB."""
    samples = round(KILL_RELEASE_S * rate)
    return (10.0 ** (-PEAK_ATTENUATION_DB / 20.0 * np.arange(samples) / samples)).astype(np.float32)


def mix(
    plan: HitPlan, shots: Mapping[ShotKey, np.ndarray], *, length: int, rate: int
) -> np.ndarray:
    """Float32 [length, channels] sum of every hit's one-shot (tails past `length` cut).

    Hits are added grouped by (one-shot, gain), so each scaled copy is made once.
    """
    channels = next(iter(shots.values())).shape[1] if shots else 2
    longest = max((shot.shape[0] for shot in shots.values()), default=0)
    out = np.zeros((length + longest, channels), dtype=np.float32)
    fade = kill_fade(rate)[:, None]
    order = np.lexsort((plan.gain, plan.key_index))
    scaled, current = np.zeros((0, channels), dtype=np.float32), None
    for hit in order:
        group = (int(plan.key_index[hit]), float(plan.gain[hit]))
        if group != current:
            shot = shots[plan.keys[group[0]]]
            scaled = shot if group[1] == 1.0 else shot * np.float32(group[1])
            current = group
        onset, choke = int(plan.onset[hit]), int(plan.choke[hit])
        if choke < 0:
            out[onset : onset + scaled.shape[0]] += scaled
            continue
        head = scaled[: choke - onset]
        out[onset : onset + head.shape[0]] += head
        tail = scaled[choke - onset : choke - onset + fade.shape[0]]
        out[choke : choke + tail.shape[0]] += tail * fade[: tail.shape[0]]
    return out[:length]
