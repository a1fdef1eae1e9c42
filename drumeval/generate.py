"""Generation entry points the CLI and the app call: pick a checkpoint, sample, write MIDI.

`generate(...)` returns `GeneratedTrack`s (event ids + provenance); `write_tracks(...)`
writes each as a 120-qpm General MIDI drum file plus a JSON sidecar (model, checkpoint
hash, seed, temperature…). Sidecars live in a separate `.meta/` folder next to the MIDI
files, so a study can serve the MIDI/audio folder without ever exposing which model made
a clip.
"""

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from drumeval.data.drum_classes import DEFAULT_BARS, OUTPUT_QPM, STEPS_PER_BAR
from drumeval.errors import CheckpointNotFoundError, ModelError
from drumeval.paths import REPO_ROOT, checkpoints_dir
from drumeval.registry import (
    DEFAULT_PRESETS,
    check_model,
    find_shipped,
    genre_of_corpus,
    shipped_checkpoints,
)

CHECKPOINTS_DIR = checkpoints_dir()

MAX_BARS = 240  # 8 minutes at 120 qpm: longer requests are almost certainly typos
META_DIR = ".meta"
TRACK_PREFIX = "track"  # neutral: a file name must not reveal the model to a study listener

Mode = Literal["sample", "interpolate", "reconstruct"]


@dataclass(frozen=True)
class GeneratedTrack:
    """One generated drum track and where it came from."""

    event_ids: np.ndarray
    model: str
    preset: str | None
    corpus: str | None
    checkpoint: str
    checkpoint_sha256: str
    seed: int
    temperature: float
    mode: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_bars(self) -> int:
        return len(self.event_ids) // STEPS_PER_BAR

    def sidecar(self) -> dict[str, Any]:
        """Provenance as JSON-serialisable data (never shown to evaluators)."""
        return {
            "model": self.model,
            "preset": self.preset,
            "corpus": self.corpus,
            "genre": genre_of_corpus(self.corpus),
            "checkpoint": self.checkpoint,
            "checkpoint_sha256": self.checkpoint_sha256,
            "seed": self.seed,
            "temperature": self.temperature,
            "mode": self.mode,
            "bars": self.num_bars,
            "qpm": OUTPUT_QPM,
            **self.extra,
        }


def shipped_checkpoint(model: str, corpus: str, preset: str | None = None) -> Path:
    """The checkpoint we ship for `model` trained on `corpus` (e.g. `techno-house-700`)."""
    check_model(model)
    try:
        return find_shipped(model, preset or DEFAULT_PRESETS[model], corpus).directory
    except CheckpointNotFoundError as error:
        raise CheckpointNotFoundError(f"{error}; pass --checkpoint DIR for your own") from None


def list_shipped_checkpoints(model: str | None = None) -> list[str]:
    """`model/preset/corpus` names of every shipped checkpoint."""
    return [c.name for c in shipped_checkpoints() if model is None or c.model == model]


@functools.lru_cache(maxsize=8)
def _load_cached(directory: str, modified_ns: int):
    from drumeval.models import light

    kind = light.model_class(Path(directory) / "model.keras")
    if kind == "DrumsRNN":
        return light.load_drums_rnn(directory)  # generation needs no Keras model
    if kind == "MusicVAE":
        return light.load_music_vae(directory)
    from drumeval.models.checkpoints import load_checkpoint

    return load_checkpoint(directory)


def load_model(checkpoint: str | Path):
    """`(model, card)` for a checkpoint directory, loaded once per process.

    Models come back as `light.LightDrumsRNN` / `light.LightMusicVAE`: weights read without
    importing Keras, which was most of the CLI's cold start.
    """
    directory = Path(checkpoint)
    model_file = directory / "model.keras"
    if not model_file.is_file():
        raise CheckpointNotFoundError(
            f"no checkpoint at {directory} (expected model.keras + card.json)"
        )
    return _load_cached(str(directory.resolve()), model_file.stat().st_mtime_ns)


def generate(
    model: str = "drums_rnn",
    *,
    corpus: str | None = "techno-house-700",
    preset: str | None = None,
    checkpoint: str | Path | None = None,
    num: int = 1,
    bars: int = DEFAULT_BARS,
    temperature: float = 1.0,
    seed: int = 0,
    mode: Mode = "sample",
    primer_event_ids: np.ndarray | None = None,
    beam_size: int = 1,
    branch_factor: int = 1,
    steps_per_iteration: int = 1,
    inputs: list[np.ndarray] | None = None,
    num_interpolations: int = 8,
) -> list[GeneratedTrack]:
    """Generate `num` tracks of `bars` bars (or interpolations / reconstructions of `inputs`).

    `checkpoint` overrides the shipped checkpoint picked by `model`, `preset` and `corpus`.
    DrumsRNN only samples (optionally from a primer, optionally with beam search); MusicVAE
    samples from the prior, interpolates between two inputs, or reconstructs inputs.
    """
    check_model(model)
    _check_request(
        num=num,
        bars=bars,
        temperature=temperature,
        beam_size=beam_size,
        branch_factor=branch_factor,
        steps_per_iteration=steps_per_iteration,
    )
    directory = Path(checkpoint) if checkpoint else shipped_checkpoint(model, corpus, preset)
    loaded_model, card = load_model(directory)
    card_model = card.get("model", model)
    if card_model != model:
        raise ModelError(f"checkpoint {directory} holds a {card_model} model, not {model}")
    num_steps = bars * STEPS_PER_BAR
    provenance = {
        "model": model,
        "preset": card.get("preset", preset),
        "corpus": card.get("corpus", corpus),
        "checkpoint": _display_path(directory),
        "checkpoint_sha256": card.get("weights_sha256", ""),
        "temperature": float(temperature),
    }
    if model == "drums_rnn":
        if mode != "sample":
            raise ModelError("DrumsRNN can only sample; interpolate/reconstruct need MusicVAE")
        from drumeval.models import drums_rnn_sampling

        event_ids = drums_rnn_sampling.sample(
            loaded_model,
            num_samples=num,
            num_steps=num_steps,
            temperature=temperature,
            seed=seed,
            primer_event_ids=primer_event_ids,
            beam_size=beam_size,
            branch_factor=branch_factor,
            steps_per_iteration=steps_per_iteration,
        )
        extra = {
            "beam_size": beam_size,
            "branch_factor": branch_factor,
            "steps_per_iteration": steps_per_iteration,
            "primer_steps": 1 if primer_event_ids is None else len(primer_event_ids),
        }
        return _tracks(event_ids, seed, provenance, "sample", extra)
    return _generate_music_vae(
        loaded_model,
        provenance,
        mode=mode,
        num=num,
        num_steps=num_steps,
        temperature=temperature,
        seed=seed,
        inputs=inputs,
        num_interpolations=num_interpolations,
    )


def _generate_music_vae(
    vae, provenance, *, mode, num, num_steps, temperature, seed, inputs, num_interpolations
) -> list[GeneratedTrack]:
    from drumeval.models import music_vae_core as music_vae

    segment_steps = vae.config.max_seq_len
    if mode == "sample":
        if segment_steps < num_steps:
            event_ids = np.stack(
                [
                    music_vae.latent_walk(
                        vae,
                        bars=num_steps // STEPS_PER_BAR,
                        seed=seed + index,
                        temperature=temperature,
                    )
                    for index in range(num)
                ]
            )
            extra = {"method": f"latent walk over {segment_steps // STEPS_PER_BAR}-bar segments"}
        else:
            event_ids = music_vae.sample(
                vae,
                num_samples=num,
                num_steps=num_steps,
                temperature=temperature,
                seed=seed,
            )
            extra = {"method": "prior sample"}
        tracks = _tracks(event_ids, seed, provenance, "sample", extra)
        return [_flag_empty(track) for track in tracks]
    if not inputs:
        raise ModelError(f"mode {mode!r} needs input MIDI files")
    padded, lengths = _pad_inputs(inputs, segment_steps)
    if mode == "reconstruct":
        event_ids = music_vae.reconstruct(
            vae, padded, lengths, temperature=temperature, seed=seed
        )
        tracks = _tracks(event_ids, seed, provenance, "reconstruct", {})
    elif mode == "interpolate":
        if len(inputs) != 2:
            raise ModelError(f"interpolation needs exactly 2 input files, got {len(inputs)}")
        event_ids = music_vae.interpolate(
            vae,
            padded[0],
            padded[1],
            lengths=lengths,
            num_interpolations=num_interpolations,
            temperature=temperature,
            seed=seed,
        )
        tracks = _tracks(
            event_ids, seed, provenance, "interpolate", {"num_interpolations": num_interpolations}
        )
    else:
        raise ModelError(f"unknown mode {mode!r}: use sample, interpolate or reconstruct")
    return [_flag_empty(track) for track in tracks]


def join_tracks(tracks: list[GeneratedTrack]) -> GeneratedTrack:
    """Concatenate tracks (e.g. the steps of an interpolation) into one track."""
    if not tracks:
        raise ModelError("nothing to join")
    event_ids = np.concatenate([track.event_ids for track in tracks])
    extra = {**tracks[0].extra, "joined_tracks": len(tracks)}
    extra.pop("index", None)
    return GeneratedTrack(**{**tracks[0].__dict__, "event_ids": event_ids, "extra": extra})


def _pad_inputs(inputs: list[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop/pad each input track to the model's sequence length (whole bars)."""
    padded = np.zeros((len(inputs), length), dtype=np.int32)
    lengths = np.zeros(len(inputs), dtype=np.int32)
    for row, event_ids in enumerate(inputs):
        usable = min(len(event_ids), length) // STEPS_PER_BAR * STEPS_PER_BAR
        if usable == 0:
            raise ModelError("an input track is shorter than one bar")
        padded[row, :usable] = event_ids[:usable]
        lengths[row] = usable
    return padded, lengths


def _flag_empty(track: GeneratedTrack) -> GeneratedTrack:
    from drumeval.metrics import near_empty

    empty = near_empty(track.event_ids)
    return GeneratedTrack(**{**track.__dict__, "extra": {**track.extra, "near_empty": empty}})


def _tracks(
    event_ids: np.ndarray, seed: int, provenance: dict[str, Any], mode: str, extra: dict[str, Any]
) -> list[GeneratedTrack]:
    return [
        GeneratedTrack(
            event_ids=np.asarray(row, dtype=np.int32),
            seed=seed,
            mode=mode,
            extra={**extra, "index": index},
            **provenance,
        )
        for index, row in enumerate(np.asarray(event_ids))
    ]


def write_tracks(
    tracks: list[GeneratedTrack],
    out_dir: str | Path,
    *,
    prefix: str = TRACK_PREFIX,
    qpm: float = OUTPUT_QPM,
) -> list[Path]:
    """Write each track as `OUT/<prefix>-NNN.mid` with its sidecar in `OUT/.meta/`.

    Numbers continue after the files already there, so a second run into the same folder
    adds tracks instead of overwriting them; the model and seed live only in the sidecar.
    """
    from drumeval.data.midi import write_midi

    out_dir = Path(out_dir)
    (out_dir / META_DIR).mkdir(parents=True, exist_ok=True)
    first = _next_track_number(out_dir, prefix)
    paths = []
    for index, track in enumerate(tracks):
        stem = f"{prefix}-{first + index:03d}"
        midi_path = write_midi(track.event_ids, out_dir / f"{stem}.mid", qpm=qpm)
        sidecar = {**track.sidecar(), "midi": midi_path.name}
        (out_dir / META_DIR / f"{stem}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
        paths.append(midi_path)
    return paths


def read_sidecar(midi_path: str | Path) -> dict[str, Any] | None:
    """The provenance sidecar `write_tracks` wrote for a MIDI file, or None if there is none."""
    midi_path = Path(midi_path)
    sidecar = midi_path.parent / META_DIR / f"{midi_path.stem}.json"
    if not sidecar.is_file():
        return None
    try:
        return json.loads(sidecar.read_text())
    except ValueError:
        return None  # a damaged sidecar is no provenance, not a reason to refuse the MIDI


def recorded_genre(midi_path: str | Path) -> str | None:
    """The genre a generated file's sidecar records (older sidecars: from its corpus)."""
    sidecar = read_sidecar(midi_path) or {}
    genre = sidecar.get("genre") or genre_of_corpus(sidecar.get("corpus"))
    return genre if isinstance(genre, str) else None


def _next_track_number(out_dir: Path, prefix: str) -> int:
    numbers = [
        int(path.stem.rsplit("-", 1)[1])
        for path in out_dir.glob(f"{prefix}-*.mid")
        if path.stem.rsplit("-", 1)[1].isdigit()
    ]
    return max(numbers, default=-1) + 1


def _check_request(
    *, num, bars, temperature, beam_size, branch_factor, steps_per_iteration
) -> None:
    if not 1 <= num <= 256:
        raise ModelError(f"--num must be between 1 and 256, got {num}")
    if not 1 <= bars <= MAX_BARS:
        raise ModelError(f"--bars must be between 1 and {MAX_BARS}, got {bars}")
    if not 0.0 < temperature <= 10.0:
        raise ModelError(f"--temperature must be in (0, 10], got {temperature}")
    for name, value in (
        ("beam_size", beam_size),
        ("branch_factor", branch_factor),
        ("steps_per_iteration", steps_per_iteration),
    ):
        if value < 1:
            raise ModelError(f"--{name.replace('_', '-')} must be ≥ 1, got {value}")


def _display_path(directory: Path) -> str:
    try:
        return str(directory.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(directory)
