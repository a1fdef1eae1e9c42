"""Metrics on hand-built tracks with answers worked out by hand."""

import numpy as np
import pytest

from drumeval import metrics

KICK, SNARE, HAT = 1, 2, 4


def _four_on_floor(num_bars: int) -> np.ndarray:
    bar = np.zeros(16, dtype=np.int32)
    bar[::4] = KICK
    bar[2::4] |= HAT
    return np.tile(bar, num_bars)


def test_kick_on_beat_and_density():
    track = _four_on_floor(4)
    assert metrics.kick_on_beat_share(track) == 1.0
    assert metrics.mean_hits_per_bar(track) == 8.0
    np.testing.assert_allclose(metrics.class_shares(track)[:3], [0.5, 0.0, 0.5])
    half = track.copy()
    half[4::8] = 0  # remove the kick on beats 2 and 4
    assert metrics.kick_on_beat_share(half) == 0.5


def test_empty_bars_and_partial_bar_dropped():
    track = np.concatenate([_four_on_floor(1), np.zeros(16, int), np.ones(5, int)])
    assert metrics.bars(track).shape == (2, 16)
    assert metrics.empty_bar_share(track) == 0.5


def test_kick_on_beat_share_counts_kicks_on_every_fourth_step():
    four_on_the_floor = _four_on_floor(2)
    assert metrics.kick_on_beat_share(np.roll(four_on_the_floor, 2)) == 0.0
    one_in_four = np.zeros(16, dtype=np.int32)
    one_in_four[0] = KICK | SNARE
    one_in_four[4::4] = SNARE
    assert metrics.kick_on_beat_share(one_in_four) == 0.25


# The one edge rule: whole bars only. A partial last bar is dropped, and a track with no
# whole bar has nothing to measure, so every share, count and mean of it is 0.
SHORT_TRACKS = [np.zeros(0, dtype=np.int32), np.full(15, KICK | HAT, dtype=np.int32)]


@pytest.mark.parametrize("track", SHORT_TRACKS, ids=["no steps", "15 busy steps"])
def test_a_track_with_no_whole_bar_measures_zero(track):
    assert metrics.hits_per_bar(track).shape == (0, 9)
    assert metrics.mean_hits_per_bar(track) == 0.0
    assert metrics.empty_bar_share(track) == 0.0
    assert metrics.kick_on_beat_share(track) == 0.0
    assert metrics.near_empty(track)


def test_a_partial_last_bar_is_dropped_by_every_bar_measure():
    whole = _four_on_floor(2)
    partial = np.concatenate([whole, np.full(8, KICK | SNARE | HAT, dtype=np.int32)])
    np.testing.assert_array_equal(metrics.hits_per_bar(partial), metrics.hits_per_bar(whole))
    for measure in (metrics.mean_hits_per_bar, metrics.empty_bar_share, metrics.kick_on_beat_share):
        assert measure(partial) == measure(whole)
    np.testing.assert_array_equal(metrics.hits_per_bar(whole)[:, :3], [[4, 0, 4], [4, 0, 4]])


def test_near_empty_is_fewer_hits_per_bar_than_the_threshold():
    sparse = np.zeros(64, dtype=np.int32)
    sparse[0] = KICK | HAT  # 2 hits in 4 bars
    assert metrics.near_empty(sparse)
    assert not metrics.near_empty(sparse, min_hits_per_bar=0.5)
    assert not metrics.near_empty(_four_on_floor(4))


def test_groove_consistency_counts_changed_cells():
    track = _four_on_floor(2)
    assert metrics.groove_consistency(track) == 1.0
    track[16] |= SNARE  # one extra onset in bar 2: 1 of 144 cells differs
    assert metrics.groove_consistency(track) == pytest.approx(1 - 1 / 144)


def test_self_similarity_is_jaccard():
    track = np.zeros(32, dtype=np.int32)
    track[0] = KICK
    track[16] = KICK | SNARE
    similarity = metrics.bar_self_similarity(track)
    np.testing.assert_allclose(similarity, [[1, 0.5], [0.5, 1]])


def test_phrase_structure_rewards_recurrence_at_phrase_lags():
    rng = np.random.default_rng(0)
    motifs = rng.integers(0, 512, size=(4, 16))
    phrased = np.concatenate([motifs[i % 4] for i in range(32)])  # repeats every 4 bars
    random_track = rng.integers(0, 512, size=32 * 16)
    assert metrics.phrase_structure(phrased) > 0.5
    assert abs(metrics.phrase_structure(random_track)) < 0.05


def test_evolution_zero_for_loop_and_high_for_changes():
    assert metrics.evolution(_four_on_floor(32)) == 0.0
    changing = np.concatenate([_four_on_floor(8), np.full(8 * 16, SNARE)])
    assert metrics.evolution(changing) == 1.0


def test_novel_bar_fraction_against_corpus():
    corpus = _four_on_floor(2)[None, :]
    reference = metrics.corpus_bar_set(corpus, np.array([32]))
    assert len(reference) == 1
    generated = np.concatenate([_four_on_floor(1), np.full(16, SNARE), np.zeros(16, int)])
    assert metrics.novel_bar_fraction(generated, reference) == 0.5


def test_summary_has_all_metrics():
    assert set(metrics.summary(_four_on_floor(8))) == {
        "mean_hits_per_bar",
        "empty_bar_share",
        "kick_on_beat_share",
        "groove_consistency",
        "phrase_structure",
        "evolution",
    }

