"""The Results page on a pairwise study (leaderboard, win-rate matrix, the votes download)
and on a MUSHRA study (post-screening and means) — the numbers of the analysis functions."""

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from drumeval.analysis import export
from drumeval.analysis.from_db import load_study
from drumeval.analysis.mushra import analyse_mushra
from drumeval.analysis.pairwise import leaderboard
from drumeval.study import admin_auth
from tests.conftest import REPO_ROOT
from tests.factories import make_trial_study, simulate_scores, simulate_votes

PASSWORD = "results are for researchers"
sqlite_only = pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)


@pytest.fixture
def page_env(db_engine, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(admin_auth.PASSWORD_ENV, PASSWORD)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield db_engine
    st.cache_data.clear()


def _login() -> AppTest:
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "results.py"), default_timeout=180).run()
    app.text_input[0].input(PASSWORD)
    next(button for button in app.button if button.label == "Log in").click().run()
    assert not app.exception, app.exception
    return app


@sqlite_only
def test_a_pairwise_study_shows_its_leaderboard_and_win_rates(page_env):
    study = make_trial_study(page_env, trial_type="pairwise", trials_per_participant=6)
    simulate_votes(page_env, study["study_id"], participants=10, seed=2)
    app = _login()
    board = next(frame.value for frame in app.dataframe if "ci_low" in frame.value.columns)
    expected = leaderboard(load_study(page_env, "trials").votes, min_votes=50, seed=0)
    assert list(board["condition"]) == list(expected["condition"])
    assert board["score"].round(6).tolist() == expected["score"].round(6).tolist()
    assert any("Win rate" in str(element.value) for element in app.markdown)
    assert [radio.options for radio in app.radio if radio.label == "Table"] == [
        list(export.TABLES_OF_TRIAL_TYPE["pairwise"])
    ]
    assert "Table 1" not in [tab.label for tab in app.tabs]


@sqlite_only
def test_a_mushra_study_shows_its_post_screening_and_means(page_env):
    study = make_trial_study(page_env, trial_type="mushra", trials_per_participant=1)
    simulate_scores(
        page_env,
        study["study_id"],
        participants=3,
        score_of=lambda s, _: 95 if s.role == "reference" else 10 if s.role == "anchor" else 50,
    )
    app = _login()
    means = analyse_mushra(load_study(page_env, "trials").scores).means
    shown = next(frame.value for frame in app.dataframe if "role" in frame.value.columns)
    assert shown.reset_index(drop=True).equals(means.reset_index(drop=True))
    assert any("excludes 0 of 3 listeners" in str(caption.value) for caption in app.caption)
