"""Plan a listening study's size before running it, and check its precision afterwards.

* `participants_needed` / `detectable_effect` — the t-test approximation through
  `pingouin.power_ttest`: paired (`contrast="paired"`, every participant hears both models;
  d = mean difference of per-participant means / SD of those differences) or independent
  (`contrast="two-samples"`, each participant hears one model; n is *per group*). Both
  assume roughly normal per-participant means, which averaging several 5-point ratings
  makes reasonable; `simulate_power` checks it for the ordinal data itself.
* `simulate_power` — draws whole studies from the proportional-odds model of
  `drumeval.analysis.simulate` (the effect is a shift in log-odds; `latent_shift_for_d`
  finds the shift whose per-participant means show a given Cohen's d), averages each
  participant's ratings per model and counts rejections of the test the analysis will run
  (Wilcoxon signed-rank, or Mann–Whitney U). Vectorised over simulations with scipy's
  `axis` argument.
* `achieved_precision` — the 95 % CI half-widths of a rebuilt Table 1.
* `pairwise_half_width` / `pairwise_votes_needed` — pairwise (A/B) studies of a
  `PairwiseDesign`: the 95 % half-width of a Bradley–Terry score (Elo points) at a given number
  of votes per condition, and the votes needed for a target half-width, by simulating whole
  studies (see `pairwise_half_width`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from drumeval.analysis.simulate import draw_ordinal, draw_pairs, draw_pairwise_outcomes
from drumeval.errors import AnalysisError

DESIGNS = ("paired", "independent")
_CONTRAST = {"paired": "paired", "independent": "two-samples"}
# scipy's Wilcoxon runs a permutation test for n ≤ 13 with ties (~0.1 s per study): too slow
# for thousands of simulated studies, so those use the normal approximation instead.
_PERMUTATION_MAX_N = 13


def _check(design: str, power: float, alpha: float) -> None:
    if design not in DESIGNS:
        raise AnalysisError(f"design must be paired or independent, not {design!r}")
    if not 0 < power < 1:
        raise AnalysisError(f"power must be between 0 and 1 (exclusive), not {power}")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be between 0 and 1 (exclusive), not {alpha}")


def participants_needed(
    effect_size: float, power: float = 0.8, alpha: float = 0.05, design: str = "paired"
) -> int:
    """Participants (paired: in total; independent: per group) for a two-sided t-test at
    Cohen's d = `effect_size` to reach `power` — pingouin's n rounded up."""
    import pingouin

    _check(design, power, alpha)
    if not effect_size or not math.isfinite(effect_size):
        raise AnalysisError(f"effect size must be a non-zero number, not {effect_size}")
    n = pingouin.power_ttest(
        d=abs(effect_size), power=power, alpha=alpha, contrast=_CONTRAST[design]
    )
    return math.ceil(n)


def detectable_effect(
    n: int, power: float = 0.8, alpha: float = 0.05, design: str = "paired"
) -> float:
    """The smallest Cohen's d a study of `n` participants (per group if independent) detects
    with `power` (two-sided t-test, pingouin)."""
    import pingouin

    _check(design, power, alpha)
    if n < 2 or (design == "paired" and n < 3):
        raise AnalysisError(f"{n} participants are too few to test anything")
    return float(pingouin.power_ttest(n=n, power=power, alpha=alpha, contrast=_CONTRAST[design]))


@dataclass(frozen=True)
class PowerEstimate:
    """Share of simulated studies whose test rejected, with its 95 % Wilson interval."""

    power: float
    low: float
    high: float
    n_sim: int


def _check_simulation(n: int, design: str, clips_per_participant: int) -> None:
    if n < 2:
        raise AnalysisError(f"{n} participants are too few to simulate a test")
    if clips_per_participant < (2 if design == "paired" else 1):
        raise AnalysisError("each participant must hear at least one clip of each model")


def _participant_means(
    rng: np.random.Generator,
    *,
    n_sim: int,
    n: int,
    effect: float,
    design: str,
    clips_per_participant: int,
    participant_sd: float,
    clip_sd: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-participant mean scores [n_sim, n] of the first and the second model.

    Latent η = `effect` · [second model] + u_p + v_clip; every participant of a simulated
    study hears the same clips. Paired: each participant rates `clips_per_participant // 2`
    clips of each model; independent: `n` other participants per model rate
    `clips_per_participant` clips of theirs.
    """
    shift = np.array([0.0, effect])
    if design == "paired":
        per_model = clips_per_participant // 2
        clips = rng.normal(0, clip_sd, (n_sim, 1, 2, per_model))
        person = rng.normal(0, participant_sd, (n_sim, n, 1, 1))
        eta = np.broadcast_to(person + clips + shift[None, None, :, None], (n_sim, n, 2, per_model))
        means = draw_ordinal(eta, rng).mean(axis=3)
        return means[..., 0], means[..., 1]
    clips = rng.normal(0, clip_sd, (n_sim, 2, 1, clips_per_participant))
    person = rng.normal(0, participant_sd, (n_sim, 2, n, 1))
    means = draw_ordinal(person + clips + shift[None, :, None, None], rng).mean(axis=3)
    return means[:, 0], means[:, 1]


def latent_shift_for_d(
    effect_size: float,
    *,
    design: str = "paired",
    clips_per_participant: int = 8,
    participant_sd: float = 0.5,
    seed: int = 0,
) -> float:
    """The log-odds shift whose per-participant means show Cohen's d = `effect_size`.

    The planner's d is defined on per-participant means (what the t-test and the study's
    Wilcoxon see), so the simulation is calibrated to it rather than to a per-rating
    conversion: with one large simulated sample (20,000 participants, fixed seed, so the
    curve is the same at every shift), find s with d(s) = `effect_size` by Brent's method,
    d = mean(b − a) / sd(b − a) (paired) or (mean b − mean a) / pooled sd (independent).
    """
    from scipy.optimize import brentq

    _check(design, 0.5, 0.05)
    _check_simulation(2, design, clips_per_participant)

    def standardized(shift: float) -> float:
        first, second = _participant_means(
            np.random.default_rng(seed),
            n_sim=1,
            n=20_000,
            effect=shift,
            design=design,
            clips_per_participant=clips_per_participant,
            participant_sd=participant_sd,
            clip_sd=0.0,
        )
        if design == "paired":
            difference = second - first
            return float(difference.mean() / difference.std(ddof=1))
        pooled = np.sqrt((first.var(ddof=1) + second.var(ddof=1)) / 2)
        return float((second.mean() - first.mean()) / pooled)

    target = abs(effect_size)
    if not 0 < target < standardized(10.0):
        raise AnalysisError(f"effect size {effect_size} cannot be reached on a 5-point scale")
    return float(
        np.sign(effect_size) * brentq(lambda s: standardized(s) - target, 0.0, 10.0, xtol=1e-4)
    )


def simulate_power(
    n: int,
    effect: float,
    *,
    design: str = "paired",
    clips_per_participant: int = 8,
    n_sim: int = 500,
    alpha: float = 0.05,
    participant_sd: float = 0.5,
    clip_sd: float = 0.0,
    seed: int = 0,
) -> PowerEstimate:
    """Power of the study's test for ordinal 5-point ratings, by simulation.

    Each simulated study draws `n` participants (per group if independent) rating
    `clips_per_participant` clips (split evenly between the models if paired) from the
    proportional-odds model at log-odds shift `effect` (participant effects ~ N(0,
    participant_sd²), clip effects ~ N(0, clip_sd²)). Test: Wilcoxon on per-participant mean
    differences (paired; scipy's default method, except the normal approximation for n ≤ 13
    where scipy would permute) or Mann–Whitney U on per-participant means (independent), α
    two-sided; a study whose test is undefined (all differences zero) counts as not rejecting.
    """
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint

    _check(design, 0.5, alpha)
    _check_simulation(n, design, clips_per_participant)
    if n_sim < 1:
        raise AnalysisError("n_sim must be at least 1")
    first, second = _participant_means(
        np.random.default_rng(seed),
        n_sim=n_sim,
        n=n,
        effect=effect,
        design=design,
        clips_per_participant=clips_per_participant,
        participant_sd=participant_sd,
        clip_sd=clip_sd,
    )
    if design == "paired":
        method = "auto" if n > _PERMUTATION_MAX_N else "asymptotic"
        with np.errstate(invalid="ignore", divide="ignore"):
            p_values = stats.wilcoxon(second - first, axis=1, method=method).pvalue
    else:
        p_values = stats.mannwhitneyu(second, first, axis=1).pvalue
    rejections = int(np.sum(np.nan_to_num(p_values, nan=1.0) < alpha))
    low, high = proportion_confint(rejections, n_sim, alpha=0.05, method="wilson")
    return PowerEstimate(rejections / n_sim, float(low), float(high), n_sim)


def achieved_precision(table1: pd.DataFrame) -> pd.DataFrame:
    """Per criterion and model of a `rebuild_table1` table: n participants and the 95 % CI
    half-width (score points; accuracy for genre discrimination)."""
    rows = []
    for model in table1.columns.get_level_values("model").unique():
        part = table1[model]
        rows.append(
            pd.DataFrame(
                {
                    "criterion": table1.index,
                    "model": model,
                    "n_participants": part["n_participants"].to_numpy(),
                    "half_width": ((part["ci_high"] - part["ci_low"]) / 2).to_numpy(float),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


# Pairwise planning defaults: a Music-Arena-like field (see docs/analysis.md for the calibration).
PAIRWISE_CONDITIONS = 10
PAIRWISE_SPREAD_ELO = 300.0
PAIRWISE_TIE_SHARE = 0.1
# Variance inflation of real arena votes over independent ones (one listener's taste, one prompt
# running through several votes): the geometric-mean ratio of Music Arena's published half-widths
# (±26 / ±58 / ±97 Elo at 830 / 240 / 40 votes per model) to this simulation's for independent
# votes under the defaults above (22.1 / 42.1 / 106.1, n_sim=400) is 1.14, i.e. 1.3 in variance.
MUSIC_ARENA_DESIGN_EFFECT = 1.3
PAIRWISE_SIMULATIONS = 400  # full plan (CLI); `coarse=True` uses _COARSE_SIMULATIONS
_COARSE_SIMULATIONS = 40
_Z95 = 1.959964  # standard normal 97.5 % quantile


@dataclass(frozen=True)
class PairwisePlan:
    """Votes per condition (and in all) for a target 95 % half-width, and the half-width a
    simulation found at that size."""

    votes_per_condition: int
    total_votes: int
    half_width_elo: float
    target_elo: float
    n_conditions: int


@dataclass(frozen=True)
class PairwiseDesign:
    """The field a pairwise study is planned for, shared by `pairwise_half_width` and
    `pairwise_votes_needed` (the defaults are a Music-Arena-like field): `n_conditions` with
    true scores evenly spaced over `spread_elo` points, `tie_share` ties between equals,
    `both_bad_share` "both bad" votes, and the `design_effect` of correlated real votes."""

    n_conditions: int = PAIRWISE_CONDITIONS
    spread_elo: float = PAIRWISE_SPREAD_ELO
    tie_share: float = PAIRWISE_TIE_SHARE
    both_bad_share: float = 0.0
    design_effect: float = MUSIC_ARENA_DESIGN_EFFECT

    def __post_init__(self) -> None:
        if self.n_conditions < 2:
            raise AnalysisError(
                f"a pairwise study needs at least 2 conditions, not {self.n_conditions}"
            )
        if self.spread_elo < 0 or not math.isfinite(self.spread_elo):
            raise AnalysisError(f"spread_elo must be 0 or more, not {self.spread_elo}")
        if not self.design_effect > 0 or not math.isfinite(self.design_effect):
            raise AnalysisError(
                f"design_effect must be a positive number, not {self.design_effect}"
            )


def pairwise_half_width(
    votes_per_condition: int,
    design: PairwiseDesign | None = None,
    *,
    n_sim: int = PAIRWISE_SIMULATIONS,
    coarse: bool = False,
    seed: int = 0,
) -> float:
    """95 % half-width (Elo points) of a condition's Bradley–Terry score, by simulation.

    Each of `n_sim` simulated studies of `design` (default `PairwiseDesign()`) has
    `n_conditions` conditions with true scores evenly spaced over `spread_elo` points and
    votes_per_condition · n_conditions / 2 votes, each on a
    uniformly drawn pair (`drumeval.analysis.simulate.draw_pairwise_outcomes`: ties at
    `tie_share` between equals, "both bad" left out of the fit). Its win matrix is fitted
    (`pairwise.fit_win_matrix`) and each condition's error, estimate − truth (both on the
    mean-1000 scale), is kept. The half-width is 1.96 × the root-mean-square error over all
    conditions and studies (the errors are close to normal; the RMS is far less noisy than a
    95th percentile): the half-width an interval needs to hold the true score in 95 % of
    studies — what the leaderboard's bootstrap CI estimates from one study. Simulated votes
    are independent; real ones are not (a listener's taste runs through their votes), so the
    width is multiplied by √`design_effect` (default `MUSIC_ARENA_DESIGN_EFFECT`, calibrated
    on Music Arena's published widths; 1 for independent votes).
    `coarse=True` uses 40 studies (~0.1 s for 10 conditions; within ~5 % of the full run).
    """
    from drumeval.analysis.pairwise import ELO_PER_LOGIT, fit_win_matrix

    design = design or PairwiseDesign()
    n_conditions, spread_elo = design.n_conditions, design.spread_elo
    n_sim = _COARSE_SIMULATIONS if coarse else n_sim
    if n_sim < 2:
        raise AnalysisError(f"n_sim must be at least 2, not {n_sim}")
    if votes_per_condition < 1:
        raise AnalysisError(f"votes_per_condition must be at least 1, not {votes_per_condition}")
    rng = np.random.default_rng(seed)
    truth = np.linspace(-spread_elo / 2, spread_elo / 2, n_conditions) / ELO_PER_LOGIT
    n_votes = max(1, round(votes_per_condition * n_conditions / 2))
    credit = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.0, 0.0]])  # a, b, tie, both bad
    errors = []
    for _ in range(n_sim):
        first, second = draw_pairs(n_conditions, n_votes, rng)
        outcome = draw_pairwise_outcomes(
            truth[first] - truth[second],
            rng,
            tie_share=design.tie_share,
            both_bad_share=design.both_bad_share,
        )
        wins = np.zeros((n_conditions, n_conditions))
        np.add.at(wins, (first, second), credit[outcome, 0])
        np.add.at(wins, (second, first), credit[outcome, 1])
        errors.append(fit_win_matrix(wins) - truth)
    rms = np.sqrt(np.mean(np.square(np.concatenate(errors))))
    return float(_Z95 * rms * ELO_PER_LOGIT * math.sqrt(design.design_effect))


def pairwise_votes_needed(
    target_half_width_elo: float,
    design: PairwiseDesign | None = None,
    *,
    n_sim: int = PAIRWISE_SIMULATIONS,
    coarse: bool = False,
    seed: int = 0,
) -> PairwisePlan:
    """Votes per condition for a 95 % half-width of `target_half_width_elo` Elo points.

    The half-width falls as c/√votes with c nearly constant (it drifts down ~10 % from 100 to
    1,000 votes), so: a pilot simulation at 100 votes per condition gives c and a first n; two
    more simulations (other seeds) near the answer give c₁, c₂, and the plan is
    n = ⌈(c̄ / target)²⌉ with c̄ = (c₁ + c₂) / 2 and `half_width_elo` = c̄ / √n. Simulation
    noise: c̄ within ~3 % (coarse) or ~1 % (full), i.e. votes within ~6 % / ~2 %. Votes count
    every vote a condition appeared in, "both bad" included (as the leaderboard's `votes`
    does), so a `both_bad_share` raises the plan.
    """
    if not target_half_width_elo > 0 or not math.isfinite(target_half_width_elo):
        raise AnalysisError(
            "target half-width must be a positive number of Elo points, "
            f"not {target_half_width_elo}"
        )
    design = design or PairwiseDesign()

    def width_constant(votes: int, offset: int) -> float:
        """c = half-width · √votes, simulated with seed + offset."""
        width = pairwise_half_width(votes, design, n_sim=n_sim, coarse=coarse, seed=seed + offset)
        return width * math.sqrt(votes)

    def votes_for(constant: float) -> int:
        return max(2, math.ceil((constant / target_half_width_elo) ** 2))

    first = votes_for(width_constant(100, 0))
    near = width_constant(first, 1)
    constant = (near + width_constant(votes_for(near), 2)) / 2
    votes = votes_for(constant)
    return PairwisePlan(
        votes_per_condition=votes,
        total_votes=math.ceil(votes * design.n_conditions / 2),
        half_width_elo=constant / math.sqrt(votes),
        target_elo=float(target_half_width_elo),
        n_conditions=design.n_conditions,
    )
