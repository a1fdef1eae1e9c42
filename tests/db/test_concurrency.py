"""50 evaluators at once through the repository, on SQLite and PostgreSQL.

Everyone starts at the same instant (a barrier), then double-submits every rating: the
study must end with every rating stored exactly once, for the right person, and with
balanced exposure.
"""

import threading
from collections import Counter

from sqlalchemy import select

from db import repository
from db.engine import transaction
from db.models import Assignment, Event, Participant, Rating
from drumeval.study.assignment import assign_clips
from drumeval.study.tokens import hash_token, new_token
from tests.factories import GOOD_SCORES, make_study

EVALUATORS = 50
CLIPS_PER_PARTICIPANT = 4


def _evaluator(engine, study_id: int, barrier: threading.Barrier, results: list, errors: list):
    try:
        barrier.wait(timeout=60)
        with transaction(engine, write_lock=True) as session:
            participant_id = repository.create_participant(
                session, study_id=study_id, token_sha256=hash_token(new_token()), external_ids={}
            ).id
        with transaction(engine, write_lock=True) as session:
            clip_ids = [
                a.clip_id
                for a in repository.start_assignments(
                    session, participant_id=participant_id, assign=assign_clips
                )
            ]
        for clip_id in clip_ids:
            for _ in range(2):
                # no write lock here: submit_rating must cope with contention on its own
                with transaction(engine) as session:
                    rating, created = repository.submit_rating(
                        session,
                        participant_id=participant_id,
                        clip_id=clip_id,
                        scores=GOOD_SCORES,
                        genre_answer="cant_tell",
                        genre_confidence=3,
                        comment=f"{participant_id}:{clip_id}",
                        listened_seconds=20.0,
                        play_count=1,
                    )
                results.append((participant_id, clip_id, rating.id, created))
    except Exception as error:  # reported by the test, with the thread's failure
        errors.append(error)


def test_fifty_evaluators_at_once(db_engine):
    study_id = make_study(
        db_engine,
        conditions=4,
        clips_per_condition=3,
        clips_per_participant=CLIPS_PER_PARTICIPANT,
    )
    barrier = threading.Barrier(EVALUATORS)
    results: list[tuple[int, int, int, bool]] = []
    errors: list[Exception] = []
    threads = [
        threading.Thread(target=_evaluator, args=(db_engine, study_id, barrier, results, errors))
        for _ in range(EVALUATORS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []

    expected = EVALUATORS * (CLIPS_PER_PARTICIPANT + 1)  # + the training clip
    with transaction(db_engine) as session:
        ratings = session.execute(
            select(Rating.participant_id, Rating.clip_id, Rating.comment, Rating.is_training)
        ).all()
        assignments = session.execute(
            select(Assignment.participant_id, Assignment.clip_id, Assignment.is_training)
        ).all()
        participants = session.scalars(select(Participant.status)).all()
        rating_events = session.scalars(select(Event.id).where(Event.kind == "rating")).all()
        progress = repository.study_progress(session, study_id=study_id)

    assert len(participants) == EVALUATORS and set(participants) == {"in_progress"}
    # 0 lost, 0 duplicated
    assert len(results) == 2 * expected
    assert len(ratings) == expected == len(rating_events)
    assert len({(p, c) for p, c, _, _ in ratings}) == expected
    assert Counter(created for *_, created in results) == {True: expected, False: expected}
    first_ids = {(p, c): r for p, c, r, created in results if created}
    assert all(first_ids[(p, c)] == r for p, c, r, _ in results)
    # 0 crossed: each rating belongs to its own participant's assignment
    assigned = {(p, c) for p, c, _ in assignments}
    assert {(p, c) for p, c, _, _ in ratings} == assigned
    assert all(comment == f"{p}:{c}" for p, c, comment, _ in ratings)
    # exposure balanced over the 12 rated clips
    exposure = Counter(c for _, c, training in assignments if not training)
    assert len(exposure) == 12
    assert max(exposure.values()) - min(exposure.values()) <= 1
    assert progress["started"] == EVALUATORS
    assert progress["ratings"] == EVALUATORS * CLIPS_PER_PARTICIPANT
