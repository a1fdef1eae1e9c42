"""Adaptive pair scheduling (issue 32): after a burn-in, pages go to the pairs whose outcome
is least certain under the Bradley–Terry fit of the votes so far."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from db.engine import transaction
from db.models import PairwiseVote, Study, TrialStimulus
from drumeval.analysis.pairwise import bootstrap_bradley_terry
from drumeval.analysis.schema import PAIRWISE_OUTCOMES
from drumeval.analysis.simulate import draw_pairwise_outcomes
from drumeval.cli import main
from drumeval.errors import StudyError
from drumeval.study.assignment import PoolClip, adaptive_burn_in, plan_pairs
from drumeval.study.preview import preview_study
from tests.factories import STRENGTHS, join_trials, make_trial_study, simulate_votes

NAMES = tuple(f"{model}/p/techno-house-700/t1/60bars" for model in "abcd")
# a and b are close (0.15 log-odds: a near coin flip); c and d are clearly apart from them
STRENGTH = dict(zip(NAMES, (0.0, 0.15, 1.5, 3.0), strict=True))
POOL = [PoolClip(100 * c + i, name, "generated") for c, name in enumerate(NAMES) for i in range(3)]
CONDITION = {clip.clip_id: clip.condition for clip in POOL}
ADAPTIVE = {"adaptive": True, "adaptive_burn_in": 5}


def _study(design, participants: int, pages: int = 6, seed: int = 0):
    """A seeded study of simulated voters with a known preference: (taken, votes, tidy votes)."""
    rng = np.random.default_rng(seed)
    taken: list[list[int]] = []
    votes: list[tuple[int, int, str]] = []
    rows = []
    for index in range(participants):
        plan = plan_pairs(
            POOL, trials_per_participant=pages, taken=taken, seed=index, votes=votes, design=design
        )
        for page in plan:
            a, b = (clip_id for clip_id, _ in page)
            difference = np.array([STRENGTH[CONDITION[a]] - STRENGTH[CONDITION[b]]])
            code = draw_pairwise_outcomes(difference, rng, tie_share=0.1, both_bad_share=0.05)
            outcome = PAIRWISE_OUTCOMES[int(code[0])]
            taken.append([a, b])
            votes.append((a, b, outcome))
            rows.append((f"p{index}", f"t{len(rows)}", CONDITION[a], CONDITION[b], outcome))
    columns = ["participant_id", "trial_id", "condition_a", "condition_b", "outcome"]
    return taken, votes, pd.DataFrame(rows, columns=columns)


def _pairs(taken) -> Counter:
    return Counter(frozenset(CONDITION[clip_id] for clip_id in page) for page in taken)


def test_adaptive_puts_more_votes_on_the_close_pair_and_narrows_its_ci():
    close = frozenset(NAMES[:2])
    results = {}
    for mode, design in (("balanced", None), ("adaptive", ADAPTIVE)):
        taken, _, votes = _study(design, participants=60)
        fit = bootstrap_bradley_terry(votes, n_boot=400, seed=0, anchor=NAMES[0])
        # anchored at a, b's interval is the interval of the close pair's difference b − a
        width = fit.loc[NAMES[1], "ci_high"] - fit.loc[NAMES[1], "ci_low"]
        results[mode] = (len(votes), _pairs(taken), width)
    (total, balanced, balanced_width), (adaptive_total, adaptive, adaptive_width) = (
        results["balanced"],
        results["adaptive"],
    )
    assert total == adaptive_total == 360  # the same number of votes in both studies
    assert set(balanced.values()) == {60}  # balanced: every pair equally often
    assert adaptive[close] >= 1.3 * balanced[close]
    assert adaptive[close] == max(adaptive.values())
    clearest = frozenset((NAMES[0], NAMES[3]))  # 3 log-odds apart: p ≈ 0.95
    assert adaptive[clearest] == min(adaptive.values()) and adaptive[clearest] >= 5
    assert adaptive_width < 0.95 * balanced_width


def test_until_every_pair_has_its_burn_in_the_plan_is_the_balanced_one():
    taken, votes, _ = _study(None, participants=4)  # 24 votes: 4 per pair, burn-in is 5
    for seed in range(3):
        balanced = plan_pairs(POOL, trials_per_participant=6, taken=taken, seed=seed, votes=votes)
        assert balanced == plan_pairs(
            POOL, trials_per_participant=6, taken=taken, seed=seed, votes=votes, design=ADAPTIVE
        )
    # "both bad" votes are left out of the fit, so they do not count toward the burn-in
    enough = {"adaptive": True, "adaptive_burn_in": 3}
    both_bad = [(a, b, "both_bad") for a, b, _ in votes]
    assert plan_pairs(
        POOL, trials_per_participant=6, taken=taken, seed=1, votes=both_bad, design=enough
    ) == plan_pairs(POOL, trials_per_participant=6, taken=taken, seed=1, votes=both_bad)
    assert plan_pairs(
        POOL, trials_per_participant=6, taken=taken, seed=1, votes=votes, design=enough
    ) != plan_pairs(POOL, trials_per_participant=6, taken=taken, seed=1, votes=votes)


def test_adaptive_pages_keep_sides_clips_and_conditions_balanced_and_are_seeded():
    taken, votes, _ = _study(ADAPTIVE, participants=40)
    sides = Counter(tuple(CONDITION[clip_id] for clip_id in page) for page in taken)
    for x, y in (tuple(sorted(pair)) for pair in _pairs(taken)):
        assert abs(sides[(x, y)] - sides[(y, x)]) <= 1  # sides counterbalanced
    assert all(CONDITION[a] != CONDITION[b] for a, b in taken)  # never one condition twice
    exposure = Counter(clip_id for page in taken for clip_id in page)
    for name in NAMES:  # the least heard clip of a condition first
        heard = [exposure[clip.clip_id] for clip in POOL if clip.condition == name]
        assert max(heard) - min(heard) <= 1
    again = plan_pairs(
        POOL, trials_per_participant=6, taken=taken, seed=9, votes=votes, design=ADAPTIVE
    )
    assert again == plan_pairs(
        POOL, trials_per_participant=6, taken=taken, seed=9, votes=votes, design=ADAPTIVE
    )


def test_ties_count_as_half_wins_toward_the_fit():
    """Ties on a–b make it a coin flip (most uncertain: more pages); b winning every time
    makes it as clear as the other pairs (fewer pages)."""
    taken, _, _ = _study(None, participants=4)
    close = frozenset(NAMES[:2])

    def pages_on_close_pair(close_outcome: str | None) -> int:
        votes = []
        for a, b in taken:  # the later name always wins, but on a–b: `close_outcome`
            winner = "a" if CONDITION[a] > CONDITION[b] else "b"
            on_close = {CONDITION[a], CONDITION[b]} == close
            votes.append((a, b, close_outcome or winner if on_close else winner))
        design = {"adaptive": True, "adaptive_burn_in": 1}
        plan = plan_pairs(
            POOL, trials_per_participant=6, taken=taken, seed=0, votes=votes, design=design
        )
        return _pairs([[a, b] for (a, _), (b, _) in plan])[close]

    assert pages_on_close_pair("tie") > pages_on_close_pair(None)


@pytest.mark.parametrize("burn_in", [0, -1, "5", True, 1.5])
def test_a_bad_burn_in_in_the_design_is_a_clear_error(burn_in):
    with pytest.raises(StudyError, match="adaptive_burn_in must be a whole number"):
        adaptive_burn_in({"adaptive": True, "adaptive_burn_in": burn_in})
    assert adaptive_burn_in({"adaptive": False, "adaptive_burn_in": burn_in}) is None
    assert adaptive_burn_in({"adaptive": True}) == 5 and adaptive_burn_in(None) is None


def _make_adaptive(engine, burn_in: int) -> dict:
    study = make_trial_study(engine, trial_type="pairwise", trials_per_participant=3)
    with transaction(engine, write_lock=True) as session:
        row = session.get(Study, study["study_id"])
        row.design = {**row.design, "adaptive": True, "adaptive_burn_in": burn_in}
    return study


def _votes(engine) -> list[tuple[int, int, str, str | None]]:
    """Every stored vote: clip on side A, clip on side B, outcome, flag (in vote order)."""
    with transaction(engine) as session:
        votes = session.scalars(select(PairwiseVote).order_by(PairwiseVote.id)).all()
        return [
            (
                *session.scalars(
                    select(TrialStimulus.clip_id)
                    .where(TrialStimulus.trial_id == vote.trial_id)
                    .order_by(TrialStimulus.slot)
                ),
                vote.outcome,
                vote.flag,
            )
            for vote in votes
        ]


def test_the_repository_hands_the_planner_the_counted_votes_and_the_design(db_engine):
    study_id = _make_adaptive(db_engine, burn_in=2)["study_id"]
    simulate_votes(db_engine, study_id, participants=2, seed=3)
    with transaction(db_engine, write_lock=True) as session:
        session.scalars(select(PairwiseVote).order_by(PairwiseVote.id)).first().flag = "burst"
    seen = {}

    def spy(pool, **inputs):
        seen.update(inputs)
        return plan_pairs(pool, **inputs)

    join_trials(db_engine, study_id, 1, spy)
    stored = _votes(db_engine)
    assert len(stored) == 6 and stored[0][3] == "burst"
    assert seen["votes"] == [(a, b, outcome) for a, b, outcome, _ in stored[1:]]
    assert seen["design"]["adaptive"] is True and seen["design"]["adaptive_burn_in"] == 2


def test_an_adaptive_study_runs_end_to_end_and_favours_uncertain_pairs(db_engine):
    study = _make_adaptive(db_engine, burn_in=2)
    for seed in range(40):  # each participant votes before the next one starts
        simulate_votes(db_engine, study["study_id"], participants=1, seed=seed)
    condition = study["clips"]
    pairs = Counter(frozenset((condition[a], condition[b])) for a, b, _, _ in _votes(db_engine))
    assert len(pairs) == 6 and min(pairs.values()) >= 2 and sum(pairs.values()) == 120
    clearest = max(pairs, key=lambda pair: abs(np.subtract(*[STRENGTHS[c] for c in pair])))
    assert pairs[clearest] == min(pairs.values()) < 120 / 6


def test_an_adaptive_study_previews_its_first_participants_pages(db_engine):
    _make_adaptive(db_engine, burn_in=5)
    walk = preview_study(db_engine, "trials", seed=2)
    assert [page.number for page in walk.pages] == [1, 2, 3]
    assert all(page.clips[0].condition != page.clips[1].condition for page in walk.pages)
    assert len({frozenset(clip.condition for clip in page.clips) for page in walk.pages}) == 3


def test_study_plan_pairwise_says_what_adaptive_scheduling_does(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["study", "plan", "--pairwise", "--conditions", "3", "--half-width", "150", "--coarse"]
        )
    out = " ".join(capsys.readouterr().out.split())
    assert (exit_info.value.code or 0) == 0
    assert "Sized for balanced pair scheduling. With adaptive = true" in out
    assert "adaptive_burn_in counted votes (default 5)" in out and "p(1 − p)" in out
