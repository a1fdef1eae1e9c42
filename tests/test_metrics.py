"""Metrics on hand-built tracks with answers worked out by hand."""

import json

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
    assert metrics.empty_bar_fraction(track) == 0.5


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
        "empty_bar_fraction",
        "kick_on_beat_share",
        "groove_consistency",
        "phrase_structure",
        "evolution",
    }


def test_metrics_command_measures_copies_of_the_training_split(tmp_path):
    from drumeval.cli import main
    from drumeval.data.corpus import load_corpus
    from drumeval.data.midi import write_midi

    train_ids, train_lengths = load_corpus("techno-house-700").split("train")
    copied = write_midi(train_ids[0, : train_lengths[0]], tmp_path / "copy.mid")
    out = tmp_path / "m.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["metrics", str(copied), "--corpus", "techno-house-700", "--json", str(out)])
    assert exit_info.value.code == 0
    values = json.loads(out.read_text())[str(copied)]
    assert values["exact_copy_rate"] == 1.0 and values["novel_bar_fraction"] == 0.0
