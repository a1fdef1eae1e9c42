"""`drumeval study leaderboard|mushra` on simulated studies in the database, and the refusals
of commands meant for another trial type."""

import numpy as np

from drumeval.analysis.export import read_export
from drumeval.analysis.schema import PAIRWISE_OUTCOMES
from tests.factories import STRENGTHS, make_trial_study, simulate_scores, simulate_votes


def _order_in(text: str, names) -> list[str]:
    return sorted(names, key=text.index)


def test_leaderboard_recovers_a_known_preference_order(db_engine, db_cli):
    study = make_trial_study(db_engine, trial_type="pairwise", trials_per_participant=6)
    simulate_votes(db_engine, study["study_id"], participants=40, seed=3)
    code, out, err = db_cli(
        "study", "leaderboard", "trials", "--min-votes", "20", "--resamples", "200"
    )
    assert code == 0, err
    assert _order_in(out, STRENGTHS) == sorted(STRENGTHS, key=STRENGTHS.get, reverse=True)
    assert out.count("ranked") == 4 and "preliminary" not in out
    code, out, _ = db_cli(  # each condition is in ~120 of the 240 votes
        "study", "leaderboard", "trials", "--min-votes", "500", "--resamples", "50"
    )
    assert code == 0 and out.count("preliminary") == 4 and " ranked" not in out


def test_a_pairwise_study_refuses_table1_and_exports_its_votes(db_engine, db_cli, tmp_path):
    study = make_trial_study(db_engine, trial_type="pairwise", trials_per_participant=3)
    code, _, err = db_cli("study", "leaderboard", "trials")
    assert code != 0 and "no votes yet" in err
    simulate_votes(db_engine, study["study_id"], participants=2, seed=0)
    code, _, err = db_cli("study", "table1", "trials")
    assert code != 0 and "pairwise study" in err and "study leaderboard" in err
    code, _, err = db_cli("study", "mushra", "trials")
    assert code != 0 and "study leaderboard" in err
    out_file = tmp_path / "votes.csv"
    code, _, err = db_cli("study", "export", "trials", "--table", "votes", "--out", str(out_file))
    assert code == 0, err
    votes = read_export(out_file, "csv", "votes")
    assert len(votes) == 6 and set(votes["outcome"]) <= set(PAIRWISE_OUTCOMES)
    assert set(votes["condition_a"]) | set(votes["condition_b"]) <= set(STRENGTHS)
    code, _, err = db_cli("study", "export", "trials", "--table", "ratings", "--out", str(out_file))
    assert code != 0 and "its tables are votes, participants" in err


def test_mushra_summary_ranks_the_reference_above_the_anchor(db_engine, db_cli):
    study = make_trial_study(db_engine, trial_type="mushra", trials_per_participant=2)
    means = {"reference": 95, "anchor": 10, "drums_rnn": 40, "thesis-longbar": 60, "hier": 70}
    rng = np.random.default_rng(1)

    def score_of(_, clip) -> int:
        mean = next(value for key, value in means.items() if key in clip.condition)
        return int(np.clip(mean + rng.normal(0, 4), 0, 100))

    simulate_scores(db_engine, study["study_id"], participants=6, score_of=score_of)
    code, out, err = db_cli("study", "mushra", "trials")
    assert code == 0, err
    assert "0 of 6 listener(s) excluded" in out
    assert out.index("reference/") < out.index("anchor/")
    code, _, err = db_cli("study", "leaderboard", "trials")
    assert code != 0 and "mushra study" in err
