"""Syncopation, self-similarity curve, section changes and copy rates on hand-built tracks."""

import numpy as np
import pytest

from drumeval import metrics
from drumeval.metrics.novelty import (
    bar_windows,
    corpus_window_set,
    exact_copy_rate,
    measure_tracks,
)
from drumeval.metrics.rhythm import syncopation
from drumeval.metrics.structure import (
    boundary_alignment,
    boundary_f1,
    f1_score,
    phrase_structure,
    section_boundaries,
    section_novelty,
    self_similarity_curve,
)

KICK, SNARE, CLOSED_HAT, OPEN_HAT = 1, 2, 4, 8


def bar_with(hits: dict[int, int]) -> np.ndarray:
    """One bar: {step: event id}."""
    bar = np.zeros(16, dtype=np.int32)
    for step, event in hits.items():
        bar[step] |= event
    return bar


FOUR_ON_FLOOR = bar_with({0: KICK, 4: KICK, 8: KICK, 12: KICK})


def test_syncopation_zero_on_the_beat_and_lhl_amounts_off_it():
    assert syncopation(np.tile(FOUR_ON_FLOOR, 4)) == 0.0
    assert syncopation(np.zeros(32, dtype=np.int32)) == 0.0
    # Off-beat open hats ring until the next one: 2 (w −3) over beat 4 (w −2) → 1, 6 over the
    # half bar 8 (w −1) → 2, 10 over 12 → 1, 14 over the next bar line (w 0) → 3; in the last
    # bar the final hat rings over 15 only (weaker) → 0. (1 + 2 + 1 + 3 + 1 + 2 + 1 + 0) / 8.
    off_hats = bar_with({2: OPEN_HAT, 6: OPEN_HAT, 10: OPEN_HAT, 14: OPEN_HAT})
    assert syncopation(np.tile(off_hats, 2)) == pytest.approx(11 / 8)
    # A kick on the last 16th (w −4) left ringing over the next bar line (w 0): 4; the snare
    # on the half bar (w −1) rings over weaker steps only: 0.
    anticipation = np.concatenate([bar_with({15: KICK}), bar_with({8: SNARE})])
    assert syncopation(anticipation) == pytest.approx(4 / 2)
    # The same kick followed by a kick on the bar line does not syncopate.
    resolved = np.concatenate([bar_with({15: KICK}), bar_with({0: KICK})])
    assert syncopation(resolved) == 0.0
    # Each class is its own voice: a kick on beat 2 does not resolve the hat on step 2, which
    # rings over the half bar (2); the kick itself rings over the half bar too (1).
    assert syncopation(bar_with({2: OPEN_HAT, 4: KICK})) == pytest.approx((2 + 1) / 2)


def test_self_similarity_curve_of_a_four_bar_phrase():
    motifs = [bar_with({0: KICK}), bar_with({4: SNARE}), bar_with({8: KICK}), bar_with({12: SNARE})]
    track = np.concatenate([motifs[i % 4] for i in range(20)])
    curve = self_similarity_curve(track, max_lag=16)
    assert curve.shape == (16,)
    np.testing.assert_allclose(curve[[3, 7, 11, 15]], 1.0)  # lags 4, 8, 12, 16
    np.testing.assert_allclose(curve[[0, 1, 2, 4]], 0.0)  # disjoint bars
    assert phrase_structure(track) == pytest.approx(
        1.0 - np.mean(curve[[0, 1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14]])
    )
    assert np.isnan(self_similarity_curve(track[: 3 * 16])[2:]).all()  # 3 bars: lags ≥ 3 unknown


def test_section_change_is_found_at_the_bar_it_happens():
    loop_a = np.tile(FOUR_ON_FLOOR, 8)
    loop_b = np.tile(bar_with({2: OPEN_HAT, 6: OPEN_HAT, 4: SNARE, 12: SNARE}), 8)
    track = np.concatenate([loop_a, loop_b, loop_a])
    novelty = section_novelty(track)
    assert novelty.argmax() in (8, 16) and novelty[8] == pytest.approx(1.0)
    assert section_boundaries(track) == [8, 16]
    assert section_boundaries(np.tile(FOUR_ON_FLOOR, 16)) == []


def test_boundary_alignment_and_f1():
    assert boundary_alignment([8, 16, 20, 30]) == {4: 0.75, 8: 0.5, 16: 0.25}
    assert np.isnan(boundary_alignment([])[4])
    assert boundary_f1([8, 17, 40], [8, 16, 32]) == (1, 2, 2)
    assert boundary_f1([8, 17, 40], [8, 16, 32], tolerance_bars=1) == (2, 1, 1)
    assert f1_score(2, 1, 1) == pytest.approx(2 / 3)
    assert f1_score(0, 0, 0) == 1.0


def test_exact_copy_rate_counts_four_bar_windows_found_verbatim():
    training = np.concatenate([np.tile(FOUR_ON_FLOOR, 4), np.tile(bar_with({4: SNARE}), 4)])
    reference = corpus_window_set([training])
    assert len(bar_windows(training)) == 5 and len(reference) == 5
    copy = training[: 4 * 16]
    assert exact_copy_rate(copy, reference) == 1.0
    changed = copy.copy()
    changed[3 * 16] |= SNARE  # bar 4 differs: the only window differs
    assert exact_copy_rate(changed, reference) == 0.0
    # 8 bars: 5 windows, the first (bars 1–4) copied, the silent ones (bars 5–8) left out.
    half_silent = np.concatenate([copy, np.zeros(4 * 16, dtype=np.int32)])
    assert exact_copy_rate(half_silent, reference) == pytest.approx(1 / 4)
    assert exact_copy_rate(np.zeros(64, dtype=np.int32), reference) == 0.0


def test_measure_tracks_adds_originality_only_with_a_reference():
    track = np.tile(FOUR_ON_FLOOR, 4)
    plain = measure_tracks({"a": track})
    assert set(plain["a"]) == set(metrics.summary(track))
    full = measure_tracks(
        {"a": track},
        metrics.corpus_bar_set(track[None], np.array([64])),
        corpus_window_set([track]),
    )
    assert full["a"]["novel_bar_fraction"] == 0.0 and full["a"]["exact_copy_rate"] == 1.0


def test_class_hit_counts_and_tracks_of():
    padded = np.array([[1, 3, 0, 7], [2, 0, 0, 0]])
    tracks = metrics.tracks_of(padded, np.array([2, 1]))
    assert [t.tolist() for t in tracks] == [[1, 3], [2]]
    assert metrics.class_hit_counts(padded[0, :2]).tolist()[:3] == [2, 1, 0]
