"""The arranger baseline on tiny pools whose every bar says where it came from."""

import numpy as np
import pytest

from drumeval.data.corpus import Examples, write_corpus
from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.data.forms import parse_form, phrase_form
from drumeval.errors import ParameterError
from drumeval.models.arranger import arrange, arrange_tracks, build_pool, pool_from_corpus


def _examples(bar_values: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """`[N, 960]` event ids where bar b of example n is `bar_values[n][b]` on every step."""
    event_ids = np.zeros((len(bar_values), 960), dtype=np.int32)
    for row, values in enumerate(bar_values):
        event_ids[row, : len(values) * STEPS_PER_BAR] = np.repeat(values, STEPS_PER_BAR)
    return event_ids, np.array([len(values) * STEPS_PER_BAR for values in bar_values])


def _bar_values(track: np.ndarray) -> list[int]:
    per_bar = track.reshape(-1, STEPS_PER_BAR)
    assert (per_bar == per_bar[:, :1]).all()
    return per_bar[:, 0].tolist()


# Two examples: intro bars 1x / 3x, drop bars 2x / 4x (x = bar within the section).
LABELLED = _examples([[11, 12, 21, 22, 23, 24], [31, 32, 41, 42, 43, 44]])
LABELLED_FORMS = [parse_form("intro:2 drop:4")] * 2


def test_each_section_comes_from_one_span_of_its_label() -> None:
    pool = build_pool(*LABELLED, LABELLED_FORMS)
    for seed in range(6):
        bars = _bar_values(arrange(parse_form("intro:2 drop:3"), pool, np.random.default_rng(seed)))
        assert bars[:2] in ([11, 12], [31, 32])
        assert bars[2:] in ([21, 22, 23], [41, 42, 43])


def test_same_seed_same_tracks_and_seeds_differ() -> None:
    pool = build_pool(*LABELLED, LABELLED_FORMS)
    form = parse_form("intro:2 drop:4 intro:2 drop:4")
    first = arrange_tracks(form, pool, num=8, seed=3)
    assert first.shape == (8, 12 * STEPS_PER_BAR)
    assert first.dtype == np.int32
    assert np.array_equal(first, arrange_tracks(form, pool, num=8, seed=3))
    assert not np.array_equal(first, arrange_tracks(form, pool, num=8, seed=4))


def test_a_repeated_label_copies_the_earlier_section_without_variation() -> None:
    pool = build_pool(*LABELLED, LABELLED_FORMS)
    form = parse_form("drop:4 intro:2 drop:4")
    for seed in range(6):
        bars = _bar_values(arrange(form, pool, np.random.default_rng(seed), vary_probability=0))
        assert bars[6:] == bars[:4]


def test_variation_swaps_only_phrase_end_bars() -> None:
    pool = build_pool(*LABELLED, LABELLED_FORMS)
    form = parse_form("drop:4 intro:2 drop:4")
    varied = 0
    for seed in range(12):
        bars = _bar_values(arrange(form, pool, np.random.default_rng(seed), vary_probability=1))
        assert bars[6:9] == bars[:3]  # offsets 0-2 are kept
        assert bars[9] in (24, 44)  # the last bar comes from some drop's last bar
        varied += bars[9] != bars[3]
    assert varied > 0


def test_a_short_span_is_continued_by_looping_its_last_phrase() -> None:
    pool = build_pool(*_examples([[1, 2, 3]]), [parse_form("intro:1 drop:2")])
    bars = _bar_values(arrange(parse_form("drop:5"), pool, np.random.default_rng(0)))
    assert bars == [2, 3, 2, 3, 2]


def test_a_corpus_without_labels_is_retrieved_by_phrase_position() -> None:
    # Window starting at source bar 3: phrases 3-7 (partial, never retrieved) and 8-15.
    values = list(range(103, 116))
    pool = build_pool(*_examples([values]), [phrase_form(3, 13)])
    bars = _bar_values(arrange(parse_form("head:4 solo:4"), pool, np.random.default_rng(0)))
    assert bars == [108, 109, 110, 111] * 2


def test_a_label_the_corpus_lacks_is_a_parameter_error() -> None:
    pool = build_pool(*LABELLED, LABELLED_FORMS)
    with pytest.raises(ParameterError, match="form has label 'solo' but the corpus has only drop"):
        arrange(parse_form("solo:4"), pool, np.random.default_rng(0))


def test_bad_arguments_are_parameter_errors() -> None:
    pool = build_pool(*LABELLED, LABELLED_FORMS)
    with pytest.raises(ParameterError, match="num must be at least 1"):
        arrange_tracks(parse_form("drop:2"), pool, num=0)
    with pytest.raises(ParameterError, match=r"vary_probability must be in \[0, 1\]"):
        arrange(parse_form("drop:2"), pool, np.random.default_rng(0), vary_probability=2)


def test_pool_from_corpus_retrieves_only_the_train_split(tmp_path) -> None:
    event_ids, lengths = _examples([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    sections = [{"sections": [{"name": "drop", "start_bar": 0, "num_bars": 4}]}] * 3
    directory = write_corpus(
        tmp_path / "tiny",
        name="tiny",
        genre="techno-house",
        examples=Examples(
            event_ids=event_ids,
            lengths=lengths,
            is_eval=np.array([False, True, False]),
            source_index=np.arange(3),
            start_bar=np.zeros(3, dtype=np.int32),
            qpm=np.full(3, 125.0),
        ),
        sources=["a", "b", "c"],
        build={},
        provenance={},
        sections=sections,
    )
    pool = pool_from_corpus(directory)
    assert len(pool.bars) == 2
    tracks = arrange_tracks(parse_form("drop:4"), pool, num=20, seed=0)
    seen = {tuple(_bar_values(track)) for track in tracks}
    assert seen == {(1, 2, 3, 4), (9, 10, 11, 12)}
