"""Structure measures against a planned song form, on hand-built grids with known answers."""

import numpy as np
import pytest

from drumeval.data.drum_classes import CLOSED_HIHAT, KICK, SNARE, STEPS_PER_BAR
from drumeval.data.forms import parse_form
from drumeval.errors import DrumevalError
from drumeval.metrics.structure import (
    backbeat_shares,
    planned_boundary_counts,
    planned_boundary_f1,
    same_vs_different_label_similarity,
)


def _bar(hits: dict[int, list[int]]) -> np.ndarray:
    """One bar of event ids from {drum class: steps}."""
    bar = np.zeros(STEPS_PER_BAR, dtype=np.int32)
    for drum_class, steps in hits.items():
        bar[steps] |= 1 << drum_class
    return bar


# A: kick on the four beats (4 onsets). B: A plus 16 closed hats (20 onsets): J(A, B) = 0.2.
SPARSE = _bar({KICK: [0, 4, 8, 12]})
DENSE = _bar({KICK: [0, 4, 8, 12], CLOSED_HIHAT: list(range(16))})


def _track(*blocks: tuple[np.ndarray, int]) -> np.ndarray:
    return np.concatenate([np.tile(bar, count) for bar, count in blocks])


def test_changes_on_the_planned_boundaries_score_one() -> None:
    track = _track((SPARSE, 4), (DENSE, 4), (SPARSE, 4))
    form = parse_form("intro:4 drop:4 outro:4")
    assert planned_boundary_counts(track, form) == (2, 0, 0)
    assert planned_boundary_f1(track, form) == 1.0


def test_a_change_two_bars_early_misses_at_one_bar_tolerance() -> None:
    track = _track((SPARSE, 4), (DENSE, 4), (SPARSE, 4))  # changes at bars 4 and 8
    form = parse_form("intro:6 drop:2 outro:4")  # planned at 6 and 8
    assert planned_boundary_counts(track, form) == (1, 1, 1)
    assert planned_boundary_f1(track, form) == pytest.approx(0.5)
    assert planned_boundary_f1(track, form, tolerance_bars=2) == 1.0


def test_a_loop_finds_no_planned_boundary() -> None:
    track = _track((DENSE, 12))
    assert planned_boundary_counts(track, parse_form("intro:4 drop:4 outro:4")) == (0, 0, 2)
    assert planned_boundary_f1(track, parse_form("intro:4 drop:4 outro:4")) == 0.0


def test_repeated_label_is_closer_than_a_different_one() -> None:
    track = _track((SPARSE, 4), (DENSE, 4), (SPARSE, 4))
    same, different = same_vs_different_label_similarity(track, parse_form("drop:4 build:4 drop:4"))
    assert same == 1.0
    assert different == pytest.approx(0.2)


def test_label_similarity_is_nan_for_pairs_the_form_lacks() -> None:
    track = _track((SPARSE, 2), (DENSE, 2))
    same, different = same_vs_different_label_similarity(track, parse_form("intro:2 drop:2"))
    assert np.isnan(same)
    assert different == pytest.approx(0.2)


def test_form_measures_refuse_a_track_of_another_length() -> None:
    with pytest.raises(DrumevalError, match="track has 10 whole bars but the form"):
        planned_boundary_f1(_track((SPARSE, 10)), parse_form("intro:4 drop:8"))
    with pytest.raises(DrumevalError, match="has 12"):
        same_vs_different_label_similarity(_track((SPARSE, 10)), parse_form("intro:4 drop:8"))


def test_backbeat_shares_count_bars_with_snare_on_two_and_four_and_on_one_and_three() -> None:
    backbeat = _bar({KICK: [0, 8], SNARE: [4, 12]})
    shifted = _bar({SNARE: [0, 8]})
    track = _track((backbeat, 3), (shifted, 1))
    assert backbeat_shares(track) == (0.75, 0.25)
    assert backbeat_shares(np.zeros(8, dtype=np.int32)) == (0.0, 0.0)
