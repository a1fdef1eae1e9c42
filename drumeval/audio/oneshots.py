"""Drum one-shots rendered by FluidSynth once and kept on disk for the fast engine.

Each one-shot is one note alone in a slot of a single FluidSynth render (so it carries
its own release and reverb tail), cut where it falls below −100 dBFS and saved as
`<pitch>-<velocity>-<duration_ms>.npy` in a folder named by everything that decides its
samples: the sound font's sha256, the kit, the sample rate, the synth gain and
`ONESHOT_VERSION`. Missing one-shots are rendered together, in one FluidSynth call per
`_SLOTS_PER_CALL`. Slots last `SHORT_SLOT_S`; a sound still ringing at the end of its
slot (a crash cymbal) is rendered again in a `LONG_SLOT_S` slot. A first clip of Groove
MIDI jazz (≈ 50 one-shots: its velocities) takes a few seconds, later ones none.
"""

import functools
import hashlib
import io
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from drumeval.audio.encode import partial_path
from drumeval.audio.kits import kit_program
from drumeval.audio.mixer import ShotKey
from drumeval.audio.synth import SYNTH_GAIN, synthesize
from drumeval.data.corpus import file_sha256

ONESHOT_VERSION = 2  # bump when what a one-shot file holds changes
# Slot lengths are whole numbers of FluidSynth's 64-frame blocks at every supported rate,
# so each one-shot starts on a block boundary like a note at time 0. FluidR3's drums
# last ≤ 3.2 s to −100 dBFS (open hi-hat) but for its crash (≈ 7.8 s).
SHORT_SLOT_S = 6.4
LONG_SLOT_S = 12.8
_RINGING_S = 0.05  # audible this close to its slot's end: the sound was cut short
_SLOTS_PER_CALL = 16
_SILENCE = 1e-5  # −100 dBFS
_END_MARKER_CC = 110  # an undefined controller: keeps FluidSynth rendering the last slot
_RENDER_LOCK = threading.Lock()


@functools.lru_cache(maxsize=8)
def _sha256_cached(path: str, size: int, mtime_ns: int, memo: Path) -> str:
    """The file's sha256, remembered in `memo` (JSON) across processes by path, size, mtime.

    Hashing FluidR3 (148 MB) takes ~0.4 s: more than a whole fast render.
    """
    identity = f"{path}|{size}|{mtime_ns}"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if isinstance(known, dict) and isinstance(known.get(identity), str):
        return known[identity]
    digest = file_sha256(path)
    memo.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(memo)
    partial.write_text(json.dumps({identity: digest}))
    os.replace(partial, memo)
    return digest


def soundfont_sha256(path: Path, cache_dir: Path) -> str:
    """sha256 of the sound font's bytes: hashed once per file version, remembered on disk."""
    stat = Path(path).stat()
    memo = Path(cache_dir) / "oneshots" / "soundfont-sha256.json"
    return _sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, memo)


def oneshot_dir(cache_dir: Path, *, soundfont: Path, kit: str, sample_rate: int) -> Path:
    """The folder holding one kit's one-shots at one sample rate."""
    identity = {
        "version": ONESHOT_VERSION,
        "soundfont_sha256": soundfont_sha256(soundfont, cache_dir),
        "kit": kit,
        "program": kit_program(kit),
        "sample_rate": sample_rate,
        "synth_gain": SYNTH_GAIN,
        "slot_seconds": [SHORT_SLOT_S, LONG_SLOT_S],
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return Path(cache_dir) / "oneshots" / f"{kit}-{sample_rate}-{digest[:16]}"


def oneshots_midi(keys: Sequence[ShotKey], program: int, slot_seconds: float) -> bytes:
    """A drum MIDI file with one note per slot and an end marker after the last slot."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0, resolution=960)
    drums = pretty_midi.Instrument(program=program, is_drum=True, name="drums")
    for slot, key in enumerate(keys):
        start = slot * slot_seconds
        drums.notes.append(
            pretty_midi.Note(
                velocity=key.velocity, pitch=key.pitch, start=start,
                end=start + key.duration_ms / 1000,
            )
        )  # fmt: skip
    end = pretty_midi.ControlChange(_END_MARKER_CC, 0, len(keys) * slot_seconds)
    drums.control_changes.append(end)
    midi.instruments.append(drums)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def render_oneshots(
    keys: Sequence[ShotKey],
    *,
    program: int,
    soundfont: Path,
    sample_rate: int,
    slot_seconds: float = SHORT_SLOT_S,
) -> list[np.ndarray]:
    """Float32 [n, 2] one-shot per key, from one FluidSynth render, silence trimmed."""
    midi = oneshots_midi(keys, program, slot_seconds)
    samples = synthesize(midi, soundfont=soundfont, sample_rate=sample_rate)
    slot = round(slot_seconds * sample_rate)
    shots = []
    for index in range(len(keys)):
        segment = samples[index * slot : (index + 1) * slot]
        audible = np.flatnonzero(np.abs(segment).max(axis=1, initial=0.0) > _SILENCE)
        end = int(audible[-1]) + 1 if audible.size else 0
        shots.append(np.ascontiguousarray(segment[:end], dtype=np.float32))
    return shots


def _save(path: Path, shot: np.ndarray) -> None:
    partial = partial_path(path)
    with open(partial, "wb") as handle:
        np.save(handle, shot)
    os.replace(partial, path)


def _read(paths: dict[ShotKey, Path], shots: dict[ShotKey, np.ndarray]) -> list[ShotKey]:
    """Load what is on disk into `shots`; the keys still missing."""
    missing = []
    for key, path in paths.items():
        if key in shots:
            continue
        try:
            shots[key] = np.load(path)
        except (OSError, ValueError):  # absent or damaged: render it (again)
            missing.append(key)
    return missing


def load_oneshots(
    keys: Sequence[ShotKey], *, kit: str, soundfont: Path, sample_rate: int, cache_dir: Path
) -> dict[ShotKey, np.ndarray]:
    """The one-shots for `keys`, rendering (and caching) the ones not on disk yet.

    Rendering holds a process-wide lock, so `render_many`'s threads starting on a new
    kit render its one-shots once, not once per thread.
    """
    directory = oneshot_dir(cache_dir, soundfont=soundfont, kit=kit, sample_rate=sample_rate)
    paths = {key: directory / f"{key.pitch}-{key.velocity}-{key.duration_ms}.npy" for key in keys}
    shots: dict[ShotKey, np.ndarray] = {}
    if not _read(paths, shots):
        return shots
    with _RENDER_LOCK:
        missing = _read(paths, shots)  # another thread may have rendered them meanwhile
        if missing:
            directory.mkdir(parents=True, exist_ok=True)
        for first in range(0, len(missing), _SLOTS_PER_CALL):
            batch = missing[first : first + _SLOTS_PER_CALL]
            for key, shot in zip(batch, _render(batch, kit, soundfont, sample_rate), strict=True):
                _save(paths[key], shot)
                shots[key] = shot
    return shots


def _render(
    keys: Sequence[ShotKey], kit: str, soundfont: Path, sample_rate: int
) -> list[np.ndarray]:
    """Short slots first; what still rings at a slot's end again in long slots."""
    options = {"program": kit_program(kit), "soundfont": soundfont, "sample_rate": sample_rate}
    shots = render_oneshots(keys, **options)
    ringing_after = round((SHORT_SLOT_S - _RINGING_S) * sample_rate)
    ringing = [index for index, shot in enumerate(shots) if shot.shape[0] > ringing_after]
    if ringing:
        longer = render_oneshots([keys[i] for i in ringing], **options, slot_seconds=LONG_SLOT_S)
        for index, shot in zip(ringing, longer, strict=True):
            shots[index] = shot
    return shots
