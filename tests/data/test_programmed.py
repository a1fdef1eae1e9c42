import itertools
import json
from functools import cache

import numpy as np
import pytest

from drumeval.data.drum_classes import (
    CRASH,
    HIGH_TOM,
    KICK,
    LOW_TOM,
    MID_TOM,
    OPEN_HIHAT,
    SNARE,
    STEPS_PER_BAR,
)
from drumeval.data.encoding import event_ids_to_rolls
from drumeval.data.programmed import (
    SECTION_NAMES,
    SUBSTYLES,
    ProgrammedTrackError,
    Section,
    generate_programmed_track,
    plan_sections,
)

SEEDS = range(50)


@cache
def track(seed: int, substyle: str | None = None, bars: int = 60):
    return generate_programmed_track(seed, substyle=substyle, bars=bars)


def bar_rolls(t) -> np.ndarray:
    """[bars, 16, 9] rolls of a track."""
    return event_ids_to_rolls(t.event_ids).reshape(-1, STEPS_PER_BAR, 9).astype(bool)


def bars_of(t, name: str) -> list[int]:
    return [b for s in t.sections if s.name == name for b in range(s.start_bar, s.end_bar)]


def test_length_dtype_and_value_range():
    t = track(0)
    assert t.event_ids.shape == (60 * 16,)
    assert t.event_ids.dtype == np.int32
    assert t.event_ids.min() >= 0 and t.event_ids.max() < 512
    assert t.num_bars == 60
    with pytest.raises(ValueError):
        t.event_ids[0] = 1  # read-only


@pytest.mark.parametrize("bars", [1, 8, 15, 16, 31, 32, 60, 64, 100, 61])
def test_sections_cover_all_bars_contiguously(bars):
    for seed in range(10):
        sections = track(seed, bars=bars).sections
        assert sections[0].start_bar == 0
        assert sections[-1].end_bar == bars
        for before, after in itertools.pairwise(sections):
            assert after.start_bar == before.end_bar
        assert all(s.name in SECTION_NAMES and s.num_bars > 0 for s in sections)
        assert len(track(seed, bars=bars).event_ids) == bars * 16


def test_sixty_bar_arrangement_is_made_of_phrases():
    for seed in SEEDS:
        sections = track(seed).sections
        names = [s.name for s in sections]
        assert names[0] == "intro" and names[-1] == "outro"
        assert all(s.num_bars % 4 == 0 for s in sections)
        assert all(s.num_bars % 8 == 0 for s in sections if s.name in ("drop", "intro"))
        for i, name in enumerate(names):
            if name == "drop":
                assert names[i - 1] == "build"
            if name == "breakdown":
                assert names[i + 1] == "build"
        assert "drop" in names


def test_plans_vary_with_seed():
    plans = {tuple((s.name, s.num_bars) for s in track(seed).sections) for seed in SEEDS}
    assert len(plans) >= 8


def test_plan_sections_short_tracks():
    rng = np.random.default_rng(0)
    assert plan_sections(rng, 8) == (Section("drop", 0, 8),)
    assert plan_sections(rng, 20) == (
        Section("intro", 0, 4),
        Section("build", 4, 4),
        Section("drop", 8, 12),
    )


def test_phrase_end_bars():
    assert Section("drop", 10, 16).phrase_end_bars() == (17, 25)
    assert Section("outro", 48, 12).phrase_end_bars() == (55, 59)
    assert Section("build", 28, 4).phrase_end_bars() == (31,)


def test_kick_four_on_the_floor_except_in_breakdowns():
    for seed in SEEDS:
        t = track(seed)
        kicks_on_beats = bar_rolls(t)[:, ::4, KICK]  # [bars, 4]
        breakdown = bars_of(t, "breakdown")
        others = [b for b in range(t.num_bars) if b not in breakdown]
        assert kicks_on_beats[others].mean() >= 0.9
        if breakdown:
            assert kicks_on_beats[breakdown].mean() < 0.1


def test_drops_have_claps_on_two_and_four_offbeat_open_hats_and_a_crash():
    for seed in SEEDS:
        t = track(seed)
        rolls = bar_rolls(t)
        drop = bars_of(t, "drop")
        assert rolls[drop][:, [4, 12], SNARE].all()
        assert rolls[drop][:, [2, 6, 10, 14], OPEN_HIHAT].all()
        for s in t.sections:
            if s.name == "drop":
                assert rolls[s.start_bar, 0, CRASH]


def test_phrase_end_bars_have_fills():
    fill_hits, other_hits = [], []
    for seed in SEEDS:
        t = track(seed)
        hits = bar_rolls(t)[:, :, [SNARE, LOW_TOM, MID_TOM, HIGH_TOM]].sum(axis=(1, 2))
        ends = {b for s in t.sections for b in s.phrase_end_bars()} - {t.num_bars - 1}
        fill_hits += [hits[b] for b in ends]
        other_hits += [hits[b] for b in range(t.num_bars) if b not in ends]
        assert np.mean([hits[b] for b in ends]) > np.mean(np.delete(hits, sorted(ends)))
    assert np.mean(fill_hits) > np.mean(other_hits) + 3


def test_builds_end_in_a_snare_roll():
    for seed in SEEDS:
        t = track(seed)
        rolls = bar_rolls(t)
        for s in t.sections:
            if s.name == "build":
                snares = rolls[s.start_bar : s.end_bar, :, SNARE].sum(axis=1)
                assert snares[-1] >= 8 and snares[-1] >= snares[-2]


def test_intro_starts_sparser_than_the_first_drop():
    for seed in SEEDS:
        t = track(seed)
        rolls = bar_rolls(t)
        first_drop = next(s for s in t.sections if s.name == "drop")
        intro_layers = rolls[0].any(axis=0).sum()
        drop_layers = rolls[first_drop.start_bar + 1].any(axis=0).sum()
        assert intro_layers <= 2 < drop_layers


def test_deterministic_per_seed_and_different_across_seeds():
    a = generate_programmed_track(123)
    b = generate_programmed_track(123)
    np.testing.assert_array_equal(a.event_ids, b.event_ids)
    assert a.sections == b.sections and a.qpm == b.qpm and a.substyle == b.substyle
    tracks = {track(seed).event_ids.tobytes() for seed in SEEDS}
    assert len(tracks) == len(SEEDS)


def test_many_distinct_drop_patterns():
    drop_bars = {
        bar_rolls(track(seed))[b].tobytes() for seed in SEEDS for b in bars_of(track(seed), "drop")
    }
    assert len(drop_bars) >= 100


def test_both_substyles_appear_and_tempo_ranges_hold():
    styles = {track(seed).substyle for seed in SEEDS}
    assert styles == set(SUBSTYLES)
    for seed in SEEDS:
        t = track(seed)
        low, high = (128, 134) if t.substyle == "techno" else (122, 126)
        assert low <= t.qpm <= high


def test_substyle_can_be_forced_and_shapes_the_hats():
    techno = [track(seed, "techno") for seed in range(20)]
    house = [track(seed, "house") for seed in range(20)]
    assert {t.substyle for t in techno} == {"techno"} and {t.substyle for t in house} == {"house"}

    def hat_density(t):
        rolls = bar_rolls(t)[bars_of(t, "drop")]
        return rolls[:, :, 2:4].any(axis=2).mean()

    assert np.mean([hat_density(t) for t in techno]) > np.mean([hat_density(t) for t in house])


def test_sidecar_round_trips_through_json():
    t = track(7)
    sidecar = json.loads(json.dumps(t.sidecar()))
    assert sidecar == t.sidecar()
    assert sidecar["seed"] == 7 and sidecar["bars"] == 60
    assert sidecar["substyle"] == t.substyle and sidecar["qpm"] == t.qpm
    assert tuple(Section(**s) for s in sidecar["sections"]) == t.sections


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": 0, "substyle": "trance"}, "substyle"),
        ({"seed": 0, "bars": 0}, "bars"),
    ],
)
def test_bad_arguments_raise_named_error(kwargs, match):
    with pytest.raises(ProgrammedTrackError, match=match):
        generate_programmed_track(**kwargs)
