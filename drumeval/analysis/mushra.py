"""MUSHRA-style (multi-stimulus, ITU-R BS.1534) trials: post-screening, condition means with
95 % CIs, and paired comparisons between conditions.

Post-screening (ITU-R BS.1534-3): a participant who rates the hidden reference below 90 in
more than 15 % of their trials is excluded — they did not hear (or did not use the scale to
mark) the difference between the reference and degraded versions. Optional and off by default
(`anchor_max=None`): drumeval's analogue for the low anchor, excluding a participant who rates
the anchor above `anchor_max` in more than the same share of trials. The share's denominator is
the trials in which the participant rated a reference (an anchor); a participant with none is
never excluded by that rule.

The unit of analysis is the participant: each participant's scores of a condition are
averaged over their trials first. Means: the mean of those per-participant means with a
Student-t 95 % interval (scipy). Comparisons: every pair of conditions, Wilcoxon signed-rank on
the paired per-participant means (pingouin, the same test as `inference.compare_conditions`),
p-values Holm-corrected over all pairs of one call (statsmodels).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from drumeval.analysis.bootstrap import CONFIDENCE
from drumeval.analysis.inference import ALPHA, compare_pair, holm
from drumeval.analysis.schema import validate_mushra_scores
from drumeval.errors import AnalysisError

REFERENCE_MIN = 90.0  # BS.1534-3: a hidden reference rated below this is a miss …
MAX_MISS_SHARE = 0.15  # … and more than this share of trials missed excludes the participant
ROLE_ORDER = ("reference", "test", "anchor")
SCREENING_COLUMNS = (
    "participant_id",
    "trials",
    "reference_misses",
    "reference_miss_share",
    "anchor_misses",
    "anchor_miss_share",
    "excluded",
    "reason",
)
COMPARISON_COLUMNS = (
    "condition_a",
    "condition_b",
    "n_participants",
    "mean_a",
    "mean_b",
    "statistic",
    "p_value",
    "p_holm",
    "effect_size",
    "significant",
)


class MushraAnalysis(NamedTuple):
    """Post-screening, then means and comparisons of the participants it kept."""

    screening: pd.DataFrame
    means: pd.DataFrame
    comparisons: pd.DataFrame


def _miss_share(scores: pd.DataFrame, role: str, missed: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Per participant: trials in which a `role` stimulus was `missed`, and their share of the
    trials that had one (NaN when none had)."""
    rows = scores[scores["role"] == role].assign(missed=missed)
    per_trial = rows.groupby(["participant_id", "trial_id"])["missed"].any()
    misses = per_trial.groupby(level="participant_id").sum()
    return misses, misses / per_trial.groupby(level="participant_id").size()


def post_screen(
    scores: pd.DataFrame,
    *,
    reference_min: float = REFERENCE_MIN,
    max_share: float = MAX_MISS_SHARE,
    anchor_max: float | None = None,
) -> pd.DataFrame:
    """One row per participant (`SCREENING_COLUMNS`): trials, reference (anchor) misses and
    their share, `excluded` and the `reason` (empty when kept)."""
    scores = validate_mushra_scores(scores)
    if not 0 <= max_share < 1:
        raise AnalysisError(f"max_share must be in [0, 1), not {max_share}")
    participants = pd.Index(sorted(scores["participant_id"].unique()), name="participant_id")
    table = pd.DataFrame(index=participants)
    table["trials"] = scores.groupby("participant_id")["trial_id"].nunique()
    misses, share = _miss_share(scores, "reference", scores["score"] < reference_min)
    table["reference_misses"] = misses.reindex(participants, fill_value=0).astype(int)
    table["reference_miss_share"] = share.reindex(participants)
    excluded_reference = table["reference_miss_share"] > max_share
    if anchor_max is None:
        table["anchor_misses"] = 0
        table["anchor_miss_share"] = np.nan
        excluded_anchor = pd.Series(False, index=participants)
    else:
        misses, share = _miss_share(scores, "anchor", scores["score"] > anchor_max)
        table["anchor_misses"] = misses.reindex(participants, fill_value=0).astype(int)
        table["anchor_miss_share"] = share.reindex(participants)
        excluded_anchor = table["anchor_miss_share"] > max_share
    table["excluded"] = excluded_reference | excluded_anchor
    reasons = [
        np.where(excluded_reference, f"reference < {reference_min:g} in > {max_share:.0%}", ""),
        np.where(excluded_anchor, f"anchor > {anchor_max} in > {max_share:.0%}", ""),
    ]
    table["reason"] = ["; ".join(r for r in pair if r) for pair in zip(*reasons, strict=True)]
    return table.reset_index()[list(SCREENING_COLUMNS)]


def _participant_means(scores: pd.DataFrame) -> pd.DataFrame:
    """[participant × condition] mean score over the participant's trials."""
    return scores.groupby(["participant_id", "condition"])["score"].mean().unstack("condition")


def condition_means(scores: pd.DataFrame, *, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per condition (reference, tests, anchor): role, n participants, mean of per-participant
    means and its Student-t `confidence` interval (NaN with one participant)."""
    from scipy import stats

    scores = validate_mushra_scores(scores)
    if scores.empty:
        raise AnalysisError("no MUSHRA scores to analyse")
    roles = scores.groupby("condition")["role"].first()
    rows = []
    for condition, values in _participant_means(scores).items():
        values = values.dropna()
        n, mean = len(values), float(values.mean())
        low = high = np.nan
        if n > 1:
            sem = float(values.std(ddof=1)) / np.sqrt(n)
            low, high = (
                stats.t.interval(confidence, n - 1, loc=mean, scale=sem) if sem else (mean, mean)
            )
        rows.append((condition, roles[condition], n, mean, float(low), float(high)))
    table = pd.DataFrame(
        rows, columns=["condition", "role", "n_participants", "mean", "ci_low", "ci_high"]
    )
    order = table["role"].map(ROLE_ORDER.index)
    return (
        table.assign(_order=order)
        .sort_values(["_order", "mean"], ascending=[True, False])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def compare_mushra_conditions(
    scores: pd.DataFrame,
    *,
    conditions: Sequence[str] | None = None,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Every pair of `conditions` (default: all test conditions): Wilcoxon signed-rank on the
    per-participant means of participants who rated both, rank-biserial effect size (positive
    when `condition_b` scores higher), Holm-corrected over the pairs (`COMPARISON_COLUMNS`)."""
    scores = validate_mushra_scores(scores)
    if conditions is None:
        conditions = sorted(scores.loc[scores["role"] == "test", "condition"].unique())
    unknown = sorted(set(conditions) - set(scores["condition"]))
    if unknown:
        raise AnalysisError(f"no MUSHRA scores for condition(s) {', '.join(unknown)}")
    if len(conditions) < 2:
        raise AnalysisError("comparing MUSHRA conditions needs at least 2 of them")
    data = scores.rename(columns={"score": "value"})
    rows = [
        {"condition_a": a, "condition_b": b} | compare_pair(data, "condition", (a, b), "paired")
        for a, b in itertools.combinations(conditions, 2)
    ]
    table = pd.DataFrame(rows)
    table["p_holm"], table["significant"] = holm(table["p_value"], alpha)
    return table[list(COMPARISON_COLUMNS)]


def analyse_mushra(
    scores: pd.DataFrame,
    *,
    reference_min: float = REFERENCE_MIN,
    max_share: float = MAX_MISS_SHARE,
    anchor_max: float | None = None,
    alpha: float = ALPHA,
) -> MushraAnalysis:
    """Post-screen, then the means and comparisons of the participants kept."""
    scores = validate_mushra_scores(scores)
    screening = post_screen(
        scores, reference_min=reference_min, max_share=max_share, anchor_max=anchor_max
    )
    kept = set(screening.loc[~screening["excluded"], "participant_id"])
    if not kept:
        raise AnalysisError("post-screening excluded every participant")
    kept_scores = scores[scores["participant_id"].isin(kept)]
    tests = kept_scores.loc[kept_scores["role"] == "test", "condition"].nunique()
    comparisons = (
        compare_mushra_conditions(kept_scores, alpha=alpha)
        if tests >= 2
        else pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    )
    return MushraAnalysis(screening, condition_means(kept_scores), comparisons)
