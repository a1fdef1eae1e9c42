"""The schema itself refuses bad rows, whatever code (or hand-written SQL) writes them."""

import pytest
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from db import repository
from db.engine import transaction
from db.models import Assignment, Clip, Participant, Rating, Study, StudyClip, utc_now
from tests.factories import digest, join, make_study, rate


def _violates(engine, statement) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(statement)


def _clip_row(**overrides) -> dict:
    return {
        "public_id": overrides.pop("public_id", digest(str(overrides))[:22]),
        "role": "generated",
        "condition": "c",
        "midi_sha256": digest("m"),
        "audio_sha256": digest("a"),
        "audio_format": "ogg",
        "duration_s": 10.0,
        "metrics": {},
        "provenance": {},
        "is_demo": False,
        "created_at": utc_now(),
    } | overrides


def test_clip_constraints(db_engine):
    with db_engine.begin() as connection:
        connection.execute(insert(Clip).values(**_clip_row(public_id="p1")))
    _violates(db_engine, insert(Clip).values(**_clip_row(public_id="p2", role="robot")))
    _violates(db_engine, insert(Clip).values(**_clip_row(public_id="p3", duration_s=0)))
    # the same MIDI twice in one condition, and a public id twice
    _violates(db_engine, insert(Clip).values(**_clip_row(public_id="p4")))
    _violates(
        db_engine, insert(Clip).values(**_clip_row(public_id="p1", midi_sha256=digest("other")))
    )


def test_study_and_pool_constraints(db_engine):
    study_id = make_study(db_engine, status="draft")
    _violates(db_engine, update(Study).values(status="paused"))
    _violates(db_engine, update(Study).values(declined_count=-1))
    _violates(db_engine, update(StudyClip).values(purpose="bonus"))
    with db_engine.connect() as connection:
        clip_id = (
            connection.execute(StudyClip.__table__.select().where(StudyClip.study_id == study_id))
            .first()
            .clip_id
        )
    _violates(
        db_engine,
        insert(StudyClip).values(study_id=study_id, clip_id=clip_id, purpose="trial"),
    )
    _violates(db_engine, insert(StudyClip).values(study_id=999, clip_id=clip_id, purpose="trial"))


def test_participant_and_assignment_constraints(db_engine):
    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id)
    _violates(db_engine, update(Participant).values(status="bored"))
    with transaction(db_engine, write_lock=True) as session:
        other_id = repository.create_participant(
            session, study_id=study_id, token_sha256=digest("x"), external_ids={}
        ).id
        taken_token = session.get(Participant, participant_id).token_sha256
    _violates(
        db_engine,
        update(Participant).where(Participant.id == other_id).values(token_sha256=taken_token),
    )
    with db_engine.connect() as connection:
        first = connection.execute(
            Assignment.__table__.select().where(Assignment.participant_id == participant_id)
        ).first()
        clips = connection.execute(Clip.__table__.select()).all()
    unused = next(c.id for c in clips if c.id != first.clip_id)
    # one clip twice, one position twice, a negative position
    _violates(
        db_engine,
        insert(Assignment).values(
            participant_id=participant_id, clip_id=first.clip_id, position=99, is_training=False
        ),
    )
    _violates(
        db_engine,
        insert(Assignment).values(
            participant_id=participant_id,
            clip_id=unused,
            position=first.position,
            is_training=False,
        ),
    )
    _violates(
        db_engine,
        insert(Assignment).values(
            participant_id=other_id, clip_id=unused, position=-1, is_training=False
        ),
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("short_term_phrasing", 3),
        ("long_term_phrasing", -3),
        ("originality", 5),
        ("realism", -9),
        ("genre_answer", "polka"),
        ("genre_confidence", 0),
        ("genre_confidence", 6),
        ("listened_seconds", -1.0),
        ("play_count", -1),
    ],
)
def test_rating_checks(db_engine, column, value):
    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id)
    with transaction(db_engine, write_lock=True) as session:
        clip_id = repository.next_assignment(session, participant_id=participant_id)[1].id
    rating, _ = rate(db_engine, participant_id, clip_id)
    _violates(db_engine, update(Rating).where(Rating.id == rating.id).values({column: value}))


def test_one_rating_per_participant_and_clip(db_engine):
    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id)
    with transaction(db_engine, write_lock=True) as session:
        clip_id = repository.next_assignment(session, participant_id=participant_id)[1].id
    rating, _ = rate(db_engine, participant_id, clip_id)
    row = {
        column.name: getattr(rating, column.name)
        for column in Rating.__table__.columns
        if column.name != "id"
    }
    _violates(db_engine, insert(Rating).values(**row))
