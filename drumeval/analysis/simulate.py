"""Seeded simulated listening studies: ordinal ratings from a proportional-odds model.

Used for the Results page's clearly labelled *simulated demo results* (so it is never empty),
for the planner's power simulation, and in tests where the truth is known. Pairwise votes and
MUSHRA scores are simulated too (`simulate_pairwise_votes`, `simulate_mushra_scores`, models in
their docstrings).

Rating model (cumulative logit, the model a CLMM fits): a latent y* = η + ε with ε ~
Logistic(0, 1), η = effect(model, criterion) + u_participant + v_clip, u ~ N(0, σ_p²),
v ~ N(0, σ_c²); the score is the number of thresholds θ = `THRESHOLDS` below y*, minus 2,
so P(score ≤ k) = logistic(θ_k − η). With these thresholds η = 0 gives mean score 0 and
η = ±1.5 / ±3 give means ≈ ±0.9 / ±1.57 (σ_p = σ_c = 0.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from drumeval.analysis.schema import (
    ANCHOR,
    CANT_TELL,
    CORPUS_SIZES,
    GENRE_ANSWER_COLUMNS,
    GENRE_DISCRIMINATION,
    GENRES,
    MODELS,
    MUSHRA_SCORE_COLUMNS,
    PAIRWISE_OUTCOMES,
    PAIRWISE_VOTE_COLUMNS,
    RATING_COLUMNS,
    REFERENCE,
    SCORE_CRITERIA,
)
from drumeval.errors import AnalysisError

THRESHOLDS = (-2.0, -0.7, 0.7, 2.0)
# Latent shift that puts a criterion's mean score in the middle of a symbol's band, and a
# genre-naming accuracy in the middle of an accuracy band (see drumeval.analysis.table1).
SYMBOL_TO_LATENT = {"--": -3.0, "-": -1.5, "0": 0.0, "+": 1.5, "++": 3.0}
SYMBOL_TO_ACCURACY = {"--": 0.25, "-": 0.52, "0": 0.67, "+": 0.82, "++": 0.95}
REFERENCE_LATENT = 2.5
ANCHOR_LATENT = -3.0
REFERENCE_ACCURACY = 0.95
ANCHOR_ACCURACY = 0.3


def effects_from_symbols(symbols: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, float]]:
    """Effects (latent shifts; accuracy for genre discrimination) that reproduce a table of
    symbols such as `THESIS_TABLE1`."""
    return {
        model: {
            criterion: (
                SYMBOL_TO_ACCURACY[symbol]
                if criterion == GENRE_DISCRIMINATION
                else SYMBOL_TO_LATENT[symbol]
            )
            for criterion, symbol in per_criterion.items()
        }
        for model, per_criterion in symbols.items()
    }


def draw_ordinal(eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scores −2 … +2 drawn from the proportional-odds model at latent locations `eta`."""
    latent = np.asarray(eta, dtype=float) + rng.logistic(size=np.shape(eta))
    return (latent[..., None] > np.asarray(THRESHOLDS)).sum(axis=-1) - 2


class SimulatedStudy(NamedTuple):
    """The three tidy tables of `drumeval.analysis.schema`."""

    ratings: pd.DataFrame
    genre_answers: pd.DataFrame
    participants: pd.DataFrame


def _clips(clips_per_condition: int, with_controls: bool) -> pd.DataFrame:
    """One row per clip: every model × genre × corpus size, plus reference and anchor clips."""
    rows = [
        (f"{model}-{genre}-{size}-{k}", model, genre, size)
        for model in MODELS
        for genre in GENRES
        for size in CORPUS_SIZES
        for k in range(clips_per_condition)
    ]
    if with_controls:
        rows += [
            (f"{control}-{genre}-{k}", control, genre, np.nan)
            for control in (REFERENCE, ANCHOR)
            for genre in GENRES
            for k in range(clips_per_condition)
        ]
    return pd.DataFrame(rows, columns=["clip_id", "model", "genre", "corpus_size"])


def simulate_study(
    n_participants: int = 24,
    clips_per_condition: int = 2,
    effects: Mapping[str, Mapping[str, float]] | None = None,
    *,
    seed: int = 0,
    design: str = "paired",
    participant_sd: float = 0.5,
    clip_sd: float = 0.5,
    size_effect: float = 0.0,
    careless_share: float = 0.0,
    with_controls: bool = True,
) -> SimulatedStudy:
    """A seeded simulated study → (ratings, genre_answers, participants).

    `effects[model][criterion]` is the latent shift for a score criterion and the
    probability of naming the right genre for `genre_discrimination`; the default
    reproduces the thesis's Table 1 (`effects_from_symbols(THESIS_TABLE1)`). Clips: every
    model × genre × corpus size (700, 1500) × `clips_per_condition`, plus as many hidden
    reference (+2.5) and low-anchor (−3) clips per genre when `with_controls`.
    `design="paired"`: every participant rates every clip; `"independent"`: participant i
    hears only model i mod 2 (and the controls). `size_effect` is added for corpus 1500.
    A `careless_share` of participants rate uniformly at random, guess genres, listen for
    5–25 s and half of them fail the headphone check — the people post-screening should find.
    """
    from drumeval.analysis.table1 import THESIS_TABLE1

    if n_participants < 1 or clips_per_condition < 1:
        raise AnalysisError("a simulated study needs at least one participant and one clip")
    if design not in ("paired", "independent"):
        raise AnalysisError(f"design must be 'paired' or 'independent', not {design!r}")
    effects = effects or effects_from_symbols(THESIS_TABLE1)
    rng = np.random.default_rng(seed)
    clips = _clips(clips_per_condition, with_controls)
    clip_effect = rng.normal(0, clip_sd, len(clips))
    participant_ids = [f"sim-{i + 1:03d}" for i in range(n_participants)]
    careless = rng.random(n_participants) < careless_share
    rating_frames, answer_frames = [], []
    for index, participant in enumerate(participant_ids):
        heard = clips
        if design == "independent":
            keep = ~clips["model"].isin(MODELS) | (clips["model"] == MODELS[index % 2])
            heard = clips[keep]
        offset = rng.normal(0, participant_sd)
        for criterion in SCORE_CRITERIA:
            eta = np.array(
                [
                    _latent(effects, model, criterion, size, size_effect)
                    for model, size in zip(heard["model"], heard["corpus_size"], strict=True)
                ]
            )
            eta = eta + offset + clip_effect[heard.index]
            scores = rng.integers(-2, 3, len(heard)) if careless[index] else draw_ordinal(eta, rng)
            rating_frames.append(
                heard.assign(participant_id=participant, criterion=criterion, score=scores)
            )
        accuracy = np.array(
            [0.5 if careless[index] else _accuracy(effects, model) for model in heard["model"]]
        )
        correct = rng.random(len(heard)) < accuracy
        other = heard["genre"].map({GENRES[0]: GENRES[1], GENRES[1]: GENRES[0]})
        wrong = np.where(rng.random(len(heard)) < 0.5, CANT_TELL, other)
        answers = np.where(correct, heard["genre"], wrong)
        confidence = np.clip(np.where(correct, 4, 2) + rng.integers(-1, 2, len(heard)), 1, 5)
        answer_frames.append(
            heard.assign(participant_id=participant, answer=answers, confidence=confidence)
        )
    ratings = pd.concat(rating_frames, ignore_index=True)
    genre_answers = pd.concat(answer_frames, ignore_index=True)
    participants = pd.DataFrame(
        {
            "participant_id": participant_ids,
            "headphone_check_passed": ~(careless & (rng.random(n_participants) < 0.5)),
            "listened_seconds": np.where(careless, 5.0, 100.0) + rng.uniform(0, 20, n_participants),
        }
    )
    answer_columns = [*GENRE_ANSWER_COLUMNS[:4], "corpus_size", *GENRE_ANSWER_COLUMNS[4:]]
    return SimulatedStudy(
        ratings[list(RATING_COLUMNS)], genre_answers[answer_columns], participants
    )


def _latent(
    effects: Mapping[str, Mapping[str, float]],
    model: str,
    criterion: str,
    corpus_size: float,
    size_effect: float,
) -> float:
    if model == REFERENCE:
        return REFERENCE_LATENT
    if model == ANCHOR:
        return ANCHOR_LATENT
    return float(effects[model][criterion]) + (size_effect if corpus_size == 1500 else 0.0)


def _accuracy(effects: Mapping[str, Mapping[str, float]], model: str) -> float:
    if model == REFERENCE:
        return REFERENCE_ACCURACY
    if model == ANCHOR:
        return ANCHOR_ACCURACY
    return float(effects[model][GENRE_DISCRIMINATION])


def draw_pairs(
    n_conditions: int, n_votes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Codes of A and B for `n_votes` votes: each unordered pair and each side equally likely."""
    first = rng.integers(0, n_conditions, n_votes)
    return first, (first + rng.integers(1, n_conditions, n_votes)) % n_conditions


def draw_pairwise_outcomes(
    difference: np.ndarray, rng: np.random.Generator, *, tie_share: float, both_bad_share: float
) -> np.ndarray:
    """Outcome codes (indices into `PAIRWISE_OUTCOMES`: 0 a, 1 b, 2 tie, 3 both bad) of votes
    whose A is `difference` log-odds stronger than B.

    A vote is "both bad" with probability `both_bad_share` whatever the pair; otherwise, with
    p = P(A ≻ B) = 1 / (1 + e^−difference), it is a tie with probability 4·t·p·(1 − p) (t =
    `tie_share` between equals, fewer between unequal conditions) and each tie takes half its
    probability from each side: P(A) = p − 2tp(1 − p), P(B) = 1 − p − 2tp(1 − p). So a vote's
    expected credit to A with ties as half wins is exactly p, and the Bradley–Terry fit with
    ties as half wins recovers the strengths.
    """
    if not 0 <= tie_share <= 0.5:
        raise AnalysisError(f"tie_share must be between 0 and 0.5, not {tie_share}")
    if not 0 <= both_bad_share < 1:
        raise AnalysisError(f"both_bad_share must be in [0, 1), not {both_bad_share}")
    p = 1 / (1 + np.exp(-np.asarray(difference, dtype=float)))
    tie = 4 * tie_share * p * (1 - p)
    u = rng.random(p.shape)
    outcome = np.where(u < p - tie / 2, 0, np.where(u < p + tie / 2, 2, 1))
    return np.where(rng.random(p.shape) < both_bad_share, 3, outcome)


def simulate_pairwise_votes(
    scores: Mapping[str, float],
    n_votes: int,
    *,
    votes_per_participant: int = 10,
    tie_share: float = 0.1,
    both_bad_share: float = 0.05,
    participant_sd: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """A seeded table of `n_votes` pairwise votes (`PAIRWISE_VOTE_COLUMNS`) among conditions
    of known Elo-like `scores` (400 points = 10:1 odds; `drumeval.analysis.pairwise`).

    Each vote pairs two different conditions drawn uniformly (so every pair and side is equally
    likely); outcomes follow `draw_pairwise_outcomes`. Participant i casts votes
    i·`votes_per_participant` onwards; with `participant_sd` > 0 each participant hears each
    condition N(0, participant_sd²) Elo points better or worse than its score — the taste that
    makes one listener's votes correlated and calls for the participant bootstrap.
    """
    from drumeval.analysis.pairwise import ELO_PER_LOGIT

    conditions = list(scores)
    if len(conditions) < 2:
        raise AnalysisError("simulated pairwise votes need at least 2 conditions")
    if n_votes < 1 or votes_per_participant < 1:
        raise AnalysisError("n_votes and votes_per_participant must be at least 1")
    rng = np.random.default_rng(seed)
    k = len(conditions)
    first, second = draw_pairs(k, n_votes, rng)
    participant = np.arange(n_votes) // votes_per_participant
    n_participants = int(participant[-1]) + 1
    taste = rng.normal(0, participant_sd, (n_participants, k)) if participant_sd else 0.0
    strength = (np.array([scores[c] for c in conditions], dtype=float) + taste) / ELO_PER_LOGIT
    strength = np.broadcast_to(strength, (n_participants, k))
    difference = strength[participant, first] - strength[participant, second]
    outcome = draw_pairwise_outcomes(
        difference, rng, tie_share=tie_share, both_bad_share=both_bad_share
    )
    names = np.array(conditions, dtype=object)
    frame = pd.DataFrame(
        {
            "participant_id": [f"sim-{i + 1:04d}" for i in participant],
            "trial_id": [f"pair-{v + 1:05d}" for v in range(n_votes)],
            "condition_a": names[first],
            "condition_b": names[second],
            "outcome": np.array(PAIRWISE_OUTCOMES, dtype=object)[outcome],
        }
    )
    return frame[list(PAIRWISE_VOTE_COLUMNS)]


def simulate_mushra_scores(
    means: Mapping[str, float],
    n_participants: int = 20,
    n_trials: int = 4,
    *,
    reference_mean: float = 98.0,
    anchor_mean: float = 20.0,
    participant_sd: float = 5.0,
    noise_sd: float = 8.0,
    careless_share: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """A seeded MUSHRA table (`MUSHRA_SCORE_COLUMNS`): every participant rates, in each of
    `n_trials` trials, the hidden reference (condition `reference`), the low anchor (`anchor`)
    and every test condition of `means`.

    score = clip(mean + u_participant + ε, 0, 100), u ~ N(0, participant_sd²), ε ~
    N(0, noise_sd²); the hidden reference is rated clip(reference_mean + N(0, 2²)) — listeners
    who hear it recognise it. A `careless_share` of participants rate everything, the reference
    included, uniformly on 0–100: whom ITU-R BS.1534 post-screening should exclude.
    """
    if n_participants < 1 or n_trials < 1:
        raise AnalysisError("a simulated MUSHRA test needs at least one participant and trial")
    if not means or {REFERENCE, ANCHOR} & set(means):
        raise AnalysisError("means must name at least one test condition (not reference/anchor)")
    rng = np.random.default_rng(seed)
    stimuli = [(REFERENCE, "reference", reference_mean), (ANCHOR, "anchor", anchor_mean)]
    stimuli += [(str(condition), "test", float(mean)) for condition, mean in means.items()]
    careless = rng.random(n_participants) < careless_share
    rows = []
    for person in range(n_participants):
        offset = rng.normal(0, participant_sd)
        for trial in range(n_trials):
            for condition, role, mean in stimuli:
                if careless[person]:
                    score = rng.uniform(0, 100)
                elif role == "reference":
                    score = mean + rng.normal(0, 2.0)
                else:
                    score = mean + offset + rng.normal(0, noise_sd)
                rows.append(
                    (
                        f"sim-{person + 1:03d}",
                        f"trial-{person + 1:03d}-{trial + 1}",
                        condition,
                        role,
                        float(np.clip(score, 0, 100)),
                    )
                )
    return pd.DataFrame(rows, columns=list(MUSHRA_SCORE_COLUMNS))
