"""Model comparisons, breakdowns and inter-rater reliability for a listening study.

Simple tests (always computed). The unit is the participant: each participant's ratings of a
condition are averaged first (a listener who rated 8 clips is one observation, not 8).
* paired design — every participant heard both conditions: Wilcoxon signed-rank test on the
  per-participant means (`pingouin.wilcoxon`, scipy underneath);
* independent design — no participant heard both: Mann–Whitney U on the per-participant means
  (`pingouin.mwu`);
* mixed — some heard both: the paired test on those who did (the others are counted in
  `n_dropped`).
Effect size: the rank-biserial correlation pingouin reports, signed so that it is positive
when the *second* level (e.g. `music_vae`) is rated higher. p-values are Holm-corrected over
the criteria of one call (`statsmodels.stats.multitest.multipletests(method="holm")`).

Headline model (`headline_fit`). The design calls for a cumulative-link mixed model (ordinal
scores, random participant and clip effects). No well-kept Python library fits a CLMM
(statsmodels' `OrderedModel` has no random effects), so this module does **not** claim one:
1. it fits a **linear mixed model** on the scores with *crossed* random intercepts for
   participant and clip (`statsmodels` `MixedLM`, REML, variance components on a single
   group) — the Gaussian counterpart of the CLMM, which keeps both sources of variation the
   CLMM would model; the estimate is the difference in mean score (second − first level);
2. it always also fits a **proportional-odds (cumulative logit) model** (`OrderedModel`,
   logit link) with standard errors clustered by participant — ordinal like a CLMM but with
   the clip variation ignored; the estimate is a log odds ratio;
3. `headline` names the model whose result to report: `lmm` when the mixed model converged
   without a statsmodels `ConvergenceWarning` (a variance on the boundary is only noted),
   else `ordinal_cluster` when that fit converged, else `simple_tests`.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from drumeval.analysis.bootstrap import DEFAULT_RESAMPLES
from drumeval.analysis.schema import (
    ANCHOR,
    MODELS,
    REFERENCE,
    SCORE_CRITERIA,
    TABLE1_CRITERIA,
    observations,
    ordered_models,
    validate_ratings,
)
from drumeval.analysis.table1 import table1_long
from drumeval.errors import AnalysisError

ALPHA = 0.05
COMPARISON_COLUMNS = (
    "criterion",
    "factor",
    "level_a",
    "level_b",
    "within",
    "design",
    "test",
    "n_participants",
    "n_dropped",
    "mean_a",
    "mean_b",
    "statistic",
    "p_value",
    "p_holm",
    "effect_size",
    "significant",
)


def participant_means(data: pd.DataFrame, factor: str) -> pd.DataFrame:
    """[participant × level] mean value per participant and level of `factor` (NaN if unheard)."""
    return data.groupby(["participant_id", factor])["value"].mean().unstack(factor)


def compare_pair(data: pd.DataFrame, factor: str, levels: Sequence, design: str) -> dict:
    """One simple test between two levels of `factor` on per-participant means."""
    import pingouin

    level_a, level_b = levels
    means = participant_means(data[data[factor].isin(levels)], factor)
    means = means.reindex(columns=list(levels))
    both = means.dropna()
    heard_any = means.notna().any(axis=1).sum()
    chosen = design
    if design == "auto":
        chosen = "paired" if len(both) > 0 else "independent"
    row = {"mean_a": float(means[level_a].mean()), "mean_b": float(means[level_b].mean())}
    if chosen == "paired":
        row.update(
            design="paired",
            test="wilcoxon",
            n_participants=len(both),
            n_dropped=int(heard_any - len(both)),
        )
        if len(both) < 2 or (both[level_b] - both[level_a] == 0).all():
            return row | {"statistic": np.nan, "p_value": np.nan, "effect_size": np.nan}
        result = pingouin.wilcoxon(both[level_b], both[level_a]).iloc[0]
        return row | {
            "statistic": float(result["W_val"]),
            "p_value": float(result["p_val"]),
            "effect_size": float(result["RBC"]),
        }
    a, b = means[level_a].dropna(), means[level_b].dropna()
    row.update(
        design="independent", test="mann_whitney_u", n_participants=int(heard_any), n_dropped=0
    )
    if len(a) < 1 or len(b) < 1:
        return row | {"statistic": np.nan, "p_value": np.nan, "effect_size": np.nan}
    result = pingouin.mwu(b, a).iloc[0]
    return row | {
        "statistic": float(result["U_val"]),
        "p_value": float(result["p_val"]),
        "effect_size": float(result["RBC"]),
    }


def holm(p_values: pd.Series, alpha: float = ALPHA) -> tuple[pd.Series, pd.Series]:
    """Holm-adjusted p-values and rejections (NaN p-values stay NaN / not rejected)."""
    from statsmodels.stats.multitest import multipletests

    adjusted = pd.Series(np.nan, index=p_values.index)
    rejected = pd.Series(False, index=p_values.index)
    valid = p_values.notna()
    if valid.any():
        reject, corrected, _, _ = multipletests(p_values[valid], alpha=alpha, method="holm")
        adjusted[valid], rejected[valid] = corrected, reject
    return adjusted, rejected


def compare_conditions(
    ratings: pd.DataFrame,
    genre_answers: pd.DataFrame | None = None,
    *,
    factor: str = "model",
    levels: Sequence = MODELS,
    within: str | None = None,
    design: str = "auto",
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Per criterion (and per level of `within`), the simple test between two `levels` of
    `factor`; Holm over all rows. Columns `COMPARISON_COLUMNS`; `effect_size` > 0 and
    `mean_b` > `mean_a` when the second level is rated higher (more accurately, for genre)."""
    if design not in ("auto", "paired", "independent"):
        raise AnalysisError(f"design must be auto, paired or independent, not {design!r}")
    if len(levels) != 2:
        raise AnalysisError(f"compare exactly two levels of {factor}, not {list(levels)}")
    data = observations(ratings, genre_answers)
    groups = [(None, data)] if within is None else list(data.groupby(within, sort=True))
    rows = []
    for within_level, subset in groups:
        for criterion in TABLE1_CRITERIA:
            cell = subset[subset["criterion"] == criterion]
            if cell.empty:
                continue
            result = compare_pair(cell, factor, levels, design)
            rows.append(
                {
                    "criterion": criterion,
                    "factor": factor,
                    "level_a": levels[0],
                    "level_b": levels[1],
                    "within": within_level,
                    **result,
                }
            )
    table = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    table["p_holm"], table["significant"] = holm(table["p_value"], alpha)
    return table


def parse_contrast(text: str) -> tuple[str, str]:
    """`"A:B"` → `("A", "B")`: the second level is compared against the first."""
    first, separator, second = text.partition(":")
    if not separator or not first.strip() or not second.strip() or ":" in second:
        raise AnalysisError(f"a contrast is two levels as A:B, not {text!r}")
    return first.strip(), second.strip()


def compare_contrasts(
    ratings: pd.DataFrame,
    genre_answers: pd.DataFrame | None = None,
    *,
    contrasts: Sequence[tuple[str, str]] | None = None,
    design: str = "auto",
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Per contrast and criterion the simple test between two levels of `model` (a study's
    conditions: `StudyData.by_condition`), Holm-corrected over every row, as
    `compare_conditions`. `contrasts` None: every pair of the levels other than the hidden
    references and anchors."""
    present = ordered_models(ratings["model"])
    if contrasts is None:
        own = [level for level in present if level not in (REFERENCE, ANCHOR)]
        contrasts = list(itertools.combinations(own, 2))
        if not contrasts:
            raise AnalysisError("the study has fewer than two conditions to compare")
    for pair in contrasts:
        unknown = [level for level in pair if level not in present]
        if unknown:
            raise AnalysisError(
                f"no ratings of {', '.join(map(repr, unknown))}; the study has {', '.join(present)}"
            )
        if pair[0] == pair[1]:
            raise AnalysisError(f"a contrast compares two different levels, not {pair[0]!r} twice")
    tables = [
        compare_conditions(ratings, genre_answers, levels=pair, design=design, alpha=alpha)
        for pair in contrasts
    ]
    table = pd.concat(tables, ignore_index=True)
    table["p_holm"], table["significant"] = holm(table["p_value"], alpha)
    return table


def compare_models(
    ratings: pd.DataFrame,
    genre_answers: pd.DataFrame | None = None,
    *,
    models: Sequence[str] = MODELS,
    design: str = "auto",
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """DrumsRNN vs MusicVAE (or any two `models`) per criterion: see the module docstring."""
    return compare_conditions(
        ratings, genre_answers, factor="model", levels=models, design=design, alpha=alpha
    )


def compare_corpus_sizes(
    ratings: pd.DataFrame,
    genre_answers: pd.DataFrame | None = None,
    *,
    sizes: Sequence[int] = (700, 1500),
    design: str = "auto",
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """The thesis's 700-vs-1500 question: per model and criterion, corpus 700 vs 1500."""
    known = ratings[ratings["model"].isin(MODELS)]
    answers = None if genre_answers is None else genre_answers[genre_answers["model"].isin(MODELS)]
    return compare_conditions(
        known,
        answers,
        factor="corpus_size",
        levels=tuple(sizes),
        within="model",
        design=design,
        alpha=alpha,
    )


def breakdown(
    ratings: pd.DataFrame,
    genre_answers: pd.DataFrame | None,
    *,
    by: str,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> pd.DataFrame:
    """`table1_long` per level of `by` (`genre` or `corpus_size`), with a `by` column first.
    Rows lacking the `by` value (reference/anchor have no corpus size) are left out."""
    if by not in ("genre", "corpus_size"):
        raise AnalysisError(f"break down by genre or corpus_size, not {by!r}")
    ratings = validate_ratings(ratings)
    frames = []
    for level in sorted(ratings[by].dropna().unique()):
        subset = ratings[ratings[by] == level]
        answers = None
        if genre_answers is not None:
            answers = genre_answers[genre_answers["clip_id"].astype(str).isin(subset["clip_id"])]
        long = table1_long(subset, answers, seed=seed, n_resamples=n_resamples)
        frames.append(long.assign(**{by: level}))
    if not frames:
        raise AnalysisError(f"no ratings have a {by}")
    table = pd.concat(frames, ignore_index=True)
    return table[[by, *[column for column in table.columns if column != by]]]


def _fit_quietly(fit) -> tuple[object | None, bool, str]:
    """Run `fit()` → (result or None, converged, warnings). Any statsmodels ConvergenceWarning
    means not converged, except "on the boundary": a variance component estimated as 0 is a
    valid (singular) fit, as lme4 reports it, and is only noted."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fit()
        except (np.linalg.LinAlgError, ValueError) as error:
            return None, False, str(error)
        except ZeroDivisionError:  # e.g. cluster-robust errors over a single listener
            return None, False, "too few listeners or clips in a condition to fit this model"
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    problems = [message for message in messages if "boundary" not in message]
    converged = bool(getattr(result, "converged", True)) and not problems
    mle_retvals = getattr(result, "mle_retvals", None) or {}
    converged = converged and mle_retvals.get("converged", True)
    return result, converged, "; ".join(messages)


def _treated_effect(fit, prefix: str, estimate: str) -> dict:
    """Fit, then the `treated` coefficient, its 95 % CI and p as `{prefix}_…` columns."""
    result, converged, note = _fit_quietly(fit)
    if result is None:
        return {f"{prefix}_converged": False, f"{prefix}_note": note}
    low, high = result.conf_int().loc["treated"]
    return {
        f"{prefix}_{estimate}": float(result.params["treated"]),
        f"{prefix}_ci_low": float(low),
        f"{prefix}_ci_high": float(high),
        f"{prefix}_p": float(result.pvalues["treated"]),
        f"{prefix}_converged": converged,
        f"{prefix}_note": note,
    }


def _lmm(cell: pd.DataFrame, levels: Sequence[str]) -> dict:
    import statsmodels.formula.api as smf

    frame = pd.DataFrame(
        {
            "score": cell["value"].to_numpy(float),
            "treated": (cell["model"] == levels[1]).to_numpy(float),
            "participant": cell["participant_id"].to_numpy(),
            "clip": cell["clip_id"].to_numpy(),
            "whole": 1,
        }
    )
    model = smf.mixedlm(
        "score ~ treated",
        frame,
        groups="whole",
        vc_formula={"participant": "0 + C(participant)", "clip": "0 + C(clip)"},
    )
    return _treated_effect(
        lambda: model.fit(reml=True, method=["powell", "lbfgs"]), "lmm", "estimate"
    )


def _ordinal(cell: pd.DataFrame, levels: Sequence[str]) -> dict:
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    treated = (cell["model"] == levels[1]).to_numpy(float)
    scores = pd.Series(pd.Categorical(cell["value"].astype(int), ordered=True))
    if scores.cat.remove_unused_categories().cat.categories.size < 2:
        return {"po_converged": False, "po_note": "fewer than two distinct scores"}
    model = OrderedModel(
        scores.cat.remove_unused_categories(), pd.DataFrame({"treated": treated}), distr="logit"
    )
    groups = pd.factorize(cell["participant_id"])[0]
    return _treated_effect(
        lambda: model.fit(
            method="bfgs", disp=False, cov_type="cluster", cov_kwds={"groups": groups}
        ),
        "po",
        "log_odds",
    )


HEADLINE_COLUMNS = (
    "criterion",
    "headline",
    "lmm_estimate",
    "lmm_ci_low",
    "lmm_ci_high",
    "lmm_p",
    "lmm_converged",
    "lmm_note",
    "po_log_odds",
    "po_ci_low",
    "po_ci_high",
    "po_p",
    "po_converged",
    "po_note",
)


def headline_fit(ratings: pd.DataFrame, *, models: Sequence[str] = MODELS) -> pd.DataFrame:
    """Per score criterion, the mixed and ordinal model fits of `models[1]` vs `models[0]`
    and which one is the headline (see the module docstring). Genre discrimination (binary)
    is left to the simple tests."""
    if len(models) != 2:
        raise AnalysisError(f"the headline fit compares two models, not {list(models)}")
    data = validate_ratings(ratings).rename(columns={"score": "value"})
    data = data[data["model"].isin(models)]
    rows = []
    for criterion in SCORE_CRITERIA:
        cell = data[data["criterion"] == criterion]
        if cell["model"].nunique() < 2:
            continue
        row = {"criterion": criterion, **_lmm(cell, models), **_ordinal(cell, models)}
        row["headline"] = (
            "lmm"
            if row["lmm_converged"]
            else "ordinal_cluster"
            if row["po_converged"]
            else "simple_tests"
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(HEADLINE_COLUMNS))


def reliability(ratings: pd.DataFrame) -> pd.DataFrame:
    """Per score criterion: Krippendorff's α (ordinal; raters = participants, units = clips;
    missing ratings allowed) and ICC(A,1) / ICC(A,k) (Shrout–Fleiss ICC2 / ICC2k: two-way
    random, absolute agreement) from `pingouin.intraclass_corr` on the clips rated by every
    participant who rated that criterion. NaN where undefined (no clip rated by two
    listeners, fewer than two scores, fewer than 3 complete clips)."""
    import krippendorff
    import pingouin

    ratings = validate_ratings(ratings)
    rows = []
    for criterion in SCORE_CRITERIA:
        cell = ratings[ratings["criterion"] == criterion]
        if cell.empty:
            continue
        matrix = cell.pivot_table(
            index="participant_id", columns="clip_id", values="score", aggfunc="mean"
        )
        alpha = np.nan
        shared = (matrix.notna().sum(axis=0) >= 2).any()  # krippendorff needs a shared clip
        if shared and cell["score"].nunique() >= 2:
            alpha = float(
                krippendorff.alpha(
                    reliability_data=matrix.to_numpy(float),
                    level_of_measurement="ordinal",
                    value_domain=list(range(-2, 3)),
                )
            )
        complete = matrix.dropna(axis=1)
        icc_single = icc_average = np.nan
        if len(complete) >= 2 and complete.shape[1] >= 3:
            long = complete.stack().rename("score").reset_index()
            icc = pingouin.intraclass_corr(
                data=long, targets="clip_id", raters="participant_id", ratings="score"
            )
            icc = icc.set_index("Type")["ICC"]
            icc_single, icc_average = float(icc["ICC(A,1)"]), float(icc["ICC(A,k)"])
        rows.append(
            {
                "criterion": criterion,
                "n_raters": len(matrix),
                "n_clips": matrix.shape[1],
                "krippendorff_alpha": alpha,
                "icc2": icc_single,
                "icc2k": icc_average,
                "icc_complete_clips": complete.shape[1] if len(complete) >= 2 else 0,
            }
        )
    return pd.DataFrame(rows)
