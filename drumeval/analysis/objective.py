"""The objective Table 1: measurable counterparts of the five criteria, per model × genre ×
corpus size, with the corpora themselves as the human reference rows.

Pure: it takes event ids (generated samples and corpus splits) and a fitted genre
classifier; `drumeval.analysis.objective_run` samples the shipped checkpoints and loads the
corpora. Criterion → measure (each defined once in `drumeval.metrics`; means over tracks):

* short-term phrasing — bar-to-bar similarity s(1) (`groove.bar_similarity`); near the
  corpus is best (1 = a loop);
* long-term phrasing — share of detected section changes (`structure.section_boundaries`)
  on the 4-bar grid (`structure.boundary_alignment`); chance 0.25, hand-made techno ≈ 1.
  (`phrase_structure`, s at 4/8/16 bars − s at other lags, is kept as an extra column: on
  loop-based music the self-similarity curve is flat at every lag, so it stays near 0
  even for the corpora and does not separate anything);
* originality — 1 − `novelty.exact_copy_rate` (4-bar windows found verbatim in the
  corpus's train split); higher = fewer copies;
* genre discrimination — share of tracks the corpus-trained `genre` classifier assigns to
  the model's training genre; higher is better;
* realism — `fidelity.fidelity_distance` of the tracks' groove profile to the train split's;
  lower is better (0 = plays the corpus's groove).

Extra columns: phrase structure, syncopation, section boundaries per 16 bars, empty-bar
share, hits per bar. The reference rows (`model = "corpus"`) measure each
corpus's held-out eval split against its own train split, so every figure has a human
baseline (e.g. how often real music repeats a 4-bar window of other music of its genre).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from drumeval.metrics import empty_bar_share, mean_hits_per_bar
from drumeval.metrics.fidelity import fidelity_distance, groove_profile
from drumeval.metrics.genre import GenreClassifier
from drumeval.metrics.groove import bar_similarity
from drumeval.metrics.novelty import corpus_window_set, exact_copy_rate
from drumeval.metrics.rhythm import syncopation
from drumeval.metrics.structure import (
    MAX_LAG_BARS,
    boundary_alignment,
    phrase_structure,
    section_boundaries,
    self_similarity_curve,
)

CORPUS_ROW = "corpus"
OBJECTIVE_COLUMNS = (
    "model",
    "genre",
    "corpus_size",
    "n_tracks",
    "short_term_phrasing",
    "long_term_phrasing",
    "originality",
    "genre_discrimination",
    "realism",
    "phrase_structure",
    "syncopation",
    "boundaries_per_16_bars",
    "empty_bar_share",
    "hits_per_bar",
)


@dataclass(frozen=True)
class CorpusSplits:
    """The tracks of one training corpus (each cut to its length)."""

    genre: str
    corpus_size: int
    train: Sequence[np.ndarray]
    eval: Sequence[np.ndarray]


def nanmean(values: Sequence[float]) -> float:
    """The mean of the values that are not NaN, NaN when none is finite (a measure
    undefined for some tracks must not blank the whole row of both tables)."""
    array = np.asarray(values, dtype=float)
    return float(np.nanmean(array)) if np.isfinite(array).any() else float("nan")


def measure_set(
    tracks: Sequence[np.ndarray],
    *,
    genre: str,
    corpus: CorpusSplits,
    classifier: GenreClassifier,
    train_windows: set[bytes] | None = None,
) -> dict[str, float]:
    """The objective row of one set of tracks against the corpus its model was trained on."""
    windows = train_windows if train_windows is not None else corpus_window_set(corpus.train)
    boundaries = [section_boundaries(track) for track in tracks]
    bars = sum(len(track) // 16 for track in tracks)
    found = [bar for per_track in boundaries for bar in per_track]
    return {
        "n_tracks": len(tracks),
        "short_term_phrasing": nanmean([bar_similarity(track, 1) for track in tracks]),
        "long_term_phrasing": boundary_alignment(found, (4,))[4],
        "originality": 1 - nanmean([exact_copy_rate(track, windows) for track in tracks]),
        "genre_discrimination": classifier.accuracy(tracks, genre),
        "realism": fidelity_distance(groove_profile(tracks), groove_profile(corpus.train)),
        "syncopation": nanmean([syncopation(track) for track in tracks]),
        "phrase_structure": nanmean([phrase_structure(track) for track in tracks]),
        "boundaries_per_16_bars": 16 * len(found) / bars if bars else float("nan"),
        "empty_bar_share": nanmean([empty_bar_share(track) for track in tracks]),
        "hits_per_bar": nanmean([mean_hits_per_bar(track) for track in tracks]),
    }


def objective_table1(
    samples: Mapping[tuple[str, str, int], Sequence[np.ndarray]],
    corpora: Mapping[tuple[str, int], CorpusSplits],
    classifier: GenreClassifier,
) -> pd.DataFrame:
    """One row per (model, genre, corpus size) of `samples` — keyed like
    `("drums_rnn", "techno-house", 700)` and measured against `corpora[(genre, size)]` —
    then one `corpus` row per corpus (its eval split). Columns `OBJECTIVE_COLUMNS`."""
    windows = {key: corpus_window_set(splits.train) for key, splits in corpora.items()}
    rows = []
    for (model, genre, size), tracks in samples.items():
        corpus = corpora[(genre, size)]
        values = measure_set(
            tracks,
            genre=genre,
            corpus=corpus,
            classifier=classifier,
            train_windows=windows[(genre, size)],
        )
        rows.append({"model": model, "genre": genre, "corpus_size": size, **values})
    for (genre, size), corpus in corpora.items():
        values = measure_set(
            corpus.eval,
            genre=genre,
            corpus=corpus,
            classifier=classifier,
            train_windows=windows[(genre, size)],
        )
        rows.append({"model": CORPUS_ROW, "genre": genre, "corpus_size": size, **values})
    return pd.DataFrame(rows, columns=list(OBJECTIVE_COLUMNS))


def self_similarity_curves(
    samples: Mapping[tuple[str, str, int], Sequence[np.ndarray]],
) -> pd.DataFrame:
    """Tidy curves for plotting: model, genre, corpus_size, lag (1…16), similarity (mean over
    tracks of `structure.self_similarity_curve`)."""
    rows = []
    for (model, genre, size), tracks in samples.items():
        curves = np.array([self_similarity_curve(track, MAX_LAG_BARS) for track in tracks])
        for lag in range(1, MAX_LAG_BARS + 1):
            at_lag = curves[:, lag - 1] if len(curves) else np.array([])
            rows.append((model, genre, size, lag, nanmean(at_lag)))
    return pd.DataFrame(rows, columns=["model", "genre", "corpus_size", "lag", "similarity"])
