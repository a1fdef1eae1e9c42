"""Pairwise A/B votes → a Bradley–Terry leaderboard with participant-bootstrap CIs.

Model (Bradley–Terry): condition i has a log-strength θ_i and beats j with probability
P(i ≻ j) = 1 / (1 + exp(−(θ_i − θ_j))). Votes enter as a win matrix W, W[i, j] = times i beat
j: a win adds 1, a **tie adds ½ to both sides** (half a win each), and **"both bad" votes are
left out of the fit** and only counted. choix's I-LSR (`choix.ilsr_pairwise_dense`, Maystre &
Grossglauser 2015) finds the maximum-likelihood θ of W; its `alpha` — a rate of `REGULARISATION`
added between every pair of conditions in the LSR Markov chain, like a tiny pseudo-count —
keeps θ finite when a condition always wins or always loses (a 10–0 record gives ±540 Elo, not
infinity) and is negligible once conditions have a few dozen votes.

Scale: score = 1000 + 400 · log10(odds), i.e. 400 / ln 10 · θ, centred so that the mean score
is `ELO_MEAN` (or so that a named `anchor` condition scores `ELO_MEAN`) — the Elo-like scale of
Chatbot Arena and Music Arena: 400 points more means 10:1 odds. `win_probability` is the chance
of beating a hypothetical condition of average strength, 1 / (1 + exp(−(θ_i − mean θ))).

CIs: a listener's votes are not independent (one person's taste runs through all of them), so
the bootstrap resamples **participants** with replacement (a cluster bootstrap, as
`drumeval.analysis.bootstrap` does for ratings), refits, and reports the 2.5 and 97.5
percentiles of each condition's score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from drumeval.analysis.bootstrap import CONFIDENCE
from drumeval.analysis.schema import validate_pairwise_votes
from drumeval.errors import AnalysisError

ELO_MEAN = 1000.0
ELO_PER_LOGIT = 400 / math.log(10)  # 400 points = a factor 10 in odds
REGULARISATION = 0.01  # choix's `alpha`, see the module docstring
DEFAULT_RESAMPLES = 1000  # ≈ 2.5 ms per refit with 10 conditions: a 1000-replicate CI in ~3 s
MIN_VOTES = 50  # votes (any outcome) before a condition is ranked: ≈ ±106 Elo (docs/analysis.md)
_MAX_ITERATIONS = 10_000
_BLOCK = 250  # replicates whose win matrices are built at once
LEADERBOARD_COLUMNS = (
    "condition",
    "score",
    "ci_low",
    "ci_high",
    "win_probability",
    "votes",
    "wins",
    "losses",
    "ties",
    "both_bad",
    "ranked",
    "status",
)


@dataclass(frozen=True)
class _Votes:
    """Validated votes as integer codes: what every function here starts from."""

    conditions: tuple[str, ...]
    first: np.ndarray  # condition code of A
    second: np.ndarray  # condition code of B
    outcome: np.ndarray  # str: a, b, tie, both_bad
    participant: np.ndarray  # participant code
    n_participants: int


def _encode(votes: pd.DataFrame) -> _Votes:
    votes = validate_pairwise_votes(votes)
    conditions = tuple(sorted(set(votes["condition_a"]) | set(votes["condition_b"])))
    if len(conditions) < 2:
        raise AnalysisError(
            f"Bradley–Terry needs votes on at least 2 conditions, got {len(conditions)}"
        )
    code = {condition: index for index, condition in enumerate(conditions)}
    participant, uniques = pd.factorize(votes["participant_id"])
    return _Votes(
        conditions,
        votes["condition_a"].map(code).to_numpy(int),
        votes["condition_b"].map(code).to_numpy(int),
        votes["outcome"].to_numpy(str),
        participant,
        len(uniques),
    )


def _credit(outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What each vote adds to A's and to B's wins: 1/0, 0/1, ½/½ (tie), 0/0 (both bad)."""
    credit_a = np.select([outcome == "a", outcome == "tie"], [1.0, 0.5], 0.0)
    credit_b = np.select([outcome == "b", outcome == "tie"], [1.0, 0.5], 0.0)
    return credit_a, credit_b


def _win_matrices(coded: _Votes) -> np.ndarray:
    """[participant, i, j]: how often i beat j in that participant's votes (ties as ½)."""
    k = len(coded.conditions)
    credit_a, credit_b = _credit(coded.outcome)
    tensor = np.zeros((coded.n_participants, k, k))
    np.add.at(tensor, (coded.participant, coded.first, coded.second), credit_a)
    np.add.at(tensor, (coded.participant, coded.second, coded.first), credit_b)
    return tensor


def fit_win_matrix(wins: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood log-strengths (mean 0) of a win matrix W (W[i, j] = times i beat j,
    ties as ½), by choix's I-LSR with `REGULARISATION`, iterating from `start` (bootstrap
    replicates start at the full fit: fewer iterations). The planner fits simulated W directly."""
    import choix

    try:
        return choix.ilsr_pairwise_dense(
            wins, alpha=REGULARISATION, initial_params=start, max_iter=_MAX_ITERATIONS, tol=1e-8
        )
    except (RuntimeError, ValueError) as error:  # choix: no convergence / no stationary law
        raise AnalysisError(f"the Bradley–Terry fit did not converge: {error}") from error


def _to_elo(strengths: np.ndarray, anchor_index: int | None) -> np.ndarray:
    """Elo-like scores of log-strengths [..., k]: mean (or the anchor's) at `ELO_MEAN`."""
    scores = ELO_PER_LOGIT * np.asarray(strengths)
    centre = (
        scores.mean(axis=-1, keepdims=True)
        if anchor_index is None
        else scores[..., anchor_index : anchor_index + 1]
    )
    return ELO_MEAN + scores - centre


def _anchor_index(conditions: tuple[str, ...], anchor: str | None) -> int | None:
    if anchor is None:
        return None
    if anchor not in conditions:
        raise AnalysisError(
            f"anchor {anchor!r} is not a condition of the votes ({', '.join(conditions)})"
        )
    return conditions.index(anchor)


def _components(wins: np.ndarray) -> np.ndarray:
    """Label of each condition's connected component in the comparison graph."""
    from scipy.sparse.csgraph import connected_components

    _, labels = connected_components((wins + wins.T) > 0, directed=False)
    return labels


def _require_connected(conditions: tuple[str, ...], wins: np.ndarray) -> None:
    labels = _components(wins)
    if labels.max() > 0:
        groups = [
            "{"
            + ", ".join(c for c, label in zip(conditions, labels, strict=True) if label == g)
            + "}"
            for g in range(labels.max() + 1)
        ]
        raise AnalysisError(
            "the conditions fall into groups never compared with each other (both-bad votes "
            f"do not count): {' | '.join(groups)}; their scores would not be comparable"
        )


def fit_bradley_terry(votes: pd.DataFrame, *, anchor: str | None = None) -> pd.DataFrame:
    """Bradley–Terry fit of pairwise votes: one row per condition (sorted by name).

    Columns: `strength` (θ, natural log-odds scale, mean 0), `score` (Elo-like, mean or
    `anchor` at 1000), `win_probability` (vs a condition of average strength). Ties count as
    half a win to each side; "both bad" votes are excluded. AnalysisError for fewer than two
    conditions, no tie or decisive vote, or conditions never compared with each other.
    """
    coded = _encode(votes)
    anchor_index = _anchor_index(coded.conditions, anchor)
    wins = _win_matrices(coded).sum(axis=0)
    if not wins.any():
        raise AnalysisError("no pairwise votes other than 'both bad' to fit")
    _require_connected(coded.conditions, wins)
    strengths = fit_win_matrix(wins)
    return pd.DataFrame(
        {
            "strength": strengths,
            "score": _to_elo(strengths, anchor_index),
            "win_probability": 1 / (1 + np.exp(-(strengths - strengths.mean()))),
        },
        index=pd.Index(coded.conditions, name="condition"),
    )


def bootstrap_bradley_terry(
    votes: pd.DataFrame,
    n_boot: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    *,
    anchor: str | None = None,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """The fit's scores with percentile CIs from a bootstrap over participants.

    Replicate b draws counts c_p ~ Multinomial(P, 1/P) over the P participants; its win matrix
    is Σ_p c_p W_p (W_p: participant p's wins, ties as ½) and is refitted. A replicate may lose a
    condition or a pair altogether; the regularisation keeps its fit finite (that condition's
    score then rests on fewer votes, which is what the wider interval should say).
    Columns: those of `fit_bradley_terry` plus `ci_low`, `ci_high` (score points).
    """
    if n_boot < 1:
        raise AnalysisError(f"n_boot must be at least 1, got {n_boot}")
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence must be between 0 and 1 (exclusive), not {confidence}")
    fit = fit_bradley_terry(votes, anchor=anchor)
    coded = _encode(votes)
    per_participant = _win_matrices(coded).reshape(coded.n_participants, -1)
    k = len(coded.conditions)
    full_fit = fit["strength"].to_numpy()
    rng = np.random.default_rng(seed)
    replicates = []
    for start in range(0, n_boot, _BLOCK):
        block = min(_BLOCK, n_boot - start)
        counts = rng.multinomial(
            coded.n_participants, np.full(coded.n_participants, 1 / coded.n_participants), block
        )
        for wins in (counts @ per_participant).reshape(block, k, k):
            replicates.append(fit_win_matrix(wins, full_fit))
    scores = _to_elo(np.array(replicates), _anchor_index(coded.conditions, anchor))
    tail = (1 - confidence) / 2
    low, high = np.quantile(scores, [tail, 1 - tail], axis=0)
    return fit.assign(ci_low=low, ci_high=high)


def vote_counts(votes: pd.DataFrame) -> pd.DataFrame:
    """Per condition: votes it appeared in (any outcome), wins, losses, ties, both_bad."""
    votes = validate_pairwise_votes(votes)
    outcome = votes["outcome"]
    sides = [
        pd.DataFrame(
            {
                "condition": votes[f"condition_{side}"],
                "votes": 1,
                "wins": (outcome == side).astype(int),
                "losses": (outcome == other).astype(int),
                "ties": (outcome == "tie").astype(int),
                "both_bad": (outcome == "both_bad").astype(int),
            }
        )
        for side, other in (("a", "b"), ("b", "a"))
    ]
    return pd.concat(sides).groupby("condition").sum().sort_index()


def win_matrix(votes: pd.DataFrame) -> pd.DataFrame:
    """[row i, column j]: how often i beat j, ties as ½ and "both bad" left out — the counts
    the fit starts from, labelled by condition (rows and columns sorted by name)."""
    coded = _encode(votes)
    names = pd.Index(coded.conditions, name="condition")
    wins = _win_matrices(coded).sum(axis=0)
    return pd.DataFrame(wins, index=names, columns=names.rename("opponent"))


def win_rate_matrix(votes: pd.DataFrame) -> pd.DataFrame:
    """[row i, column j]: share of i-vs-j votes that i won, ties as ½ ("both bad" left out);
    NaN on the diagonal and for pairs never compared."""
    wins = win_matrix(votes)
    played = wins.to_numpy() + wins.to_numpy().T
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(played > 0, wins.to_numpy() / played, np.nan)
    return pd.DataFrame(rates, index=wins.index, columns=wins.columns)


def pair_win_probabilities(wins: pd.DataFrame) -> pd.DataFrame:
    """[row i, column j]: P(i beats j) under the Bradley–Terry fit of a `win_matrix`.

    Each group of conditions compared with each other (a genre of a study) is fitted on its
    own, since their strengths share no scale; across groups the probability is NaN. This
    is what adaptive pair scheduling (`drumeval.study.assignment.plan_pairs`) weighs pairs by.
    """
    matrix = wins.to_numpy(dtype=float)
    labels = _components(matrix)
    probability = np.full(matrix.shape, np.nan)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < 2:
            continue
        strengths = fit_win_matrix(matrix[np.ix_(members, members)])
        difference = strengths[:, None] - strengths[None, :]
        probability[np.ix_(members, members)] = 1 / (1 + np.exp(-difference))
    return pd.DataFrame(probability, index=wins.index, columns=wins.columns)


def counted_votes(votes: pd.DataFrame) -> pd.DataFrame:
    """The votes a ranking counts: those without a `flag` (a flagged vote — e.g. one of a
    burst of identical arena votes — stays in the data and its exports, not in rankings)."""
    if isinstance(votes, pd.DataFrame) and "flag" in votes.columns:
        return votes[votes["flag"].isna()]
    return votes


def leaderboard(
    votes: pd.DataFrame,
    *,
    min_votes: int = MIN_VOTES,
    n_boot: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    anchor: str | None = None,
) -> pd.DataFrame:
    """The ranking: one row per condition (`LEADERBOARD_COLUMNS`).

    `status` is `ranked` for a condition with at least `min_votes` votes (`ranked` True),
    `preliminary` below that, and `not compared` for a condition outside the largest group of
    conditions compared with each other (its score is NaN: it cannot be placed on the same
    scale). Ranked rows come first, each group sorted by the lower CI bound (highest first),
    so a condition ranks high only when it is both good and well measured. Flagged votes
    are left out (`counted_votes`).
    """
    if min_votes < 0:
        raise AnalysisError(f"min_votes must be 0 or more, got {min_votes}")
    votes = validate_pairwise_votes(counted_votes(votes))
    counts = vote_counts(votes)
    coded = _encode(votes)
    labels = _components(_win_matrices(coded).sum(axis=0))
    main = np.bincount(labels).argmax()
    placed = [c for c, label in zip(coded.conditions, labels, strict=True) if label == main]
    if len(placed) < 2:
        raise AnalysisError("no two conditions have been compared (other than 'both bad')")
    if anchor is not None and anchor not in placed:
        raise AnalysisError(f"anchor {anchor!r} is not among the compared conditions")
    kept = votes[votes["condition_a"].isin(placed) & votes["condition_b"].isin(placed)]
    fit = bootstrap_bradley_terry(kept, n_boot=n_boot, seed=seed, anchor=anchor)
    table = counts.join(fit[["score", "ci_low", "ci_high", "win_probability"]])
    status = np.where(counts["votes"] >= min_votes, "ranked", "preliminary")
    table["status"] = np.where(table.index.isin(placed), status, "not compared")
    table["ranked"] = table["status"] == "ranked"
    table = table.reset_index().sort_values(
        ["ranked", "ci_low", "condition"], ascending=[False, False, True], na_position="last"
    )
    return table[list(LEADERBOARD_COLUMNS)].reset_index(drop=True)
