"""The objective Table 1 on hand-built corpora: copies, strangers and the corpus rows."""

import numpy as np
import pytest

from drumeval.analysis.objective import (
    CORPUS_ROW,
    OBJECTIVE_COLUMNS,
    CorpusSplits,
    objective_table1,
    self_similarity_curves,
)
from drumeval.metrics.genre import train_genre_classifier
from drumeval.metrics.groove import bar_similarity

KICK, SNARE, CLOSED_HAT, RIDE = 1, 2, 4, 1 << 8


def techno_track(rng: np.random.Generator, bars: int = 16) -> np.ndarray:
    """Four on the floor, 8th hats, a random extra snare: a new track per draw."""
    bar = np.zeros(16, dtype=np.int32)
    bar[::4] |= KICK
    bar[::2] |= CLOSED_HAT
    track = np.tile(bar, bars)
    track[rng.integers(0, len(track), 4)] |= SNARE
    return track


def jazz_track(rng: np.random.Generator, bars: int = 16) -> np.ndarray:
    """Swung ride, feathered kick on random off-beats, snare comping."""
    bar = np.zeros(16, dtype=np.int32)
    bar[[0, 4, 7, 8, 12, 15]] |= RIDE
    track = np.tile(bar, bars)
    track[rng.integers(0, len(track), 2 * bars) | 1] |= KICK
    track[rng.integers(0, len(track), bars)] |= SNARE
    return track


@pytest.fixture(scope="module")
def corpora_and_classifier():
    rng = np.random.default_rng(0)
    corpora = {
        ("techno-house", 700): CorpusSplits(
            "techno-house",
            700,
            [techno_track(rng) for _ in range(12)],
            [techno_track(rng) for _ in range(4)],
        ),
        ("jazz-soul", 700): CorpusSplits(
            "jazz-soul",
            700,
            [jazz_track(rng) for _ in range(12)],
            [jazz_track(rng) for _ in range(4)],
        ),
    }
    tracks = corpora[("techno-house", 700)].train + corpora[("jazz-soul", 700)].train
    classifier = train_genre_classifier(tracks, ["techno-house"] * 12 + ["jazz-soul"] * 12)
    return corpora, classifier


def test_copies_score_as_unoriginal_realistic_and_in_genre(corpora_and_classifier):
    corpora, classifier = corpora_and_classifier
    techno = corpora[("techno-house", 700)]
    samples = {
        ("copycat", "techno-house", 700): techno.train[:4],
        ("wrong-genre", "techno-house", 700): corpora[("jazz-soul", 700)].eval,
    }
    table = objective_table1(samples, corpora, classifier)
    assert list(table.columns) == list(OBJECTIVE_COLUMNS)
    rows = table.set_index(["model", "genre"])
    copycat = rows.loc[("copycat", "techno-house")]
    assert copycat["originality"] == 0.0  # every 4-bar window is in the train split
    assert copycat["genre_discrimination"] == 1.0
    expected = np.mean([bar_similarity(track, 1) for track in techno.train[:4]])
    assert copycat["short_term_phrasing"] == pytest.approx(expected)
    wrong = rows.loc[("wrong-genre", "techno-house")]
    assert wrong["genre_discrimination"] == 0.0 and wrong["originality"] == 1.0
    assert wrong["realism"] > copycat["realism"]  # farther from the techno groove
    corpus_rows = table[table["model"] == CORPUS_ROW]
    assert set(corpus_rows["genre"]) == {"techno-house", "jazz-soul"}
    assert (corpus_rows["n_tracks"] == 4).all()
    assert (corpus_rows["genre_discrimination"] == 1.0).all()


def test_self_similarity_curves_are_tidy(corpora_and_classifier):
    corpora, _ = corpora_and_classifier
    curves = self_similarity_curves(
        {("corpus", "techno-house", 700): corpora[("techno-house", 700)].eval}
    )
    assert list(curves["lag"]) == list(range(1, 17))
    assert curves["similarity"].iloc[:15].between(0.9, 1).all()  # a loop with a few snares
    assert np.isnan(curves["similarity"].iloc[15])  # 16-bar tracks have no bars 16 apart


def test_long_term_phrasing_is_section_changes_on_the_four_bar_grid(corpora_and_classifier):
    corpora, classifier = corpora_and_classifier
    loop_a = np.array([KICK, 0, 0, 0] * 4, dtype=np.int32)
    loop_b = np.array([0, 0, CLOSED_HAT, 0, SNARE, 0, 0, 0] * 2, dtype=np.int32)

    def arranged(first: int) -> np.ndarray:
        return np.concatenate([np.tile(loop_a, first), np.tile(loop_b, 8), np.tile(loop_a, 8)])

    samples = {
        ("on-grid", "techno-house", 700): [arranged(8)],  # changes at bars 8 and 16
        ("off-grid", "techno-house", 700): [arranged(6)],  # changes at bars 6 and 14
    }
    table = objective_table1(samples, corpora, classifier).set_index("model")
    assert table.loc["on-grid", "long_term_phrasing"] == 1.0
    assert table.loc["off-grid", "long_term_phrasing"] == 0.0
    assert table.loc["on-grid", "boundaries_per_16_bars"] == pytest.approx(16 * 2 / 24)
