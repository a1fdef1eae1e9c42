"""Confidence intervals for a listening study's crossed design (participants × clips).

Every rating belongs to one participant and one clip, and both are samples: another study
would recruit other listeners *and* generate other clips. Resampling only rows (or only
participants) ignores one source of variation and gives intervals that are too narrow.
`scipy.stats.bootstrap` resamples one (or several paired) samples, not two crossed factors,
so this module does the two-way "pigeonhole" bootstrap (Owen 2007, *The pigeonhole
bootstrap*, Ann. Appl. Stat.) with a numpy Generator: each replicate draws participants
with replacement and, independently, clips with replacement; a rating enters the replicate
with weight (times its participant was drawn) × (times its clip was drawn). The statistic is
the weighted mean and the interval is the percentile interval of the
replicates. Replicates in which no drawn participant rated a drawn clip (possible with
sparse designs) carry no information and are skipped; their number is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 2000
CONFIDENCE = 0.95
_BLOCK = 250  # replicates per vectorised block: bounds memory at 250 × rows floats


@dataclass(frozen=True)
class BootstrapInterval:
    """A percentile interval and how many replicates it rests on."""

    low: float
    high: float
    n_resamples: int
    n_skipped: int


def crossed_bootstrap(
    values: np.ndarray,
    participants: np.ndarray,
    clips: np.ndarray,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = CONFIDENCE,
    rng: np.random.Generator,
) -> BootstrapInterval:
    """Percentile interval of the mean resampling participants *and* clips.

    Replicate b draws counts c_p ~ Multinomial(P, 1/P) over the P participants and
    d_k ~ Multinomial(K, 1/K) over the K clips; rating i (participant p_i, clip k_i) gets
    weight w_i = c_{p_i} · d_{k_i}; the replicate's mean is Σ w_i x_i / Σ w_i.
    """
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return BootstrapInterval(float("nan"), float("nan"), 0, 0)
    participant_index, participant_count = _codes(participants)
    clip_index, clip_count = _codes(clips)
    replicates = []
    remaining = n_resamples
    while remaining > 0:
        block = min(_BLOCK, remaining)
        remaining -= block
        participant_draws = rng.multinomial(
            participant_count, np.full(participant_count, 1 / participant_count), size=block
        )
        clip_draws = rng.multinomial(clip_count, np.full(clip_count, 1 / clip_count), size=block)
        weights = participant_draws[:, participant_index] * clip_draws[:, clip_index]
        totals = weights.sum(axis=1)
        weights = weights[totals > 0].astype(float)
        replicates.append(weights @ values / weights.sum(axis=1))
    estimates = np.concatenate(replicates)
    if len(estimates) == 0:
        return BootstrapInterval(float("nan"), float("nan"), 0, n_resamples)
    tail = (1 - confidence) / 2
    low, high = np.quantile(estimates, [tail, 1 - tail])
    return BootstrapInterval(float(low), float(high), len(estimates), n_resamples - len(estimates))


def _codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes 0..n−1 of the labels and n."""
    uniques, codes = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    return codes, len(uniques)
