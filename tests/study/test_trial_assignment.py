"""Pairwise and multi-stimulus pages: balanced pairs, counterbalanced sides, one genre a page."""

from collections import Counter

import pytest

from drumeval.errors import StudyError
from drumeval.study.assignment import (
    PoolClip,
    clip_group,
    page_design_problems,
    plan_mushra,
    plan_pairs,
)

TECHNO = ("a/p/techno-house-700/t1/60bars", "b/p/techno-house-700/t1/60bars")
JAZZ = ("a/p/jazz-soul-700/t1/60bars", "b/p/jazz-soul-700/t1/60bars")
REF = "reference/techno-house-700/60bars"
ANCHOR = "anchor/techno-house-700/60bars"


def _pool(conditions, per_condition=3, roles=None):
    roles = roles or {}
    return [
        PoolClip(100 * c + i, name, roles.get(name, "generated"))
        for c, name in enumerate(conditions)
        for i in range(per_condition)
    ]


def _run(plan, pool, participants, pages, seed=0):
    taken: list[list[int]] = []
    for index in range(participants):
        for page in plan(pool, trials_per_participant=pages, taken=taken, seed=seed + index):
            taken.append([clip_id for clip_id, _ in page])
    return taken


def test_clip_groups_name_the_genre_and_length():
    assert clip_group(TECHNO[0]) == clip_group(REF) == ("", "techno-house", "60bars")
    assert clip_group("demo/" + ANCHOR) == ("demo/", "techno-house", "60bars")
    assert clip_group("a/p/techno-house-1500/t1/60bars") == clip_group(TECHNO[0])
    assert clip_group(JAZZ[0]) != clip_group(TECHNO[0])
    assert clip_group("imported-set") == ("", "", "")


def test_an_imported_condition_is_grouped_by_the_genre_and_bars_the_pool_records():
    assert clip_group("magenta-original", genre="techno-house", bars=60) == clip_group(TECHNO[0])
    assert clip_group("magenta-original", genre="techno-house", bars=8) != clip_group(TECHNO[0])
    assert clip_group("magenta-original", genre="jazz-soul", bars=60) == clip_group(JAZZ[0])
    excerpt = clip_group("magenta-original/bars17-24", genre="techno-house", bars=[17, 24])
    assert excerpt == clip_group(TECHNO[0] + "/bars17-24") == ("", "techno-house", "bars17-24")


def _imported(name: str, first_id: int, genre: str = "techno-house", bars: int = 60):
    return [PoolClip(first_id + i, name, "imported", genre=genre, bars=bars) for i in range(3)]


def test_an_imported_condition_is_paired_with_generated_ones_of_its_genre_and_length():
    pool = _pool(TECHNO) + _imported("magenta-original", 900)
    condition = {clip.clip_id: clip.condition for clip in pool}
    taken = _run(plan_pairs, pool, participants=6, pages=3)
    pairs = Counter(frozenset(condition[i] for i in page) for page in taken)
    assert frozenset((TECHNO[0], "magenta-original")) in pairs
    assert frozenset((TECHNO[1], "magenta-original")) in pairs
    assert set(pairs.values()) == {6}
    assert page_design_problems(pool, "pairwise") == []


def test_a_condition_without_a_partner_of_its_group_is_named():
    eight_bars = _imported("magenta-original", 900, bars=8)
    problems = page_design_problems(_pool(TECHNO) + eight_bars, "pairwise")
    assert len(problems) == 1 and "'magenta-original' (techno-house/8bars)" in problems[0]
    mixed = _imported("mixed", 900) + _imported("mixed", 950, bars=8)
    problems = page_design_problems(_pool(TECHNO) + mixed, "pairwise")
    assert any(
        "'mixed' mixes clips of techno-house/60bars, techno-house/8bars" in p for p in problems
    )


def test_a_mushra_page_takes_an_imported_condition_beside_generated_ones():
    pool = _pool((*TECHNO, REF, ANCHOR), roles={REF: "reference", ANCHOR: "anchor"})
    pool += _imported("magenta-original", 900)
    condition = {clip.clip_id: clip.condition for clip in pool}
    page = plan_mushra(pool, trials_per_participant=1, taken=[], seed=2)[0]
    assert sorted(condition[i] for i, _ in page) == sorted(
        [*TECHNO, REF, ANCHOR, "magenta-original"]
    )
    with pytest.raises(StudyError, match=r"'magenta-original'.*needs a reference, an anchor"):
        plan_mushra(
            _pool((*TECHNO, REF, ANCHOR), roles={REF: "reference", ANCHOR: "anchor"})
            + _imported("magenta-original", 900, genre="jazz-soul"),
            trials_per_participant=1,
            taken=[],
            seed=0,
        )


def test_a_mushra_page_of_two_corpora_holds_one_reference_and_one_anchor():
    big = ("a/p/techno-house-1500/t1/60bars", "reference/techno-house-1500/60bars")
    anchors = {REF: "reference", ANCHOR: "anchor", big[1]: "reference"}
    pool = _pool((*TECHNO, REF, ANCHOR, *big), roles=anchors)
    condition = {clip.clip_id: clip.condition for clip in pool}
    taken = _run(plan_mushra, pool, participants=4, pages=2)
    for page in taken:
        names = [condition[i] for i in page]
        assert sum(anchors.get(n) == "reference" for n in names) == 1
        assert sum(anchors.get(n) == "anchor" for n in names) == 1
        assert {*TECHNO, big[0]} <= set(names)
    heard = Counter(i for page in taken for i in page)
    references = [heard[c.clip_id] for c in pool if anchors.get(c.condition) == "reference"]
    assert len(references) == 6 and max(references) - min(references) <= 1  # by exposure


def test_every_pair_is_compared_about_equally_often_with_sides_counterbalanced():
    conditions = (*TECHNO, "c/p/techno-house-700/t1/60bars", REF)
    pool = _pool(conditions, roles={REF: "reference"})
    condition = {clip.clip_id: clip.condition for clip in pool}
    taken = _run(plan_pairs, pool, participants=20, pages=5)
    pairs = Counter(frozenset(condition[i] for i in page) for page in taken)
    assert len(pairs) == 6 and max(pairs.values()) - min(pairs.values()) <= 1
    sides = Counter(tuple(condition[i] for i in page) for page in taken)
    for pair in pairs:
        x, y = sorted(pair)
        assert abs(sides[(x, y)] - sides[(y, x)]) <= 1
    exposure = Counter(i for page in taken for i in page)
    per_condition = {
        c: [exposure[clip.clip_id] for clip in pool if clip.condition == c] for c in conditions
    }
    assert all(max(counts) - min(counts) <= 1 for counts in per_condition.values())


def test_pairs_never_mix_genres_and_roles_follow_the_clips():
    pool = _pool((*TECHNO, *JAZZ, REF), roles={REF: "reference"})
    condition = {clip.clip_id: clip.condition for clip in pool}
    pages = plan_pairs(pool, trials_per_participant=30, taken=[], seed=4)
    for page in pages:
        a, b = (condition[clip_id] for clip_id, _ in page)
        assert a != b and clip_group(a) == clip_group(b)
        assert [role for _, role in page] == [
            "reference" if condition[clip_id] == REF else "test" for clip_id, _ in page
        ]


def test_pair_plans_are_seeded():
    pool = _pool(TECHNO)
    assert plan_pairs(pool, trials_per_participant=4, taken=[], seed=3) == plan_pairs(
        pool, trials_per_participant=4, taken=[], seed=3
    )


def test_one_condition_per_genre_cannot_make_a_pair():
    with pytest.raises(StudyError, match="two conditions of the same genre"):
        plan_pairs(_pool((TECHNO[0], JAZZ[0])), trials_per_participant=2, taken=[], seed=0)


def test_a_mushra_page_holds_reference_anchor_and_every_test_condition_shuffled():
    conditions = (*TECHNO, REF, ANCHOR)
    pool = _pool(conditions, roles={REF: "reference", ANCHOR: "anchor"})
    condition = {clip.clip_id: clip.condition for clip in pool}
    taken = _run(plan_mushra, pool, participants=6, pages=2)
    orders = set()
    for page in taken:
        assert sorted(condition[i] for i in page) == sorted(conditions)
        orders.add(tuple(condition[i] for i in page))
    assert len(orders) > 1  # shuffled per participant
    exposure = Counter(i for page in taken for i in page)
    assert set(exposure.values()) == {4}  # 12 pages over 3 clips per condition
    page = plan_mushra(pool, trials_per_participant=1, taken=[], seed=1)[0]
    roles = {condition[clip_id]: role for clip_id, role in page}
    assert roles == {TECHNO[0]: "test", TECHNO[1]: "test", REF: "reference", ANCHOR: "anchor"}


def test_a_mushra_page_needs_an_anchor():
    with pytest.raises(StudyError, match="needs a reference, an anchor"):
        plan_mushra(
            _pool((*TECHNO, REF), roles={REF: "reference"}),
            trials_per_participant=1,
            taken=[],
            seed=0,
        )
