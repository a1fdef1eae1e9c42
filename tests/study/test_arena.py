"""The arena's library: pairing within a genre, rate limit, burst flags, reveal after the
vote only, and the leaderboard that leaves flagged votes out (both database backends)."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from db import repository
from db.engine import transaction
from db.models import Event, PairwiseVote, Participant
from drumeval.errors import RateLimitError, RatingError
from drumeval.study import arena
from tests.factories import SECONDS, make_arena

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _at(*seconds: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in seconds]


# --- pure rules ------------------------------------------------------------------------------


def test_the_rate_limit_counts_the_last_minute_only():
    assert arena.seconds_until_allowed([], T0, per_minute=2) == 0.0
    assert arena.seconds_until_allowed(_at(0), T0 + timedelta(seconds=5), per_minute=2) == 0.0
    # two votes at 0 s and 20 s: the third waits until the first is a minute old
    assert arena.seconds_until_allowed(_at(0, 20), T0 + timedelta(seconds=30), per_minute=2) == 30
    assert arena.seconds_until_allowed(_at(0, 20), T0 + timedelta(seconds=60), per_minute=2) == 0


def test_a_run_of_identical_quick_votes_is_flagged_whole():
    votes = list(zip(_at(0, 10, 20, 30, 40, 50), ["a", "a", "a", "a", "a", "b"], strict=True))
    assert arena.burst_flags(votes, size=5, window_seconds=60) == [True] * 5 + [False]
    assert arena.burst_flags(votes[:4], size=5, window_seconds=60) == [False] * 4


def test_slow_or_mixed_votes_are_not_a_burst():
    slow = list(zip(_at(0, 100, 200, 300, 400), ["tie"] * 5, strict=True))
    assert not any(arena.burst_flags(slow, size=5, window_seconds=180))
    mixed = list(zip(_at(0, 1, 2, 3, 4, 5, 6), list("aabaaaa"), strict=True))
    assert not any(arena.burst_flags(mixed, size=5, window_seconds=180))
    mixed.append((T0 + timedelta(seconds=7), "a"))  # now five "a" in a row after the "b"
    assert arena.burst_flags(mixed, size=5, window_seconds=180) == [False] * 3 + [True] * 5


CLIPS = [
    arena.ArenaClip(1, "x", "jazz"),
    arena.ArenaClip(2, "x", "jazz"),
    arena.ArenaClip(3, "y", "jazz"),
    arena.ArenaClip(4, "z", "jazz"),
    arena.ArenaClip(5, "x", "techno"),
    arena.ArenaClip(6, "y", "techno"),
    arena.ArenaClip(7, "w", "solo"),  # one contestant only: never paired
]
GENRE = {clip.id: clip.genre for clip in CLIPS}
CONDITION = {clip.id: clip.condition for clip in CLIPS}


def test_pairs_are_two_contestants_of_one_genre_on_random_sides():
    pairs = [arena.choose_pair(CLIPS, {}, seed) for seed in range(400)]
    assert all(GENRE[a] == GENRE[b] and CONDITION[a] != CONDITION[b] for a, b in pairs)
    assert all(GENRE[a] != "solo" for a, _ in pairs)
    sides = Counter(CONDITION[a] for a, b in pairs if {CONDITION[a], CONDITION[b]} == {"x", "y"})
    assert 0.35 < sides["x"] / (sides["x"] + sides["y"]) < 0.65
    assert arena.choose_pair(CLIPS, {}, 7) == arena.choose_pair(CLIPS, {}, 7)


def test_the_pair_with_fewest_votes_comes_first():
    counts = {frozenset("xy"): 9, frozenset("xz"): 3, frozenset("yz"): 3}
    jazz = [clip for clip in CLIPS if clip.genre == "jazz"]
    pairs = [arena.choose_pair(jazz, counts, seed) for seed in range(50)]
    chosen = {frozenset(CONDITION[i] for i in pair) for pair in pairs}
    assert chosen == {frozenset("xz"), frozenset("yz")}


def test_no_genre_with_two_contestants_is_a_clear_error():
    with pytest.raises(arena.StudyError, match="two contestants in one genre"):
        arena.choose_pair([CLIPS[-1]], {}, 0)


# --- with the database -----------------------------------------------------------------------


@pytest.fixture
def arena_engine(db_engine):
    clips = make_arena(db_engine)
    return db_engine, arena.load_arena(db_engine), clips


HEARD = {0: SECONDS, 1: SECONDS}


def _vote(engine, study, token, outcome: str = "a", **kwargs) -> arena.Reveal:
    match = arena.current_match(engine, study, token)
    return arena.vote(
        engine, study, token, trial_id=match.trial_id, outcome=outcome, heard=HEARD, **kwargs
    )


def test_a_visitor_hears_a_pair_votes_and_only_then_sees_who_made_which(arena_engine):
    engine, study, clips = arena_engine
    token = arena.join(engine, study)
    match = arena.current_match(engine, study, token)
    assert arena.current_match(engine, study, token) == match  # a rerun: the same pair
    (a, b) = [stimulus.audio_sha256 for stimulus in match.stimuli]
    with transaction(engine) as session:
        [(_, stimuli, answered)] = repository.trial_rows(
            session, participant_id=session.query(Participant).one().id
        )
        participant = session.query(Participant).one()
    assert not answered and participant.external_ids == {} and participant.questionnaire is None
    shown = [clips[clip.id] for _, clip in stimuli]
    assert shown[0][1] == shown[1][1] and shown[0][0] != shown[1][0]  # one genre, two sources
    assert a != b
    with pytest.raises(RatingError, match="revealed after your vote"):
        arena.reveal(engine, study, token, match.trial_id)
    with pytest.raises(RatingError, match="listen to both"):
        arena.vote(engine, study, token, trial_id=match.trial_id, outcome="a", heard={0: 1.0})
    reveal = arena.vote(engine, study, token, trial_id=match.trial_id, outcome="b", heard=HEARD)
    assert (reveal.label_a, reveal.label_b) == tuple(arena.label_of(c) for c, _ in shown)
    assert reveal.outcome == "b" and reveal.counted
    again = arena.vote(engine, study, token, trial_id=match.trial_id, outcome="a", heard=HEARD)
    assert again == reveal  # a double submit changes nothing
    assert arena.current_match(engine, study, token).trial_id != match.trial_id
    other = arena.join(engine, study)
    with pytest.raises(RatingError, match="not part of your arena session"):
        arena.reveal(engine, study, other, match.trial_id)


def test_one_session_votes_at_most_n_times_a_minute(arena_engine):
    engine, study, _ = arena_engine
    token = arena.join(engine, study)
    for outcome in ("a", "b", "tie", "a")[: arena.VOTES_PER_MINUTE]:
        _vote(engine, study, token, outcome)
    with pytest.raises(RateLimitError, match=f"at most {arena.VOTES_PER_MINUTE} times a minute"):
        _vote(engine, study, token, "b")
    _vote(engine, study, arena.join(engine, study), "b")  # another session is not held back
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert _vote(engine, study, token, "b", now=later).counted
    with transaction(engine) as session:
        assert session.query(PairwiseVote).count() == arena.VOTES_PER_MINUTE + 2


def test_a_burst_of_identical_votes_is_stored_flagged_and_left_out(arena_engine):
    engine, study, _ = arena_engine
    clicker, listener = arena.join(engine, study), arena.join(engine, study)
    start = datetime.now(UTC)
    reveals = [
        _vote(engine, study, clicker, "a", now=start + timedelta(minutes=2 * i))
        for i in range(arena.BURST_SIZE)
    ]
    assert [r.counted for r in reveals] == [True] * (arena.BURST_SIZE - 1) + [False]
    for outcome in ("a", "b", "tie"):
        _vote(engine, study, listener, outcome)
    with transaction(engine) as session:
        flags = [v.flag for v in session.query(PairwiseVote).order_by(PairwiseVote.id)]
        rows = repository.pairwise_vote_rows(session, study_id=study.id)
        assert session.query(Event).filter(Event.kind == "flag").count() == 1
    assert flags == [arena.BURST_FLAG] * arena.BURST_SIZE + [None] * 3
    assert [row["flag"] for row in rows] == flags  # the tidy rows (and exports) keep the flag
    board = arena.arena_leaderboard(engine, min_votes=3, resamples=50)
    assert (board.counted_votes, board.flagged_votes) == (3, arena.BURST_SIZE)
    assert board.table["votes"].sum() == 2 * 3  # each counted vote involves two contestants
    assert set(board.table["status"]) <= {"ranked", "preliminary", "not compared"}
    assert set(board.table["model"]) <= {c.label for c in arena.contestants()}


def test_the_leaderboard_is_empty_before_two_contestants_meet(arena_engine):
    engine, _, _ = arena_engine
    board = arena.arena_leaderboard(engine, resamples=10)
    assert board.table.empty and board.counted_votes == 0


def test_the_arena_exports_flagged_votes_and_ranks_without_them(arena_engine, db_cli, tmp_path):
    from drumeval.analysis.export import read_export

    engine, study, _ = arena_engine
    clicker, listener = arena.join(engine, study), arena.join(engine, study)
    start = datetime.now(UTC)
    for i in range(arena.BURST_SIZE):
        _vote(engine, study, clicker, "both_bad", now=start + timedelta(minutes=2 * i))
    for outcome in ("a", "b", "a"):
        _vote(engine, study, listener, outcome)
    out_file = tmp_path / "votes.csv"
    code, _, err = db_cli("study", "export", "arena", "--table", "votes", "--out", str(out_file))
    assert code == 0, err
    votes = read_export(out_file, "csv", "votes")
    assert list(votes["flag"].fillna("")) == ["burst"] * arena.BURST_SIZE + [""] * 3
    code, out, err = db_cli(
        "study", "leaderboard", "arena", "--min-votes", "1", "--resamples", "20"
    )
    assert code == 0, err
    records = [tuple(map(int, m)) for m in re.findall(r"(\d+) / (\d+) / (\d+) / (\d+)", out)]
    assert records and all(both_bad == 0 for *_, both_bad in records)  # the burst is left out
    assert sum(sum(record[:3]) for record in records) == 2 * 3


def test_an_excerpt_is_its_bars_of_the_rendering_level_matched(tmp_path):
    import numpy as np

    from drumeval.clips import ConditionError, finish_clip

    event_ids = np.zeros(8 * 16, dtype=np.int32)
    event_ids[::4] = 1  # a kick on every beat
    event_ids[64:] = 0  # bars 5-8 silent
    how = {"genre": "techno-house", "corpus": None, "provenance": {}, "cache_dir": tmp_path}
    clip = finish_clip(event_ids, excerpt_bars=(3, 4), target_lufs=-23.0, **how)
    assert clip.duration_s == pytest.approx(4.0)  # 2 bars at 120 qpm
    assert clip.loudness_lufs == pytest.approx(-23.0, abs=0.5)
    assert clip.provenance["excerpt_bars"] == [3, 4]
    assert finish_clip(event_ids, excerpt_bars=(6, 8), **how).audio_bytes is None  # silent bars
    with pytest.raises(ConditionError, match="bars 7–9 do not lie in a 8-bar clip"):
        finish_clip(event_ids, excerpt_bars=(7, 9), **how)
