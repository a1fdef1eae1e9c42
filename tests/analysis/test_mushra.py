"""MUSHRA analysis: BS.1534 post-screening on hand-built scores, means and tests against
scipy / statsmodels computed independently, and recovery of known means from seeded data."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from drumeval.analysis.mushra import (
    analyse_mushra,
    compare_mushra_conditions,
    condition_means,
    post_screen,
)
from drumeval.analysis.simulate import simulate_mushra_scores
from drumeval.errors import AnalysisError


def trials_of(participant: str, reference: list[float], anchor: float = 10.0) -> list[dict]:
    """One trial per reference score: the reference, a low anchor and one test condition."""
    rows = []
    for index, score in enumerate(reference):
        trial = f"{participant}-{index}"
        for condition, role, value in (
            ("reference", "reference", score),
            ("anchor", "anchor", anchor),
            ("model", "test", 60.0),
        ):
            rows.append(
                {
                    "participant_id": participant,
                    "trial_id": trial,
                    "condition": condition,
                    "role": role,
                    "score": value,
                }
            )
    return rows


def test_post_screening_excludes_more_than_15_percent_reference_misses():
    scores = pd.DataFrame(
        trials_of("strict", [95, 85, 92, 99])  # 1 of 4 = 25 % below 90: excluded
        + trials_of("fine", [95, 92, 91, 100, 89, 95, 96, 97, 98])  # 1 of 9 = 11 %: kept
        + trials_of("loud_anchor", [100] * 4, anchor=70)  # only the anchor rule catches this
    )
    screening = post_screen(scores).set_index("participant_id")
    assert screening.loc["strict", "reference_misses"] == 1
    assert screening.loc["strict", "reference_miss_share"] == pytest.approx(0.25)
    assert screening["excluded"].to_dict() == {"fine": False, "loud_anchor": False, "strict": True}
    assert screening.loc["strict", "reason"] == "reference < 90 in > 15%"
    with_anchor = post_screen(scores, anchor_max=50).set_index("participant_id")
    assert with_anchor.loc["loud_anchor", "excluded"]
    assert with_anchor.loc["loud_anchor", "anchor_miss_share"] == 1.0
    assert not with_anchor.loc["fine", "excluded"]


def test_condition_means_are_t_intervals_of_per_participant_means():
    scores = simulate_mushra_scores({"a": 70, "b": 50}, n_participants=8, n_trials=3, seed=2)
    means = condition_means(scores).set_index("condition")
    per_participant = scores[scores["condition"] == "a"].groupby("participant_id")["score"].mean()
    low, high = stats.t.interval(
        0.95, len(per_participant) - 1, per_participant.mean(), stats.sem(per_participant)
    )
    assert means.loc["a", "mean"] == pytest.approx(per_participant.mean())
    assert (means.loc["a", "ci_low"], means.loc["a", "ci_high"]) == pytest.approx((low, high))
    assert means.loc["a", "n_participants"] == 8
    assert list(means["role"]) == ["reference", "test", "test", "anchor"]


def test_comparisons_are_wilcoxon_on_participant_means_with_holm():
    scores = simulate_mushra_scores({"a": 70, "b": 62, "c": 60}, n_participants=15, seed=3)
    table = compare_mushra_conditions(scores)
    means = scores.groupby(["participant_id", "condition"])["score"].mean().unstack()
    pairs = [("a", "b"), ("a", "c"), ("b", "c")]
    assert list(zip(table["condition_a"], table["condition_b"], strict=True)) == pairs
    p_values = [stats.wilcoxon(means[b], means[a]).pvalue for a, b in pairs]
    np.testing.assert_allclose(table["p_value"], p_values)
    np.testing.assert_allclose(table["p_holm"], multipletests(p_values, method="holm")[1])
    assert table.loc[0, "effect_size"] < 0  # b below a: negative rank-biserial


def test_simulated_means_are_recovered_after_screening_out_careless_listeners():
    truth = {"drums_rnn": 72.0, "music_vae": 55.0, "twin": 56.0}
    scores = simulate_mushra_scores(
        truth, n_participants=30, n_trials=4, careless_share=0.2, seed=7
    )
    result = analyse_mushra(scores)
    excluded = set(result.screening.loc[result.screening["excluded"], "participant_id"])
    careless = {  # the simulator's careless raters are those who rated the reference uniformly
        p
        for p, group in scores[scores["role"] == "reference"].groupby("participant_id")
        if group["score"].min() < 90 and group["score"].std() > 10
    }
    assert excluded == careless and 3 <= len(excluded) <= 10
    means = result.means.set_index("condition")
    for condition, mean in truth.items():
        assert means.loc[condition, "ci_low"] <= mean <= means.loc[condition, "ci_high"]
    significant = result.comparisons.set_index(["condition_a", "condition_b"])["significant"]
    assert significant[("drums_rnn", "music_vae")] and significant[("drums_rnn", "twin")]
    assert not significant[("music_vae", "twin")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"score": 101.0}, "score must be a number from 0 to 100"),
        ({"role": "hidden"}, "unknown value"),
    ],
)
def test_bad_scores_are_one_line_errors(change, message):
    scores = pd.DataFrame(trials_of("p", [95])).assign(**change)
    with pytest.raises(AnalysisError, match=message):
        condition_means(scores)


def test_every_participant_excluded_or_too_few_conditions_is_an_error():
    scores = pd.DataFrame(trials_of("p", [50, 60]))
    with pytest.raises(AnalysisError, match="excluded every participant"):
        analyse_mushra(scores)
    with pytest.raises(AnalysisError, match="at least 2"):
        compare_mushra_conditions(scores)
    with pytest.raises(AnalysisError, match="lacks column"):
        post_screen(scores.drop(columns="role"))
