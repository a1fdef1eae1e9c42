"""Bradley–Terry on pairwise votes: hand-built answers, an independent statsmodels fit, the
leaderboard's rules, and recovery of known strengths from seeded simulated votes."""

import math

import numpy as np
import pandas as pd
import pytest

from drumeval.analysis.pairwise import (
    ELO_MEAN,
    LEADERBOARD_COLUMNS,
    bootstrap_bradley_terry,
    fit_bradley_terry,
    leaderboard,
    pair_win_probabilities,
    vote_counts,
    win_matrix,
    win_rate_matrix,
)
from drumeval.analysis.simulate import draw_pairwise_outcomes, simulate_pairwise_votes
from drumeval.errors import AnalysisError


def votes_of(*rows: tuple[str, str, str], participants: int = 1) -> pd.DataFrame:
    """Votes (condition_a, condition_b, outcome), spread round-robin over participants."""
    return pd.DataFrame(
        [
            {
                "participant_id": f"p{i % participants}",
                "trial_id": f"t{i}",
                "condition_a": a,
                "condition_b": b,
                "outcome": outcome,
            }
            for i, (a, b, outcome) in enumerate(rows)
        ]
    )


def elo_gap(wins_a: float, wins_b: float) -> float:
    return 400 * math.log10(wins_a / wins_b)


def test_two_conditions_give_the_log_odds_of_their_record():
    # x: 30 wins + ½ · 10 ties = 35; y: 10 wins + ½ · 10 ties = 15 (sides mixed on purpose)
    record = [("x", "y", "a"), ("y", "x", "b"), ("x", "y", "a"), ("x", "y", "b"), ("y", "x", "tie")]
    votes = votes_of(*record * 10)
    fit = fit_bradley_terry(votes)
    gap = fit.loc["x", "score"] - fit.loc["y", "score"]
    assert gap == pytest.approx(elo_gap(35, 15), abs=0.5)  # 147.2; the regularisation: −0.13
    assert fit["score"].mean() == pytest.approx(ELO_MEAN)
    assert fit.loc["x", "win_probability"] == pytest.approx(
        1 / (1 + math.sqrt(1.5 / 3.5)), abs=1e-3
    )
    anchored = fit_bradley_terry(votes, anchor="y")
    assert anchored.loc["y", "score"] == pytest.approx(ELO_MEAN)
    assert anchored.loc["x", "score"] == pytest.approx(ELO_MEAN + gap)


def test_a_tie_is_half_a_win_to_each_side_and_both_bad_is_left_out():
    with_ties = votes_of(*[("x", "y", "a")] * 3, *[("x", "y", "tie")] * 2)
    as_wins = votes_of(*[("x", "y", "a")] * 4, ("x", "y", "b"))  # 4–1, as 3 + ½ + ½ vs ½ + ½
    with_both_bad = votes_of(*[("x", "y", "a")] * 3, *[("x", "y", "tie")] * 2,
                             *[("y", "x", "both_bad")] * 7)  # fmt: skip
    expected = fit_bradley_terry(as_wins)["score"]
    pd.testing.assert_series_equal(fit_bradley_terry(with_ties)["score"], expected)
    pd.testing.assert_series_equal(fit_bradley_terry(with_both_bad)["score"], expected)
    counts = vote_counts(with_both_bad)
    assert counts.loc["x"].to_dict() == {
        "votes": 12, "wins": 3, "losses": 0, "ties": 2, "both_bad": 7
    }  # fmt: skip
    assert counts.loc["y", "losses"] == 3


def test_win_rate_matrix_on_a_hand_built_example():
    votes = votes_of(
        ("x", "y", "a"),
        ("x", "y", "a"),
        ("y", "x", "a"),
        ("x", "y", "tie"),  # x–y: 2.5 of 4
        ("y", "z", "b"),
        ("z", "y", "both_bad"),  # y–z: z won the one counted vote
    )
    rates = win_rate_matrix(votes)
    assert rates.loc["x", "y"] == pytest.approx(2.5 / 4)
    assert rates.loc["y", "x"] == pytest.approx(1.5 / 4)
    assert rates.loc["z", "y"] == 1.0 and rates.loc["y", "z"] == 0.0
    assert np.isnan(rates.loc["x", "z"]) and np.isnan(rates.loc["x", "x"])


def test_the_fit_equals_statsmodels_logistic_regression_on_plus_minus_one_columns():
    import statsmodels.api as sm

    votes = simulate_pairwise_votes({"p": 1100, "q": 1000, "r": 950, "s": 900}, 600, seed=4)
    fit = fit_bradley_terry(votes)
    decided = votes[votes["outcome"] != "both_bad"]
    conditions = list(fit.index)
    design = np.zeros((len(decided), len(conditions)))
    rows = np.arange(len(decided))
    design[rows, decided["condition_a"].map(conditions.index)] = 1
    design[rows, decided["condition_b"].map(conditions.index)] = -1
    credit = decided["outcome"].map({"a": 1.0, "b": 0.0, "tie": 0.5}).to_numpy()
    glm = sm.GLM(credit, design[:, 1:], family=sm.families.Binomial()).fit()  # p fixed at 0
    strengths = np.concatenate([[0.0], glm.params])
    elo = 400 / math.log(10) * (strengths - strengths.mean()) + ELO_MEAN
    np.testing.assert_allclose(fit["score"].to_numpy(), elo, atol=0.5)


def test_a_condition_that_always_wins_gets_a_large_finite_score():
    votes = votes_of(*[("w", "x", "a")] * 10, *[("x", "y", "a")] * 6, *[("y", "x", "a")] * 4)
    fit = fit_bradley_terry(votes)
    assert np.isfinite(fit["score"]).all()
    assert fit["score"].idxmax() == "w"
    assert 300 < fit.loc["w", "score"] - fit.loc["x", "score"] < 1000


@pytest.mark.parametrize(
    ("votes", "message"),
    [
        (votes_of(("x", "x", "a")), "comparing a condition with itself"),
        (votes_of(("x", "y", "win")), "unknown value"),
        (votes_of(("x", "y", "both_bad")), "no pairwise votes other than 'both bad'"),
        (votes_of(("x", "y", "a"), ("u", "v", "b")), "never compared"),
        (pd.DataFrame({"participant_id": ["p"], "condition_a": ["x"]}), "lacks column"),
    ],
)
def test_bad_votes_are_one_line_errors(votes, message):
    with pytest.raises(AnalysisError, match=message):
        fit_bradley_terry(votes)


def test_fewer_than_two_conditions_is_an_error():
    with pytest.raises(AnalysisError, match="at least 2 conditions"):
        fit_bradley_terry(votes_of(("x", "y", "a")).iloc[:0])
    with pytest.raises(AnalysisError, match="anchor 'z'"):
        fit_bradley_terry(votes_of(("x", "y", "a")), anchor="z")


TRUTH = {"great": 1150, "good": 1050, "fair": 950, "poor": 850}


def test_leaderboard_ranks_the_known_order_and_flags_preliminary_and_uncompared():
    votes = simulate_pairwise_votes(TRUTH, 1200, participant_sd=40, seed=5)
    extra = votes_of(*[("newcomer", "fair", "a")] * 3, ("lonely", "great", "both_bad"))
    extra["participant_id"] = "late"
    board = leaderboard(pd.concat([votes, extra]), min_votes=50, n_boot=200, seed=1)
    assert tuple(board.columns) == LEADERBOARD_COLUMNS
    ranked = board[board["ranked"]]
    assert list(ranked["condition"]) == list(TRUTH)  # sorted by lower CI bound
    assert (ranked["ci_low"].diff().dropna() < 0).all()
    assert (ranked["ci_low"] < ranked["score"]).all() and (
        ranked["score"] < ranked["ci_high"]
    ).all()
    newcomer = board.set_index("condition").loc["newcomer"]
    assert newcomer["status"] == "preliminary" and not newcomer["ranked"]
    assert newcomer["votes"] == 3 and newcomer["wins"] == 3
    lonely = board.set_index("condition").loc["lonely"]
    assert lonely["status"] == "not compared" and np.isnan(lonely["score"])
    assert lonely["both_bad"] == 1
    again = leaderboard(pd.concat([votes, extra]), min_votes=50, n_boot=200, seed=1)
    pd.testing.assert_frame_equal(board, again)


def test_known_strengths_fall_inside_the_participant_bootstrap_cis_about_95_percent():
    covered, total = 0, 0
    for seed in range(10):
        votes = simulate_pairwise_votes(TRUTH, 500, participant_sd=60, seed=100 + seed)
        fit = bootstrap_bradley_terry(votes, n_boot=150, seed=seed)
        truth = pd.Series(TRUTH) - np.mean(list(TRUTH.values())) + ELO_MEAN
        inside = (fit["ci_low"] <= truth[fit.index]) & (truth[fit.index] <= fit["ci_high"])
        covered, total = covered + int(inside.sum()), total + len(inside)
    # 40 intervals at 95 %: expect ~38 (sd 1.4); below 34 (85 %) would be a miscalibration.
    assert covered / total >= 0.85


def test_simulated_outcomes_keep_the_expected_credit_at_the_bradley_terry_probability():
    rng = np.random.default_rng(0)
    difference = np.full(200_000, math.log(3))  # p = 0.75
    outcome = draw_pairwise_outcomes(difference, rng, tie_share=0.3, both_bad_share=0.1)
    shares = np.bincount(outcome, minlength=4) / len(outcome)
    assert shares[3] == pytest.approx(0.1, abs=0.005)
    decided = outcome[outcome != 3]
    credit = np.select([decided == 0, decided == 2], [1.0, 0.5], 0.0)
    assert credit.mean() == pytest.approx(0.75, abs=0.005)
    assert np.mean(decided == 2) == pytest.approx(4 * 0.3 * 0.75 * 0.25, abs=0.005)


def test_pair_win_probabilities_fit_each_compared_group_on_its_own():
    """x beats y 3 times and ties once (3.5 : 0.5; both bad left out): P = 3.5 / 4. u and v,
    a genre never compared with x and y, get their own fit and NaN against x and y."""
    votes = votes_of(
        ("x", "y", "a"),
        ("y", "x", "b"),
        ("x", "y", "a"),
        ("x", "y", "tie"),
        ("x", "y", "both_bad"),
        ("u", "v", "b"),
        ("u", "v", "a"),
    )
    wins = win_matrix(votes)
    assert wins.loc["x", "y"] == 3.5 and wins.loc["y", "x"] == 0.5 and wins.loc["u", "v"] == 1
    probability = pair_win_probabilities(wins)
    assert probability.loc["x", "y"] == pytest.approx(0.875, abs=0.005)
    assert probability.loc["y", "x"] == pytest.approx(1 - probability.loc["x", "y"])
    assert probability.loc["u", "v"] == pytest.approx(0.5)
    assert np.isnan(probability.loc["x", "u"]) and np.isnan(probability.loc["v", "y"])
