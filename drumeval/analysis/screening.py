"""Post-screening: find participants whose ratings should not count, as MUSHRA (ITU-R BS.1534)
does with its hidden reference and anchor.

A participant is flagged for any of:
* `reference_low` — their mean score of the hidden human reference clips (model
  `reference`) is below `reference_min` (default 0: the real thing rated worse than neutral);
* `anchor_high` — their mean score of the low-anchor clips (model `anchor`) is above
  `anchor_max` (default 0: an obviously broken clip rated better than neutral);
* `headphone_check_failed` — `headphone_check_passed` is False (missing = no check = fine);
* `did_not_listen` — `listened_seconds` (median seconds played per clip) below
  `min_listened_seconds` (default 20 s of the 2-minute clips).
Means are over `criteria` (default: all four score criteria). A participant who rated no
reference (or anchor) clip cannot fail that check.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from drumeval.analysis.bootstrap import DEFAULT_RESAMPLES
from drumeval.analysis.schema import (
    ANCHOR,
    REFERENCE,
    SCORE_CRITERIA,
    validate_participants,
    validate_ratings,
)
from drumeval.analysis.table1 import table1_long

DEFAULT_REFERENCE_MIN = 0.0
DEFAULT_ANCHOR_MAX = 0.0
DEFAULT_MIN_LISTENED_SECONDS = 20.0
SCREENING_COLUMNS = (
    "participant_id",
    "reference_mean",
    "anchor_mean",
    "headphone_check_passed",
    "listened_seconds",
    "reasons",
    "flagged",
)


def listened_seconds_per_participant(listening: pd.DataFrame) -> pd.Series:
    """Median over clips of seconds played, per participant, from a log with columns
    `participant_id, clip_id, seconds` (several rows per clip are summed first)."""
    per_clip = listening.groupby(["participant_id", "clip_id"])["seconds"].sum()
    return per_clip.groupby("participant_id").median().rename("listened_seconds")


def screen_participants(
    ratings: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    reference_min: float = DEFAULT_REFERENCE_MIN,
    anchor_max: float = DEFAULT_ANCHOR_MAX,
    min_listened_seconds: float = DEFAULT_MIN_LISTENED_SECONDS,
    criteria: Sequence[str] = SCORE_CRITERIA,
) -> pd.DataFrame:
    """One row per participant (everyone in either table): the control means, the checks,
    `reasons` (comma-separated, '' when clean) and `flagged`. Columns `SCREENING_COLUMNS`."""
    ratings = validate_ratings(ratings)
    participants = validate_participants(participants).set_index("participant_id")
    scored = ratings[ratings["criterion"].isin(criteria)]
    ids = sorted(set(ratings["participant_id"]) | set(participants.index))

    def control_mean(model: str) -> pd.Series:
        rows = scored[scored["model"] == model]
        return rows.groupby("participant_id")["score"].mean().reindex(ids)

    table = pd.DataFrame(
        {
            "participant_id": ids,
            "reference_mean": control_mean(REFERENCE).to_numpy(),
            "anchor_mean": control_mean(ANCHOR).to_numpy(),
            "headphone_check_passed": participants["headphone_check_passed"]
            .reindex(ids)
            .to_numpy(),
            "listened_seconds": participants["listened_seconds"].reindex(ids).to_numpy(float),
        }
    )
    checks = {
        "reference_low": table["reference_mean"] < reference_min,
        "anchor_high": table["anchor_mean"] > anchor_max,
        "headphone_check_failed": table["headphone_check_passed"].map(
            lambda passed: not pd.isna(passed) and not bool(passed)
        ),
        "did_not_listen": table["listened_seconds"] < min_listened_seconds,
    }
    reasons = [
        ", ".join(name for name, failed in checks.items() if bool(failed.iloc[row]))
        for row in range(len(table))
    ]
    return table.assign(reasons=reasons, flagged=[bool(reason) for reason in reasons])[
        list(SCREENING_COLUMNS)
    ]


def drop_flagged(frame: pd.DataFrame, screening: pd.DataFrame) -> pd.DataFrame:
    """The rows of `frame` (ratings or genre answers) of participants not flagged."""
    flagged = set(screening.loc[screening["flagged"], "participant_id"].astype(str))
    return frame[~frame["participant_id"].astype(str).isin(flagged)]


def table1_with_and_without_flagged(
    ratings: pd.DataFrame,
    genre_answers: pd.DataFrame | None,
    participants: pd.DataFrame,
    *,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    reference_min: float = DEFAULT_REFERENCE_MIN,
    anchor_max: float = DEFAULT_ANCHOR_MAX,
    min_listened_seconds: float = DEFAULT_MIN_LISTENED_SECONDS,
) -> pd.DataFrame:
    """`table1_long` for everyone and for the participants who pass screening, stacked with a
    boolean `screened` column first (False = all participants)."""
    screening = screen_participants(
        ratings,
        participants,
        reference_min=reference_min,
        anchor_max=anchor_max,
        min_listened_seconds=min_listened_seconds,
    )
    kept_answers = None if genre_answers is None else drop_flagged(genre_answers, screening)
    everyone = table1_long(ratings, genre_answers, seed=seed, n_resamples=n_resamples)
    screened = table1_long(
        drop_flagged(ratings, screening), kept_answers, seed=seed, n_resamples=n_resamples
    )
    table = pd.concat(
        [everyone.assign(screened=False), screened.assign(screened=True)], ignore_index=True
    )
    return table[["screened", *everyone.columns]]
