"""Groove figures of a drum track: does it play its genre's pattern, bar after bar?

Issue 18 showed that loss curves hid undertrained models: a model can reach a low loss and
still place hits almost at random. These per-bar figures make the groove measurable on a
generated track and on the corpus it was trained on alike. Every function takes event ids
`[T]` (bit k = drum class k, 16 steps per bar), follows the edge rule of `drumeval.metrics`
(whole bars only, a partial last bar is dropped) and returns a float; the formula is in its
docstring.
"""

import numpy as np

from drumeval.data.drum_classes import (
    KICK,
    NUM_DRUM_CLASSES,
    SNARE,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
)
from drumeval.data.encoding import event_ids_to_rolls
from drumeval.errors import DrumevalError
from drumeval.metrics import bars

BEAT_STEPS = tuple(range(0, STEPS_PER_BAR, STEPS_PER_QUARTER))  # steps 0, 4, 8, 12
BACKBEAT_STEPS = (STEPS_PER_QUARTER, 3 * STEPS_PER_QUARTER)  # beats 2 and 4
SHIFTED_BACKBEAT_STEPS = (0, 2 * STEPS_PER_QUARTER)  # beats 1 and 3: the backbeat one beat off


def _share_of_bars_with(event_ids: np.ndarray, drum_class: int, steps: tuple[int, ...]) -> float:
    """Fraction of whole bars in which `drum_class` is hit on every one of `steps` (0 if none)."""
    per_bar = bars(event_ids)
    if not len(per_bar):
        return 0.0
    hit = (per_bar[:, list(steps)] >> drum_class) & 1
    return float(hit.all(axis=1).mean())


def kick_four_on_floor_share(event_ids: np.ndarray) -> float:
    """Share of bars with a kick on all four beats (steps 0, 4, 8, 12): ≈1 for techno/house."""
    return _share_of_bars_with(event_ids, KICK, BEAT_STEPS)


def backbeat_share(event_ids: np.ndarray) -> float:
    """Share of bars with a snare on beats 2 and 4 (steps 4 and 12), the rock/soul backbeat."""
    return _share_of_bars_with(event_ids, SNARE, BACKBEAT_STEPS)


def shifted_backbeat_share(event_ids: np.ndarray) -> float:
    """Share of bars with a snare on beats 1 and 3 (steps 0 and 8): the backbeat's two-beat
    pattern one beat out of phase. Rare in the corpora (techno 0.07); a decoder that keeps the
    half-bar period but has lost count of the bar line plays it about as often as the backbeat."""
    return _share_of_bars_with(event_ids, SNARE, SHIFTED_BACKBEAT_STEPS)


def _jaccard_rows(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise Jaccard similarity of boolean onset rows; two empty rows count as identical."""
    intersection = (first & second).sum(axis=1)
    union = (first | second).sum(axis=1)
    return np.where(union > 0, intersection / np.maximum(union, 1), 1.0)


def bar_similarity(event_ids: np.ndarray, lag: int = 1) -> float:
    """Mean Jaccard similarity of the onset sets of bars `lag` apart.

    J(a, b) = |a ∩ b| / |a ∪ b| over (step, class) onsets, averaged over every pair of bars
    (i, i + lag); two empty bars count as identical (1). `lag=1` is bar-to-bar consistency,
    `lag=8` the repetition of 8-bar phrases. NaN when the track has no two bars `lag` apart,
    so that corpus averages can skip short examples with `np.nanmean`.
    """
    if lag < 1:
        raise DrumevalError(f"bar_similarity: lag must be at least 1 bar, got {lag}")
    rolls = event_ids_to_rolls(bars(event_ids)).reshape(-1, STEPS_PER_BAR * NUM_DRUM_CLASSES)
    if len(rolls) <= lag:
        return float("nan")
    return float(_jaccard_rows(rolls[:-lag].astype(bool), rolls[lag:].astype(bool)).mean())


def track_similarity(first: np.ndarray, second: np.ndarray) -> float:
    """Jaccard similarity of the (step, class) onset sets of two tracks of equal length.

    1 for identical tracks (and for two empty ones), 0 when no onset is shared. It compares two
    generations, e.g. two decodes of one latent code against decodes of different codes.
    """
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.ndim != 1:
        raise DrumevalError(
            f"track_similarity needs two tracks of one length, got {first.shape} and {second.shape}"
        )
    rolls = event_ids_to_rolls(np.stack([first, second])).reshape(2, 1, -1).astype(bool)
    return float(_jaccard_rows(rolls[0], rolls[1])[0])


def bar_repeat_share(event_ids: np.ndarray) -> float:
    """Share of steps (from the second whole bar on) whose event equals the step one bar before.

    The accuracy of a next-step predictor that copies the previous bar: a model that has learnt
    to hold a groove should predict held-out tracks at least this well. NaN with fewer than two
    whole bars.
    """
    whole = bars(event_ids)
    if len(whole) < 2:
        return float("nan")
    return float(np.mean(whole[1:] == whole[:-1]))
