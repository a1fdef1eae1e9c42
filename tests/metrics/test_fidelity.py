"""Groove fidelity: profiles, target checks and the selection distance on hand-built tracks."""

import numpy as np
import pytest

from drumeval.data.drum_classes import CLOSED_HIHAT, KICK, SNARE
from drumeval.errors import DrumevalError
from drumeval.metrics.fidelity import (
    check_targets,
    corpus_profile,
    fidelity_distance,
    fidelity_rows,
    groove_profile,
)


def bar(kick=(), snare=(), hat=()) -> np.ndarray:
    ids = np.zeros(16, dtype=np.int32)
    for drum_class, steps in ((KICK, kick), (SNARE, snare), (CLOSED_HIHAT, hat)):
        ids[list(steps)] |= 1 << drum_class
    return ids


TECHNO = bar(kick=(0, 4, 8, 12), snare=(4, 12), hat=(2, 6, 10, 14))  # 10 hits
JAZZ = bar(kick=(0, 10), snare=(4, 12), hat=(0, 3, 4, 6))  # 8 hits


def loop(pattern: np.ndarray, bars: int) -> np.ndarray:
    return np.tile(pattern, bars)


def test_profile_means_each_tracks_figure() -> None:
    empty_half = np.concatenate([loop(TECHNO, 2), np.zeros(32, np.int32)])
    profile = groove_profile([loop(TECHNO, 4), empty_half])
    assert profile.num_tracks == 2
    assert profile.hits_per_bar_per_track == (10.0, 5.0)
    assert profile.hits_per_bar == 7.5
    assert profile.hits_per_bar_spread == 2.5
    assert profile.empty_bar_share == 0.25  # (0 + 0.5) / 2
    assert profile.kick_four_on_floor_share == 0.75
    assert profile.backbeat_share == 0.75
    assert profile.shifted_backbeat_share == 0.0
    assert "shifted_backbeat_share" not in profile.figures()  # a diagnostic; cards keep theirs
    assert profile.bar_similarity_1 == pytest.approx((1.0 + 2 / 3) / 2)
    np.testing.assert_allclose(profile.class_shares[:3], [0.4, 0.2, 0.4])


def test_bar_similarity_carries_its_standard_error_over_the_tracks() -> None:
    empty_half = np.concatenate([loop(TECHNO, 2), np.zeros(32, np.int32)])
    profile = groove_profile([loop(TECHNO, 4), empty_half, loop(JAZZ, 1)])  # the last: no pair
    per_track = [1.0, 2 / 3]  # J = 1, 1, 0, 1 over empty_half's pairs; NaN for one bar
    assert profile.bar_similarity_1_se == pytest.approx(np.std(per_track, ddof=1) / np.sqrt(2))
    assert "bar_similarity_1_se" not in profile.figures()
    assert np.isnan(groove_profile([loop(TECHNO, 4)]).bar_similarity_1_se)  # one track: unknown


def test_similarity_at_lag_8_skips_short_tracks() -> None:
    profile = groove_profile([loop(TECHNO, 9), loop(JAZZ, 4)])
    assert profile.bar_similarity_8 == 1.0


def test_corpus_profile_crops_examples_to_their_length() -> None:
    padded = np.zeros((2, 64), np.int32)
    padded[0] = loop(JAZZ, 4)
    padded[1, :32] = loop(JAZZ, 2)
    profile = corpus_profile(padded, np.array([64, 32]))
    assert profile.empty_bar_share == 0.0
    assert profile.hits_per_bar_per_track == (8.0, 8.0)
    with pytest.raises(DrumevalError):
        groove_profile([])


def test_tracks_outside_counts_samples_beyond_the_band_ends_included() -> None:
    profile = groove_profile([loop(TECHNO, 2), loop(JAZZ, 2), np.zeros(32, np.int32)])
    assert profile.tracks_outside((8.0, 10.0)) == 1  # only the empty track (0 hits/bar)
    assert profile.tracks_outside((8.5, 10.0)) == 2
    assert profile.tracks_outside((0.0, 10.0)) == 0


def test_a_model_that_plays_its_corpus_meets_every_target() -> None:
    corpus = groove_profile([loop(TECHNO, 12)] * 5)
    samples = groove_profile([loop(TECHNO, 12)] * 3)
    checks = check_targets(samples, corpus, "techno-house")
    assert all(check.met for check in checks), checks
    assert fidelity_distance(samples, corpus) == 0.0


def test_noise_and_lost_kick_fail_their_targets() -> None:
    corpus = groove_profile([loop(TECHNO, 12)] * 5)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 512, size=192).astype(np.int32)  # ≈ 36 hits per bar
    samples = groove_profile([noise, loop(JAZZ, 12)])
    checks = check_targets(samples, corpus, "techno-house")
    failed = {check.target for check in checks if not check.met}
    assert any(target.startswith("hits/bar") for target in failed)
    assert any(target.startswith("kick on all 4 beats within") for target in failed)
    assert any(target.startswith("bar similarity") for target in failed)
    assert any(target.startswith("techno-house") for target in failed)
    assert not any(target.startswith("empty") for target in failed)
    assert fidelity_distance(samples, corpus) > 1.5


def test_jazz_genre_target_caps_the_four_on_the_floor_kick() -> None:
    corpus = groove_profile([loop(TECHNO, 12)] * 2)
    samples = groove_profile([loop(TECHNO, 12)])
    genre = check_targets(samples, corpus, "jazz-soul")[-1]
    assert genre.target.startswith("jazz-soul") and not genre.met


def test_rows_pair_model_and_corpus_figures() -> None:
    rows = fidelity_rows(groove_profile([loop(JAZZ, 2)]), groove_profile([loop(TECHNO, 2)]))
    assert rows[0] == ("hits/bar", 8.0, 10.0)
    assert rows[-1][0] == "share ride"
    assert len(rows) == 7 + 9
