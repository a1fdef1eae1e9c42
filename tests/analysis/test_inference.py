"""Comparisons, headline fits and reliability equal scipy / pingouin / statsmodels /
krippendorff run independently here on the same data."""

import krippendorff
import numpy as np
import pandas as pd
import pingouin
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.stats.multitest import multipletests

from drumeval.analysis import (
    breakdown,
    compare_corpus_sizes,
    compare_models,
    headline_fit,
    reliability,
    simulate_study,
)
from drumeval.errors import AnalysisError


def per_participant_means(ratings, criterion):
    cell = ratings[
        (ratings["criterion"] == criterion) & ratings["model"].isin(["drums_rnn", "music_vae"])
    ]
    return cell.groupby(["participant_id", "model"])["score"].mean().unstack()


def test_paired_comparison_is_wilcoxon_on_participant_means_with_holm(study):
    table = compare_models(study.ratings, study.genre_answers).set_index("criterion")
    assert (table["design"] == "paired").all() and (table["test"] == "wilcoxon").all()
    for criterion in ("short_term_phrasing", "long_term_phrasing", "originality", "realism"):
        means = per_participant_means(study.ratings, criterion)
        expected = stats.wilcoxon(means["music_vae"], means["drums_rnn"], correction=True)
        assert table.loc[criterion, "p_value"] == pytest.approx(expected.pvalue, rel=1e-12)
        assert table.loc[criterion, "statistic"] == pytest.approx(expected.statistic)
        rbc = pingouin.wilcoxon(means["music_vae"], means["drums_rnn"])["RBC"].iloc[0]
        assert table.loc[criterion, "effect_size"] == pytest.approx(rbc)
        assert table.loc[criterion, "mean_b"] == pytest.approx(means["music_vae"].mean())
    answers = study.genre_answers.assign(
        correct=lambda a: (a["answer"] == a["genre"]).astype(float)
    )
    accuracy = answers.groupby(["participant_id", "model"])["correct"].mean().unstack()
    expected = stats.wilcoxon(accuracy["music_vae"], accuracy["drums_rnn"], correction=True)
    assert table.loc["genre_discrimination", "p_value"] == pytest.approx(expected.pvalue)
    holm = multipletests(table["p_value"], method="holm")[1]
    np.testing.assert_allclose(table["p_holm"], holm)
    # Thesis effects: MusicVAE better on all but long-term phrasing (both "-").
    assert table.loc["originality", "significant"] and table.loc["originality", "effect_size"] > 0
    assert not table.loc["long_term_phrasing", "significant"]


def test_independent_design_uses_mann_whitney_on_participant_means():
    ratings, answers, _ = simulate_study(16, 1, seed=5, design="independent", with_controls=False)
    table = compare_models(ratings, answers).set_index("criterion")
    assert (table["test"] == "mann_whitney_u").all()
    assert (table["n_participants"] == 16).all()
    means = per_participant_means(ratings, "realism")
    expected = stats.mannwhitneyu(means["music_vae"].dropna(), means["drums_rnn"].dropna())
    assert table.loc["realism", "p_value"] == pytest.approx(expected.pvalue)
    assert table.loc["realism", "statistic"] == pytest.approx(expected.statistic)


def test_corpus_size_comparison_finds_a_size_effect_within_each_model():
    ratings, answers, _ = simulate_study(20, 2, seed=2, size_effect=1.5, with_controls=False)
    table = compare_corpus_sizes(ratings, answers)
    assert set(table["within"]) == {"drums_rnn", "music_vae"}
    realism = table[table["criterion"] == "realism"].set_index("within")
    assert realism["significant"].all() and (realism["mean_b"] > realism["mean_a"]).all()
    genre = table[table["criterion"] == "genre_discrimination"]
    assert not genre["significant"].any()  # the size effect is on scores only


@pytest.mark.filterwarnings("ignore:The MLE may be on the boundary")
def test_headline_fits_equal_statsmodels_run_here():
    ratings = simulate_study(12, 1, seed=4, with_controls=False).ratings
    fits = headline_fit(ratings).set_index("criterion")
    assert set(fits.index) == {
        "short_term_phrasing",
        "long_term_phrasing",
        "originality",
        "realism",
    }
    cell = ratings[ratings["criterion"] == "realism"]
    frame = pd.DataFrame(
        {
            "y": cell["score"].astype(float),
            "b": (cell["model"] == "music_vae").astype(float),
            "who": cell["participant_id"],
            "what": cell["clip_id"],
            "g": 1,
        }
    )
    lmm = smf.mixedlm(
        "y ~ b", frame, groups="g", vc_formula={"who": "0 + C(who)", "what": "0 + C(what)"}
    ).fit(reml=True, method=["powell", "lbfgs"])
    assert fits.loc["realism", "lmm_estimate"] == pytest.approx(lmm.params["b"], abs=1e-4)
    assert fits.loc["realism", "lmm_converged"]
    assert fits.loc["realism", "headline"] == "lmm"
    ordinal = OrderedModel(
        pd.Categorical(cell["score"], ordered=True), frame[["b"]], distr="logit"
    ).fit(method="bfgs", disp=False)
    assert fits.loc["realism", "po_log_odds"] == pytest.approx(ordinal.params["b"], rel=1e-4)
    # Balanced design: the mixed model's estimate is the raw difference of means.
    difference = cell.groupby("model")["score"].mean().diff().iloc[-1]
    assert fits.loc["realism", "lmm_estimate"] == pytest.approx(difference, abs=1e-6)
    assert (fits["lmm_ci_low"] < fits["lmm_estimate"]).all()


def test_one_listener_gives_notes_not_a_crash():
    # cluster-robust errors over one listener divide by zero inside statsmodels
    ratings = simulate_study(1, 1, seed=4, with_controls=False).ratings
    fits = headline_fit(ratings)
    assert not fits["po_converged"].any()
    assert (fits["po_note"] == "too few listeners or clips in a condition to fit this model").all()


def test_reliability_equals_krippendorff_and_pingouin(study):
    table = reliability(study.ratings).set_index("criterion")
    realism = study.ratings[study.ratings["criterion"] == "realism"]
    matrix = realism.pivot(index="participant_id", columns="clip_id", values="score")
    alpha = krippendorff.alpha(
        reliability_data=matrix.to_numpy(float),
        level_of_measurement="ordinal",
        value_domain=[-2, -1, 0, 1, 2],
    )
    assert table.loc["realism", "krippendorff_alpha"] == pytest.approx(alpha)
    icc = pingouin.intraclass_corr(
        realism, targets="clip_id", raters="participant_id", ratings="score"
    ).set_index("Type")["ICC"]
    assert table.loc["realism", "icc2"] == pytest.approx(icc["ICC(A,1)"])
    assert table.loc["realism", "icc2k"] == pytest.approx(icc["ICC(A,k)"])
    assert table.loc["realism", "n_raters"] == 24


def test_reliability_with_missing_ratings_skips_icc_but_keeps_alpha(study):
    sparse = study.ratings.sample(frac=0.5, random_state=0)
    table = reliability(sparse).set_index("criterion")
    assert np.isfinite(table["krippendorff_alpha"]).all()
    assert table["icc2"].isna().all() and (table["icc_complete_clips"] == 0).all()


def test_reliability_is_undefined_when_no_clip_has_two_listeners(study):
    first = study.ratings["participant_id"] == "sim-001"
    second = study.ratings["participant_id"] == "sim-002"
    clips = sorted(study.ratings["clip_id"].unique())
    disjoint = study.ratings[
        (first & study.ratings["clip_id"].isin(clips[::2]))
        | (second & study.ratings["clip_id"].isin(clips[1::2]))
    ]
    table = reliability(disjoint)
    assert table["krippendorff_alpha"].isna().all() and (table["n_raters"] == 2).all()


def test_breakdowns_by_genre_and_corpus_size(study):
    by_genre = breakdown(study.ratings, study.genre_answers, by="genre", n_resamples=100)
    assert set(by_genre["genre"]) == {"techno-house", "jazz-soul"}
    jazz = by_genre[(by_genre["genre"] == "jazz-soul") & (by_genre["model"] == "drums_rnn")]
    assert (jazz["n_clips"] == 4).all()
    by_size = breakdown(study.ratings, study.genre_answers, by="corpus_size", n_resamples=100)
    assert set(by_size["corpus_size"]) == {700, 1500}
    assert not by_size["model"].isin(["reference", "anchor"]).any()  # they have no size
    with pytest.raises(AnalysisError, match="break down by"):
        breakdown(study.ratings, None, by="tempo")


def _by_model_and_genre(frame: pd.DataFrame) -> pd.DataFrame:
    """Four conditions of the simulated study: each model × genre its own level."""
    own = frame["model"].isin(["drums_rnn", "music_vae"])
    return frame.assign(model=frame["model"].where(~own, frame["model"] + "/" + frame["genre"]))


def test_any_contrast_of_conditions_with_holm_over_every_row(study):
    from drumeval.analysis.inference import compare_conditions, compare_contrasts

    ratings, answers = _by_model_and_genre(study.ratings), _by_model_and_genre(study.genre_answers)
    table = compare_contrasts(ratings, answers)
    pairs = set(zip(table["level_a"], table["level_b"], strict=True))
    assert len(pairs) == 6 and not {"reference", "anchor"} & {level for p in pairs for level in p}
    assert len(table) == 6 * 5  # every pair × every criterion, genre discrimination included
    _, expected, _, _ = multipletests(table["p_value"], method="holm")
    np.testing.assert_allclose(table["p_holm"], expected)
    pair = ("drums_rnn/jazz-soul", "music_vae/techno-house")
    one = compare_contrasts(ratings, answers, contrasts=[pair])
    alone = compare_conditions(ratings, answers, levels=pair)
    np.testing.assert_allclose(one["p_value"], alone["p_value"])
    assert (one["p_holm"] >= one["p_value"]).all() and len(one) == 5
    both = compare_contrasts(ratings, answers, contrasts=[pair, ("reference", "anchor")])
    assert (both["p_holm"][:5].to_numpy() >= one["p_holm"].to_numpy()).all()  # more tests


def test_a_contrast_names_levels_the_study_has():
    from drumeval.analysis.inference import compare_contrasts, parse_contrast

    assert parse_contrast("magenta-original:drums_rnn/x") == ("magenta-original", "drums_rnn/x")
    for bad in ("a", "a:", ":b", "a:b:c"):
        with pytest.raises(AnalysisError, match="A:B"):
            parse_contrast(bad)
    ratings = simulate_study(4, 1, seed=3).ratings
    with pytest.raises(AnalysisError, match="no ratings of 'nope'; the study has drums_rnn"):
        compare_contrasts(ratings, contrasts=[("drums_rnn", "nope")])
    with pytest.raises(AnalysisError, match="two different levels"):
        compare_contrasts(ratings, contrasts=[("drums_rnn", "drums_rnn")])
