"""Condition in, finished clip out: the one path from a request to MIDI, audio and metrics.

The public Generate page, `drumeval generate --audio` and the study's clip pool all need the
same thing — a typed request (model, preset, genre, corpus size, temperature, bars, seed) turned
into a clip with MIDI, level-matched audio in the genre's kit, metrics and provenance. Doing it
in one function keeps them from drifting apart (a kit chosen differently, a metric computed on
other bars). Generation is deterministic for a condition, so a condition is also a permalink:
`Condition.to_query()` / `from_query()` carry it through a URL.

Limits a condition accepts (checked in `__post_init__`, each failure a `ConditionError` that
names the field): seed a whole number 0…2³¹−1 (JAX's and numpy's seed range), temperature
0.1…2.0 (below, sampling is near-greedy and loops one bar; above, it is noise), bars 4…60 in
steps of 4 (whole 4-bar phrases, at most the 2 minutes the models were trained on).
"""

import dataclasses
import functools
import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from drumeval import metrics as track_metrics
from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.errors import DrumevalError
from drumeval.paths import audio_cache_dir
from drumeval.progress import ProgressCallback, no_progress
from drumeval.registry import (
    CORPUS_SIZES,
    DEFAULT_PRESETS,
    GENRES,
    MODELS,
    corpus_name,
)

if TYPE_CHECKING:
    from drumeval.data.forms import SongForm
    from drumeval.generate import GenerationPlan

SEED_MAX = 2**31 - 1
TEMPERATURE_MIN, TEMPERATURE_MAX = 0.1, 2.0
BARS_MIN, BARS_MAX, BARS_STEP = 4, 60, 4
QPM = 120.0
INTERPOLATION_STEPS = 11  # mix 0.0, 0.1, …, 1.0 along the latent path
NEW_BARS = "new bars"
FORM_ID_PREFIX, FORM_ID_HEX_DIGITS = "form-", 8  # `form_identity`: 32 bits, no clash in a pool

PERCENT = 100  # a clip's stages are reported in percent (`drumeval.progress`)
BAR_SECONDS = 4 * 60.0 / QPM  # 4/4 at `QPM`: 2 s a bar


class ConditionError(DrumevalError):
    """A generation request is out of range; `field` names the input to fix (for forms)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_seed(value: object) -> int:
    """A seed from a form or URL: a whole number 0…2³¹−1, decimals refused rather than cut."""
    if isinstance(value, bool):
        raise ConditionError("seed", "the seed must be a whole number, not true/false")
    if isinstance(value, float):
        if not value.is_integer():
            raise ConditionError("seed", f"the seed must be a whole number; {value:g} has decimals")
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ConditionError("seed", "enter a seed: a whole number such as 42")
        if re.fullmatch(r"[+-]?\d+\.\d*|[+-]?\d*\.\d+", text):
            raise ConditionError("seed", f"the seed must be a whole number; {text} has decimals")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ConditionError(
                "seed", f"the seed must be a whole number such as 42, not {text!r}"
            )
        value = int(text)
    if not isinstance(value, int):
        raise ConditionError("seed", f"the seed must be a whole number, not {value!r}")
    if not 0 <= value <= SEED_MAX:
        raise ConditionError("seed", f"the seed must be between 0 and {SEED_MAX:,}; got {value:,}")
    return value


def parse_temperature(value: object) -> float:
    """A sampling temperature 0.1…2.0 (a float, or its text), rounded to 3 decimals."""
    try:
        temperature = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConditionError(
            "temperature", f"the temperature must be a number such as 1.0, not {value!r}"
        ) from None
    if isinstance(value, bool) or not math.isfinite(temperature):
        raise ConditionError("temperature", f"the temperature must be a number, not {value!r}")
    if not TEMPERATURE_MIN <= temperature <= TEMPERATURE_MAX:
        raise ConditionError(
            "temperature",
            f"the temperature must be between {TEMPERATURE_MIN} and {TEMPERATURE_MAX}; "
            f"got {temperature:g}",
        )
    return round(temperature, 3)  # slider steps carry float noise; links stay short


def parse_bars(value: object) -> int:
    """A length in bars: 4…60 in steps of 4 (whole phrases)."""
    try:
        bars = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        bars = None
    if bars is None:
        raise ConditionError("bars", f"the length must be a whole number of bars, not {value!r}")
    if not BARS_MIN <= bars <= BARS_MAX or bars % BARS_STEP:
        raise ConditionError(
            "bars",
            f"the length must be {BARS_MIN}…{BARS_MAX} bars in steps of {BARS_STEP}; got {bars}",
        )
    return bars


def parse_mix(value: object) -> float:
    """The mix of an interpolation: 0…1 on a grid of tenths (the decoded path's points)."""
    try:
        mix = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConditionError("mix", f"the mix must be a number 0…1, not {value!r}") from None
    if not 0.0 <= mix <= 1.0:
        raise ConditionError("mix", f"the mix must be between 0 and 1; got {mix:g}")
    return round(mix * (INTERPOLATION_STEPS - 1)) / (INTERPOLATION_STEPS - 1)


def parse_form_text(model: str, text: str) -> "SongForm":
    """A song form for the structured model, `BARS_MIN`…`BARS_MAX` bars long (the product's
    lengths; the library takes up to `generate.MAX_BARS`)."""
    from drumeval.data.forms import parse_form
    from drumeval.errors import ParameterError

    if model != "structured":
        raise ConditionError("form", f"only the structured model plays a song form, not {model}")
    try:
        form = parse_form(text)
    except ParameterError as error:
        raise ConditionError("form", f"the form {error.requirement}") from None
    if not BARS_MIN <= form.total_bars <= BARS_MAX:
        raise ConditionError(
            "form", f"the form must last {BARS_MIN}…{BARS_MAX} bars; it has {form.total_bars}"
        )
    return form


def form_presets(genre: str) -> dict[str, str]:
    """The genre's preset song forms as text, by name (what the Generate page offers)."""
    from drumeval.data.forms import FORM_PRESETS

    return {name: form.to_text() for name, form in FORM_PRESETS.get(genre, {}).items()}


def played_form(condition: "Condition") -> "SongForm | None":
    """The form the condition's clip plays (None for a model that plays no form): its own, or
    the genre's default fitted to its bars, the one `generate.plan_generation` picks."""
    if condition.model != "structured":
        return None
    if condition.form:
        return parse_form_text(condition.model, condition.form)
    from drumeval.models.structured_steps import default_form

    return default_form(condition.genre, condition.bars)


def form_sections(condition: "Condition") -> tuple[tuple[int, str], ...]:
    """(start bar, label) of every section the condition's clip plays; () without a form."""
    form = played_form(condition)
    if form is None:
        return ()
    return tuple(zip(form.start_bars(), (s.label for s in form.sections), strict=True))


def form_identity(condition: "Condition") -> str:
    """A short, stable name for the form a clip plays when it is not the default one: "" for
    a model without forms or the genre's default form fitted to the bars (spelled out or not,
    as `same_clip` sees it), else `form-` and 8 hex digits of the form text's SHA-256. Pool
    condition names carry it, so two custom forms of one length make two conditions; a hash
    names no section, preset or model (blind-safe) and changes only with the form itself."""
    form = played_form(condition)
    if form is None:
        return ""
    from drumeval.models.structured_steps import default_form

    if form == default_form(condition.genre, condition.bars):
        return ""
    digest = hashlib.sha256(form.to_text().encode()).hexdigest()
    return f"{FORM_ID_PREFIX}{digest[:FORM_ID_HEX_DIGITS]}"


def same_clip(first: "Condition", second: "Condition") -> bool:
    """Whether two conditions make the same clip: equal, or one spells out the default form
    the other leaves implicit."""
    if first == second:
        return True
    if first.model != "structured":
        return False
    bare = {"form": "", "bars": first.bars}
    return dataclasses.replace(first, **bare) == dataclasses.replace(second, **bare) and (
        played_form(first) == played_form(second)
    )


def _parse_corpus_size(value: object) -> int:
    try:
        size = int(str(value).strip())
    except ValueError:
        size = None
    if size not in CORPUS_SIZES:
        sizes = " or ".join(map(str, CORPUS_SIZES))
        raise ConditionError("size", f"the corpus size must be {sizes} examples, not {value!r}")
    return size


@dataclass(frozen=True)
class Condition:
    """Everything that decides a generated clip; equal conditions give identical clips."""

    model: str
    preset: str
    genre: str
    corpus_size: int
    temperature: float
    bars: int
    seed: int
    form: str = ""  # structured: the song form as text ("": the genre's default form)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            names = ", ".join(MODELS)
            raise ConditionError("model", f"unknown model {self.model!r}: choose one of {names}")
        presets = MODELS[self.model].presets
        if self.preset not in presets:
            raise ConditionError(
                "preset",
                f"{MODELS[self.model].label} has no preset {self.preset!r}: "
                f"choose one of {', '.join(presets)}",
            )
        if self.genre not in GENRES:
            names = ", ".join(GENRES)
            raise ConditionError("genre", f"unknown genre {self.genre!r}: choose one of {names}")
        object.__setattr__(self, "corpus_size", _parse_corpus_size(self.corpus_size))
        object.__setattr__(self, "temperature", parse_temperature(self.temperature))
        object.__setattr__(self, "bars", parse_bars(self.bars))
        object.__setattr__(self, "seed", parse_seed(self.seed))
        if self.form:
            form = parse_form_text(self.model, self.form)
            object.__setattr__(self, "form", form.to_text())
            object.__setattr__(self, "bars", form.total_bars)

    @property
    def corpus(self) -> str:
        return corpus_name(self.genre, self.corpus_size)

    @property
    def kit(self) -> str:
        return GENRES[self.genre].kit

    def to_query(self) -> dict[str, str]:
        """URL query parameters (strings) that `from_query` turns back into this condition."""
        return {
            "model": self.model,
            "preset": self.preset,
            "genre": self.genre,
            "size": str(self.corpus_size),
            "temperature": f"{self.temperature:g}",
            "bars": str(self.bars),
            "seed": str(self.seed),
            **({"form": self.form} if self.form else {}),
        }

    @classmethod
    def from_query(
        cls, query: Mapping[str, str], default: "Condition | None" = None
    ) -> "Condition":
        """A condition from URL parameters; missing ones come from `default` (or DEFAULT).

        A missing preset is the model's default preset (a link may name only the model).
        """
        base = default or DEFAULT_CONDITION
        model = query.get("model", base.model)
        fallback_preset = base.preset if model == base.model else DEFAULT_PRESETS.get(model, "")
        return cls(
            model=model,
            preset=query.get("preset", fallback_preset),
            genre=query.get("genre", base.genre),
            corpus_size=query.get("size", base.corpus_size),  # type: ignore[arg-type]
            temperature=query.get("temperature", base.temperature),  # type: ignore[arg-type]
            bars=query.get("bars", base.bars),  # type: ignore[arg-type]
            seed=query.get("seed", base.seed),  # type: ignore[arg-type]
            form=query.get("form", base.form if model == base.model else ""),
        )


DEFAULT_CONDITION = Condition(
    model="drums_rnn",
    preset=DEFAULT_PRESETS["drums_rnn"],
    genre="techno-house",
    corpus_size=700,
    temperature=1.0,
    bars=BARS_MAX,
    seed=0,
)


@dataclass(frozen=True)
class Interpolation:
    """A MusicVAE clip part-way between two seeds of one condition (`mix` 0 = start, 1 = end)."""

    start: Condition
    end_seed: int
    mix: float = 0.5

    def __post_init__(self) -> None:
        if self.start.model != "music_vae":
            raise ConditionError("model", "only MusicVAE can interpolate between two clips")
        object.__setattr__(self, "end_seed", parse_seed(self.end_seed))
        object.__setattr__(self, "mix", parse_mix(self.mix))

    @property
    def end(self) -> Condition:
        return dataclasses.replace(self.start, seed=self.end_seed)

    def to_query(self) -> dict[str, str]:
        return {**self.start.to_query(), "to_seed": str(self.end_seed), "mix": f"{self.mix:g}"}

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "Interpolation | None":
        """None when the query asks for no interpolation (no `to_seed`)."""
        if "to_seed" not in query:
            return None
        return cls(Condition.from_query(query), query["to_seed"], query.get("mix", 0.5))  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class Clip:
    """A finished clip: what to play, download, show and store, and where it came from."""

    condition: Condition | None  # None for a clip made from a MIDI file
    event_ids: np.ndarray
    midi_bytes: bytes
    audio_bytes: bytes | None  # None when there is nothing to play (no hit at all)
    audio_format: str
    duration_s: float
    loudness_lufs: float | None
    kit: str
    metrics: dict[str, float]
    provenance: dict[str, Any]
    near_empty: bool

    @property
    def silent(self) -> bool:
        return not np.any(self.event_ids)

    @property
    def bars(self) -> int:
        return len(self.event_ids) // STEPS_PER_BAR

    @property
    def audio_mime(self) -> str:
        return {"ogg": "audio/ogg", "opus": "audio/ogg", "mp3": "audio/mpeg"}.get(
            self.audio_format, f"audio/{self.audio_format}"
        )


@dataclass(frozen=True)
class Metric:
    """One objective metric: a plain name, what it means, and how to compute it."""

    name: str
    meaning: str
    compute: Callable[[np.ndarray], float] | None  # None: needs the training corpus


METRICS: tuple[Metric, ...] = (
    Metric(
        "hits per bar",
        "How busy the drums are: drum hits in an average bar.",
        track_metrics.mean_hits_per_bar,
    ),
    Metric(
        "empty bars",
        "Share of bars with no hit at all (the thesis's 'lacking in drum content').",
        track_metrics.empty_bar_share,
    ),
    Metric(
        "kick on the beat",
        "Share of beats with a kick drum: near 1 for four-on-the-floor techno, low for jazz.",
        track_metrics.kick_on_beat_share,
    ),
    Metric(
        "bar-to-bar consistency",
        "How closely each bar repeats the one before (1 = identical): short-term phrasing.",
        track_metrics.groove_consistency,
    ),
    Metric(
        "phrase structure",
        "How much more bars recur 4, 8 or 16 bars apart than at other distances "
        "(above 0 = built in phrases): long-term phrasing.",
        track_metrics.phrase_structure,
    ),
    Metric(
        "evolution",
        "How much each 8-bar section differs from the one before (0 = one loop throughout).",
        track_metrics.evolution,
    ),
    Metric(
        NEW_BARS,
        "Share of non-empty bars that never occur in the training corpus: originality "
        "(the corpus value is its held-out tracks against its training tracks).",
        None,
    ),
)
METRIC_MEANINGS: dict[str, str] = {metric.name: metric.meaning for metric in METRICS}


@functools.lru_cache(maxsize=4)
def _corpus_bars(corpus: str) -> frozenset[bytes]:
    """The distinct bars of a corpus's training split (loaded once per process)."""
    from drumeval.data.corpus import load_corpus

    event_ids, lengths = load_corpus(corpus).split("train")
    return frozenset(track_metrics.corpus_bar_set(event_ids, lengths))


def measure(event_ids: np.ndarray, corpus: str | None = None) -> dict[str, float]:
    """Every metric of one track by plain name; `new bars` only when a corpus is given."""
    values = {metric.name: float(metric.compute(event_ids)) for metric in METRICS if metric.compute}
    if corpus is not None:
        values[NEW_BARS] = track_metrics.novel_bar_fraction(event_ids, set(_corpus_bars(corpus)))
    return values


@functools.lru_cache(maxsize=8)
def corpus_reference(corpus: str) -> dict[str, float]:
    """Mean of each metric over a corpus's training tracks (what the model learned from).

    `new bars` is measured on the held-out tracks against the training bars: how original
    real, unseen music of the genre is by the same yardstick.
    """
    from drumeval.data.corpus import load_corpus

    data = load_corpus(corpus)
    train_ids, train_lengths = data.split("train")
    tracks = track_metrics.tracks_of(train_ids, train_lengths)
    reference = {
        metric.name: float(np.mean([metric.compute(track) for track in tracks]))
        for metric in METRICS
        if metric.compute
    }
    eval_ids, eval_lengths = data.split("eval")
    bars_seen = set(_corpus_bars(corpus))
    reference[NEW_BARS] = float(
        np.mean(
            [
                track_metrics.novel_bar_fraction(track, bars_seen)
                for track in track_metrics.tracks_of(eval_ids, eval_lengths)
            ]
        )
    )
    return reference


@dataclass(frozen=True)
class CorpusOverview:
    """A corpus in the numbers the corpora page shows (`drumeval data stats` computes the same)."""

    name: str
    examples: int
    train: int
    eval: int
    bars_per_example: float
    hits_per_bar: float
    kick_on_beat: float
    groove_consistency: float
    class_shares: dict[str, float]


def corpus_overview(corpus: str) -> CorpusOverview:
    """Statistics of a built corpus (`DatasetError` when it is missing)."""
    from drumeval.data.corpus import load_corpus
    from drumeval.data.drum_classes import DRUM_CLASS_NAMES
    from drumeval.metrics.corpus import summarize

    data = load_corpus(corpus)
    stats = summarize(data.event_ids, data.lengths, data.is_eval)
    tracks = track_metrics.tracks_of(data.event_ids, data.lengths)
    return CorpusOverview(
        name=corpus,
        examples=stats.examples,
        train=stats.train,
        eval=stats.eval,
        bars_per_example=stats.mean_bars_per_example,
        hits_per_bar=stats.mean_hits_per_bar,
        kick_on_beat=stats.kick_on_beat_share,
        groove_consistency=float(
            np.mean([track_metrics.groove_consistency(track) for track in tracks])
        ),
        class_shares={
            name.replace("_", " "): share
            for name, share in zip(DRUM_CLASS_NAMES, stats.class_shares, strict=True)
        },
    )


def corpus_example(corpus: str, index: int) -> np.ndarray:
    """Event ids of one corpus example, its padding cut off."""
    from drumeval.data.corpus import load_corpus
    from drumeval.errors import DatasetError

    data = load_corpus(corpus)
    if not 0 <= index < len(data.lengths):
        raise DatasetError(f"{corpus} has examples 0…{len(data.lengths) - 1}, not {index}")
    return np.asarray(data.event_ids[index][: data.lengths[index]], dtype=np.int32)


def plan(condition: Condition) -> "GenerationPlan":
    """The condition's generation plan: its shipped checkpoint found once, parameters checked."""
    from drumeval.generate import plan_generation

    return plan_generation(
        condition.model,
        preset=condition.preset,
        corpus=condition.corpus,
        num=1,
        bars=condition.bars,
        temperature=condition.temperature,
        seed=condition.seed,
        form=condition.form or None,
    )


def load_model(generation: "GenerationPlan"):
    """The plan's model, loaded once per process (`(model, card)`)."""
    from drumeval.generate import load_model as load_checkpoint

    return load_checkpoint(generation.checkpoint)


def sample_event_ids(generation: "GenerationPlan") -> tuple[np.ndarray, dict[str, Any]]:
    """The plan's generated event ids and the generator's provenance (no audio)."""
    from drumeval.generate import execute

    [track] = execute(generation)
    return track.event_ids, track.sidecar()


def blend_problem(generation: "GenerationPlan") -> str | None:
    """Why two clips of this plan cannot be blended in latent space (None: they can)."""
    if generation.model != "music_vae":
        return "only MusicVAE can interpolate between two clips"
    if not generation.decodes_whole_tracks:
        preset = generation.card.get("preset")
        return (
            f"preset {preset} decodes {generation.segment_bars}-bar segments, so it cannot "
            f"blend two {generation.bars}-bar clips; choose a 60-bar preset"
        )
    return None


def make_clip(
    condition: Condition,
    *,
    target_lufs: float | None = None,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = None,
    kit: str | None = None,
    excerpt_bars: tuple[int, int] | None = None,
) -> Clip:
    """Generate, render and measure one clip; stages go to `progress(stage, percent, 100)`.

    The same condition always gives the same event ids, MIDI and audio bytes. An all-silent
    generation is still a clip (no audio, `near_empty`), so callers can say so in their words.
    `kit`: render with this kit instead of the genre's (a study where timbre must not tell
    the genre apart). `excerpt_bars`: play only these bars (see `finish_clip`).
    """
    report = progress or no_progress
    generation = plan(condition)
    report("Loading the model", 0, PERCENT)
    load_model(generation)
    report(f"Sampling {condition.bars} bars", 25, PERCENT)
    event_ids, provenance = sample_event_ids(generation)
    return finish_clip(
        event_ids,
        genre=condition.genre,
        corpus=condition.corpus,
        condition=condition,
        provenance={**provenance, "genre": condition.genre, "corpus_size": condition.corpus_size},
        target_lufs=target_lufs,
        progress=report,
        cache_dir=cache_dir,
        kit=kit,
        excerpt_bars=excerpt_bars,
    )


def make_interpolated_clip(
    interpolation: Interpolation,
    *,
    target_lufs: float | None = None,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = None,
) -> Clip:
    """A MusicVAE clip at `mix` along the latent path between two seeds' clips.

    Both clips are encoded to their posterior means, the path between them is slerped and the
    point at `mix` is decoded with the start condition's temperature and seed (deterministic).
    """
    from drumeval.generate import execute

    start = interpolation.start
    report = progress or no_progress
    generation = plan(start)
    problem = blend_problem(generation)
    if problem:
        raise ConditionError("preset", problem)
    report("Loading the model", 0, PERCENT)
    load_model(generation)
    report("Sampling both ends", 15, PERCENT)
    start_ids, provenance = sample_event_ids(generation)
    end_ids, _ = sample_event_ids(generation.with_seed(interpolation.end_seed))
    report("Blending in latent space", 30, PERCENT)
    path = execute(
        generation.interpolating([start_ids, end_ids], num_interpolations=INTERPOLATION_STEPS)
    )
    index = round(interpolation.mix * (INTERPOLATION_STEPS - 1))
    event_ids = path[index].event_ids[: start.bars * STEPS_PER_BAR]
    return finish_clip(
        event_ids,
        genre=start.genre,
        corpus=start.corpus,
        condition=start,
        provenance={
            **provenance,
            "mode": "interpolate",
            "genre": start.genre,
            "corpus_size": start.corpus_size,
            "interpolate_to_seed": interpolation.end_seed,
            "mix": interpolation.mix,
        },
        target_lufs=target_lufs,
        progress=report,
        cache_dir=cache_dir,
    )


def event_ids_to_midi_bytes(event_ids: np.ndarray, *, kit: str) -> bytes:
    """A 120-qpm GM drum file whose program change selects the kit (a DAW plays the same kit)."""
    from drumeval.audio import kit_program
    from drumeval.data import midi

    return midi.event_ids_to_midi_bytes(event_ids, qpm=QPM, kit_program=kit_program(kit))


def check_excerpt_bars(excerpt_bars: tuple[int, int], bars: int) -> tuple[int, int]:
    """Bars [first, last] (1-based, inclusive) of a `bars`-bar track, checked."""
    first, last = excerpt_bars
    if not 1 <= first <= last <= bars:
        raise ConditionError(
            "excerpt_bars",
            f"bars {first}–{last} do not lie in a {bars}-bar clip: "
            f"must be bars [first, last] within 1…{bars}",
        )
    return first, last


def _render_settings(target_lufs: float | None, excerpt_bars: tuple[int, int] | None = None):
    from drumeval.audio import RenderSettings

    fields: dict[str, Any] = {} if target_lufs is None else {"target_lufs": target_lufs}
    if excerpt_bars is not None:
        first, last = excerpt_bars
        fields |= {
            "start_s": (first - 1) * BAR_SECONDS,
            "length_s": (last - first + 1) * BAR_SECONDS,
        }
    return RenderSettings(**fields)


def finish_clip(
    event_ids: np.ndarray,
    *,
    genre: str,
    corpus: str | None,
    provenance: dict[str, Any],
    condition: Condition | None = None,
    target_lufs: float | None = None,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = None,
    source_midi: bytes | None = None,
    kit: str | None = None,
    excerpt_bars: tuple[int, int] | None = None,
) -> Clip:
    """Render (the genre's kit unless `kit` names another; level-matched) and measure event
    ids: the pipeline's common tail.

    With `source_midi` the file itself is rendered (a human performance keeps its velocities
    and timing) while the metrics use its quantized event ids. `excerpt_bars` (first, last,
    1-based): the audio is those bars cut from the whole rendering — hits ringing into the
    first bar sound as in the track — and level-matched on its own; the metrics measure those
    bars, the MIDI stays whole and the provenance records the cut.
    """
    from drumeval.audio import kit_program, render, render_track

    report = progress or no_progress
    if kit is None:
        kit = GENRES[genre].kit
    kit_program(kit)  # an unknown kit name: AudioError listing the known ones
    event_ids = np.asarray(event_ids, dtype=np.int32)
    heard_ids = event_ids
    if excerpt_bars is not None:
        first, last = excerpt_bars
        heard_ids = excerpt_event_ids(event_ids, first_bar=first, last_bar=last)
        provenance = {**provenance, "excerpt_bars": [first, last]}
    midi_bytes = source_midi or event_ids_to_midi_bytes(event_ids, kit=kit)
    report("Rendering audio", 50, PERCENT)
    settings = _render_settings(target_lufs, excerpt_bars)
    cache = Path(cache_dir or audio_cache_dir())
    audio_bytes, audio_format, duration_s, loudness = None, settings.format, 0.0, None
    if np.any(heard_ids):
        if source_midi is not None:
            rendered = render(source_midi, kit=kit, settings=settings, cache_dir=cache)
        else:
            rendered = render_track(event_ids, qpm=QPM, kit=kit, settings=settings, cache_dir=cache)
        audio_bytes, audio_format = rendered.path.read_bytes(), rendered.format
        duration_s, loudness = rendered.duration_s, rendered.loudness_lufs
    report("Measuring", 85, PERCENT)
    values = measure(heard_ids, corpus)
    near_empty = track_metrics.near_empty(heard_ids)
    report("Done", 100, PERCENT)
    return Clip(
        condition=condition,
        event_ids=event_ids,
        midi_bytes=midi_bytes,
        audio_bytes=audio_bytes,
        audio_format=audio_format,
        duration_s=duration_s,
        loudness_lufs=loudness,
        kit=kit,
        metrics=values,
        provenance={**provenance, "kit": kit, "near_empty": near_empty},
        near_empty=near_empty,
    )


def clip_from_midi(
    midi_bytes: bytes,
    *,
    genre: str,
    source: str = "MIDI file",
    corpus: str | None = None,
    target_lufs: float | None = None,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = None,
    kit: str | None = None,
) -> Clip:
    """A clip from a MIDI file (a human reference, an import) through the same tail.

    The file is validated (`InvalidMidiError`, `NoDrumsError`…) and rendered in the genre's
    kit (or `kit`) at the same loudness as generated clips; `corpus` enables `new bars`.
    """
    from drumeval.data.midi import midi_bytes_to_sequence, sequence_to_drum_track

    if genre not in GENRES:
        raise ConditionError("genre", f"unknown genre {genre!r}: choose one of {', '.join(GENRES)}")
    track = sequence_to_drum_track(midi_bytes_to_sequence(midi_bytes, source=source), source=source)
    return finish_clip(
        track.event_ids,
        genre=genre,
        corpus=corpus,
        provenance={"source": source, "genre": genre, "qpm": track.qpm, "bars": track.num_bars},
        target_lufs=target_lufs,
        progress=progress,
        cache_dir=cache_dir,
        source_midi=midi_bytes,
        kit=kit,
    )


def excerpt_event_ids(event_ids: np.ndarray, *, first_bar: int, last_bar: int) -> np.ndarray:
    """Bars `first_bar`…`last_bar` (1-based, inclusive) of a track's event ids, cut at bar
    boundaries (STEPS_PER_BAR steps a bar)."""
    first, last = check_excerpt_bars((first_bar, last_bar), len(event_ids) // STEPS_PER_BAR)
    return np.asarray(event_ids)[(first - 1) * STEPS_PER_BAR : last * STEPS_PER_BAR]


def excerpt_clip(
    event_ids: np.ndarray,
    *,
    midi_sha256: str,
    first_bar: int,
    last_bar: int,
    genre: str,
    kit: str,
    target_lufs: float | None = None,
    corpus: str | None = None,
) -> Clip:
    """A segment of a clip for short trials: the whole clip's `event_ids` cut at bar
    boundaries and re-rendered through the pipeline's tail (its kit, the loudness target of
    whole clips); the cut is recorded in the provenance (`excerpt_of`: the whole clip's MIDI
    sha256, and `bars`)."""
    return finish_clip(
        excerpt_event_ids(event_ids, first_bar=first_bar, last_bar=last_bar),
        genre=genre,
        corpus=corpus,
        provenance={"excerpt_of": midi_sha256, "bars": [first_bar, last_bar], "genre": genre},
        target_lufs=target_lufs,
        kit=kit,
    )
