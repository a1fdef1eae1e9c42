"""The study's clip pool: generated clips per condition, human references, low anchors, imports.

Every clip goes through the one clip pipeline (`drumeval.clips`), so a generated clip, a human
reference and an imported file are rendered with the same genre kit at the same loudness
target: listeners compare the drums, not the level or the sound. Clips are stored by content
hash (`drumeval.clipstore`) and registered in the `clips` table; a pool rerun looks up what is
already there by (condition, seed) and builds only what is missing.

Condition names are the pool's vocabulary (studies select clips by them):
`<model>/<preset>/<corpus>/t<temperature>/<bars>bars` for generated clips (a structured
clip with a form other than its genre's default: `<preset>+form-<8 hex digits>`, see
`clips.form_identity`; `parse_condition_name` reads a name back),
`reference/<corpus>/<bars>bars`, `anchor/<corpus>/<bars>bars`, `practice/<bars>bars`, and any
name a researcher gives to imported files.

By default each genre is rendered with its own kit (TR-808 for techno-house, the jazz kit for
jazz-soul), which lets a listener name the genre from the sound alone. A pool built with one
shared `kit` renders every clip, references and anchors included, with that kit; its names
carry the prefix `kit-<name>/` (`kit_prefix`), so both pools can live side by side and a
study config picks one by its condition names.
"""

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine

from db import repository
from db.engine import transaction
from db.models import Clip as ClipRow
from drumeval import clipstore
from drumeval.data.drum_classes import NUM_DRUM_CLASSES, STEPS_PER_BAR
from drumeval.errors import DrumevalError, StudyError
from drumeval.progress import ProgressCallback, no_progress

DEFAULT_TARGET_LUFS = -23.0
MAX_IMPORT_FILES = 500
# The upload widget's limit per file, in Streamlit's megabytes (MiB): the smallest whole
# number above drumeval.data.midi.MAX_FILE_BYTES, which refuses anything larger with a reason.
MAX_UPLOAD_MB = 5
IMPORT_SUFFIXES = (".mid", ".midi")
_CONDITION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,99}")
_RESERVED_PREFIXES = ("reference/", "anchor/", "gold/", "practice/", "demo/", "arena/", "kit-")
# A gold clip's drums: every class hit on half the steps at random, a wall of noise that an
# attentive listener rates at the bottom of realism (its known answer, ITU-T P.808 style).
GOLD_HIT_RATE = 0.5
_LOUDNESS_TOLERANCE_LU = 0.5


@dataclass(frozen=True)
class PoolClip:
    """A clip of the pool as the researcher sees it (never shown to an evaluator)."""

    id: int
    condition: str
    role: str
    genre: str | None
    seed: int | None
    duration_s: float
    loudness_lufs: float | None


@dataclass(frozen=True)
class PoolReport:
    """What a pool build did: clips added, clips already there, and level problems."""

    added: tuple[PoolClip, ...]
    existing: tuple[PoolClip, ...]
    skipped: tuple[tuple[str, str], ...]  # (what, why)
    target_lufs: float
    quiet: tuple[PoolClip, ...]  # below the target: the true-peak ceiling limited them

    @property
    def clips(self) -> tuple[PoolClip, ...]:
        return self.existing + self.added


@dataclass(frozen=True)
class ImportReport:
    """Imported clips, the files refused with their reason (file name, reason), and the
    imported files whose audio or MIDI the pool already held under another condition
    (file name, warning)."""

    imported: tuple[PoolClip, ...]
    skipped: tuple[tuple[str, str], ...]
    duplicates: tuple[tuple[str, str], ...] = ()


def kit_prefix(kit: str | None) -> str:
    """The name prefix of a pool rendered with one shared kit ("" for the genres' own kits)."""
    if kit is None:
        return ""
    from drumeval.audio import kit_program

    kit_program(kit)  # an unknown kit: AudioError listing the known ones
    return f"kit-{kit}/"


@dataclass(frozen=True)
class GeneratedName:
    """The parts of a generated condition's pool name; `form` is `clips.form_identity` ("" for
    the default form), written after the preset as `<preset>+<form>` so that the name keeps
    its five segments (corpus third, bars last) that references and anchors are matched by."""

    prefix: str
    model: str
    preset: str
    form: str
    corpus: str
    temperature: float
    bars: int

    @property
    def name(self) -> str:
        preset = f"{self.preset}+{self.form}" if self.form else self.preset
        return (
            f"{self.prefix}{self.model}/{preset}/{self.corpus}/"
            f"t{self.temperature:g}/{self.bars}bars"
        )


_GENERATED_NAME = re.compile(
    r"(?P<prefix>(?:demo/)?(?:kit-[a-z0-9]+/)?)(?P<model>[^/+]+)/(?P<preset>[^/+]+)"
    r"(?:\+(?P<form>form-[0-9a-f]+))?/(?P<corpus>[^/]+)/t(?P<temperature>[0-9.]+)/(?P<bars>\d+)bars"
)


def condition_name(condition: Any, *, prefix: str = "") -> str:
    """The pool's name of a generated condition (its seed excluded: seeds vary within it)."""
    from drumeval.clips import form_identity

    return GeneratedName(
        prefix=prefix,
        model=condition.model,
        preset=condition.preset,
        form=form_identity(condition),
        corpus=condition.corpus,
        temperature=condition.temperature,
        bars=condition.bars,
    ).name


def parse_condition_name(name: str) -> GeneratedName | None:
    """The parts of a generated condition's name (`condition_name`); None for any other name."""
    match = _GENERATED_NAME.fullmatch(name)
    if match is None:
        return None
    return GeneratedName(
        prefix=match["prefix"],
        model=match["model"],
        preset=match["preset"],
        form=match["form"] or "",
        corpus=match["corpus"],
        temperature=float(match["temperature"]),
        bars=int(match["bars"]),
    )


def reference_name(corpus: str, bars: int, *, prefix: str = "") -> str:
    return f"{prefix}reference/{corpus}/{bars}bars"


def anchor_name(corpus: str, bars: int, *, prefix: str = "") -> str:
    return f"{prefix}anchor/{corpus}/{bars}bars"


def gold_name(corpus: str, bars: int, *, prefix: str = "") -> str:
    return f"{prefix}gold/{corpus}/{bars}bars"


def practice_name(bars: int, *, prefix: str = "") -> str:
    return f"{prefix}practice/{bars}bars"


def check_import_condition(name: str) -> str:
    """A researcher's name for imported clips: short, plain, and not one the pool reserves."""
    name = name.strip()
    if not _CONDITION_NAME.fullmatch(name):
        raise StudyError(
            f"invalid condition name {name!r}: 1–100 letters, digits and _ . : / + -, "
            "starting with a letter or digit"
        )
    if name.startswith(_RESERVED_PREFIXES) or (name.endswith("bars") and name.count("/") >= 3):
        raise StudyError(f"the condition name {name!r} is reserved for clips the pool builds")
    return name


# --- pure parts --------------------------------------------------------------------------


def class_hit_rates(event_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per drum class, the share of 16th-note steps that hit it (over the unpadded steps)."""
    hits = np.zeros(NUM_DRUM_CLASSES)
    steps = 0
    for row, length in zip(event_ids, lengths, strict=True):
        track = np.asarray(row[:length], dtype=np.int64)
        hits += ((track[:, None] >> np.arange(NUM_DRUM_CLASSES)) & 1).sum(axis=0)
        steps += int(length)
    if steps == 0:
        raise StudyError("the corpus has no steps to measure its hit density")
    return hits / steps


def random_drums(rates: np.ndarray, *, bars: int, seed: int) -> np.ndarray:
    """A low anchor: every class hit independently at its corpus rate, at random steps.

    Same busyness as the genre, no groove, no phrasing: a clip every attentive listener
    rates low, which makes it a check of attention and an anchor of the scale's bottom.
    """
    rng = np.random.default_rng(seed)
    steps = bars * STEPS_PER_BAR
    hits = rng.random((steps, NUM_DRUM_CLASSES)) < np.asarray(rates)[None, :]
    if not hits.any():
        hits[0, int(np.argmax(rates))] = True  # never silent: silence cannot be rendered
    return (hits.astype(np.int64) @ (1 << np.arange(NUM_DRUM_CLASSES))).astype(np.int32)


def pick_eval_examples(
    lengths: np.ndarray, is_eval: np.ndarray, *, steps: int, count: int, seed: int
) -> list[int]:
    """Seeded choice of eval-split examples long enough for a clip of `steps` steps."""
    candidates = np.flatnonzero(np.asarray(is_eval, dtype=bool) & (np.asarray(lengths) >= steps))
    if len(candidates) < count:
        raise StudyError(
            f"the corpus's eval split has {len(candidates)} examples of {steps // STEPS_PER_BAR} "
            f"bars or more; {count} wanted"
        )
    rng = np.random.default_rng(seed)
    return sorted(int(index) for index in rng.choice(candidates, size=count, replace=False))


# --- database and clip store -------------------------------------------------------------


def _as_pool_clip(row: ClipRow) -> PoolClip:
    return PoolClip(
        id=row.id,
        condition=row.condition,
        role=row.role,
        genre=row.genre,
        seed=row.seed,
        duration_s=row.duration_s,
        loudness_lufs=row.loudness_lufs,
    )


def pool_clips(engine: Engine, *, conditions: Iterable[str] | None = None) -> list[PoolClip]:
    """Every clip of the pool (or of the named conditions), ordered by condition and seed."""
    with transaction(engine) as session:
        return [
            _as_pool_clip(row) for row in repository.pool_clip_rows(session, conditions=conditions)
        ]


def pool_target_lufs(engine: Engine, requested: float | None = None) -> float:
    """The pool's one loudness target: the one its clips were rendered at, else `requested`.

    Listeners must compare drums, not levels, so every clip of the pool (generated,
    reference, anchor, imported) is rendered at the same target; asking for another one
    once the pool has clips is refused rather than silently mixing two levels.
    """
    with transaction(engine) as session:
        targets = {
            float(provenance["target_lufs"])
            for provenance in repository.clip_provenances(session)
            if "target_lufs" in provenance
        }
    if not targets:
        return DEFAULT_TARGET_LUFS if requested is None else float(requested)
    if len(targets) > 1:
        levels = ", ".join(f"{target:g}" for target in sorted(targets))
        raise StudyError(f"the pool mixes loudness targets ({levels} LUFS); rebuild it at one")
    [target] = targets
    if requested is not None and abs(requested - target) > 1e-6:
        raise StudyError(
            f"the pool's clips are rendered at {target:g} LUFS; new clips must match it "
            f"(asked for {requested:g})"
        )
    return target


def _existing(engine: Engine, condition: str) -> dict[int | None, PoolClip]:
    return {clip.seed: clip for clip in pool_clips(engine, conditions=[condition])}


def store_clip(
    engine: Engine,
    clip: Any,
    *,
    role: str,
    condition: str,
    genre: str | None,
    seed: int | None,
    is_demo: bool,
    target_lufs: float,
    fields: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
) -> PoolClip:
    """Put a finished `drumeval.clips.Clip` in the clip store and the clips table."""
    if clip.audio_bytes is None:
        raise StudyError("the clip has no drum hit, so there is nothing to play")
    provenance = {**(clip.provenance if provenance is None else provenance)}
    provenance["target_lufs"] = target_lufs
    midi_sha256 = clipstore.put(clip.midi_bytes, "mid")
    audio_sha256 = clipstore.put(clip.audio_bytes, clip.audio_format)
    with transaction(engine, write_lock=True) as session:
        row = repository.add_clip(
            session,
            role=role,
            condition=condition,
            midi_sha256=midi_sha256,
            audio_sha256=audio_sha256,
            audio_format=clip.audio_format,
            duration_s=clip.duration_s,
            genre=genre,
            seed=seed,
            loudness_lufs=clip.loudness_lufs,
            metrics=clip.metrics,
            provenance=provenance,
            is_demo=is_demo,
            **(fields or {}),
        )
        return _as_pool_clip(row)


def open_corpus(corpus: str):
    """The named corpus, imported only when a pool needs one (pages never load it)."""
    from drumeval.data.corpus import load_corpus

    return load_corpus(corpus)


@dataclass(frozen=True)
class _Job:
    label: str
    condition: str
    seed: int
    build: Callable[[], PoolClip | None]


def build_and_store(
    engine: Engine,
    *,
    role: str,
    condition: str,
    seed: int,
    target_lufs: float,
    is_demo: bool,
    template: Any = None,
    corpus: str | None = None,
    genre: str | None = None,
    bars: int = 0,
    kit: str | None = None,
    excerpt_bars: tuple[int, int] | None = None,
) -> PoolClip | None:
    """Make one pool clip (None when a model generated silence) and store it.

    Generated and practice clips come from `template` at `seed`; a human reference is eval
    example number `seed` of `corpus`; a low anchor is random drums seeded with `seed`.
    `excerpt_bars`: the clip plays only these bars of the track (`clips.finish_clip`).
    """
    from drumeval.clips import corpus_example, finish_clip, make_clip
    from drumeval.registry import split_corpus_name

    fields: dict[str, Any] = {}
    if template is not None:
        clip = make_clip(
            dataclasses.replace(template, seed=seed),
            target_lufs=target_lufs,
            kit=kit,
            excerpt_bars=excerpt_bars,
        )
        genre = template.genre
        if role == "generated":
            fields = {
                "model": template.model,
                "preset": template.preset,
                "corpus_size": template.corpus_size,
                "temperature": template.temperature,
            }
        if clip.audio_bytes is None:
            return None
    else:
        assert corpus is not None and genre is not None
        if role == "reference":
            event_ids = corpus_example(corpus, seed)[: bars * STEPS_PER_BAR]
            source = {"source": "corpus eval split", "example": seed}
        elif role == "gold":
            event_ids = random_drums(np.full(NUM_DRUM_CLASSES, GOLD_HIT_RATE), bars=bars, seed=seed)
            source = {"source": "random-noise drums (gold clip: realism −2 ± 1)", "seed": seed}
        else:
            rates = class_hit_rates(*open_corpus(corpus).split("train"))
            event_ids = random_drums(rates, bars=bars, seed=seed)
            source = {"source": "random drums at the corpus's hit rates", "seed": seed}
        clip = finish_clip(
            event_ids,
            genre=genre,
            corpus=corpus,
            provenance={**source, "corpus": corpus},
            target_lufs=target_lufs,
            kit=kit,
            excerpt_bars=excerpt_bars,
        )
        fields = {"corpus_size": split_corpus_name(corpus)[1]}
    return store_clip(
        engine,
        clip,
        role=role,
        condition=condition,
        genre=genre,
        seed=seed,
        is_demo=is_demo,
        target_lufs=target_lufs,
        fields=fields,
    )


def build_pool(
    engine: Engine,
    *,
    conditions: Sequence[Any],
    per_condition: int,
    seed: int = 0,
    target_lufs: float | None = None,
    references_per_genre: int = 1,
    anchors_per_genre: int = 1,
    gold_per_genre: int = 0,
    practice: bool = True,
    is_demo: bool = False,
    prefix: str = "",
    kit: str | None = None,
    progress: ProgressCallback | None = None,
) -> PoolReport:
    """Clips for each condition (seeds `seed`, `seed`+1, …), references, anchors, a practice clip.

    `conditions` are `drumeval.clips.Condition`s (their own seed is ignored; the pool gives
    each clip its seed). A rerun builds only the clips missing from the database. References
    and anchors are made for every corpus the conditions use, at the conditions' length, and so
    are gold clips (`gold_per_genre`: random-noise drums with a known answer, for screening).
    `kit`: render every clip with this one kit (names prefixed `kit-<kit>/`).
    """
    if per_condition < 1:
        raise StudyError("clips per condition must be at least 1")
    if not conditions:
        raise StudyError("choose at least one condition for the pool")
    report = progress or no_progress
    prefix = f"{prefix}{kit_prefix(kit)}"
    target_lufs = pool_target_lufs(engine, target_lufs)
    jobs: list[_Job] = []
    existing: list[PoolClip] = []
    stored = functools.partial(
        build_and_store, engine, target_lufs=target_lufs, is_demo=is_demo, kit=kit
    )

    def plan(condition: str, seeds: Iterable[int], label: str, **how: Any) -> None:
        have = _existing(engine, condition)
        for clip_seed in seeds:
            if clip_seed in have:
                existing.append(have[clip_seed])
            else:
                build = functools.partial(stored, condition=condition, seed=clip_seed, **how)
                jobs.append(_Job(label, condition, clip_seed, build))

    for template in conditions:
        name = condition_name(template, prefix=prefix)
        plan(name, range(seed, seed + per_condition), name, role="generated", template=template)
    for corpus, genre, bars in sorted({(c.corpus, c.genre, c.bars) for c in conditions}):
        if references_per_genre:
            data = open_corpus(corpus)
            indices = pick_eval_examples(
                data.lengths,
                data.is_eval,
                steps=bars * STEPS_PER_BAR,
                count=references_per_genre,
                seed=seed,
            )
            label = f"human reference ({corpus})"
            name = reference_name(corpus, bars, prefix=prefix)
            plan(name, indices, label, role="reference", corpus=corpus, genre=genre, bars=bars)
        if anchors_per_genre:
            seeds = range(seed, seed + anchors_per_genre)
            label = f"low anchor ({corpus})"
            name = anchor_name(corpus, bars, prefix=prefix)
            plan(name, seeds, label, role="anchor", corpus=corpus, genre=genre, bars=bars)
        if gold_per_genre:
            seeds = range(seed, seed + gold_per_genre)
            name = gold_name(corpus, bars, prefix=prefix)
            plan(name, seeds, f"gold clip ({corpus})", role="gold", corpus=corpus, genre=genre,
                 bars=bars)  # fmt: skip
    if practice:
        first = conditions[0]
        name = practice_name(first.bars, prefix=prefix)
        # A seed no rated clip of that condition uses.
        plan(name, [seed + per_condition], "practice clip", role="training", template=first)

    added: list[PoolClip] = []
    skipped: list[tuple[str, str]] = []
    for done, job in enumerate(jobs):
        report(job.label, done, len(jobs))
        try:
            clip = job.build()
        except DrumevalError as error:
            skipped.append((f"{job.condition} seed {job.seed}", str(error)))
            continue
        if clip is None:
            skipped.append((f"{job.condition} seed {job.seed}", "the model generated no drum hit"))
        else:
            added.append(clip)
    report("done", len(jobs), len(jobs))
    everything = existing + added
    quiet = tuple(
        clip
        for clip in everything
        if clip.loudness_lufs is not None
        and clip.loudness_lufs < target_lufs - _LOUDNESS_TOLERANCE_LU
    )
    return PoolReport(tuple(added), tuple(existing), tuple(skipped), target_lufs, quiet)


# --- imports -----------------------------------------------------------------------------


def import_midi(
    engine: Engine,
    files: Iterable[tuple[str, bytes]],
    *,
    condition: str,
    genre: str,
    target_lufs: float | None = None,
    kit: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import (file name, bytes) pairs as clips of `condition`; bad files are skipped with why.

    `kit`: render with this kit instead of the genre's (to match a shared-kit pool).

    Each file goes through the same validation as every MIDI input and is stored by content
    hash only: the name a researcher gave it never becomes a path or a URL.
    """
    from drumeval.clips import clip_from_midi
    from drumeval.data.midi import MAX_FILE_BYTES
    from drumeval.registry import check_genre

    condition = check_import_condition(condition)
    check_genre(genre)
    kit_prefix(kit)  # validates the kit name
    target_lufs = pool_target_lufs(engine, target_lufs)
    items = list(files)
    if len(items) > MAX_IMPORT_FILES:
        raise StudyError(f"import at most {MAX_IMPORT_FILES} files at a time; got {len(items)}")
    report = progress or no_progress
    imported: list[PoolClip] = []
    skipped: list[tuple[str, str]] = []
    duplicates: list[tuple[str, str]] = []
    for done, (name, data) in enumerate(items):
        report(name, done, len(items))
        if len(data) > MAX_FILE_BYTES:
            skipped.append((name, f"the file is larger than {MAX_FILE_BYTES:,} bytes"))
            continue
        try:
            clip = clip_from_midi(
                data, genre=genre, source="imported MIDI", target_lufs=target_lufs, kit=kit
            )
            if others := _conditions_holding(engine, clip, condition):
                duplicates.append((name, _duplicate_warning(others)))
            imported.append(
                store_clip(
                    engine,
                    clip,
                    role="imported",
                    condition=condition,
                    genre=genre,
                    seed=None,
                    is_demo=False,
                    target_lufs=target_lufs,
                    provenance={**clip.provenance, "file_name": name},
                )
            )
        except DrumevalError as error:
            skipped.append((name, str(error)))
    report("done", len(items), len(items))
    return ImportReport(tuple(imported), tuple(skipped), tuple(duplicates))


def _conditions_holding(engine: Engine, clip: Any, condition: str) -> list[str]:
    if clip.audio_bytes is None:
        return []
    with transaction(engine) as session:
        return repository.conditions_with_content(
            session,
            audio_sha256=clipstore.sha256_hex(clip.audio_bytes),
            midi_sha256=clipstore.sha256_hex(clip.midi_bytes),
            excluding=condition,
        )


def _duplicate_warning(conditions: list[str]) -> str:
    names = ", ".join(repr(name) for name in conditions)
    return (
        f"the same audio is already in the pool as {names}; a study with both conditions "
        "would rate one clip twice"
    )


def import_clips(
    engine: Engine,
    directory: str | Path,
    *,
    condition: str,
    genre: str,
    target_lufs: float | None = None,
    kit: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import every `.mid`/`.midi` file of a directory (not recursive) as one condition."""
    from drumeval.data.midi import MAX_FILE_BYTES

    folder = Path(directory)
    if not folder.is_dir():
        raise StudyError(f"{folder} is not a directory")
    paths = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMPORT_SUFFIXES and p.is_file()
    )
    if not paths:
        raise StudyError(f"no .mid or .midi file in {folder}")
    files: list[tuple[str, bytes]] = []
    too_big: list[tuple[str, str]] = []
    for path in paths:
        if path.stat().st_size > MAX_FILE_BYTES:
            too_big.append((path.name, f"the file is larger than {MAX_FILE_BYTES:,} bytes"))
        else:
            files.append((path.name, path.read_bytes()))
    result = import_midi(
        engine,
        files,
        condition=condition,
        genre=genre,
        target_lufs=target_lufs,
        kit=kit,
        progress=progress,
    )
    return ImportReport(result.imported, tuple(too_big) + result.skipped, result.duplicates)


# --- excerpts ----------------------------------------------------------------------------


def excerpt_name(condition: str, first_bar: int, last_bar: int) -> str:
    """The condition of a clip's bars first…last: `<condition>/bars<first>-<last>`."""
    return f"{condition}/bars{first_bar}-{last_bar}"


def make_excerpts(engine: Engine, clip_ids: Sequence[int], bars: tuple[int, int]) -> list[int]:
    """The excerpt clip of bars `bars` of each clip (made once, then reused), in order.

    Each is cut from the clip's MIDI at bar boundaries, re-rendered in the clip's kit at the
    pool's loudness target and stored content-addressed under `excerpt_name`, with the
    clip's role, genre and model, so that it is a pool clip like any other.
    """
    from drumeval.clips import event_ids_to_midi_bytes, excerpt_clip, excerpt_event_ids
    from drumeval.data.midi import midi_bytes_to_sequence, sequence_to_drum_track
    from drumeval.registry import GENRES

    first, last = bars
    target = pool_target_lufs(engine)
    with transaction(engine) as session:
        rows = {clip.id: clip for clip in repository.clips_by_id(session, clip_ids=clip_ids)}
    excerpts = []
    for clip_id in clip_ids:
        clip = rows[clip_id]
        genre = clip.genre if clip.genre in GENRES else next(iter(GENRES))
        kit = (clip.provenance or {}).get("kit") or GENRES[genre].kit
        name = excerpt_name(clip.condition, first, last)
        source = f"the MIDI of clip {clip.public_id}"
        midi = clipstore.get(clip.midi_sha256, "mid")
        track = sequence_to_drum_track(midi_bytes_to_sequence(midi, source=source), source=source)
        cut = excerpt_event_ids(track.event_ids, first_bar=first, last_bar=last)
        cut_sha = clipstore.sha256_hex(event_ids_to_midi_bytes(cut, kit=kit))
        with transaction(engine) as session:
            made_before = repository.clips_of_conditions(session, conditions=[name])
        known = {sha: id_ for id_, sha, _ in made_before}
        if cut_sha in known:
            excerpts.append(known[cut_sha])
            continue
        made = excerpt_clip(
            track.event_ids,
            midi_sha256=clip.midi_sha256,
            first_bar=first,
            last_bar=last,
            genre=genre,
            kit=kit,
            target_lufs=target,
        )
        stored = store_clip(
            engine,
            made,
            role=clip.role,
            condition=name,
            genre=clip.genre,
            seed=clip.seed,
            is_demo=clip.is_demo,
            target_lufs=target,
            fields={
                "model": clip.model,
                "preset": clip.preset,
                "corpus_size": clip.corpus_size,
                "temperature": clip.temperature,
            },
            provenance={**made.provenance, "excerpt_of_clip": clip.public_id},
        )
        excerpts.append(stored.id)
    return excerpts
