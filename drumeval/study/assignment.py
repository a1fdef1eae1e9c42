"""Which clips an evaluator rates, and in what order: a pure, seeded design function.

Called inside the transaction that starts a participant, with the exposure and
position counts of everyone who started before, so that the study stays balanced as
participants arrive one by one (we never know in advance how many will come):

1. Exposure first: a participant takes the least-rated clips, so per-clip counts
   never differ by more than one.
2. Among equally exposed clips, conditions are spread as evenly as possible over the
   participant's clips, preferring conditions that still have many clips at the lowest
   exposure (so the next participants can stay even too).
3. Positions: each condition goes where it has appeared least (counterbalancing
   against order and fatigue effects), and among such orders one with the fewest
   same-condition neighbours is chosen (a small dynamic programme; a minimum-cost
   assignment plus a local search for very large designs). Ties are broken by the seed.

References and anchors are ordinary conditions here, which puts them at random,
counterbalanced positions.
"""

import functools
import itertools
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from drumeval.errors import StudyError

# Largest (remaining counts × last condition) state space ordered exactly.
_MAX_EXACT_STATES = 5_000
# Budget of the search that separates same-condition neighbours (swaps tried per clip).
_SEARCH_STEPS_PER_CLIP = 200


@dataclass(frozen=True)
class PoolClip:
    """A clip a study may assign: only what the design needs to know about it."""

    clip_id: int
    condition: str
    role: str


def assign_clips(
    pool: Sequence[PoolClip],
    *,
    clips_per_participant: int,
    exposure: Mapping[int, int],
    position_counts: Mapping[tuple[str, int], int],
    seed: int,
) -> list[int]:
    """Clip ids for positions 1..K of one participant (position 0, training, is not here).

    `exposure` maps clip id → times already assigned (missing = 0); `position_counts`
    maps (condition, position) → times that condition was already at that position.
    """
    if not pool:
        raise StudyError("the study has no clips to assign")
    if clips_per_participant < 1:
        raise StudyError("clips per participant must be at least 1")
    if len({clip.clip_id for clip in pool}) != len(pool):
        raise StudyError("the clip pool lists a clip twice")
    if len(pool) < clips_per_participant:
        raise StudyError(
            f"the study has {len(pool)} clips but asks for {clips_per_participant} per participant"
        )
    rng = random.Random(seed)
    chosen = _choose_clips(pool, clips_per_participant, exposure, rng)
    return [clip.clip_id for clip in _order_clips(chosen, position_counts, rng)]


def _choose_clips(
    pool: Sequence[PoolClip], count: int, exposure: Mapping[int, int], rng: random.Random
) -> list[PoolClip]:
    """Take whole exposure levels from the lowest up; split the last one by condition."""
    levels: dict[int, list[PoolClip]] = defaultdict(list)
    for clip in sorted(pool, key=lambda clip: clip.clip_id):
        levels[exposure.get(clip.clip_id, 0)].append(clip)
    chosen: list[PoolClip] = []
    for level in sorted(levels):
        candidates = levels[level]
        rng.shuffle(candidates)
        if len(chosen) + len(candidates) <= count:
            chosen.extend(candidates)
        else:
            chosen.extend(_spread_conditions(chosen, candidates, count - len(chosen)))
        if len(chosen) == count:
            break
    return chosen


def _spread_conditions(
    chosen: Sequence[PoolClip], candidates: Sequence[PoolClip], count: int
) -> list[PoolClip]:
    """Pick `count` candidates, one at a time from the least represented condition."""
    taken = Counter(clip.condition for clip in chosen)
    remaining: dict[str, list[PoolClip]] = defaultdict(list)
    for clip in candidates:
        remaining[clip.condition].append(clip)
    # The candidates are already shuffled: their order breaks ties between conditions.
    first_seen = {condition: index for index, condition in enumerate(remaining)}
    picked: list[PoolClip] = []
    for _ in range(count):
        condition = min(
            (condition for condition, clips in remaining.items() if clips),
            key=lambda c: (taken[c], -len(remaining[c]), first_seen[c]),
        )
        picked.append(remaining[condition].pop())
        taken[condition] += 1
    return picked


def _order_clips(
    chosen: Sequence[PoolClip],
    position_counts: Mapping[tuple[str, int], int],
    rng: random.Random,
) -> list[PoolClip]:
    size = len(chosen)
    conditions = sorted({clip.condition for clip in chosen})
    counts = Counter(clip.condition for clip in chosen)
    # Cost of a condition at a position: how far it is already over-represented there,
    # squared so that one large excess costs more than several small ones.
    cost = {}
    for condition in conditions:
        seen = [position_counts.get((condition, p), 0) for p in range(1, size + 1)]
        cost[condition] = [(n - min(seen)) ** 2 for n in seen]
    state_space = (len(conditions) + 1) * math.prod(n + 1 for n in counts.values())
    if state_space <= _MAX_EXACT_STATES:
        sequence = _exact_condition_sequence(conditions, counts, cost, rng)
    else:
        sequence = _separate_conditions(_cheapest_condition_sequence(chosen, cost, rng), cost, rng)
    slots: dict[str, list[PoolClip]] = defaultdict(list)
    for clip in chosen:
        slots[clip.condition].append(clip)
    for clips in slots.values():
        rng.shuffle(clips)
    return [slots[condition].pop() for condition in sequence]


def _exact_condition_sequence(
    conditions: Sequence[str],
    counts: Mapping[str, int],
    cost: Mapping[str, Sequence[int]],
    rng: random.Random,
) -> list[str]:
    """Dynamic programme: least position cost first, then fewest alike neighbours.

    Small random perturbations (summing to less than one) pick one optimum at random.
    """
    size = sum(counts.values())
    weight = size + 1  # one unit of position cost outweighs every possible neighbour pair
    jitter = {c: [rng.random() / (2 * size) for _ in range(size)] for c in conditions}
    index = {condition: i for i, condition in enumerate(conditions)}

    @functools.cache
    def best(remaining: tuple[int, ...], last: int) -> tuple[float, tuple[str, ...]]:
        position = size - sum(remaining)
        if position == size:
            return 0.0, ()
        options = []
        for condition in conditions:
            i = index[condition]
            if remaining[i] == 0:
                continue
            rest = (*remaining[:i], remaining[i] - 1, *remaining[i + 1 :])
            tail_cost, tail = best(rest, i)
            step = cost[condition][position] * weight + (i == last) + jitter[condition][position]
            options.append((step + tail_cost, (condition, *tail)))
        return min(options)

    return list(best(tuple(counts[c] for c in conditions), -1)[1])


def _cheapest_condition_sequence(
    chosen: Sequence[PoolClip], cost: Mapping[str, Sequence[int]], rng: random.Random
) -> list[str]:
    """Minimum-cost assignment of clips to positions, ties broken at random."""
    size = len(chosen)
    matrix = np.array([cost[clip.condition] for clip in chosen], dtype=float)
    noise = np.array([[rng.random() for _ in range(size)] for _ in chosen])
    rows, columns = linear_sum_assignment(matrix + 0.5 * noise / size)
    sequence = [""] * size
    for row, column in zip(rows, columns, strict=True):
        sequence[column] = chosen[row].condition
    return sequence


def _separate_conditions(
    sequence: list[str], cost: Mapping[str, Sequence[int]], rng: random.Random
) -> list[str]:
    """Swap conditions to remove alike neighbours without raising the position cost.

    For pools too large for the exact programme: a bounded random walk over cost-neutral
    swaps (sideways moves included, so it does not stall); the best order seen wins.
    """

    def neighbours_alike(order: Sequence[str]) -> int:
        return sum(a == b for a, b in itertools.pairwise(order))

    size = len(sequence)
    current = neighbours_alike(sequence)
    best, best_count = list(sequence), current
    for _ in range(_SEARCH_STEPS_PER_CLIP * size):
        if best_count == 0:
            break
        i, j = rng.randrange(size), rng.randrange(size)
        a, b = sequence[i], sequence[j]
        if a == b or cost[a][i] + cost[b][j] != cost[b][i] + cost[a][j]:
            continue
        sequence[i], sequence[j] = b, a
        count = neighbours_alike(sequence)
        if count <= current:
            current = count
            if count < best_count:
                best, best_count = list(sequence), count
        else:
            sequence[i], sequence[j] = a, b
    return best


def assign_with_gold(
    pool: Sequence[PoolClip],
    *,
    clips_per_participant: int,
    exposure: Mapping[int, int],
    position_counts: Mapping[tuple[str, int], int],
    seed: int,
) -> list[int]:
    """`assign_clips` over the pool's other clips, plus one gold clip (role `gold`, a known
    answer) when the pool has any: the least exposed one, at a seeded random position, so
    every participant meets one and cannot learn where it comes."""
    gold = [clip for clip in pool if clip.role == "gold"]
    ids = assign_clips(
        [clip for clip in pool if clip.role != "gold"],
        clips_per_participant=clips_per_participant,
        exposure=exposure,
        position_counts=position_counts,
        seed=seed,
    )
    if gold:
        rng = random.Random(seed)
        fewest = min(exposure.get(clip.clip_id, 0) for clip in gold)
        chosen = rng.choice([clip for clip in gold if exposure.get(clip.clip_id, 0) == fewest])
        ids.insert(rng.randint(0, len(ids)), chosen.clip_id)
    return ids


# --- pairwise and multi-stimulus pages ----------------------------------------------------

# Pool names: `demo/`, `kit-<name>/`, both or none before a condition (`drumeval.study.pool`).
POOL_PREFIXES = re.compile(r"^(demo/)?(kit-[a-z0-9]+/)?")
EXCERPT_SUFFIX = re.compile(r"bars\d+-\d+")  # `…/60bars/bars17-24`: an excerpt's condition
_PAGE_ROLES = {"reference": "reference", "anchor": "anchor"}  # every other clip is a test


def clip_group(condition: str) -> tuple[str, str, str]:
    """(pool prefix, corpus, length) of a pool condition: the clips that may share a page.

    Generated `model/preset/corpus/t/Nbars` and `reference|anchor|gold/corpus/Nbars` name
    their corpus (the genre) and length; an imported condition is in the one group ("").
    """
    prefix = POOL_PREFIXES.match(condition).group(0)  # type: ignore[union-attr]
    parts = condition.removeprefix(prefix).split("/")
    if parts and EXCERPT_SUFFIX.fullmatch(parts[-1]):  # an excerpt: grouped by its cut
        return prefix, "/".join(clip_group("/".join(parts[:-1]))[1:]), parts[-1]
    if len(parts) == 3 and parts[0] in ("reference", "anchor", "gold"):
        return prefix, parts[1], parts[2]
    if len(parts) == 5:
        return prefix, parts[2], parts[4]
    return "", "", ""


def _least(candidates: Sequence[PoolClip], exposure: Counter, rng: random.Random) -> PoolClip:
    fewest = min(exposure[clip.clip_id] for clip in candidates)
    return rng.choice([clip for clip in candidates if exposure[clip.clip_id] == fewest])


DEFAULT_ADAPTIVE_BURN_IN = 5  # votes every pair needs before adaptive scheduling starts
ADAPTIVE_SUMMARY = (  # what `study plan --pairwise` and the study guide say adaptive does
    "With adaptive = true, once every pair of conditions has adaptive_burn_in counted votes "
    f"(default {DEFAULT_ADAPTIVE_BURN_IN}), each new participant's pages go to the pairs whose "
    "outcome is least certain (Bradley–Terry's p(1 − p) over 1 + the pages on the pair): close "
    "pairs get more votes and narrower CIs, clear pairs fewer and wider."
)


def adaptive_burn_in(design: Mapping[str, Any] | None) -> int | None:
    """The votes per pair after which a pairwise study schedules adaptively; None: balanced.

    `design` is the study's design JSON (`setup.StudyConfig.design`: `adaptive`,
    `adaptive_burn_in`).
    """
    if not design or not design.get("adaptive"):
        return None
    burn_in = design.get("adaptive_burn_in", DEFAULT_ADAPTIVE_BURN_IN)
    if not isinstance(burn_in, int) or isinstance(burn_in, bool) or burn_in < 1:
        raise StudyError(f"adaptive_burn_in must be a whole number of at least 1, not {burn_in!r}")
    return burn_in


def _outcome_uncertainty(
    pairs: Sequence[tuple[str, str]],
    votes: Sequence[tuple[int, int, str]],
    condition_of: Mapping[int, str],
    burn_in: int,
) -> dict[frozenset, float] | None:
    """p(1 − p) of each pair under the Bradley–Terry fit of the votes so far, the analysis's
    own (`analysis.pairwise`: ties as half wins, "both bad" left out); None until every pair
    has `burn_in` such votes, so that the first fit stands on every pair."""
    import pandas as pd

    from drumeval.analysis import pairwise

    known = [
        (condition_of[a], condition_of[b], outcome)
        for a, b, outcome in votes
        if a in condition_of and b in condition_of
    ]
    fitted = Counter(frozenset((a, b)) for a, b, outcome in known if outcome != "both_bad")
    if not known or any(fitted[frozenset(pair)] < burn_in for pair in pairs):
        return None
    frame = pd.DataFrame(known, columns=["condition_a", "condition_b", "outcome"])
    # who voted does not change the win counts the fit starts from
    frame = frame.assign(participant_id="", trial_id=range(len(frame)))
    probability = pairwise.pair_win_probabilities(pairwise.win_matrix(frame))
    return {
        frozenset((x, y)): float(probability.loc[x, y] * (1 - probability.loc[x, y]))
        for x, y in pairs
    }


def plan_pairs(
    pool: Sequence[PoolClip],
    *,
    trials_per_participant: int,
    taken: Sequence[Sequence[int]],
    seed: int,
    votes: Sequence[tuple[int, int, str]] = (),
    design: Mapping[str, Any] | None = None,
) -> list[list[tuple[int, str]]]:
    """Pairs of clips for one participant: (clip id, role) for side A then side B.

    Balanced as participants arrive: each page takes the pair of conditions compared least
    often so far (this participant's earlier pages included; one of the same genre and
    length, never two clips of one condition), puts on side A the condition that was there
    less often for this pair (sides counterbalanced), and the least heard clip of each.
    `taken`: the clip ids of every earlier page, side A first.

    Adaptive (`design` says `adaptive = true`, see `adaptive_burn_in`): once every pair has
    the burn-in's votes, a page takes instead the pair of the largest
    p(1 − p) / ((1 + n) (1 + m)) — p the fitted chance that one side wins (`votes`: clip on
    side A, clip on side B and outcome of each counted vote so far), n the pages on the pair
    so far (answered or not, so that participants starting together spread out), m this
    participant's own (one listener's votes are correlated, so a repeat is worth less).
    Sides and clips are chosen as in balanced mode.
    """
    if trials_per_participant < 1:
        raise StudyError("pages per participant must be at least 1")
    by_condition: dict[str, list[PoolClip]] = defaultdict(list)
    for clip in sorted(pool, key=lambda clip: clip.clip_id):
        by_condition[clip.condition].append(clip)
    pairs = [
        (x, y)
        for x, y in itertools.combinations(sorted(by_condition), 2)
        if clip_group(x) == clip_group(y)
    ]
    if not pairs:
        raise StudyError("a pairwise study needs two conditions of the same genre and length")
    condition_of = {clip.clip_id: clip.condition for clip in pool}
    exposure: Counter = Counter()
    compared: Counter = Counter()
    sides: Counter = Counter()
    for page in taken:
        exposure.update(page)
        if len(page) == 2 and all(clip_id in condition_of for clip_id in page):
            a, b = (condition_of[clip_id] for clip_id in page)
            compared[frozenset((a, b))] += 1
            sides[(a, b)] += 1
    burn_in = adaptive_burn_in(design)
    uncertainty = (
        None if burn_in is None else _outcome_uncertainty(pairs, votes, condition_of, burn_in)
    )
    rng = random.Random(seed)
    mine: Counter = Counter()

    def priority(pair: tuple[str, str]) -> tuple[float, ...]:
        key = frozenset(pair)
        if uncertainty is None:
            return (compared[key], mine[key], rng.random())
        return (-uncertainty[key] / ((1 + compared[key]) * (1 + mine[key])), rng.random())

    planned: list[list[tuple[int, str]]] = []
    for _ in range(trials_per_participant):
        x, y = min(pairs, key=priority)
        first, second = (x, y) if (sides[(x, y)], rng.random()) < (sides[(y, x)], 0.5) else (y, x)
        page = [
            _least(by_condition[first], exposure, rng),
            _least(by_condition[second], exposure, rng),
        ]
        compared[frozenset((x, y))] += 1
        mine[frozenset((x, y))] += 1
        sides[(first, second)] += 1
        exposure.update(clip.clip_id for clip in page)
        planned.append([(clip.clip_id, _PAGE_ROLES.get(clip.role, "test")) for clip in page])
    return planned


def plan_mushra(
    pool: Sequence[PoolClip],
    *,
    trials_per_participant: int,
    taken: Sequence[Sequence[int]],
    seed: int,
    votes: Sequence[tuple[int, int, str]] = (),
    design: Mapping[str, Any] | None = None,
) -> list[list[tuple[int, str]]]:
    """Multi-stimulus pages for one participant: (clip id, role) in the order shown.

    Each page holds one clip of every condition of one genre and length — the hidden
    reference, the low anchor and each test condition — the least heard clip of each, in a
    seeded random order; pages go to the least used genre first. `votes` and `design`, which
    every page plan is handed (`plan_pairs`), change nothing here.
    """
    if trials_per_participant < 1:
        raise StudyError("pages per participant must be at least 1")
    groups: dict[tuple[str, str, str], dict[str, list[PoolClip]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for clip in sorted(pool, key=lambda clip: clip.clip_id):
        groups[clip_group(clip.condition)][clip.condition].append(clip)
    for group, conditions in groups.items():
        roles = {clip.role for clips in conditions.values() for clip in clips}
        if not {"reference", "anchor"} <= roles or len(conditions) < 3:
            name = "/".join(part.strip("/") for part in group if part) or "imported clips"
            raise StudyError(
                f"a multi-stimulus page of {name} needs a reference, an anchor and a test condition"
            )
    group_of = {clip.clip_id: clip_group(clip.condition) for clip in pool}
    exposure: Counter = Counter()
    used: Counter = Counter()
    for page in taken:
        exposure.update(page)
        if page and page[0] in group_of:
            used[group_of[page[0]]] += 1
    rng = random.Random(seed)
    planned: list[list[tuple[int, str]]] = []
    for _ in range(trials_per_participant):
        group = min(sorted(groups), key=lambda g: (used[g], rng.random()))
        page = [_least(clips, exposure, rng) for _, clips in sorted(groups[group].items())]
        rng.shuffle(page)
        used[group] += 1
        exposure.update(clip.clip_id for clip in page)
        planned.append([(clip.clip_id, _PAGE_ROLES.get(clip.role, "test")) for clip in page])
    return planned
