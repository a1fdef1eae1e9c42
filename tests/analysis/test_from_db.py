"""The study database as tidy tables, on SQLite and PostgreSQL: simulated ratings written
through the repository come back unchanged, and so do ratings given through the flow."""

import pandas as pd
import pytest

from db.engine import transaction
from db.models import Clip
from drumeval.analysis import rebuild_table1, simulate_study
from drumeval.analysis.export import require_ratings
from drumeval.analysis.from_db import load_study, tidy_tables
from drumeval.errors import AnalysisError, StudyNotFoundError
from tests.factories import drive_flow, make_study, renamed, write_simulated_study

KEYS = ["participant_id", "clip_id", "criterion"]


@pytest.fixture
def simulated():
    return simulate_study(8, 1, seed=8, careless_share=0.3)


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


def test_simulated_ratings_come_back_from_the_database(db_engine, simulated):
    seeded = write_simulated_study(db_engine, simulated)
    assert seeded.screened_out  # the seed has a listener who failed the headphone check
    ratings, answers, participants = tidy_tables(db_engine, "simulated")
    expected = renamed(simulated.ratings, seeded)
    columns = ["participant_id", "clip_id", "model", "genre", "corpus_size", "criterion", "score"]
    pd.testing.assert_frame_equal(
        _sorted(ratings[columns], KEYS), _sorted(expected[columns], KEYS), check_dtype=False
    )
    controls = ratings["model"].isin(["reference", "anchor"])
    assert controls.any() and ratings.loc[controls, "corpus_size"].isna().all()
    given = renamed(simulated.genre_answers, seeded)
    got = _sorted(answers, ["participant_id", "clip_id"])
    want = _sorted(given, ["participant_id", "clip_id"])
    assert got["answer"].tolist() == want["answer"].tolist()
    assert got["confidence"].tolist() == want["confidence"].astype(float).tolist()
    people = participants.set_index("participant_id")
    assert len(people) == len(simulated.participants)  # screened-out listeners are kept
    for sim_id, public_id in seeded.participant_ids.items():
        row = simulated.participants.set_index("participant_id").loc[sim_id]
        assert people.loc[public_id, "headphone_check_passed"] == row["headphone_check_passed"]
        if sim_id in seeded.screened_out:
            assert pd.isna(people.loc[public_id, "listened_seconds"])
        else:
            assert people.loc[public_id, "listened_seconds"] == pytest.approx(
                row["listened_seconds"]
            )


def test_practice_ratings_are_left_out_and_table1_means_match(db_engine, simulated):
    seeded = write_simulated_study(db_engine, simulated)
    data = load_study(db_engine, "simulated")
    kept = len(simulated.participants) - len(seeded.screened_out)
    assert len(data.rows) == kept * simulated.ratings["clip_id"].nunique()
    assert "training" not in set(data.rows["role"]) and "practice" not in set(
        data.rows["condition"]
    )
    assert (data.rows["position"] >= 1).all()
    from_db = rebuild_table1(data.tables.ratings, data.tables.genre_answers, n_resamples=20)
    direct = rebuild_table1(
        renamed(simulated.ratings, seeded), renamed(simulated.genre_answers, seeded), n_resamples=20
    )
    for field in ("n_ratings", "n_participants", "n_clips", "mean", "symbol"):
        pd.testing.assert_frame_equal(
            from_db.xs(field, axis=1, level="field"),
            direct.xs(field, axis=1, level="field"),
            check_dtype=False,
        )


def test_ratings_given_through_the_flow_resolve_to_their_conditions(
    db_engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    ids = drive_flow(db_engine, listeners=2)
    data = load_study(db_engine, "tiny")
    with transaction(db_engine) as session:
        public = {clip.public_id: clip.id for clip in session.query(Clip)}
    assert len(data.rows) == 2 * 4  # four rated clips each, the practice clip left out
    for row in data.rows.itertuples():
        truth = ids["clips"][public[row.clip_id]]
        assert (row.model, row.genre, row.condition) == (
            truth["model"],
            truth["genre"],
            truth["condition"],
        )
        assert row.role == "generated" and row.corpus_size == 700 and row.preset == "thesis"
        assert row.short_term_phrasing == (public[row.clip_id] + int(row.comment[-5])) % 5 - 2
    assert data.rows["comment"].str.startswith("**bold**").all()
    assert data.participants["status"].tolist() == ["finished", "finished"]
    assert data.participants["headphone_check_passed"].tolist() == [True, True]
    assert data.participants["n_ratings"].tolist() == [4, 4]
    assert any(column.startswith("q_") for column in data.participants.columns)
    # the study's own 2-s minimum, not the default 20 s, decides who "did not listen"
    assert data.min_listened_seconds == 2.0
    assert not data.screening()["flagged"].any()


def test_an_unknown_study_and_an_unrated_study_are_explained(db_engine):
    with pytest.raises(StudyNotFoundError, match="no study called 'nope'"):
        tidy_tables(db_engine, "nope")
    make_study(db_engine, slug="empty")
    data = load_study(db_engine, "empty")
    assert data.rows.empty and data.tables.ratings.empty
    with pytest.raises(AnalysisError, match="study 'empty' has no ratings yet"):
        require_ratings(data)


def test_demo_clips_can_be_left_out(db_engine, simulated):
    write_simulated_study(db_engine, simulated)
    with transaction(db_engine, write_lock=True) as session:
        session.query(Clip).filter(Clip.role == "anchor").update({"is_demo": True})
    everything = tidy_tables(db_engine, "simulated").ratings
    real = tidy_tables(db_engine, "simulated", include_demo=False).ratings
    assert "anchor" in set(everything["model"]) and "anchor" not in set(real["model"])
    assert len(real) == (everything["model"] != "anchor").sum()
