"""The evidence of issue 33: does a model that knows the song form play it better than
DrumsRNN, MusicVAE and a training-free arranger that retrieves the form from the corpus?

Every model plays the same forms on the same seeds; each set of tracks is measured against the
form it was asked for (DrumsRNN and MusicVAE never see it: that is the point) and against its
training corpus. Columns (each measure defined once in `drumeval.metrics`):

* `boundary_f1` — detected section changes vs planned boundaries, ±1 bar, tp/fp/fn summed over
  tracks (`structure.planned_boundary_counts`);
* `bar_sim_1`, `bar_sim_8` — bar-to-bar and 8-bar self-similarity (`groove.bar_similarity`);
* `same_label_sim`, `different_label_sim` — mean bar similarity of section pairs that share a
  label / do not (`structure.same_vs_different_label_similarity`): repeats should be closer;
* `repeat_distance` — 1 − mean Jaccard similarity of each bar of a repeated section and the
  bar at the same offset in its earlier instance (`repeat_distance`): 0 is a verbatim copy,
  so with `copied_windows` it shows whether copy-or-vary recalls or merely copies;
* `backbeat_2_4`, `backbeat_1_3` — share of bars with a snare on 2 & 4 / on 1 & 3
  (`structure.backbeat_shares`): the first far above the second means the bar line is kept;
* `groove_distance` — `fidelity.fidelity_distance` of the tracks' groove profile to the train
  split's (0 = plays the corpus's groove);
* `copied_windows`, `novel_bars` — share of 4-bar windows found verbatim in the train split
  (`novelty.exact_copy_rate`) and of bars never seen there (`metrics.novel_bar_fraction`):
  how much a model (above all the arranger) copies.

The `corpus (eval)` row measures the held-out split against its own forms (techno-house: the
programmed sections; jazz-soul: 8-bar phrases), the ceiling of what the section detector finds.
Sampling happens in `sample_models` (JAX/Keras imported there only); the rest is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from drumeval import paths
from drumeval.analysis.objective import nanmean  # the NaN rule of both tables
from drumeval.data.corpus import load_corpus, resolve_corpus_dir
from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.data.forms import (
    FORM_PRESETS,
    SongForm,
    example_forms,
    labelled_form,
    read_sections,
    repeat_source_steps,
)
from drumeval.errors import DatasetError, ParameterError
from drumeval.metrics import bar_self_similarity, corpus_bar_set, novel_bar_fraction, tracks_of
from drumeval.metrics.fidelity import (
    GrooveProfile,
    corpus_profile,
    fidelity_distance,
    groove_profile,
)
from drumeval.metrics.groove import bar_similarity
from drumeval.metrics.novelty import corpus_window_set, exact_copy_rate
from drumeval.metrics.structure import (
    backbeat_shares,
    f1_score,
    planned_boundary_counts,
    same_vs_different_label_similarity,
    section_boundaries,
)

SEEDS: tuple[int, ...] = (0, 1, 2, 3)
CORPUS_SIZE = 700
DEFAULT_FORMS: Mapping[str, str] = {"techno-house": "peak-time", "jazz-soul": "head-solo-head"}
BASELINE_MODELS: tuple[tuple[str, str], ...] = (
    ("drums_rnn", "thesis"),
    ("music_vae", "thesis-longbar"),
)
ARRANGER = "arranger"
STRUCTURED_MODEL = "structured"
CORPUS_ROW = "corpus (eval)"
REPORT_FILE = "structure_report.md"
STRUCTURE_COLUMNS = (
    "genre",
    "model",
    "n_tracks",
    "boundary_f1",
    "bar_sim_1",
    "bar_sim_8",
    "same_label_sim",
    "different_label_sim",
    "repeat_distance",
    "backbeat_2_4",
    "backbeat_1_3",
    "groove_distance",
    "copied_windows",
    "novel_bars",
)

Note = Callable[[str], None]
Sampler = Callable[[str, str, SongForm, Sequence[int], Note], dict[str, list[np.ndarray]]]


def detected_form(event_ids: np.ndarray) -> SongForm:
    """A track's form as the section detector hears it: cut at `section_boundaries`, segments
    labelled by clustering (`forms.labelled_form`: head, solo, trade) — how a jazz-soul
    performance, which has no section labels, gets a form with repeats."""
    return labelled_form(section_boundaries(event_ids), bar_self_similarity(event_ids))


def draw_corpus_form(corpus: str, *, seed: int, bars: int = 60) -> SongForm:
    """The detected form (`detected_form`) of one train-split track of `bars` whole bars of the
    corpus `corpus`, drawn with `seed`, for a model to play a form the corpus really has."""
    loaded = load_corpus(corpus)
    event_ids, lengths = loaded.split("train")
    candidates = np.flatnonzero(np.asarray(lengths) // STEPS_PER_BAR == bars)
    if not len(candidates):
        raise ParameterError("bars", f"matches no train track of {corpus}; got {bars}")
    row = int(np.random.default_rng(seed).choice(candidates))
    track = np.asarray(event_ids[row][: bars * STEPS_PER_BAR])
    if len(track) < bars * STEPS_PER_BAR:
        raise DatasetError(f"{corpus}: train track {row} is shorter than its length says")
    return detected_form(track)


@dataclass(frozen=True)
class TrainReference:
    """What a model is compared with: its train split's groove, 4-bar windows and bars."""

    profile: GrooveProfile
    windows: set[bytes]
    bars: set[bytes]


def train_reference(event_ids: np.ndarray, lengths: np.ndarray) -> TrainReference:
    """The reference of a train split `[N, T]` with lengths in steps."""
    return TrainReference(
        profile=corpus_profile(event_ids, lengths),
        windows=corpus_window_set(tracks_of(event_ids, lengths)),
        bars=corpus_bar_set(event_ids, lengths),
    )


def repeat_distance(event_ids: np.ndarray, form: SongForm) -> float:
    """1 − mean Jaccard similarity of every bar of a repeated section with the bar at the same
    offset in the latest earlier section of its label (`forms.repeat_source_steps`); NaN when
    the form repeats no label. 0: the repeat copies its earlier instance; near the
    different-label level: it does not recall it."""
    sources = repeat_source_steps(form)[::STEPS_PER_BAR]
    repeated = np.flatnonzero(sources >= 0)
    if not len(repeated):
        return float("nan")
    similarity = bar_self_similarity(event_ids)
    return float(1.0 - similarity[repeated, sources[repeated] // STEPS_PER_BAR].mean())


def measure_structure(
    tracks: Sequence[np.ndarray], forms: Sequence[SongForm], reference: TrainReference
) -> dict[str, float]:
    """The report's figures for tracks, each measured against its own form (see the module)."""
    counts = np.sum([planned_boundary_counts(t, f) for t, f in zip(tracks, forms, strict=True)], 0)
    labels = [same_vs_different_label_similarity(t, f) for t, f in zip(tracks, forms, strict=True)]
    backbeats = [backbeat_shares(track) for track in tracks]
    return {
        "n_tracks": len(tracks),
        "boundary_f1": f1_score(*(int(count) for count in counts)),
        "bar_sim_1": nanmean([bar_similarity(track, 1) for track in tracks]),
        "bar_sim_8": nanmean([bar_similarity(track, 8) for track in tracks]),
        "same_label_sim": nanmean([same for same, _ in labels]),
        "different_label_sim": nanmean([different for _, different in labels]),
        "repeat_distance": nanmean(
            [repeat_distance(t, f) for t, f in zip(tracks, forms, strict=True)]
        ),
        "backbeat_2_4": nanmean([on_two_four for on_two_four, _ in backbeats]),
        "backbeat_1_3": nanmean([on_one_three for _, on_one_three in backbeats]),
        "groove_distance": fidelity_distance(groove_profile(tracks), reference.profile),
        "copied_windows": nanmean([exact_copy_rate(t, reference.windows) for t in tracks]),
        "novel_bars": nanmean([novel_bar_fraction(t, reference.bars) for t in tracks]),
    }


def sample_models(
    genre: str, corpus: str, form: SongForm, seeds: Sequence[int], note: Note
) -> dict[str, list[np.ndarray]]:
    """One track per seed of every compared model, keyed by row name: the shipped DrumsRNN
    and MusicVAE (through `drumeval.generate`), the arranger, and the structure model when a
    checkpoint of it is shipped for `corpus` (else `note` says it was skipped)."""
    from drumeval.generate import execute, plan_generation
    from drumeval.models.arranger import arrange_tracks, pool_from_corpus
    from drumeval.registry import shipped_checkpoints

    samples: dict[str, list[np.ndarray]] = {}

    def run(name: str, plan) -> None:
        samples[name] = [execute(plan.with_seed(seed))[0].event_ids for seed in seeds]

    for model, preset in BASELINE_MODELS:
        plan = plan_generation(model, corpus=corpus, preset=preset, bars=form.total_bars)
        run(f"{model}/{preset}", plan)
    pool = pool_from_corpus(corpus)
    samples[ARRANGER] = [arrange_tracks(form, pool, seed=seed)[0] for seed in seeds]
    structured = [
        c for c in shipped_checkpoints() if (c.model, c.corpus) == (STRUCTURED_MODEL, corpus)
    ]
    if not structured:
        note(
            f"{genre}: no structure-model checkpoint (checkpoints/{STRUCTURED_MODEL}/*/{corpus}) "
            "yet — its row is skipped"
        )
    for checkpoint in structured:
        plan = plan_generation(
            STRUCTURED_MODEL,
            corpus=corpus,
            preset=checkpoint.preset,
            bars=form.total_bars,
            form=form,
        )
        run(f"{STRUCTURED_MODEL}/{checkpoint.preset}", plan)
    return samples


@dataclass(frozen=True)
class StructureReport:
    """The table, what it was run on, and what was skipped."""

    table: pd.DataFrame
    forms: Mapping[str, SongForm]
    seeds: tuple[int, ...]
    corpus_size: int
    notes: tuple[str, ...]


def run_structure_report(
    forms: Mapping[str, SongForm] | None = None,
    seeds: Sequence[int] = SEEDS,
    *,
    corpus_size: int = CORPUS_SIZE,
    sampler: Sampler = sample_models,
    note: Note = lambda _: None,
) -> StructureReport:
    """Sample every model on each genre's form (default: `DEFAULT_FORMS`) and seed, measure
    each against the genre's `<genre>-<corpus_size>` corpus, add the corpus's eval row."""
    if forms is None:
        forms = {genre: FORM_PRESETS[genre][name] for genre, name in DEFAULT_FORMS.items()}
    notes: list[str] = []

    def keep(message: str) -> None:
        notes.append(message)
        note(message)

    rows = []
    for genre, form in forms.items():
        corpus_name = f"{genre}-{corpus_size}"
        corpus = load_corpus(corpus_name)
        reference = train_reference(*corpus.split("train"))
        samples = sampler(genre, corpus_name, form, tuple(seeds), keep)
        for model, tracks in samples.items():
            values = measure_structure(tracks, [form] * len(tracks), reference)
            rows.append({"genre": genre, "model": model, **values})
        eval_rows = np.flatnonzero(corpus.is_eval)
        eval_forms = example_forms(corpus, read_sections(resolve_corpus_dir(corpus_name)))
        eval_tracks = tracks_of(corpus.event_ids[eval_rows], corpus.lengths[eval_rows])
        values = measure_structure(eval_tracks, [eval_forms[i] for i in eval_rows], reference)
        rows.append({"genre": genre, "model": CORPUS_ROW, **values})
    return StructureReport(
        table=pd.DataFrame(rows, columns=list(STRUCTURE_COLUMNS)),
        forms=dict(forms),
        seeds=tuple(seeds),
        corpus_size=corpus_size,
        notes=tuple(notes),
    )


def report_markdown(report: StructureReport) -> str:
    """The report as Markdown: what was run, the table, and the skipped rows."""
    lines = [
        "# Structure report (issue 33)",
        "",
        f"Seeds {', '.join(map(str, report.seeds))}; one form per genre, "
        f"measured against the {report.corpus_size}-track corpora "
        "(`drumeval structure-report`).",
        "",
        *(f"- {genre}: `{form.to_text()}`" for genre, form in report.forms.items()),
        "",
        report.table.to_markdown(index=False, floatfmt=".2f"),
    ]
    if report.notes:
        lines += ["", *(f"Note: {message}" for message in report.notes)]
    return "\n".join(lines) + "\n"


def write_structure_report(report: StructureReport, path: str | Path | None = None) -> Path:
    """Write `report_markdown` to `path` (default `data/tables/structure_report.md`)."""
    path = Path(path) if path is not None else paths.tables_dir() / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_markdown(report))
    return path
