"""Corpus statistics (`drumeval.metrics.corpus`) on hand-built padded arrays."""

import numpy as np

from drumeval.metrics import corpus as stats

IDS = np.array(
    [
        [1, 0, 0, 0, 1, 2, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9, 9],
        [1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ]
)
LENGTHS = np.array([16, 16])  # the 9s sit in padding and must not count


def test_hit_counts_and_shares_ignore_padding():
    assert stats.class_hit_counts(IDS, LENGTHS).tolist() == [4, 2, 1, 0, 0, 0, 0, 0, 0]
    np.testing.assert_allclose(stats.class_shares(IDS, LENGTHS)[:3], [4 / 7, 2 / 7, 1 / 7])
    assert stats.mean_hits_per_bar(IDS, LENGTHS) == 3.5
    assert stats.class_shares(np.zeros((1, 16), int), np.array([16])).sum() == 0


def test_kick_on_beat_share_joins_the_examples_beats():
    assert stats.kick_on_beat_share(IDS, LENGTHS) == 0.5  # 3 of 4 beats, then 1 of 4
    assert stats.bars_per_example(np.array([960, 16])).tolist() == [60, 1]


def test_summarize():
    summary = stats.summarize(IDS, LENGTHS, np.array([False, True]))
    assert (summary.examples, summary.train, summary.eval) == (2, 1, 1)
    assert summary.mean_bars_per_example == 1.0 and summary.kick_on_beat_share == 0.5
