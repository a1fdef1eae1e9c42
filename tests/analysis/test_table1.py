"""Table 1 from ratings: symbols at their cut-offs, counts and means on hand-built ratings,
the crossed bootstrap's reproducibility and coverage, and the simulated thesis study."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from drumeval.analysis import rebuild_table1, table1_long
from drumeval.analysis.bootstrap import crossed_bootstrap
from drumeval.analysis.schema import RATING_COLUMNS
from drumeval.analysis.simulate import THRESHOLDS, draw_ordinal
from drumeval.analysis.table1 import (
    THESIS_TABLE1,
    accuracy_symbol,
    format_table1,
    genre_confusion,
    score_symbol,
)
from drumeval.errors import AnalysisError


@pytest.mark.parametrize(
    ("mean", "symbol"),
    [
        (-2, "--"),
        (-1.25, "--"),
        (-1.2499, "-"),
        (-0.4, "-"),
        (-0.3999, "0"),
        (0, "0"),
        (0.3999, "0"),
        (0.4, "+"),
        (1.2499, "+"),
        (1.25, "++"),
        (2, "++"),
        (np.nan, ""),
    ],
)
def test_score_symbol_cut_offs(mean, symbol):
    assert score_symbol(mean) == symbol


@pytest.mark.parametrize(
    ("accuracy", "symbol"),
    [
        (0.0, "--"),
        (0.4499, "--"),
        (0.45, "-"),
        (0.5999, "-"),
        (0.6, "0"),
        (0.7499, "0"),
        (0.75, "+"),
        (0.8999, "+"),
        (0.9, "++"),
        (1.0, "++"),
        (np.nan, ""),
    ],
)
def test_accuracy_symbol_cut_offs(accuracy, symbol):
    assert accuracy_symbol(accuracy) == symbol


def hand_built() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two listeners, one DrumsRNN and one MusicVAE clip each, plus one reference clip."""
    rows = []
    scores = {
        ("p1", "rnn-1"): 1,
        ("p2", "rnn-1"): 2,
        ("p1", "vae-1"): -1,
        ("p2", "vae-1"): -2,
        ("p1", "ref-1"): 2,
        ("p2", "ref-1"): 2,
    }
    models = {"rnn-1": "drums_rnn", "vae-1": "music_vae", "ref-1": "reference"}
    for (participant, clip), score in scores.items():
        for criterion in ("short_term_phrasing", "long_term_phrasing", "originality", "realism"):
            rows.append(
                (
                    participant,
                    clip,
                    models[clip],
                    "jazz-soul",
                    None if clip == "ref-1" else 700,
                    criterion,
                    score,
                )
            )
    ratings = pd.DataFrame(
        rows,
        columns=list(RATING_COLUMNS),
    )
    answers = pd.DataFrame(
        [
            ("p1", "rnn-1", "drums_rnn", "jazz-soul", "jazz-soul", 4),
            ("p2", "rnn-1", "drums_rnn", "jazz-soul", "cant_tell", 2),
            ("p1", "vae-1", "music_vae", "jazz-soul", "techno-house", 3),
            ("p2", "vae-1", "music_vae", "jazz-soul", "techno-house", 5),
        ],
        columns=["participant_id", "clip_id", "model", "genre", "answer", "confidence"],
    )
    return ratings, answers


def test_table1_counts_means_symbols_and_thesis_agreement():
    ratings, answers = hand_built()
    table = rebuild_table1(ratings, answers, seed=0, n_resamples=200)
    assert list(table.index) == [
        "short_term_phrasing",
        "long_term_phrasing",
        "originality",
        "genre_discrimination",
        "realism",
    ]
    assert list(table.columns.get_level_values("model").unique()) == [
        "drums_rnn",
        "music_vae",
        "reference",
    ]
    rnn, vae = table["drums_rnn"], table["music_vae"]
    assert rnn.loc["realism", "n_ratings"] == 2 and rnn.loc["realism", "n_participants"] == 2
    assert rnn.loc["realism", "mean"] == 1.5 and rnn.loc["realism", "median"] == 1.5
    assert rnn.loc["realism", "symbol"] == "++" and vae.loc["realism", "symbol"] == "--"
    assert not rnn.loc["realism", "agrees"]  # thesis: DrumsRNN realism "+"
    assert rnn.loc["genre_discrimination", "mean"] == 0.5  # cant_tell counts as wrong
    assert rnn.loc["genre_discrimination", "symbol"] == "-"
    assert np.isnan(rnn.loc["genre_discrimination", "median"])
    assert vae.loc["genre_discrimination", "mean"] == 0.0
    assert not vae.loc["genre_discrimination", "agrees"]
    assert vae.loc["long_term_phrasing", "symbol"] == "--"  # mean −1.5 ≤ −1.25
    assert table["reference"].loc["realism", "thesis"] == ""
    assert pd.isna(table["reference"].loc["realism", "agrees"])
    assert table["reference"].loc["genre_discrimination", "n_ratings"] == 0
    for model, expected in THESIS_TABLE1.items():
        assert list(table[model]["thesis"]) == [expected[c] for c in table.index]
    cells = format_table1(table)
    assert cells.loc["Realism", "DrumsRNN (study)"].startswith("++  +1.50")
    assert cells.loc["Realism", "DrumsRNN (thesis)"] == "+ ✗"
    assert "reference (thesis)" not in cells.columns


def test_genre_confusion_counts_per_true_genre():
    _, answers = hand_built()
    confusion = genre_confusion(answers)
    assert confusion.loc["jazz-soul"].tolist() == [2, 1, 1]
    assert confusion.loc["techno-house"].tolist() == [0, 0, 0]
    vae = genre_confusion(answers, model="music_vae", normalize=True)
    assert vae.loc["jazz-soul", "techno-house"] == 1.0
    assert vae.loc["techno-house"].isna().all()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.drop(columns="criterion"), "lacks column"),
        (lambda r: r.assign(score=3), "integer from -2 to 2"),
        (lambda r: r.assign(score=0.5), "integer from -2 to 2"),
        (lambda r: r.assign(criterion="groove"), "unknown value"),
        (lambda r: r.assign(genre="polka"), "unknown value"),
        (lambda r: r.iloc[0:0], "no ratings"),
    ],
)
def test_bad_ratings_give_one_clear_error(mutate, message):
    ratings, answers = hand_built()
    with pytest.raises(AnalysisError, match=message):
        rebuild_table1(mutate(ratings), answers, n_resamples=10)


def crossed_sample(rng, participants=20, clips=10, location=1.0, sd=0.6):
    """Ratings of every clip by every participant, participant and clip effects ~ N(0, sd²)."""
    eta = location + rng.normal(0, sd, (participants, 1)) + rng.normal(0, sd, (1, clips))
    scores = draw_ordinal(eta, rng)
    p_index, c_index = np.indices(scores.shape)
    return scores.ravel().astype(float), p_index.ravel(), c_index.ravel()


def population_mean(location=1.0, sd=0.6):
    """E[score] over participants and clips: ∫ Σ_k P(score > θ_k | η) dN(η) − 2."""
    eta = location + np.random.default_rng(0).normal(0, np.sqrt(2) * sd, 400_000)
    return float(expit(eta[:, None] - np.array(THRESHOLDS)).sum(axis=1).mean() - 2)


def test_crossed_bootstrap_is_seeded_and_covers_the_truth():
    rng = np.random.default_rng(3)
    values, participants, clips = crossed_sample(rng)
    first = crossed_bootstrap(
        values, participants, clips, n_resamples=500, rng=np.random.default_rng(1)
    )
    again = crossed_bootstrap(
        values, participants, clips, n_resamples=500, rng=np.random.default_rng(1)
    )
    other = crossed_bootstrap(
        values, participants, clips, n_resamples=500, rng=np.random.default_rng(2)
    )
    assert first == again and first != other
    assert first.n_resamples == 500 and first.n_skipped == 0
    truth = population_mean()
    covered, crossed_widths, row_widths = 0, [], []
    for _ in range(30):
        values, participants, clips = crossed_sample(rng)
        interval = crossed_bootstrap(values, participants, clips, n_resamples=400, rng=rng)
        covered += interval.low <= truth <= interval.high
        crossed_widths.append(interval.high - interval.low)
        rows = stats.bootstrap(
            (values,), np.mean, n_resamples=400, rng=rng, method="percentile"
        ).confidence_interval
        row_widths.append(rows.high - rows.low)
    assert covered >= 25  # nominal 95 % of 30 = 28.5; percentile CIs run a little short
    # Resampling rows alone ignores that listeners and clips are samples too.
    assert np.mean(crossed_widths) > 1.5 * np.mean(row_widths)


def test_simulated_thesis_study_rebuilds_the_thesis_table(study):
    long = table1_long(study.ratings, study.genre_answers, seed=0, n_resamples=300)
    models = long[long["model"].isin(["drums_rnn", "music_vae"])]
    assert models["agrees"].all(), models[["criterion", "model", "mean", "symbol", "thesis"]]
    assert (models["n_participants"] == 24).all()
    assert (models["ci_low"] < models["mean"]).all() and (models["mean"] < models["ci_high"]).all()
    controls = long.set_index(["criterion", "model"])
    assert controls.loc[("realism", "reference"), "symbol"] == "++"
    assert controls.loc[("realism", "anchor"), "symbol"] == "--"


def test_the_thesis_column_sits_beside_each_condition_of_a_thesis_model():
    from drumeval.analysis import simulate_study
    from drumeval.analysis.table1 import format_table1, rebuild_table1

    ratings, answers, _ = simulate_study(6, 1, seed=4)
    own = ratings["model"] == "drums_rnn"
    ratings = ratings.assign(model=ratings["model"].where(~own, "port-700"))
    answers = answers.assign(
        model=answers["model"].where(answers["model"] != "drums_rnn", "port-700")
    )
    thesis = {"port-700": "drums_rnn"}
    table = rebuild_table1(ratings, answers, n_resamples=20, thesis_models=thesis)
    assert table.loc["short_term_phrasing", ("port-700", "thesis")] == "+"
    assert table.loc["realism", ("music_vae", "thesis")] == "++"
    columns = list(format_table1(table).columns)
    assert columns.index("port-700 (thesis)") == columns.index("port-700 (study)") + 1
    plain = rebuild_table1(ratings, answers, n_resamples=20)
    assert (plain.xs("port-700", axis=1, level="model")["thesis"] == "").all()
