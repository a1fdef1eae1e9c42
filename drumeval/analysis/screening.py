"""Post-screening: find participants whose ratings should not count, as MUSHRA (ITU-R BS.1534)
does with its hidden reference and anchor.

A participant is flagged for any of:
* `reference_low` — their mean score of the hidden human reference clips (model
  `reference`) is below `reference_min` (default 0: the real thing rated worse than neutral);
* `anchor_high` — their mean score of the low-anchor clips (model `anchor`) is above
  `anchor_max` (default 0: an obviously broken clip rated better than neutral);
* `headphone_check_failed` — `headphone_check_passed` is False (missing = no check = fine);
* `did_not_listen` — `listened_seconds` (median seconds played per clip) below
  `min_listened_seconds` (default 20 s of the 2-minute clips);
* `gold_missed` — a gold clip (a clip with a known answer: random-noise drums, ITU-T P.808's
  gold clips) rated more than `gold_tolerance` (1) away from its answer on its criterion
  (realism −2: a rating above −1 misses); `gold_missed` counts the misses per participant;
* `straight_lining` — the participant's scores hardly vary across clips: the variance over
  their clips, per criterion and averaged over the criteria, is below `min_score_variance`
  (0.1, P.808's limit); at least two clips are needed to tell.
Means are over `criteria` (default: all four score criteria). A participant who rated no
reference (or anchor, or gold) clip cannot fail that check. `ScreeningRules` holds a study's
choice of rules and limits; every rule is on by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
from drumeval.errors import AnalysisError
from drumeval.study.content import SCREENING_RULES

DEFAULT_REFERENCE_MIN = 0.0
DEFAULT_ANCHOR_MAX = 0.0
DEFAULT_MIN_LISTENED_SECONDS = 20.0
GOLD_CRITERION = "realism"
GOLD_ANSWER = -2  # random-noise drums: the bottom of the realism scale
DEFAULT_GOLD_TOLERANCE = 1
DEFAULT_MIN_SCORE_VARIANCE = 0.1
RULES = SCREENING_RULES
SCREENING_COLUMNS = (
    "participant_id",
    "reference_mean",
    "anchor_mean",
    "headphone_check_passed",
    "listened_seconds",
    "gold_rated",
    "gold_missed",
    "score_variance",
    "reasons",
    "flagged",
)


@dataclass(frozen=True)
class ScreeningRules:
    """Which post-screening rules a study applies, and their limits (all on by default)."""

    rules: tuple[str, ...] = RULES
    reference_min: float = DEFAULT_REFERENCE_MIN
    anchor_max: float = DEFAULT_ANCHOR_MAX
    min_listened_seconds: float = DEFAULT_MIN_LISTENED_SECONDS
    gold_tolerance: int = DEFAULT_GOLD_TOLERANCE
    min_score_variance: float = DEFAULT_MIN_SCORE_VARIANCE

    def __post_init__(self) -> None:
        if unknown := sorted(set(self.rules) - set(RULES)):
            raise AnalysisError(
                f"unknown screening rule {', '.join(unknown)}; known: {', '.join(RULES)}"
            )

    @classmethod
    def from_design(
        cls, design: Mapping[str, Any], *, min_listened_seconds: float
    ) -> ScreeningRules:
        """A study's rules: its design's `screening_rules` (default: all of them)."""
        rules = design.get("screening_rules")
        return cls(
            rules=RULES if rules is None else tuple(rules),
            min_listened_seconds=min_listened_seconds,
        )


def rule_counts(screening: pd.DataFrame) -> dict[str, int]:
    """How many participants each rule flags (a participant may fail several)."""
    reasons = screening["reasons"].str.split(", ")
    return {rule: int(reasons.map(lambda found, rule=rule: rule in found).sum()) for rule in RULES}


def _gold_misses(gold: pd.DataFrame | None, ids: list, tolerance: int) -> tuple:
    """(gold clips rated, gold clips missed) per participant, from rows with
    `participant_id` and the gold criterion's score."""
    if gold is None or gold.empty:
        empty = pd.Series(0, index=ids)
        return empty, empty
    missed = (gold[GOLD_CRITERION].astype(float) - GOLD_ANSWER).abs() > tolerance
    by_person = gold.assign(missed=missed.to_numpy()).groupby("participant_id")
    rated = by_person.size().reindex(ids, fill_value=0)
    return rated, by_person["missed"].sum().reindex(ids, fill_value=0).astype(int)


def _score_variance(scored: pd.DataFrame, ids: list) -> pd.Series:
    """Per participant: the variance of their scores across clips, per criterion, averaged
    over the criteria (NaN below two clips)."""
    per_criterion = scored.groupby(["participant_id", "criterion"])["score"].agg(
        lambda scores: scores.astype(float).var(ddof=0) if len(scores) >= 2 else float("nan")
    )
    return per_criterion.groupby("participant_id").mean().reindex(ids)


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
    gold: pd.DataFrame | None = None,
    rules: ScreeningRules | None = None,
) -> pd.DataFrame:
    """One row per participant (everyone in either table): the control means, the checks,
    `reasons` (comma-separated, '' when clean) and `flagged`. Columns `SCREENING_COLUMNS`.

    `gold`: the gold clips' ratings (`participant_id` and a `realism` column), kept out of
    `ratings` so that no analysis counts them. `rules` replaces the keyword limits.
    """
    rules = rules or ScreeningRules(
        reference_min=reference_min,
        anchor_max=anchor_max,
        min_listened_seconds=min_listened_seconds,
    )
    ratings = validate_ratings(ratings)
    participants = validate_participants(participants).set_index("participant_id")
    scored = ratings[ratings["criterion"].isin(criteria)]
    ids = sorted(set(ratings["participant_id"]) | set(participants.index))
    gold_rated, gold_missed = _gold_misses(gold, ids, rules.gold_tolerance)

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
            "gold_rated": gold_rated.to_numpy(int),
            "gold_missed": gold_missed.to_numpy(int),
            "score_variance": _score_variance(ratings, ids).to_numpy(float),
        }
    )
    checks = {
        "reference_low": table["reference_mean"] < rules.reference_min,
        "anchor_high": table["anchor_mean"] > rules.anchor_max,
        "headphone_check_failed": table["headphone_check_passed"].map(
            lambda passed: not pd.isna(passed) and not bool(passed)
        ),
        "did_not_listen": table["listened_seconds"] < rules.min_listened_seconds,
        "gold_missed": table["gold_missed"] > 0,
        "straight_lining": table["score_variance"] < rules.min_score_variance,
    }
    reasons = [
        ", ".join(
            name
            for name, failed in checks.items()
            if name in rules.rules and bool(failed.iloc[row])
        )
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
    screening: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """`table1_long` for everyone and for the participants who pass screening, stacked with a
    boolean `screened` column first (False = all participants). `screening`: a study's own
    (`screen_participants` with its rules and gold ratings) instead of the keyword limits."""
    if screening is None:
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
