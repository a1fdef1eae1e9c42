"""Corpus statistics: short pure functions over padded event-id arrays.

Every function takes `event_ids` int [N, T] (bit k = drum class k, zero-padded) and
`lengths` int [N] (valid steps per example) so padding never counts as silence. The
measures themselves are defined once, per track, in `drumeval.metrics`; a corpus figure is
that measure of every example's real steps joined end to end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drumeval import metrics
from drumeval.data.drum_classes import STEPS_PER_BAR


def valid_steps(lengths: np.ndarray, num_steps: int) -> np.ndarray:
    """bool [N, T]: step t of example n is real music, i.e. t < lengths[n]."""
    return np.arange(num_steps)[None, :] < np.asarray(lengths)[:, None]


def bars_per_example(lengths: np.ndarray) -> np.ndarray:
    """int [N]: bars = lengths / 16."""
    return np.asarray(lengths) // STEPS_PER_BAR


def _joined(event_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """All examples' real steps end to end: corpus totals are the per-track metric of it."""
    tracks = metrics.tracks_of(event_ids, lengths)
    return np.concatenate(tracks) if tracks else np.zeros(0, dtype=np.int32)


def class_hit_counts(event_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """int [9]: `metrics.class_hit_counts` over every example's real steps (padding excluded)."""
    return metrics.class_hit_counts(_joined(event_ids, lengths))


def mean_hits_per_bar(event_ids: np.ndarray, lengths: np.ndarray) -> float:
    """Σ hits / Σ bars over the whole corpus: `metrics.mean_hits_per_bar` of all examples
    end to end (lengths are whole bars); 0 for an empty corpus."""
    return metrics.mean_hits_per_bar(_joined(event_ids, lengths))


def class_shares(event_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """float [9]: `metrics.class_shares` of all examples end to end."""
    return metrics.class_shares(_joined(event_ids, lengths))


def kick_on_beat_share(event_ids: np.ndarray, lengths: np.ndarray) -> float:
    """Corpus-wide Σ beats with a kick / Σ beats (`metrics.kick_on_beat_share` end to end;
    whole-bar examples keep every example's beats on the beat grid)."""
    return metrics.kick_on_beat_share(_joined(event_ids, lengths))


@dataclass(frozen=True)
class CorpusStats:
    """The numbers `drumeval data stats` shows for one corpus."""

    examples: int
    train: int
    eval: int
    mean_bars_per_example: float
    mean_hits_per_bar: float
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
        mean_hits_per_bar=mean_hits_per_bar(event_ids, lengths),
        class_shares=tuple(float(share) for share in class_shares(event_ids, lengths)),
        kick_on_beat_share=kick_on_beat_share(event_ids, lengths),
    )
