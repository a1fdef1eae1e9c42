"""`render()`: MIDI → level-matched, browser-ready audio clip, rendered once and cached.

Pipeline: validate the MIDI and keep its drum notes → synthesise them with the kit →
cut to the musical length → fades → loudness normalisation under a true-peak ceiling →
encode → content-addressed cache.

Two engines synthesise (`RenderSettings.engine`): "fast" (default) mixes one-shots that
FluidSynth rendered once per kit (`oneshots`, `mixer`: ~50 ms of numpy per minute of
drums once they are cached); "fluidsynth" runs the FluidSynth program on the whole
clip (~0.5–1 s per minute). They sound the same within the tolerances of
tests/audio/test_fast_render.py.

Length rule (deterministic, so clips of equal bars last equally long): a clip ends at
the end of the bar that holds the last drum onset, plus `tail_s` of FluidSynth's reverb
tail (default 0: the tail is cut and the 50 ms fade-out closes it). 60 bars at 120 qpm
therefore last exactly 120 s. With an excerpt (`length_s`), the clip is exactly
[start_s, start_s + length_s) of the rendering, reverb tail included, silence after it.
"""

import dataclasses
import hashlib
import io
import json
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from drumeval.audio.encode import check_format, encode, partial_path
from drumeval.audio.kits import DRUM_BANK, check_kit_available, kit_program
from drumeval.audio.loudness import (
    LevelPlan,
    cut,
    db_to_gain,
    fade_in_place,
    measure_loudness,
    plan_level,
    true_peak_dbtp,
)
from drumeval.audio.mixer import mix, plan_hits
from drumeval.audio.oneshots import load_oneshots
from drumeval.audio.sf2 import kit_zones
from drumeval.audio.synth import SYNTH_GAIN, find_soundfont, synthesize
from drumeval.data.drum_classes import PITCH_TO_CLASS, STEPS_PER_QUARTER
from drumeval.errors import AudioError, FileTooLargeError, NoDrumsError
from drumeval.paths import audio_cache_dir
from drumeval.progress import ProgressCallback, no_progress

if TYPE_CHECKING:
    import pretty_midi

MidiInput = Union[str, Path, bytes, "pretty_midi.PrettyMIDI"]

MAX_CLIP_SECONDS = 600.0  # 10 minutes: longer inputs are refused before rendering
CACHE_ENV = "DRUMEVAL_CACHE_DIR"  # cache root; audio goes to its `audio/` folder
SAMPLE_RATES = (22050, 32000, 44100, 48000)
ENGINES = ("fast", "fluidsynth")
_CACHE_VERSION = 3  # bump when the pipeline changes what a given key renders to
_BAR_EPSILON_BEATS = 1e-6


@dataclass(frozen=True)
class RenderSettings:
    """Everything besides the MIDI and the kit that decides how a clip sounds."""

    sample_rate: int = 48000  # Opus's own rate: no resampling in the encoder
    target_lufs: float = -23.0
    max_true_peak_dbtp: float = -1.0
    fade_in_s: float = 0.01
    fade_out_s: float = 0.05
    start_s: float = 0.0
    length_s: float | None = None  # None: up to the end of the last bar (+ tail_s)
    tail_s: float = 0.0
    format: str = "opus"
    engine: str = "fast"

    def __post_init__(self) -> None:
        check_format(self.format)
        if self.engine not in ENGINES:
            raise AudioError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.sample_rate not in SAMPLE_RATES:
            raise AudioError(f"sample rate {self.sample_rate} Hz; choose one of {SAMPLE_RATES}")
        if not -70.0 <= self.target_lufs <= 0.0:
            raise AudioError(f"target loudness {self.target_lufs} LUFS is outside -70..0")
        if self.max_true_peak_dbtp > 0.0:
            raise AudioError(f"true-peak ceiling {self.max_true_peak_dbtp} dBTP would clip")
        if min(self.fade_in_s, self.fade_out_s, self.start_s, self.tail_s) < 0:
            raise AudioError("fades, start_s and tail_s must not be negative")
        if self.length_s is not None and not 0 < self.length_s <= MAX_CLIP_SECONDS:
            raise AudioError(f"excerpt length must be in (0, {MAX_CLIP_SECONDS:g}] seconds")


@dataclass(frozen=True)
class RenderedClip:
    """A rendered, normalised, encoded clip; `path.stem == sha256` (the cache key)."""

    path: Path
    format: str
    duration_s: float
    loudness_lufs: float
    true_peak_dbtp: float
    kit: str
    sha256: str
    peak_limited: bool = False  # the ceiling forced a level below the target
    max_loudness_lufs: float = math.inf  # loudest target reachable under the ceiling
    engine: str = "fast"  # which engine synthesised it (RenderSettings.engine)
    from_cache: bool = False

    def to_json(self) -> dict[str, Any]:
        """Sidecar fields (the path is rebuilt from the cache dir on read)."""
        fields = dataclasses.asdict(self)
        del fields["path"], fields["from_cache"]
        return fields


@dataclass(frozen=True)
class DrumScore:
    """Drum notes ready for FluidSynth: (start_s, end_s, pitch, velocity) and the grid."""

    notes: tuple[tuple[float, float, int, int], ...]
    tempos: tuple[tuple[float, float], ...]  # (time_s, qpm), first at 0
    quarters_per_bar: float


def resolve_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Argument, else $DRUMEVAL_CACHE_DIR/audio, else the data home's audio cache."""
    if cache_dir is not None:
        return Path(cache_dir)
    root = os.environ.get(CACHE_ENV)
    return Path(root) / "audio" if root else audio_cache_dir()


def seconds_to_beats(seconds: float, tempos: Sequence[tuple[float, float]]) -> float:
    """Quarter-note position of a time under a (time_s, qpm) tempo map."""
    beats, last_time, qpm = 0.0, 0.0, tempos[0][1]
    for time_s, tempo_qpm in tempos[1:]:
        if time_s >= seconds:
            break
        beats += (time_s - last_time) * qpm / 60.0
        last_time, qpm = time_s, tempo_qpm
    return beats + (seconds - last_time) * qpm / 60.0


def beats_to_seconds(beats: float, tempos: Sequence[tuple[float, float]]) -> float:
    """Inverse of `seconds_to_beats`."""
    elapsed_beats, last_time, qpm = 0.0, 0.0, tempos[0][1]
    for time_s, tempo_qpm in tempos[1:]:
        segment = (time_s - last_time) * qpm / 60.0
        if elapsed_beats + segment >= beats:
            break
        elapsed_beats += segment
        last_time, qpm = time_s, tempo_qpm
    return last_time + (beats - elapsed_beats) * 60.0 / qpm


def musical_end_s(score: DrumScore) -> float:
    """End of the bar that holds the last onset: where the clip stops (see module doc)."""
    last_onset = max(start for start, *_ in score.notes)
    beats = seconds_to_beats(last_onset, score.tempos)
    bars = math.floor(beats / score.quarters_per_bar + _BAR_EPSILON_BEATS) + 1
    return beats_to_seconds(bars * score.quarters_per_bar, score.tempos)


def _score_from_sequence(sequence) -> DrumScore:
    from drumeval.data.midi import drum_notes_only

    drums = drum_notes_only(sequence)
    tempos = sorted((tempo.time, tempo.qpm) for tempo in sequence.tempos) or [(0.0, 120.0)]
    signatures = sorted(sequence.time_signatures, key=lambda signature: signature.time)
    quarters_per_bar = (
        signatures[0].numerator * 4 / signatures[0].denominator if signatures else 4.0
    )
    notes = tuple(
        (note.start_time, note.end_time, note.pitch, note.velocity) for note in drums.notes
    )
    return DrumScore(notes, _tempos_from_zero(tempos), quarters_per_bar)


def _score_from_pretty_midi(midi: "pretty_midi.PrettyMIDI") -> DrumScore:
    notes = tuple(
        (note.start, note.end, note.pitch, note.velocity)
        for instrument in midi.instruments
        if instrument.is_drum
        for note in instrument.notes
        if note.pitch in PITCH_TO_CLASS
    )
    if not notes:
        raise NoDrumsError("no drum notes: the MIDI has no General MIDI drum hits on channel 10")
    times, qpms = midi.get_tempo_changes()
    signatures = midi.time_signature_changes
    quarters_per_bar = (
        signatures[0].numerator * 4 / signatures[0].denominator if signatures else 4.0
    )
    tempos = [(float(t), float(q)) for t, q in zip(times, qpms, strict=True)] or [(0.0, 120.0)]
    return DrumScore(tuple(sorted(notes)), _tempos_from_zero(tempos), quarters_per_bar)


def _tempos_from_zero(tempos: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    if tempos[0][0] > 0:
        tempos = [(0.0, 120.0), *tempos]
    return tuple(tempos)


def load_score(midi: MidiInput) -> tuple[bytes, DrumScore]:
    """(bytes identifying the input, its drum score); validates files and bytes safely.

    A PrettyMIDI object is identified by its drum score (writing it out as a MIDI file
    to hash would cost more than the fast engine's whole mix).
    """
    from drumeval.data.midi import midi_bytes_to_sequence, read_midi

    if isinstance(midi, (str, Path)):
        sequence = read_midi(midi)  # first: a missing or bad file gets its InvalidMidiError
        return Path(midi).read_bytes(), _score_from_sequence(sequence)
    if isinstance(midi, bytes):
        return midi, _score_from_sequence(midi_bytes_to_sequence(midi))
    score = _score_from_pretty_midi(midi)
    return repr(score).encode(), score


def score_to_midi_bytes(score: DrumScore, program: int) -> bytes:
    """The score as a one-instrument drum MIDI file with the kit's program change."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=score.tempos[0][1])
    drums = pretty_midi.Instrument(program=program, is_drum=True, name="drums")
    drums.notes.extend(
        pretty_midi.Note(velocity=velocity, pitch=pitch, start=start, end=max(end, start + 1e-3))
        for start, end, pitch, velocity in score.notes
    )
    midi.instruments.append(drums)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def cache_key(midi_bytes: bytes, kit: str, settings: RenderSettings, soundfont: Path) -> str:
    """sha256 over everything that decides the output file's bytes."""
    identity = {
        "version": _CACHE_VERSION,
        "midi": hashlib.sha256(midi_bytes).hexdigest(),
        "kit": kit,
        "program": kit_program(kit),
        "settings": dataclasses.asdict(settings),
        "soundfont": [soundfont.name, soundfont.stat().st_size],
        "synth_gain": SYNTH_GAIN,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _clip_window(score: DrumScore, settings: RenderSettings) -> tuple[float, float]:
    """(start_s, length_s) of the clip in the rendering, checked against the caps."""
    end_s = musical_end_s(score)
    if end_s > MAX_CLIP_SECONDS:
        raise FileTooLargeError(
            f"the drums last {end_s / 60:.1f} minutes; rendering is capped at "
            f"{MAX_CLIP_SECONDS / 60:g} minutes (use an excerpt: start_s, length_s)"
        )
    if settings.length_s is None:
        return settings.start_s, end_s + settings.tail_s - settings.start_s
    if settings.start_s >= end_s:
        raise AudioError(
            f"excerpt starts at {settings.start_s:g} s, after the music ends ({end_s:.2f} s)"
        )
    return settings.start_s, settings.length_s


def common_target_lufs(clips: Sequence[RenderedClip], *, target_lufs: float = -23.0) -> float:
    """The loudest target ≤ `target_lufs` at which none of `clips` needs peak limiting.

    Level matching a listening test means one loudness for every clip; a clip with a
    high crest factor (sparse, dynamic jazz) hits the true-peak ceiling first, so a
    study renders once, takes this target, and renders again (cheap: cached by key).
    """
    return min([target_lufs, *(clip.max_loudness_lufs for clip in clips)])


def process_samples(
    samples: np.ndarray, rate: int, settings: RenderSettings, *, start_s: float, length_s: float
) -> tuple[np.ndarray, LevelPlan]:
    """Cut, fade and level-match rendered samples: (samples, the level plan applied).

    Works in place on `samples` where the cut is a view of them (no copies of a 2-minute
    clip: each costs as much as the whole mix).
    """
    clip = cut(samples, rate, start_s=start_s, length_s=length_s)
    fade_in_place(clip, rate, fade_in_s=settings.fade_in_s, fade_out_s=settings.fade_out_s)
    plan = plan_level(
        measure_loudness(clip, rate),
        true_peak_dbtp(clip),
        target_lufs=settings.target_lufs,
        max_true_peak_dbtp=settings.max_true_peak_dbtp,
    )
    clip *= np.float32(db_to_gain(plan.gain_db))
    if max(np.max(clip, initial=0.0), -np.min(clip, initial=0.0)) >= 1.0:
        raise AudioError("normalised clip would clip (sample peak ≥ 0 dBFS); lower the target")
    return clip, plan


def synthesize_fast(
    score: DrumScore,
    *,
    kit: str,
    soundfont: Path,
    sample_rate: int,
    length: int,
    cache_dir: Path,
) -> np.ndarray:
    """The first `length` samples of the score mixed from the kit's cached one-shots."""
    zones = kit_zones(soundfont, DRUM_BANK, kit_program(kit))
    plan = plan_hits(score.notes, rate=sample_rate, zones=zones, length=length)
    shots = load_oneshots(
        plan.keys, kit=kit, soundfont=soundfont, sample_rate=sample_rate, cache_dir=cache_dir
    )
    return mix(plan, shots, length=length, rate=sample_rate)


def _read_cached(audio_path: Path, sidecar: Path) -> RenderedClip | None:
    if not (audio_path.is_file() and sidecar.is_file()):
        return None
    try:
        fields = json.loads(sidecar.read_text())
        return RenderedClip(path=audio_path, from_cache=True, **fields)
    except (ValueError, TypeError):
        return None  # a damaged sidecar: render again


def render(
    midi: MidiInput,
    *,
    kit: str = "standard",
    settings: RenderSettings = RenderSettings(),
    cache_dir: Path | None = None,
    soundfont: str | Path | None = None,
) -> RenderedClip:
    """Render drums to a level-matched clip in the cache; a second call is a cache hit.

    `midi` is a file path, raw MIDI bytes (both validated by drumeval.data.midi) or a
    PrettyMIDI object; only drum notes are rendered, with `kit` whatever the file's own
    program changes say. The file is named by its cache key, which reveals nothing about
    where the MIDI came from.
    """
    soundfont_path = find_soundfont(soundfont)
    program = check_kit_available(kit, soundfont_path)
    midi_bytes, score = load_score(midi)
    key = cache_key(midi_bytes, kit, settings, soundfont_path)
    directory = resolve_cache_dir(cache_dir)
    audio_path = directory / f"{key}.{settings.format}"
    sidecar = directory / f"{key}.json"
    cached = _read_cached(audio_path, sidecar)
    if cached is not None:
        return cached
    start_s, length_s = _clip_window(score, settings)
    if settings.engine == "fluidsynth":
        samples = synthesize(
            score_to_midi_bytes(score, program),
            soundfont=soundfont_path,
            sample_rate=settings.sample_rate,
        )
    else:
        samples = synthesize_fast(
            score,
            kit=kit,
            soundfont=soundfont_path,
            sample_rate=settings.sample_rate,
            length=round((start_s + length_s) * settings.sample_rate),
            cache_dir=directory,
        )
    clip, plan = process_samples(
        samples, settings.sample_rate, settings, start_s=start_s, length_s=length_s
    )
    directory.mkdir(parents=True, exist_ok=True)
    encode(clip, settings.sample_rate, audio_path, settings.format)
    result = RenderedClip(
        path=audio_path,
        format=settings.format,
        duration_s=clip.shape[0] / settings.sample_rate,
        loudness_lufs=plan.loudness_lufs,
        true_peak_dbtp=plan.true_peak_dbtp,
        kit=kit,
        sha256=key,
        peak_limited=plan.peak_limited,
        max_loudness_lufs=plan.loudness_lufs + settings.max_true_peak_dbtp - plan.true_peak_dbtp,
        engine=settings.engine,
    )
    partial = partial_path(sidecar)
    partial.write_text(json.dumps(result.to_json(), indent=1))
    os.replace(partial, sidecar)
    return result


def render_track(
    event_ids: np.ndarray,
    *,
    qpm: float = 120.0,
    kit: str = "standard",
    settings: RenderSettings = RenderSettings(),
    cache_dir: Path | None = None,
    soundfont: str | Path | None = None,
) -> RenderedClip:
    """Render event ids; without an excerpt the clip lasts exactly the track's steps.

    Event ids know their length, so a track whose last bars are silent still gets its
    full duration (the bar rule of `render` would end it at its last hit).
    """
    from drumeval.data.midi import event_ids_to_pretty_midi

    if settings.length_s is None:
        steps_s = len(event_ids) * 60.0 / qpm / STEPS_PER_QUARTER
        settings = dataclasses.replace(
            settings, length_s=steps_s + settings.tail_s - settings.start_s
        )
    midi = event_ids_to_pretty_midi(event_ids, qpm=qpm, kit_program=kit_program(kit))
    return render(midi, kit=kit, settings=settings, cache_dir=cache_dir, soundfont=soundfont)


def render_many(
    midis: Sequence[MidiInput],
    *,
    kit: str | Sequence[str] = "standard",
    settings: RenderSettings = RenderSettings(),
    cache_dir: Path | None = None,
    soundfont: str | Path | None = None,
    workers: int = 2,
    progress: ProgressCallback | None = None,
) -> list[RenderedClip]:
    """`render` for many inputs on `workers` threads (numpy, FluidSynth, ffmpeg free the GIL).

    Results are in input order; the first error is raised after the running renders end.
    `progress` hears each finished clip (its file name, or `clip N` for MIDI in memory).
    """
    kits = [kit] * len(midis) if isinstance(kit, str) else list(kit)
    if len(kits) != len(midis):
        raise AudioError(f"{len(kits)} kits given for {len(midis)} MIDI inputs")
    report = progress or no_progress
    finished = 0
    counting = threading.Lock()  # the threads finish in any order; the count must not skip

    def render_one(index: int) -> RenderedClip:
        nonlocal finished
        midi = midis[index]
        clip = render(
            midi, kit=kits[index], settings=settings, cache_dir=cache_dir, soundfont=soundfont
        )
        label = Path(midi).name if isinstance(midi, str | Path) else f"clip {index + 1}"
        with counting:
            finished += 1
            report(label, finished, len(midis))
        return clip

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(render_one, range(len(midis))))
