"""The assignment design, property by property, over many seeds and study sizes."""

import itertools
from collections import Counter

import pytest

from drumeval.errors import StudyError
from drumeval.study.assignment import PoolClip, assign_clips


def make_pool(conditions: int, per_condition: int, *, references: int = 0, anchors: int = 0):
    pool = [
        PoolClip(c * 100 + i, f"model-{c}", "generated")
        for c in range(conditions)
        for i in range(per_condition)
    ]
    pool += [PoolClip(9000 + i, "reference", "reference") for i in range(references)]
    pool += [PoolClip(9500 + i, "anchor", "anchor") for i in range(anchors)]
    return pool


def simulate(pool, clips_per_participant: int, participants: int, seed: int = 0):
    """Participants arriving one by one; yields (clip ids, exposure, position counts) after each."""
    condition = {clip.clip_id: clip.condition for clip in pool}
    exposure: Counter[int] = Counter()
    positions: Counter[tuple[str, int]] = Counter()
    for index in range(participants):
        chosen = assign_clips(
            pool,
            clips_per_participant=clips_per_participant,
            exposure=exposure,
            position_counts=positions,
            seed=seed * 10_000 + index,
        )
        for position, clip_id in enumerate(chosen, start=1):
            exposure[clip_id] += 1
            positions[(condition[clip_id], position)] += 1
        yield chosen, exposure, positions


SIZES = [
    (conditions, per_condition, k)
    for conditions in (1, 2, 3, 4, 5)
    for per_condition in (1, 2, 3, 5)
    for k in range(1, conditions * per_condition + 1)
]


@pytest.mark.parametrize(("conditions", "per_condition", "k"), SIZES)
def test_exposure_stays_balanced_after_every_participant(conditions, per_condition, k):
    pool = make_pool(conditions, per_condition, references=1, anchors=2)
    for chosen, exposure, _ in simulate(pool, k, participants=12, seed=k):
        assert len(chosen) == len(set(chosen)) == k
        counts = [exposure[clip.clip_id] for clip in pool]
        assert max(counts) - min(counts) <= 1


@pytest.mark.parametrize(
    ("conditions", "per_condition", "k"),
    [(c, n, k) for c, n, k in SIZES if k % c == 0] + [(6, 4, 12), (4, 8, 12), (3, 10, 12)],
)
def test_each_participant_hears_every_condition_equally_when_divisible(
    conditions, per_condition, k
):
    pool = make_pool(conditions, per_condition)
    for chosen, _, _ in simulate(pool, k, participants=15, seed=3):
        per_condition_counts = Counter(clip_id // 100 for clip_id in chosen)
        assert set(per_condition_counts.values()) == {k // conditions}
        assert len(per_condition_counts) == conditions


@pytest.mark.parametrize("seed", range(40))
def test_a_first_participant_gets_conditions_within_one(seed):
    conditions, per_condition = 2 + seed % 4, 1 + seed % 3
    for k in range(1, conditions * per_condition + 1):
        pool = make_pool(conditions, per_condition)
        chosen = assign_clips(
            pool, clips_per_participant=k, exposure={}, position_counts={}, seed=seed
        )
        counts = Counter(clip_id // 100 for clip_id in chosen)
        values = [counts.get(c, 0) for c in range(conditions)]
        assert max(values) - min(values) <= 1


@pytest.mark.parametrize(
    ("conditions", "per_condition", "k"),
    [(c, n, k) for c, n, k in SIZES if k % c == 0 and c > 1] + [(6, 4, 12), (4, 8, 12)],
)
def test_conditions_are_counterbalanced_over_positions(conditions, per_condition, k):
    pool = make_pool(conditions, per_condition)
    for _, _, positions in simulate(pool, k, participants=2 * conditions + 3, seed=5):
        for c in range(conditions):
            counts = [positions[(f"model-{c}", p)] for p in range(1, k + 1)]
            assert max(counts) - min(counts) <= 1, (c, counts)


def test_counterbalancing_also_holds_for_very_large_designs():
    """Twelve conditions of two clips exceed the exact search: the fallback keeps the balance."""
    pool = make_pool(12, 2)
    runs = list(simulate(pool, 24, participants=6, seed=1))
    for _, _, positions in runs:
        for c in range(12):
            counts = [positions[(f"model-{c}", p)] for p in range(1, 25)]
            assert max(counts) - min(counts) <= 1
    assert [chosen for chosen, _, _ in runs] == [
        chosen for chosen, _, _ in simulate(pool, 24, participants=6, seed=1)
    ]


def test_the_same_inputs_give_the_same_order_and_seeds_change_it():
    pool = make_pool(4, 3, references=2, anchors=2)
    arguments = {"clips_per_participant": 8, "exposure": {101: 1}, "position_counts": {}}
    orders = [tuple(assign_clips(pool, seed=seed, **arguments)) for seed in range(60)]
    assert orders == [tuple(assign_clips(pool, seed=seed, **arguments)) for seed in range(60)]
    assert len(set(orders)) >= 55
    assert len({order[0] // 100 for order in orders}) >= 5  # any condition may come first
    assert all(101 not in order for order in orders)  # the already-heard clip waits its turn


def test_references_and_anchors_land_at_random_positions():
    pool = make_pool(3, 4, references=2, anchors=2)
    places: dict[str, Counter[int]] = {"reference": Counter(), "anchor": Counter()}
    for seed in range(200):
        chosen = assign_clips(
            pool, clips_per_participant=8, exposure={}, position_counts={}, seed=seed
        )
        for position, clip_id in enumerate(chosen, start=1):
            if clip_id >= 9500:
                places["anchor"][position] += 1
            elif clip_id >= 9000:
                places["reference"][position] += 1
    for counts in places.values():
        assert set(counts) == set(range(1, 9))
        assert max(counts.values()) < 3 * min(counts.values())


def _optimum(conditions: list[str], position_counts) -> tuple[int, int]:
    """Brute force: least position cost, then fewest alike neighbours, over all orders."""
    size = len(conditions)

    def cost(order):
        total = 0
        for position, condition in enumerate(order, start=1):
            seen = [position_counts.get((condition, p), 0) for p in range(1, size + 1)]
            total += (position_counts.get((condition, position), 0) - min(seen)) ** 2
        return total

    return min(
        (cost(order), sum(a == b for a, b in itertools.pairwise(order)))
        for order in set(itertools.permutations(conditions))
    )


@pytest.mark.parametrize("seed", range(30))
def test_same_condition_neighbours_only_when_unavoidable(seed):
    """Compared with every possible order: best counterbalancing, then fewest alike neighbours."""
    pool = make_pool(3, 3, anchors=1)
    condition = {clip.clip_id: clip.condition for clip in pool}
    k = 4 + seed % 3
    for chosen, _, positions in simulate(pool, k, participants=6, seed=seed):
        before = positions.copy()
        for position, clip_id in enumerate(chosen, start=1):
            before[(condition[clip_id], position)] -= 1
        order = [condition[clip_id] for clip_id in chosen]
        achieved = _optimum(order, before)
        cost = sum(
            (before[(c, p)] - min(before[(c, q)] for q in range(1, k + 1))) ** 2
            for p, c in enumerate(order, start=1)
        )
        assert (cost, sum(a == b for a, b in itertools.pairwise(order))) == achieved


def test_a_fresh_participant_never_hears_one_condition_twice_in_a_row():
    for seed in range(50):
        chosen = assign_clips(
            make_pool(2, 5), clips_per_participant=9, exposure={}, position_counts={}, seed=seed
        )
        assert all(a // 100 != b // 100 for a, b in itertools.pairwise(chosen))


@pytest.mark.parametrize(
    ("pool", "k", "message"),
    [
        ([], 1, "no clips"),
        (make_pool(2, 2), 5, "has 4 clips but asks for 5"),
        (make_pool(2, 2), 0, "at least 1"),
        ([PoolClip(1, "a", "generated"), PoolClip(1, "b", "generated")], 1, "twice"),
    ],
)
def test_impossible_requests_are_study_errors(pool, k, message):
    with pytest.raises(StudyError, match=message):
        assign_clips(pool, clips_per_participant=k, exposure={}, position_counts={}, seed=0)
