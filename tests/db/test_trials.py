"""Pairwise and multi-stimulus pages in the database, on SQLite and PostgreSQL: written once,
idempotent votes and scores, drafts that only grow, tidy rows for the analysis."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from db import repository
from db.engine import transaction
from db.models import Event, MushraScore, PairwiseVote, Participant
from drumeval.errors import RatingError, StudyError
from drumeval.study.assignment import plan_mushra, plan_pairs
from drumeval.study.tokens import hash_token, new_token
from tests.factories import digest

CONDITIONS = {
    "a/p/techno-house-700/t1/4bars": "generated",
    "b/p/techno-house-700/t1/4bars": "generated",
    "reference/techno-house-700/4bars": "reference",
    "anchor/techno-house-700/4bars": "anchor",
}


def _study(engine, trial_type: str, *, pages: int = 3, slug: str = "trials") -> int:
    with transaction(engine, write_lock=True) as session:
        clip_ids = [
            repository.add_clip(
                session,
                role=role,
                condition=condition,
                midi_sha256=digest(f"{condition}-{i}"),
                audio_sha256=digest(f"audio-{condition}-{i}"),
                audio_format="wav",
                duration_s=8.0,
            ).id
            for condition, role in CONDITIONS.items()
            for i in range(2)
        ]
        study = repository.create_study(
            session,
            slug=slug,
            title="Trials",
            design={
                "trial_type": trial_type,
                "trials_per_participant": pages,
                "clips_per_participant": pages,
                "seed": 5,
            },
        )
        repository.add_study_clips(
            session, study_id=study.id, clip_ids=clip_ids, training_clip_id=None
        )
        repository.set_study_status(session, study_id=study.id, status="open")
        return study.id


def _join(engine, study_id: int, plan) -> tuple[int, list]:
    with transaction(engine, write_lock=True) as session:
        participant = repository.create_participant(
            session, study_id=study_id, token_sha256=hash_token(new_token()), external_ids={}
        )
    with transaction(engine, write_lock=True) as session:
        repository.start_trials(session, participant_id=participant.id, plan=plan)
    with transaction(engine) as session:
        return participant.id, repository.trial_rows(session, participant_id=participant.id)


def _vote(engine, participant_id, trial_id, outcome="a", **overrides):
    values = {"reason": None, "heard_a_seconds": 8.0, "heard_b_seconds": 7.5} | overrides
    with transaction(engine, write_lock=True) as session:
        vote, created = repository.submit_pairwise_vote(
            session, participant_id=participant_id, trial_id=trial_id, outcome=outcome, **values
        )
        return vote.outcome, created


def test_pairwise_pages_are_written_once_and_votes_are_idempotent(db_engine):
    study_id = _study(db_engine, "pairwise")
    participant_id, rows = _join(db_engine, study_id, plan_pairs)
    assert [trial.position for trial, _, _ in rows] == [1, 2, 3]
    assert all(len(stimuli) == 2 and not answered for _, stimuli, answered in rows)
    with transaction(db_engine, write_lock=True) as session:  # a second start: same pages
        again = repository.start_trials(session, participant_id=participant_id, plan=plan_pairs)
        assert [trial.id for trial in again] == [trial.id for trial, _, _ in rows]
    first = rows[0][0].id
    assert _vote(db_engine, participant_id, first, "b", reason=" crisper hats ") == ("b", True)
    assert _vote(db_engine, participant_id, first, "a") == ("b", False)  # double submit
    with pytest.raises(StudyError, match="2 page"), transaction(db_engine, write_lock=True) as s:
        repository.finish_participant(s, participant_id=participant_id)
    for trial, _, _ in rows[1:]:
        _vote(db_engine, participant_id, trial.id, "tie")
    with transaction(db_engine, write_lock=True) as session:
        assert repository.finish_participant(session, participant_id=participant_id)
    with transaction(db_engine) as session:
        assert session.scalar(
            select(PairwiseVote.reason).where(PairwiseVote.trial_id == first)
        ) == ("crisper hats")
        kinds = [event.kind for event in session.scalars(select(Event))]
        assert kinds.count("vote") == 3 and "finish" in kinds
        tidy = repository.pairwise_vote_rows(session, study_id=study_id)
        public_id = session.get(Participant, participant_id).public_id
    stimuli = rows[0][1]
    assert tidy[0] == {
        "participant_id": public_id,
        "trial_id": first,
        "condition_a": stimuli[0][1].condition,
        "condition_b": stimuli[1][1].condition,
        "outcome": "b",
        "reason": "crisper hats",
        "clip_a": stimuli[0][1].public_id,
        "clip_b": stimuli[1][1].public_id,
        "heard_a_seconds": 8.0,
        "heard_b_seconds": 7.5,
        "flag": None,
    }
    assert [row["outcome"] for row in tidy] == ["b", "tie", "tie"]


def test_a_vote_on_someone_elses_page_or_a_bad_outcome_is_refused(db_engine):
    study_id = _study(db_engine, "pairwise")
    alice, rows = _join(db_engine, study_id, plan_pairs)
    bob, _ = _join(db_engine, study_id, plan_pairs)
    with pytest.raises(RatingError, match="not part of your study"):
        _vote(db_engine, bob, rows[0][0].id)
    with pytest.raises(RatingError, match="outcome must be one of"):
        _vote(db_engine, alice, rows[0][0].id, "maybe")
    with pytest.raises(RatingError, match="non-negative"):
        _vote(db_engine, alice, rows[0][0].id, heard_a_seconds=-1)
    with pytest.raises(IntegrityError), transaction(db_engine, write_lock=True) as session:
        session.add(
            PairwiseVote(
                trial_id=rows[0][0].id,
                participant_id=alice,
                study_id=study_id,
                outcome="maybe",
                heard_a_seconds=1,
                heard_b_seconds=1,
            )
        )


def test_the_second_participant_gets_the_pairs_the_first_did_not(db_engine):
    study_id = _study(db_engine, "pairwise", pages=3)
    pairs = []
    for _ in range(4):
        _, rows = _join(db_engine, study_id, plan_pairs)
        pairs += [frozenset(clip.condition for _, clip in stimuli) for _, stimuli, _ in rows]
    counts = {pair: pairs.count(pair) for pair in set(pairs)}
    assert len(counts) == 6 and set(counts.values()) == {2}  # 12 pages over the 6 pairs


def test_drafts_keep_the_most_heard_per_side(db_engine):
    study_id = _study(db_engine, "pairwise")
    participant_id, rows = _join(db_engine, study_id, plan_pairs)
    trial_id = rows[0][0].id
    for heard in ({0: 5.0, 1: 2.0}, {0: 3.0, 1: 4.0}):
        with transaction(db_engine, write_lock=True) as session:
            repository.save_trial_draft(
                session,
                participant_id=participant_id,
                trial_id=trial_id,
                heard=heard,
                answers={"outcome": "a"},
            )
    with transaction(db_engine) as session:
        trial = repository.trial_rows(session, participant_id=participant_id)[0][0]
        assert trial.heard == {"0": 5.0, "1": 4.0} and trial.draft_answers == {"outcome": "a"}


def test_mushra_scores_are_written_whole_and_once(db_engine):
    study_id = _study(db_engine, "mushra", pages=2)
    participant_id, rows = _join(db_engine, study_id, plan_mushra)
    trial, stimuli, _ = rows[0]
    assert sorted(s.role for s, _ in stimuli) == ["anchor", "reference", "test", "test"]
    scores = {stimulus.slot: 10 * (stimulus.slot + 1) for stimulus, _ in stimuli}
    heard = {slot: 8.0 for slot in scores}

    def submit(values):
        with transaction(db_engine, write_lock=True) as session:
            return repository.submit_mushra_scores(
                session,
                participant_id=participant_id,
                trial_id=trial.id,
                scores=values,
                heard_seconds=heard,
            )

    with pytest.raises(RatingError, match="rate every sound"):
        submit({0: 50})
    with pytest.raises(RatingError, match="from 0 to 100"):
        submit({**scores, 0: 101})
    assert submit(scores) is True
    assert submit({slot: 0 for slot in scores}) is False  # a repeat changes nothing
    with transaction(db_engine) as session:
        tidy = repository.mushra_score_rows(session, study_id=study_id)
        assert session.scalar(select(Participant.status)) == "in_progress"
    assert [row["score"] for row in tidy] == [10, 20, 30, 40]
    assert {row["role"] for row in tidy} == {"reference", "anchor", "test"}
    with pytest.raises(IntegrityError), transaction(db_engine, write_lock=True) as session:
        session.add(
            MushraScore(
                stimulus_id=stimuli[0][0].id,
                trial_id=trial.id,
                participant_id=participant_id,
                study_id=study_id,
                score=5,
                heard_seconds=1,
            )
        )


def test_a_rating_study_has_no_trials(db_engine):
    study_id = _study(db_engine, "rating")
    with pytest.raises(StudyError, match="no trials"):
        _join(db_engine, study_id, plan_pairs)


def test_a_rating_of_a_studys_own_questions_is_stored_once_as_answers(db_engine):
    from tests.factories import join, make_study, rate

    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id)
    with transaction(db_engine) as session:
        clip_id = repository.next_assignment(session, participant_id=participant_id)[1].id
    own = {"scores": {}, "genre_answer": None, "genre_confidence": None}
    rating, created = rate(
        db_engine, participant_id, clip_id, answers={"groove": 6, "feel": "right"}, **own
    )
    assert created and rating.answers == {"groove": 6, "feel": "right"}
    assert rating.realism is None and rating.genre_answer is None
    again, created = rate(db_engine, participant_id, clip_id, answers={"groove": 1}, **own)
    assert not created and again.answers == {"groove": 6, "feel": "right"}
    with pytest.raises(RatingError, match="not both"):
        rate(db_engine, participant_id, clip_id, answers={"groove": 1})
    with pytest.raises(RatingError, match="number or an option"):
        rate(db_engine, participant_id, clip_id, answers={"groove": [1]}, **own)


def test_the_dashboard_counts_votes_and_the_clips_they_compared(db_engine):
    study_id = _study(db_engine, "pairwise", pages=2)
    participant_id, rows = _join(db_engine, study_id, plan_pairs)
    for trial, _, _ in rows:
        _vote(db_engine, participant_id, trial.id, "a")
    with transaction(db_engine) as session:
        progress = repository.study_progress(session, study_id=study_id)
    compared = [clip for _, stimuli, _ in rows for _, clip in stimuli]
    assert progress["ratings"] == 2 and sum(progress["ratings_per_clip"].values()) == 4
    assert sum(progress["ratings_per_condition"].values()) == 4
    assert set(progress["ratings_per_clip"]) == {clip.id for clip in compared}
    assert set(progress["median_seconds_per_clip"].values()) <= {8.0, 7.5}
