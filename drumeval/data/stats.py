"""Corpus statistics: short pure functions over padded event-id arrays.

Every function takes `event_ids` int [N, T] (bit k = drum class k, zero-padded) and
`lengths` int [N] (valid steps per example) so padding never counts as silence. Per-track
metrics of generated music live in `drumeval.metrics`; these describe whole corpora.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drumeval.data.drum_classes import KICK, NUM_DRUM_CLASSES, STEPS_PER_BAR, STEPS_PER_QUARTER
from drumeval.data.encoding import event_ids_to_rolls


def valid_steps(lengths: np.ndarray, num_steps: int) -> np.ndarray:
    """bool [N, T]: step t of example n is real music, i.e. t < lengths[n]."""
    return np.arange(num_steps)[None, :] < np.asarray(lengths)[:, None]


def bars_per_example(lengths: np.ndarray) -> np.ndarray:
    """int [N]: bars = lengths / 16."""
    return np.asarray(lengths) // STEPS_PER_BAR


def class_hit_counts(event_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """int [9]: hits of class k = Σ_n Σ_{t < length_n} bit_k(event_ids[n, t])."""
    ids = np.asarray(event_ids)
    rolls = event_ids_to_rolls(np.where(valid_steps(lengths, ids.shape[1]), ids, 0))
    return rolls.sum(axis=(0, 1)).astype(np.int64)


def hits_per_bar(event_ids: np.ndarray, lengths: np.ndarray) -> float:
    """Σ hits / Σ bars over the whole corpus (0 for an empty corpus)."""
    bars = bars_per_example(lengths).sum()
    return float(class_hit_counts(event_ids, lengths).sum() / bars) if bars else 0.0


def class_shares(event_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """float [9]: hits of class k / all hits (zeros when there are no hits)."""
    counts = class_hit_counts(event_ids, lengths).astype(float)
    total = counts.sum()
    return counts / total if total else np.zeros(NUM_DRUM_CLASSES)


def kick_on_beat_shares(event_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """float [N]: per example, beats (t % 4 == 0, t < length) with a kick / beats.

    The four-on-the-floor test: techno and house put a kick on (nearly) every beat.
    """
    ids = np.asarray(event_ids)
    beats = valid_steps(lengths, ids.shape[1])
    beats[:, np.arange(ids.shape[1]) % STEPS_PER_QUARTER != 0] = False
    kicks = (ids >> KICK) & 1 & beats
    num_beats = beats.sum(axis=1)
    return np.divide(kicks.sum(axis=1), num_beats, out=np.zeros(len(ids)), where=num_beats > 0)


def kick_on_beat_share(event_ids: np.ndarray, lengths: np.ndarray) -> float:
    """Corpus-wide Σ beats with a kick / Σ beats."""
    ids = np.asarray(event_ids)
    num_beats = (np.asarray(lengths) + STEPS_PER_QUARTER - 1) // STEPS_PER_QUARTER
    total = num_beats.sum()
    return float((kick_on_beat_shares(ids, lengths) * num_beats).sum() / total) if total else 0.0


@dataclass(frozen=True)
class CorpusStats:
    """The numbers `drumeval data stats` shows for one corpus."""

    examples: int
    train: int
    eval: int
    mean_bars_per_example: float
    hits_per_bar: float
    class_shares: tuple[float, ...]
    kick_on_beat_share: float


def summarize(event_ids: np.ndarray, lengths: np.ndarray, is_eval: np.ndarray) -> CorpusStats:
    """All corpus statistics at once."""
    is_eval = np.asarray(is_eval, dtype=bool)
    bars = bars_per_example(lengths)
    return CorpusStats(
        examples=len(is_eval),
        train=int((~is_eval).sum()),
        eval=int(is_eval.sum()),
        mean_bars_per_example=float(bars.mean()) if len(bars) else 0.0,
        hits_per_bar=hits_per_bar(event_ids, lengths),
        class_shares=tuple(float(share) for share in class_shares(event_ids, lengths)),
        kick_on_beat_share=kick_on_beat_share(event_ids, lengths),
    )
