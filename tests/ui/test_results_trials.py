"""The Results page on a pairwise study (leaderboard, win-rate matrix, the votes download)
and on a MUSHRA study (post-screening and means) — the numbers of the analysis functions."""

import pytest

from drumeval.analysis import export
from drumeval.analysis.from_db import load_study
from drumeval.analysis.mushra import analyse_mushra
from drumeval.analysis.pairwise import leaderboard
from tests.factories import make_trial_study, simulate_scores, simulate_votes
from tests.ui.apptest import results_login

sqlite_only = pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)


@sqlite_only
def test_a_pairwise_study_shows_its_leaderboard_and_win_rates(results_env):
    study = make_trial_study(results_env, trial_type="pairwise", trials_per_participant=6)
    simulate_votes(results_env, study["study_id"], participants=10, seed=2)
    app = results_login()
    board = next(frame.value for frame in app.dataframe if "ci_low" in frame.value.columns)
    expected = leaderboard(load_study(results_env, "trials").votes, min_votes=50, seed=0)
    assert list(board["condition"]) == list(expected["condition"])
    assert board["score"].round(6).tolist() == expected["score"].round(6).tolist()
    assert any("Win rate" in str(element.value) for element in app.markdown)
    assert [radio.options for radio in app.radio if radio.label == "Table"] == [
        list(export.TABLES_OF_TRIAL_TYPE["pairwise"])
    ]
    assert "Table 1" not in [tab.label for tab in app.tabs]


@sqlite_only
def test_a_mushra_study_shows_its_post_screening_and_means(results_env):
    study = make_trial_study(results_env, trial_type="mushra", trials_per_participant=1)
    simulate_scores(
        results_env,
        study["study_id"],
        participants=3,
        score_of=lambda s, _: 95 if s.role == "reference" else 10 if s.role == "anchor" else 50,
    )
    app = results_login()
    means = analyse_mushra(load_study(results_env, "trials").scores).means
    shown = next(frame.value for frame in app.dataframe if "role" in frame.value.columns)
    assert shown.reset_index(drop=True).equals(means.reset_index(drop=True))
    assert any("excludes 0 of 3 listeners" in str(caption.value) for caption in app.caption)
