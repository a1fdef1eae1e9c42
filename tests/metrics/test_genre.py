"""The genre classifier: features on hand-built grooves, and held-out accuracy on the corpora."""

import numpy as np
import pytest

from drumeval.analysis.objective_run import validate_section_detector
from drumeval.data.corpus import load_corpus
from drumeval.errors import DrumevalError
from drumeval.metrics import tracks_of
from drumeval.metrics.genre import GENRE_FEATURES, genre_features, train_genre_classifier

KICK, SNARE, CLOSED_HAT, RIDE = 1, 2, 4, 1 << 8


def test_features_of_a_four_on_the_floor_bar():
    bar = np.zeros(16, dtype=np.int32)
    bar[::4] |= KICK
    bar[[4, 12]] |= SNARE
    features = dict(zip(GENRE_FEATURES, genre_features(np.tile(bar, 4)), strict=True))
    assert features["kick_on_beat_share"] == 1.0
    assert features["kick_four_on_floor_share"] == 1.0
    assert features["backbeat_share"] == 1.0
    assert features["bar_similarity_1"] == 1.0
    assert features["mean_hits_per_bar"] == 6.0
    assert features["share_kick"] == pytest.approx(4 / 6)


def corpus_tracks(name: str, split: str, limit: int) -> list[np.ndarray]:
    return tracks_of(*load_corpus(name).split(split))[:limit]


def test_classifier_names_held_out_corpus_clips():
    techno = corpus_tracks("techno-house-1500", "train", 80)
    jazz = corpus_tracks("jazz-soul-1500", "train", 80)
    classifier = train_genre_classifier(techno + jazz, ["techno-house"] * 80 + ["jazz-soul"] * 80)
    assert classifier.genres == ("jazz-soul", "techno-house")
    # Eval clips come from sources (GMD files, programmed tracks) never trained on.
    assert (
        classifier.accuracy(corpus_tracks("techno-house-1500", "eval", 40), "techno-house") >= 0.95
    )
    assert classifier.accuracy(corpus_tracks("jazz-soul-1500", "eval", 40), "jazz-soul") >= 0.95
    assert classifier.predict([]) == []


def test_classifier_needs_two_genres():
    track = np.zeros(32, dtype=np.int32)
    with pytest.raises(DrumevalError, match="two genres"):
        train_genre_classifier([track, track], ["jazz-soul", "jazz-soul"])


def test_section_detector_on_programmed_ground_truth():
    figures = validate_section_detector("techno-house-700", split="eval")
    assert figures["tracks"] == 70
    assert figures["f1"] >= 0.7 and figures["recall"] >= 0.85
