"""Generation entry points the CLI and the app call: pick a checkpoint, sample, write MIDI.

`generate(...)` returns `GeneratedTrack`s (event ids + provenance); `write_tracks(...)`
writes each as a 120-qpm General MIDI drum file plus a JSON sidecar (model, checkpoint
hash, seed, temperature…). Sidecars live in a separate `.meta/` folder next to the MIDI
files, so a study can serve the MIDI/audio folder without ever exposing which model made
a clip.
"""

import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from drumeval.data.drum_classes import DEFAULT_BARS, OUTPUT_QPM, STEPS_PER_BAR
from drumeval.errors import CheckpointNotFoundError, ModelError, ParameterError
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
MAX_TRACKS = 256
MAX_TEMPERATURE = 10.0  # the app and the study allow less (`drumeval.clips.TEMPERATURE_MAX`)
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
    return _find_shipped(model, corpus, preset).directory


def _find_shipped(model: str, corpus: str | None, preset: str | None):
    try:
        return find_shipped(model, preset or DEFAULT_PRESETS[model], str(corpus))
    except CheckpointNotFoundError as error:
        raise CheckpointNotFoundError(f"{error}; pass a checkpoint directory of your own") from None


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
    if kind == "StructuredRNN":
        from drumeval.models.structured_steps import load_light

        return load_light(directory)
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


@dataclass(frozen=True)
class GenerationPlan:
    """A generation request resolved once: which checkpoint, how it samples, what to make.

    `plan_generation` validates the parameters and finds the checkpoint; `execute` runs the
    plan. The CLI, the pages, the clip pool and the benchmarks all go through it, so the
    checkpoint is looked up once per request and "latent walk or prior sample" is decided in
    one place, from the checkpoint's own config (`music_vae_core.sampling_method`).
    """

    model: str
    checkpoint: Path
    card: Mapping[str, Any] = field(repr=False, compare=False)
    mode: Mode
    # "sample" (DrumsRNN), "form" (structured), "prior sample", "latent walk", "interpolate",
    # "reconstruct"
    method: str
    bars: int
    num: int
    temperature: float
    seed: int
    segment_bars: int | None  # MusicVAE: bars one decoder pass covers (its max_seq_len)
    primer_event_ids: np.ndarray | None = field(default=None, repr=False, compare=False)
    beam_size: int = 1
    branch_factor: int = 1
    steps_per_iteration: int = 1
    inputs: tuple[np.ndarray, ...] = field(default=(), repr=False, compare=False)
    num_interpolations: int = 8
    form: Any = None  # structured: the `forms.SongForm` it plays (bars = its total bars)

    @property
    def num_steps(self) -> int:
        return self.bars * STEPS_PER_BAR

    @property
    def decodes_whole_tracks(self) -> bool:
        """A MusicVAE whose one decoder pass spans the track: it can blend two whole tracks."""
        return self.segment_bars is not None and self.segment_bars >= self.bars

    def with_seed(self, seed: int) -> "GenerationPlan":
        """The same plan with another seed (nothing is looked up again)."""
        return dataclasses.replace(self, seed=seed)

    def interpolating(
        self, inputs: list[np.ndarray], *, num_interpolations: int
    ) -> "GenerationPlan":
        """This checkpoint and temperature, interpolating between two input tracks."""
        _check_inputs(self.model, "interpolate", inputs)
        _check_at_least(num_interpolations=num_interpolations)
        return dataclasses.replace(
            self,
            mode="interpolate",
            method="interpolate",
            num=1,
            inputs=tuple(inputs),
            num_interpolations=num_interpolations,
        )


def plan_generation(
    model: str = "drums_rnn",
    *,
    corpus: str | None = "techno-house-700",
    preset: str | None = None,
    checkpoint: str | Path | None = None,
    num: int = 1,
    bars: int | None = None,
    temperature: float = 1.0,
    seed: int = 0,
    mode: Mode = "sample",
    form: Any = None,
    primer_event_ids: np.ndarray | None = None,
    beam_size: int = 1,
    branch_factor: int = 1,
    steps_per_iteration: int = 1,
    inputs: list[np.ndarray] | None = None,
    num_interpolations: int = 8,
) -> GenerationPlan:
    """Validate a request and resolve its checkpoint (errors name parameters, not flags).

    `checkpoint` overrides the shipped checkpoint picked by `model`, `preset` and `corpus`.
    DrumsRNN only samples (optionally from a primer, optionally with beam search); MusicVAE
    samples (from the prior, or by a latent walk when the track is longer than one decoder
    pass), interpolates between two inputs, or reconstructs inputs. The structured model
    samples along a song `form` (text as `forms.parse_form` reads it, or a `SongForm`; default:
    the checkpoint genre's first preset form, fitted to `bars` when given); its bars are the
    form's.
    """
    check_model(model)
    if form is not None and model != "structured":
        raise ParameterError("form", f"is played by the structured model only, not {model}")
    if form is not None:
        form = _parse_form(form)
        if bars is not None and bars != form.total_bars:
            raise ParameterError(
                "bars", f"must equal the form's {form.total_bars} bars (or be left out), got {bars}"
            )
        bars = form.total_bars
    bars = DEFAULT_BARS if bars is None else bars
    check_generation_parameters(num=num, bars=bars, temperature=temperature)
    _check_at_least(
        beam_size=beam_size,
        branch_factor=branch_factor,
        steps_per_iteration=steps_per_iteration,
        num_interpolations=num_interpolations,
    )
    if mode not in ("sample", "interpolate", "reconstruct"):
        raise ModelError(f"unknown mode {mode!r}: use sample, interpolate or reconstruct")
    if mode != "sample":
        _check_inputs(model, mode, inputs)
    if model == "structured" and primer_event_ids is not None:
        raise ParameterError("primer_event_ids", "is DrumsRNN's: the structured model plays a form")
    if model == "structured" and max(beam_size, branch_factor) > 1:
        raise ParameterError("beam_size", "is DrumsRNN's: the structured model samples plainly")
    directory, card = _resolve_checkpoint(model, corpus, preset, checkpoint)
    segment_bars = _segment_bars(directory, card) if model == "music_vae" else None
    if model == "structured":
        from drumeval.models.structured_steps import default_form

        method = "form"
        form = form or default_form(_card_genre(card), bars)
    elif model == "drums_rnn":
        method = "sample"
    elif mode == "sample":
        from drumeval.models.music_vae_core import sampling_method

        method = sampling_method(segment_bars * STEPS_PER_BAR, bars * STEPS_PER_BAR)
    else:
        method = mode
    return GenerationPlan(
        model=model,
        checkpoint=directory,
        card=MappingProxyType(dict(card)),
        mode=mode,
        method=method,
        bars=bars,
        num=num,
        temperature=float(temperature),
        seed=seed,
        segment_bars=segment_bars,
        primer_event_ids=primer_event_ids,
        beam_size=beam_size,
        branch_factor=branch_factor,
        steps_per_iteration=steps_per_iteration,
        inputs=tuple(inputs or ()),
        num_interpolations=num_interpolations,
        form=form,
    )


def _parse_form(form: Any):
    """A `SongForm` from text or a `SongForm` (ParameterError names `form`)."""
    from drumeval.data.forms import SongForm, parse_form

    return form if isinstance(form, SongForm) else parse_form(str(form))


def _card_genre(card: Mapping[str, Any]) -> str | None:
    return card.get("genre") or genre_of_corpus(card.get("corpus"))


def execute(plan: GenerationPlan) -> list[GeneratedTrack]:
    """Run a plan: load its checkpoint (once per process) and sample, interpolate or
    reconstruct."""
    loaded_model, card = load_model(plan.checkpoint)
    provenance = {
        "model": plan.model,
        "preset": card.get("preset"),
        "corpus": card.get("corpus"),
        "checkpoint": _display_path(plan.checkpoint),
        "checkpoint_sha256": card.get("weights_sha256", ""),
        "temperature": plan.temperature,
    }
    if plan.model == "drums_rnn":
        from drumeval.models import drums_rnn_sampling

        event_ids = drums_rnn_sampling.sample(
            loaded_model,
            num_samples=plan.num,
            num_steps=plan.num_steps,
            temperature=plan.temperature,
            seed=plan.seed,
            primer_event_ids=plan.primer_event_ids,
            beam_size=plan.beam_size,
            branch_factor=plan.branch_factor,
            steps_per_iteration=plan.steps_per_iteration,
        )
        extra = {
            "beam_size": plan.beam_size,
            "branch_factor": plan.branch_factor,
            "steps_per_iteration": plan.steps_per_iteration,
            "primer_steps": 1 if plan.primer_event_ids is None else len(plan.primer_event_ids),
        }
        return _tracks(event_ids, plan.seed, provenance, "sample", extra)
    if plan.model == "structured":
        from drumeval.models import structured_sampling

        event_ids = structured_sampling.sample(
            loaded_model,
            form=plan.form,
            num_samples=plan.num,
            temperature=plan.temperature,
            seed=plan.seed,
        )
        extra = {"method": "form", "form": plan.form.to_text()}
        return [_flag_empty(t) for t in _tracks(event_ids, plan.seed, provenance, "sample", extra)]
    return [_flag_empty(track) for track in _run_music_vae(loaded_model, plan, provenance)]


def generate(model: str = "drums_rnn", **request: Any) -> list[GeneratedTrack]:
    """`execute(plan_generation(model, **request))`: one request, planned and run."""
    return execute(plan_generation(model, **request))


def _run_music_vae(vae, plan: GenerationPlan, provenance) -> list[GeneratedTrack]:
    from drumeval.models import music_vae_core as music_vae

    temperature, seed = plan.temperature, plan.seed
    if plan.mode == "sample":
        event_ids = music_vae.sample_tracks(
            vae,
            num_samples=plan.num,
            num_steps=plan.num_steps,
            temperature=temperature,
            seed=seed,
        )
        method = (
            f"latent walk over {plan.segment_bars}-bar segments"
            if plan.method == "latent walk"
            else plan.method
        )
        return _tracks(event_ids, seed, provenance, "sample", {"method": method})
    padded, lengths = _pad_inputs(list(plan.inputs), vae.config.max_seq_len)
    if plan.mode == "reconstruct":
        event_ids = music_vae.reconstruct(vae, padded, lengths, temperature=temperature, seed=seed)
        return _tracks(event_ids, seed, provenance, "reconstruct", {})
    event_ids = music_vae.interpolate(
        vae,
        padded[0],
        padded[1],
        lengths=lengths,
        num_interpolations=plan.num_interpolations,
        temperature=temperature,
        seed=seed,
    )
    extra = {"num_interpolations": plan.num_interpolations}
    return _tracks(event_ids, seed, provenance, "interpolate", extra)


def _resolve_checkpoint(
    model: str, corpus: str | None, preset: str | None, checkpoint: str | Path | None
) -> tuple[Path, Mapping[str, Any]]:
    """The checkpoint directory and its card, found once; the card must name `model`."""
    if checkpoint is None:
        shipped = _find_shipped(model, corpus, preset)
        directory, card = shipped.directory, shipped.card
    else:
        from drumeval.models.checkpoints import checkpoint_files

        directory = Path(checkpoint)
        _, card = checkpoint_files(directory)
    card_model = card.get("model", model)
    if card_model != model:
        raise ModelError(f"checkpoint {directory} holds a {card_model} model, not {model}")
    return directory, card


def _segment_bars(directory: Path, card: Mapping[str, Any]) -> int:
    """Bars one decoder pass of the checkpoint covers, from its config (its card's hparams;
    older cards without them: the model file's config)."""
    steps = (card.get("hparams") or {}).get("max_seq_len")
    if steps is None:
        steps = load_model(directory)[0].config.max_seq_len
    return int(steps) // STEPS_PER_BAR


def _check_inputs(model: str, mode: str, inputs: list[np.ndarray] | None) -> None:
    if model != "music_vae":
        label = check_model(model).label
        raise ModelError(f"{label} can only sample; interpolate/reconstruct need MusicVAE")
    if not inputs:
        raise ModelError(f"mode {mode!r} needs input MIDI files")
    if mode == "interpolate" and len(inputs) != 2:
        raise ModelError(f"interpolation needs exactly 2 input files, got {len(inputs)}")


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


def check_generation_parameters(*, num: int, bars: int, temperature: float) -> None:
    """The library's limits of a request (`ParameterError` naming the parameter)."""
    if not 1 <= num <= MAX_TRACKS:
        raise ParameterError("num", f"must be between 1 and {MAX_TRACKS}, got {num}")
    if not 1 <= bars <= MAX_BARS:
        raise ParameterError("bars", f"must be between 1 and {MAX_BARS}, got {bars}")
    if not 0.0 < temperature <= MAX_TEMPERATURE:
        raise ParameterError(
            "temperature", f"must be in (0, {MAX_TEMPERATURE:g}], got {temperature}"
        )


def _check_at_least(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ParameterError(name, f"must be ≥ 1, got {value}")


def _display_path(directory: Path) -> str:
    try:
        return str(directory.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(directory)
