"""Groove figures on hand-built bars with known answers."""

import math

import numpy as np
import pytest

from drumeval.data.drum_classes import CLOSED_HIHAT, KICK, SNARE
from drumeval.errors import DrumevalError
from drumeval.metrics import empty_bar_share
from drumeval.metrics.groove import (
    backbeat_share,
    bar_repeat_share,
    bar_similarity,
    kick_four_on_floor_share,
    shifted_backbeat_share,
    track_similarity,
)


def bar(**hits: tuple[int, ...]) -> np.ndarray:
    """One 16-step bar; keyword = class name in lower case, value = steps hit."""
    classes = {"kick": KICK, "snare": SNARE, "hat": CLOSED_HIHAT}
    ids = np.zeros(16, dtype=np.int32)
    for name, steps in hits.items():
        ids[list(steps)] |= 1 << classes[name]
    return ids


FOUR_FLOOR = bar(kick=(0, 4, 8, 12), snare=(4, 12))
THREE_KICKS = bar(kick=(0, 4, 8), snare=(4,))
EMPTY = bar()


def test_kick_four_on_floor_share_counts_bars_with_all_four_beats() -> None:
    track = np.concatenate([FOUR_FLOOR, THREE_KICKS, FOUR_FLOOR, EMPTY])
    assert kick_four_on_floor_share(track) == 0.5


def test_kick_on_offbeats_does_not_count() -> None:
    assert kick_four_on_floor_share(bar(kick=(2, 6, 10, 14))) == 0.0


def test_backbeat_needs_snare_on_two_and_four() -> None:
    track = np.concatenate([FOUR_FLOOR, THREE_KICKS, bar(snare=(12,)), bar(snare=(4, 12, 14))])
    assert backbeat_share(track) == 0.5


def test_shifted_backbeat_is_the_backbeat_one_beat_out_of_phase() -> None:
    backbeat = bar(snare=(4, 12))
    shifted = bar(snare=(0, 8))
    track = np.concatenate([backbeat, shifted, shifted, bar(snare=(0, 4, 8, 12))])
    assert shifted_backbeat_share(track) == 0.75  # the last bar counts for both
    assert backbeat_share(track) == 0.5
    # The same loop one beat late (as if the bar line had slipped) swaps the two figures.
    loop = np.tile(backbeat, 4)
    assert shifted_backbeat_share(np.roll(loop, 4)) == 1.0 and backbeat_share(np.roll(loop, 4)) == 0


def test_partial_last_bar_is_ignored() -> None:
    track = np.concatenate([FOUR_FLOOR, EMPTY[:8]])
    assert kick_four_on_floor_share(track) == 1.0
    assert empty_bar_share(track) == 0.0


def test_empty_bar_share() -> None:
    track = np.concatenate([EMPTY, FOUR_FLOOR, EMPTY, EMPTY])
    assert empty_bar_share(track) == 0.75
    assert empty_bar_share(np.zeros(5, dtype=np.int32)) == 0.0
    assert kick_four_on_floor_share(np.zeros(5, dtype=np.int32)) == 0.0


def test_bar_similarity_is_one_for_a_loop() -> None:
    assert bar_similarity(np.tile(FOUR_FLOOR, 4)) == 1.0


def test_bar_similarity_is_mean_jaccard_of_consecutive_bars() -> None:
    # FOUR_FLOOR has 6 onsets, THREE_KICKS 4, all shared: J = 4/6 both ways.
    track = np.concatenate([FOUR_FLOOR, THREE_KICKS, FOUR_FLOOR])
    assert bar_similarity(track) == pytest.approx(4 / 6)
    # Disjoint bars score 0; two empty bars count as identical.
    hats = bar(hat=(1, 3))
    assert bar_similarity(np.concatenate([FOUR_FLOOR, hats])) == 0.0
    assert bar_similarity(np.concatenate([EMPTY, EMPTY, hats])) == pytest.approx(0.5)


def test_bar_similarity_at_a_lag_compares_bars_that_far_apart() -> None:
    hats = bar(hat=(1, 3))
    track = np.concatenate([FOUR_FLOOR, hats, FOUR_FLOOR, hats])
    assert bar_similarity(track, lag=1) == 0.0
    assert bar_similarity(track, lag=2) == 1.0


def test_bar_similarity_needs_two_bars_lag_apart() -> None:
    assert math.isnan(bar_similarity(np.tile(FOUR_FLOOR, 3), lag=3))
    with pytest.raises(DrumevalError, match="lag"):
        bar_similarity(FOUR_FLOOR, lag=0)


def test_track_similarity_is_the_jaccard_of_two_tracks_onsets() -> None:
    track = np.concatenate([FOUR_FLOOR, THREE_KICKS])  # 6 + 4 onsets
    assert track_similarity(track, track) == 1.0
    # THREE_KICKS' 4 onsets are all in FOUR_FLOOR's 6: 6 + 4 shared of 6 + 6 in the union.
    assert track_similarity(track, np.tile(FOUR_FLOOR, 2)) == pytest.approx(10 / 12)
    assert track_similarity(FOUR_FLOOR, bar(hat=(1, 3))) == 0.0
    assert track_similarity(EMPTY, EMPTY) == 1.0


def test_track_similarity_needs_two_tracks_of_one_length() -> None:
    with pytest.raises(DrumevalError, match="one length"):
        track_similarity(FOUR_FLOOR, np.tile(FOUR_FLOOR, 2))


def test_bar_repeat_share_is_the_accuracy_of_copying_the_bar_before() -> None:
    # Bar 2 repeats bar 1 on every step; bar 3 differs from bar 2 on 5 of 16 steps
    # (THREE_KICKS lacks the kick on 12 and the snare on 12: one step; plus 4 of its own).
    other = bar(kick=(1, 5, 9, 13), snare=(4, 12))
    track = np.concatenate([FOUR_FLOOR, FOUR_FLOOR, other, np.zeros(7, np.int32)])
    differing = int(np.sum(other != FOUR_FLOOR))
    assert bar_repeat_share(track) == pytest.approx((16 + 16 - differing) / 32)
    assert math.isnan(bar_repeat_share(FOUR_FLOOR))  # one whole bar: nothing to copy from
