"""Table 1 rebuilt from ratings: per criterion and model, the mean with a crossed-bootstrap CI
and the thesis's symbol, side by side with the thesis's own verdict.

Symbols (`--`, `-`, `0`, `+`, `++`) come from fixed cut-offs so that a table is reproducible
and a symbol means the same in every study:

* Score criteria (mean of −2 … +2 ratings), `SCORE_SYMBOL_CUTOFFS` = (−1.25, −0.4, 0.4, 1.25):
  mean ≤ −1.25 → `--`; ≤ −0.4 → `-`; strictly between −0.4 and 0.4 → `0`; < 1.25 → `+`;
  ≥ 1.25 → `++`. A cut-off belongs to the more extreme symbol. The bands are centred on the
  scale points −2, −1, 0, +1, +2 with `0` narrowed to ±0.4 so that a consistent lean of
  about half a scale point already counts.
* Genre discrimination (share of answers naming the genre of the corpus the clip's model was
  trained on; `cant_tell` counts as not naming it), `GENRE_ACCURACY_CUTOFFS` =
  (0.45, 0.60, 0.75, 0.90): accuracy < 0.45 → `--`; < 0.60 → `-`; < 0.75 → `0`; < 0.90 → `+`;
  ≥ 0.90 → `++`. Chance is 0.5 for a listener guessing between the two genres and lower
  the more often listeners answer `cant_tell`, so `--` = below chance (the genre is not
  heard at all), `-` = around chance, `0` = a weak signal, `+` = usually right, `++` =
  nearly always right.

Conditions other than DrumsRNN and MusicVAE (`reference`, `anchor`, imported models) are
kept as extra columns with no thesis symbol to compare with.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from drumeval.analysis.bootstrap import DEFAULT_RESAMPLES, crossed_bootstrap
from drumeval.analysis.schema import (
    CRITERION_LABELS,
    GENRE_ANSWERS,
    GENRE_DISCRIMINATION,
    GENRES,
    MODEL_LABELS,
    TABLE1_CRITERIA,
    observations,
    ordered_models,
    validate_genre_answers,
)

SYMBOLS = ("--", "-", "0", "+", "++")
SCORE_SYMBOL_CUTOFFS = (-1.25, -0.4, 0.4, 1.25)
GENRE_ACCURACY_CUTOFFS = (0.45, 0.60, 0.75, 0.90)
THESIS_TABLE1: dict[str, dict[str, str]] = {
    "drums_rnn": {
        "short_term_phrasing": "+",
        "long_term_phrasing": "-",
        "originality": "-",
        GENRE_DISCRIMINATION: "--",
        "realism": "+",
    },
    "music_vae": {
        "short_term_phrasing": "++",
        "long_term_phrasing": "-",
        "originality": "++",
        GENRE_DISCRIMINATION: "+",
        "realism": "++",
    },
}
TABLE1_FIELDS = (
    "n_ratings",
    "n_participants",
    "n_clips",
    "mean",
    "median",
    "ci_low",
    "ci_high",
    "symbol",
    "thesis",
    "agrees",
)


def score_symbol(mean: float) -> str:
    """The thesis symbol of a mean score (see the module docstring); '' for NaN."""
    if not np.isfinite(mean):
        return ""
    very_low, low, high, very_high = SCORE_SYMBOL_CUTOFFS
    if mean <= very_low:
        return "--"
    if mean <= low:
        return "-"
    if mean < high:
        return "0"
    return "+" if mean < very_high else "++"


def accuracy_symbol(accuracy: float) -> str:
    """The thesis symbol of a genre-naming accuracy (see the module docstring); '' for NaN."""
    if not np.isfinite(accuracy):
        return ""
    band = int(np.searchsorted(GENRE_ACCURACY_CUTOFFS, accuracy, side="right"))
    return SYMBOLS[band]


def _cell_rng(seed: int, criterion: str, model: str) -> np.random.Generator:
    """A generator per (criterion, model) cell: a cell's CI does not depend on the others."""
    return np.random.default_rng([seed, zlib.crc32(criterion.encode()), zlib.crc32(model.encode())])


def summarize_cell(
    cell: pd.DataFrame,
    criterion: str,
    model: str,
    *,
    seed: int,
    n_resamples: int,
    thesis_model: str | None = None,
) -> dict:
    """n, mean, median and crossed-bootstrap CI of one (criterion, model) set of observations.

    `thesis_model`: the thesis model this level is (a condition of it), when not `model`."""
    is_genre = criterion == GENRE_DISCRIMINATION
    interval = crossed_bootstrap(
        cell["value"].to_numpy(),
        cell["participant_id"].to_numpy(),
        cell["clip_id"].to_numpy(),
        n_resamples=n_resamples,
        rng=_cell_rng(seed, criterion, model),
    )
    mean = float(cell["value"].mean()) if len(cell) else float("nan")
    thesis = THESIS_TABLE1.get(thesis_model or model, {}).get(criterion, "")
    symbol = accuracy_symbol(mean) if is_genre else score_symbol(mean)
    return {
        "criterion": criterion,
        "model": model,
        "n_ratings": len(cell),
        "n_participants": cell["participant_id"].nunique(),
        "n_clips": cell["clip_id"].nunique(),
        "mean": mean,
        "median": float("nan") if is_genre or not len(cell) else float(cell["value"].median()),
        "ci_low": interval.low,
        "ci_high": interval.high,
        "symbol": symbol,
        "thesis": thesis,
        "agrees": symbol == thesis if thesis and symbol else pd.NA,
    }


def table1_long(
    ratings: pd.DataFrame,
    genre_answers: pd.DataFrame | None,
    *,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    thesis_models: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Table 1 in long form: one row per (criterion, model), columns `TABLE1_FIELDS`.

    `thesis_models` maps levels that are conditions of a thesis model (e.g. a study's
    `drums_rnn/…/60bars`) to it, so the thesis's verdict sits beside each of them.

    `mean` is the mean score (−2 … +2) or, for genre discrimination, the accuracy (0 … 1);
    `median` is NaN for genre discrimination. `thesis` is '' and `agrees` is NA for conditions
    the thesis did not rate (and `symbol` is '' for a cell without data).
    """
    data = observations(ratings, genre_answers)
    rows = []
    for criterion in TABLE1_CRITERIA:
        for model in ordered_models(data["model"]):
            cell = data[(data["criterion"] == criterion) & (data["model"] == model)]
            rows.append(
                summarize_cell(
                    cell,
                    criterion,
                    model,
                    seed=seed,
                    n_resamples=n_resamples,
                    thesis_model=(thesis_models or {}).get(model),
                )
            )
    table = pd.DataFrame(rows, columns=["criterion", "model", *TABLE1_FIELDS])
    return table.astype({"agrees": "boolean"})


def rebuild_table1(
    ratings: pd.DataFrame,
    genre_answers: pd.DataFrame | None,
    seed: int = 0,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    thesis_models: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Table 1: index = the five criteria in the thesis's order, columns = (model, field).

    Fields per model: `TABLE1_FIELDS` (n ratings, n participants, n clips, mean, median,
    95 % CI from the participants × clips bootstrap seeded with `seed`, symbol, the thesis's
    symbol, agreement). `table.xs("music_vae", axis=1, level="model")` gives one model.
    """
    long = table1_long(
        ratings, genre_answers, seed=seed, n_resamples=n_resamples, thesis_models=thesis_models
    )
    models = ordered_models(long["model"])
    wide = long.set_index(["criterion", "model"]).unstack("model")
    wide.columns = wide.columns.swaplevel(0, 1)
    columns = pd.MultiIndex.from_product([models, TABLE1_FIELDS], names=["model", "field"])
    return wide.reindex(index=list(TABLE1_CRITERIA), columns=columns)


def genre_confusion(
    genre_answers: pd.DataFrame, *, model: str | None = None, normalize: bool = False
) -> pd.DataFrame:
    """Counts of answers (columns: techno-house, jazz-soul, cant_tell) per true genre (rows).

    The true genre is that of the corpus the clip's model was trained on. `model` restricts
    to one condition; `normalize` turns each row into shares (NaN for a genre with no answers).
    """
    answers = validate_genre_answers(genre_answers)
    if model is not None:
        answers = answers[answers["model"] == model]
    counts = pd.crosstab(answers["genre"], answers["answer"]).reindex(
        index=list(GENRES), columns=list(GENRE_ANSWERS), fill_value=0
    )
    counts.index.name, counts.columns.name = "genre", "answer"
    if normalize:
        totals = counts.sum(axis=1).replace(0, np.nan)
        return counts.div(totals, axis=0)
    return counts


def format_table1(table: pd.DataFrame) -> pd.DataFrame:
    """Display cells for a page, Markdown or LaTeX: per model the study's symbol with mean and
    CI, and the thesis's symbol with ✓ (agrees) or ✗ (disagrees). Genre accuracy in %."""
    columns: dict[str, list[str]] = {}
    for model in table.columns.get_level_values("model").unique():
        label = MODEL_LABELS.get(model, model)
        cells, thesis_cells = [], []
        for criterion in table.index:
            row = table.loc[criterion, model]
            cells.append(_format_cell(row, criterion))
            mark = "" if pd.isna(row["agrees"]) else " ✓" if row["agrees"] else " ✗"
            thesis_cells.append(f"{row['thesis']}{mark}")
        columns[f"{label} (study)"] = cells
        if any(thesis_cells):
            columns[f"{label} (thesis)"] = thesis_cells
    index = [CRITERION_LABELS[criterion] for criterion in table.index]
    return pd.DataFrame(columns, index=pd.Index(index, name="criterion"))


def _format_cell(row: pd.Series, criterion: str) -> str:
    if not row["n_ratings"]:
        return "no data"
    if criterion == GENRE_DISCRIMINATION:
        return f"{row['symbol']}  {row['mean']:.0%} [{row['ci_low']:.0%}, {row['ci_high']:.0%}]"
    return f"{row['symbol']}  {row['mean']:+.2f} [{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]"
