"""Run the objective Table 1 over every shipped checkpoint and the corpora, and validate its
two learned/tuned parts (genre classifier, section detector) on held-out corpus clips.

This is the I/O edge of `drumeval.analysis.objective`: it loads corpora and checkpoints
and samples (JAX/Keras are imported only inside `sample_checkpoints`). `drumeval
objective-table [--num 8] [--seed 2024]` prints the validation figures and the table as
Markdown and writes the table and the self-similarity curves beside the data
(`paths.tables_dir()`), where the About and Results pages read them without models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from drumeval.analysis.objective import CorpusSplits, objective_table1, self_similarity_curves
from drumeval.metrics import tracks_of
from drumeval.metrics.genre import GenreClassifier, train_genre_classifier
from drumeval.metrics.structure import boundary_f1, f1_score, section_boundaries
from drumeval.paths import objective_table_path, self_similarity_curves_path

if TYPE_CHECKING:
    import pandas as pd

CORPORA = ("techno-house-700", "techno-house-1500", "jazz-soul-700", "jazz-soul-1500")
SAMPLE_SEED = 2024
SAMPLES_PER_CHECKPOINT = 8


def load_corpus_splits(names: Sequence[str] = CORPORA) -> dict[tuple[str, int], CorpusSplits]:
    """Train and eval tracks of each corpus, keyed by (genre, size)."""
    from drumeval.data.corpus import load_corpus

    splits = {}
    for name in names:
        corpus = load_corpus(name)
        size = int(name.rsplit("-", 1)[1])
        splits[(corpus.genre, size)] = CorpusSplits(
            genre=corpus.genre,
            corpus_size=size,
            train=tracks_of(*corpus.split("train")),
            eval=tracks_of(*corpus.split("eval")),
        )
    return splits


def train_corpus_classifier(corpora: dict[tuple[str, int], CorpusSplits]) -> GenreClassifier:
    """The genre classifier trained on the largest corpus of each genre's train split (the
    smaller corpora are subsets of it)."""
    largest = {}
    for (genre, size), splits in corpora.items():
        if genre not in largest or size > largest[genre].corpus_size:
            largest[genre] = splits
    tracks = [track for splits in largest.values() for track in splits.train]
    genres = [splits.genre for splits in largest.values() for _ in splits.train]
    return train_genre_classifier(tracks, genres)


def validate_genre_classifier(
    corpora: dict[tuple[str, int], CorpusSplits], classifier: GenreClassifier
) -> dict[str, float]:
    """Held-out accuracy per genre (eval split of the largest corpus, never trained on)."""
    largest = {}
    for (genre, size), splits in corpora.items():
        if genre not in largest or size > largest[genre].corpus_size:
            largest[genre] = splits
    return {genre: classifier.accuracy(splits.eval, genre) for genre, splits in largest.items()}


def validate_section_detector(
    corpus_name: str = "techno-house-700", split: str = "eval", tolerance_bars: int = 0
) -> dict[str, float]:
    """Boundary precision, recall and F1 of `section_boundaries` against the programmed
    corpus's ground truth (`sections.json`: the start bar of every section but the first)."""
    from drumeval.data.corpus import SECTIONS_FILE, load_corpus, resolve_corpus_dir

    corpus = load_corpus(corpus_name)
    sections = json.loads((resolve_corpus_dir(corpus_name) / SECTIONS_FILE).read_text())
    rows = np.flatnonzero(corpus.is_eval if split == "eval" else ~corpus.is_eval)
    totals = np.zeros(3, dtype=int)
    for row in rows:
        track = corpus.event_ids[row, : corpus.lengths[row]]
        truth = [s["start_bar"] for s in sections[row]["sections"] if s["start_bar"] > 0]
        totals += boundary_f1(section_boundaries(track), truth, tolerance_bars)
    true_positives, false_positives, false_negatives = (int(value) for value in totals)
    return {
        "tracks": len(rows),
        "precision": true_positives / max(true_positives + false_positives, 1),
        "recall": true_positives / max(true_positives + false_negatives, 1),
        "f1": f1_score(true_positives, false_positives, false_negatives),
    }


def sample_checkpoints(
    num: int = SAMPLES_PER_CHECKPOINT, seed: int = SAMPLE_SEED
) -> dict[tuple[str, str, int], list[np.ndarray]]:
    """`num` seeded 60-bar samples of every shipped checkpoint, keyed by
    (`model/preset`, genre, corpus size) — the fixed sample set of the objective table."""
    from drumeval.generate import generate
    from drumeval.registry import shipped_checkpoints, split_corpus_name

    samples = {}
    for checkpoint in shipped_checkpoints():
        genre, size = split_corpus_name(checkpoint.corpus)
        tracks = generate(
            checkpoint.model, corpus=checkpoint.corpus, preset=checkpoint.preset, num=num, seed=seed
        )
        key = (f"{checkpoint.model}/{checkpoint.preset}", genre, size)
        samples[key] = [track.event_ids for track in tracks]
    return samples


@dataclass(frozen=True)
class ObjectiveRun:
    """The objective Table 1, its self-similarity curves and the validation of its two
    learned/tuned parts (what `drumeval objective-table` prints and writes)."""

    genre_accuracy: dict[str, float]  # held-out accuracy per genre
    section_scores: dict[int, dict[str, float]]  # section detector, by tolerance in bars
    table: pd.DataFrame
    curves: pd.DataFrame


def run_objective_table1(
    num: int = SAMPLES_PER_CHECKPOINT, seed: int = SAMPLE_SEED
) -> ObjectiveRun:
    """Sample every shipped checkpoint, measure it and the corpora, validate the measures."""
    corpora = load_corpus_splits()
    classifier = train_corpus_classifier(corpora)
    samples = sample_checkpoints(num, seed)
    references = {("corpus", s.genre, s.corpus_size): s.eval for s in corpora.values()}
    return ObjectiveRun(
        genre_accuracy=validate_genre_classifier(corpora, classifier),
        section_scores={
            tolerance: validate_section_detector(tolerance_bars=tolerance) for tolerance in (0, 1)
        },
        table=objective_table1(samples, corpora, classifier),
        curves=self_similarity_curves(samples | references),
    )


def write_objective_tables(run: ObjectiveRun, out_dir: str | Path | None = None) -> list[Path]:
    """Write the table and the curves as CSV into `out_dir` (default `paths.tables_dir()`,
    where the pages read them); returns the two paths."""
    paths = [objective_table_path(), self_similarity_curves_path()]
    if out_dir is not None:
        paths = [Path(out_dir) / path.name for path in paths]
    for path, frame in zip(paths, (run.table, run.curves), strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    return paths
