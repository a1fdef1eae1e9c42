"""Repository functions on both backends: the evaluator's flow and the researcher's basics."""

from datetime import UTC

import pytest
from sqlalchemy import func, select

from db import repository
from db.engine import transaction
from db.models import Event, Participant, Rating, Study
from drumeval.errors import DatabaseError, RatingError, StudyClosedError, StudyError
from drumeval.study.assignment import assign_clips
from tests.factories import GOOD_SCORES, digest, join, make_study, rate


def _events(engine, participant_id=None) -> list[str]:
    with transaction(engine) as session:
        query = select(Event.kind).order_by(Event.id)
        if participant_id is not None:
            query = query.where(Event.participant_id == participant_id)
        return list(session.scalars(query))


def _ratings(engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(Rating))


def test_add_clip_returns_the_existing_row_for_the_same_condition_and_midi(db_engine):
    arguments = {
        "role": "generated",
        "condition": "drums_rnn/thesis/techno-house-700/t1.0",
        "midi_sha256": digest("m"),
        "audio_sha256": digest("a"),
        "audio_format": "ogg",
        "duration_s": 120.0,
        "metrics": {"density": 0.5},
    }
    with transaction(db_engine, write_lock=True) as session:
        first = repository.add_clip(session, **arguments)
        again = repository.add_clip(session, **arguments)
        other = repository.add_clip(session, **arguments | {"condition": "imported/x"})
    assert again.id == first.id != other.id
    assert len(first.public_id) == 22 and first.public_id != other.public_id
    assert first.metrics == {"density": 0.5}
    assert first.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"role": "robot"}, "unknown clip role"),
        ({"midi_sha256": "abc"}, "MIDI sha256"),
        ({"duration_s": 0.0}, "duration must be positive"),
    ],
)
def test_add_clip_validates(db_engine, change, message):
    arguments = {
        "role": "generated",
        "condition": "c",
        "midi_sha256": digest("m"),
        "audio_sha256": digest("a"),
        "audio_format": "ogg",
        "duration_s": 1.0,
    }
    with (
        pytest.raises(StudyError, match=message),
        transaction(db_engine, write_lock=True) as session,
    ):
        repository.add_clip(session, **arguments | change)


@pytest.mark.parametrize("slug", ["A", "x", "-lead", "has space", "UPPER", "a" * 64, "a_b"])
def test_create_study_refuses_invalid_slugs(db_engine, slug):
    with (
        pytest.raises(StudyError, match="invalid study slug"),
        transaction(db_engine, write_lock=True) as session,
    ):
        repository.create_study(session, slug=slug, title="T", design={})


def test_create_study_refuses_a_taken_slug_and_lists_studies(db_engine):
    make_study(db_engine, slug="first", status="draft")
    with (
        pytest.raises(StudyError, match="already exists"),
        transaction(db_engine, write_lock=True) as session,
    ):
        repository.create_study(session, slug="first", title="T", design={})
    make_study(db_engine, slug="second", status="draft")
    with transaction(db_engine, write_lock=True) as session:
        assert [s.slug for s in repository.list_studies(session)] == ["first", "second"]
        assert repository.get_study(session, slug="second").status == "draft"
        assert repository.get_study(session, slug="third") is None


def test_opening_needs_enough_clips_and_a_draft_pool(db_engine):
    study_id = make_study(db_engine, conditions=1, clips_per_participant=5, status="draft")
    with (
        pytest.raises(StudyError, match="has 2 clips but asks for 5"),
        transaction(db_engine, write_lock=True) as session,
    ):
        repository.set_study_status(session, study_id=study_id, status="open")
    study_id = make_study(db_engine, slug="ok", status="open")
    with (
        pytest.raises(StudyError, match="draft study"),
        transaction(db_engine, write_lock=True) as session,
    ):
        repository.add_study_clips(session, study_id=study_id, clip_ids=[], training_clip_id=None)
    with transaction(db_engine, write_lock=True) as session:
        study = session.get(Study, study_id)
        assert study.opened_at is not None and study.opened_at.tzinfo == UTC
        repository.set_study_status(session, study_id=study_id, status="closed")
        assert study.closed_at is not None


def test_decline_counts_and_stores_nothing_else(db_engine):
    study_id = make_study(db_engine)
    for _ in range(2):
        with transaction(db_engine, write_lock=True) as session:
            repository.record_decline(session, study_id=study_id)
    with transaction(db_engine, write_lock=True) as session:
        assert session.get(Study, study_id).declined_count == 2
        assert session.scalar(select(func.count()).select_from(Participant)) == 0
        assert repository.study_progress(session, study_id=study_id)["declined"] == 2
    assert _events(db_engine).count("decline") == 2


def test_participants_only_join_open_studies(db_engine):
    study_id = make_study(db_engine, status="draft")
    with pytest.raises(StudyClosedError), transaction(db_engine, write_lock=True) as session:
        repository.create_participant(
            session, study_id=study_id, token_sha256=digest("t"), external_ids={}
        )


@pytest.mark.parametrize(
    ("external_ids", "message"),
    [({"EMAIL": "a@b.c"}, "unknown external id"), ({"PROLIFIC_PID": "x" * 200}, "PROLIFIC_PID")],
)
def test_external_ids_are_limited(db_engine, external_ids, message):
    study_id = make_study(db_engine)
    with (
        pytest.raises(StudyError, match=message),
        transaction(db_engine, write_lock=True) as session,
    ):
        repository.create_participant(
            session, study_id=study_id, token_sha256=digest("t"), external_ids=external_ids
        )


def test_consent_questionnaire_screening_start_rate_finish(db_engine):
    study_id = make_study(db_engine, design={"completion_code": "C0DE42"})
    with transaction(db_engine, write_lock=True) as session:
        participant = repository.create_participant(
            session,
            study_id=study_id,
            token_sha256=digest("token"),
            external_ids={"PROLIFIC_PID": "p-1", "STUDY_ID": "s", "SESSION_ID": "x"},
        )
        assert participant.status == "consented" and participant.consented_at is not None
        repository.save_questionnaire(
            session, participant_id=participant.id, answers={"device": "headphones"}
        )
        repository.record_screening(
            session, participant_id=participant.id, passed=True, details={"correct": 6}
        )
    with transaction(db_engine, write_lock=True) as session:
        found = repository.get_participant(session, study_id=study_id, token_sha256=digest("token"))
        assert found.id == participant.id
        assert found.external_ids["PROLIFIC_PID"] == "p-1"
        assert found.questionnaire == {"device": "headphones"}
        assert found.screening == {"passed": True, "correct": 6}
        assignments = repository.start_assignments(
            session, participant_id=participant.id, assign=assign_clips
        )
    assert [a.position for a in assignments] == [0, 1, 2, 3]
    assert [a.is_training for a in assignments] == [True, False, False, False]
    with (
        pytest.raises(StudyError, match="4 clip"),
        transaction(db_engine, write_lock=True) as session,
    ):
        repository.finish_participant(session, participant_id=participant.id)
    for assignment in assignments:
        rate(db_engine, participant.id, assignment.clip_id)
    with transaction(db_engine, write_lock=True) as session:
        assert repository.next_assignment(session, participant_id=participant.id) is None
        assert repository.finish_participant(session, participant_id=participant.id) == "C0DE42"
    with transaction(db_engine, write_lock=True) as session:
        assert repository.finish_participant(session, participant_id=participant.id) == "C0DE42"
        done = session.get(Participant, participant.id)
        assert done.status == "finished" and done.finished_at >= done.started_at
        progress = repository.study_progress(session, study_id=study_id)
    assert _events(db_engine, participant.id) == [
        "consent",
        "questionnaire",
        "screening",
        "start",
        "rating",
        "rating",
        "rating",
        "rating",
        "finish",
    ]
    assert progress["started"] == progress["finished"] == progress["consented"] == 1
    assert progress["ratings"] == 3  # the training rating is left out
    assert sum(progress["ratings_per_condition"].values()) == 3
    assert set(progress["median_seconds_per_clip"].values()) == {25.0}


def test_a_random_completion_code_is_kept(db_engine):
    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id)
    with transaction(db_engine, write_lock=True) as session:
        rows = repository.assignment_rows(session, participant_id=participant_id)
    for assignment, _, _ in rows:
        rate(db_engine, participant_id, assignment.clip_id)
    with transaction(db_engine, write_lock=True) as session:
        code = repository.finish_participant(session, participant_id=participant_id)
    with transaction(db_engine, write_lock=True) as session:
        assert repository.finish_participant(session, participant_id=participant_id) == code
    assert len(code) == 8 and code.isalnum()


def test_failed_screening_ends_the_study(db_engine):
    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id, start=False)
    with transaction(db_engine, write_lock=True) as session:
        repository.record_screening(
            session, participant_id=participant_id, passed=False, details={"correct": 2}
        )
    with (
        pytest.raises(StudyError, match="screening"),
        transaction(db_engine, write_lock=True) as session,
    ):
        repository.start_assignments(session, participant_id=participant_id, assign=assign_clips)
    with transaction(db_engine, write_lock=True) as session:
        assert session.get(Participant, participant_id).status == "screened_out"
        assert repository.study_progress(session, study_id=study_id)["screened_out"] == 1
    assert _events(db_engine, participant_id) == ["consent", "screen-out"]


def test_start_is_idempotent(db_engine):
    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id)
    with transaction(db_engine, write_lock=True) as session:
        again = repository.start_assignments(
            session, participant_id=participant_id, assign=assign_clips
        )
    with transaction(db_engine, write_lock=True) as session:
        rows = repository.assignment_rows(session, participant_id=participant_id)
    assert [(a.clip_id, a.position) for a in again] == [(a.clip_id, a.position) for a, _, _ in rows]
    assert _events(db_engine, participant_id).count("start") == 1


def test_a_closed_study_starts_nobody_new(db_engine):
    """Within the grace period a participant who consented before the close may still start;
    with none (0 minutes), nobody can."""
    study_id = make_study(db_engine)
    within_grace, _ = join(db_engine, study_id, start=False)
    participant_id, _ = join(db_engine, study_id, start=False)
    with transaction(db_engine, write_lock=True) as session:
        repository.set_study_status(session, study_id=study_id, status="closed")
        assert session.get(Study, study_id).grace_minutes == 60
    with transaction(db_engine, write_lock=True) as session:
        assert repository.start_assignments(
            session, participant_id=within_grace, assign=assign_clips
        )
        with pytest.raises(StudyClosedError):
            repository.create_participant(
                session, study_id=study_id, token_sha256=digest("new"), external_ids={}
            )
    with transaction(db_engine, write_lock=True) as session:
        repository.set_study_status(session, study_id=study_id, status="closed", grace_minutes=0)
    with pytest.raises(StudyClosedError), transaction(db_engine, write_lock=True) as session:
        repository.start_assignments(session, participant_id=participant_id, assign=assign_clips)


def test_double_submit_stores_one_row_and_returns_it(db_engine):
    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id)
    with transaction(db_engine, write_lock=True) as session:
        clip_id = repository.next_assignment(session, participant_id=participant_id)[1].id
    first, created = rate(db_engine, participant_id, clip_id, comment="  nice groove ")
    second, created_again = rate(
        db_engine, participant_id, clip_id, genre_answer="cant_tell", comment="changed mind"
    )
    assert (created, created_again) == (True, False)
    assert second.id == first.id
    assert (second.genre_answer, second.comment) == ("jazz-soul", "nice groove")
    assert _ratings(db_engine) == 1
    assert _events(db_engine, participant_id).count("rating") == 1


def test_double_submit_inside_one_session_and_across_two(db_engine):
    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id)
    values = {
        "scores": GOOD_SCORES,
        "genre_answer": "techno-house",
        "genre_confidence": 2,
        "comment": None,
        "listened_seconds": 30.0,
        "play_count": 2,
    }
    with transaction(db_engine, write_lock=True) as session:
        clips = [
            a.clip_id
            for a, _, _ in repository.assignment_rows(session, participant_id=participant_id)
        ]
        one, new_one = repository.submit_rating(
            session, participant_id=participant_id, clip_id=clips[0], **values
        )
        two, new_two = repository.submit_rating(
            session, participant_id=participant_id, clip_id=clips[0], **values
        )
    assert (new_one, new_two) == (True, False) and one.id == two.id
    # two sessions open at once, as with two browser tabs
    with transaction(db_engine) as first, transaction(db_engine) as second:
        _, created = repository.submit_rating(
            first, participant_id=participant_id, clip_id=clips[1], **values
        )
        assert created
    with transaction(db_engine) as second:
        _, created = repository.submit_rating(
            second, participant_id=participant_id, clip_id=clips[1], **values
        )
        assert not created
    assert _ratings(db_engine) == 2


def test_a_clip_assigned_to_someone_else_is_refused(db_engine):
    study_id = make_study(db_engine, conditions=4, clips_per_condition=2, clips_per_participant=2)
    alice, _ = join(db_engine, study_id)
    bob, _ = join(db_engine, study_id)
    with transaction(db_engine, write_lock=True) as session:
        alice_clips = {
            a.clip_id for a, _, _ in repository.assignment_rows(session, participant_id=alice)
        }
        bob_clips = {
            a.clip_id for a, _, _ in repository.assignment_rows(session, participant_id=bob)
        }
    crossed = next(iter(bob_clips - alice_clips))
    with pytest.raises(RatingError, match="not assigned to you"):
        rate(db_engine, alice, crossed)
    assert _ratings(db_engine) == 0


def test_assigned_clip_reads_one_assignment_with_its_rating(db_engine):
    study_id = make_study(db_engine, conditions=4, clips_per_condition=2, clips_per_participant=2)
    alice, _ = join(db_engine, study_id)
    bob, _ = join(db_engine, study_id)
    with transaction(db_engine) as session:
        alice_clips = [
            a.clip_id for a, _, _ in repository.assignment_rows(session, participant_id=alice)
        ]
        bob_clips = {
            a.clip_id for a, _, _ in repository.assignment_rows(session, participant_id=bob)
        }
    crossed = next(iter(bob_clips - set(alice_clips)))
    rated = rate(db_engine, alice, alice_clips[0])[0]
    with transaction(db_engine) as session:
        clip, rating = repository.assigned_clip(
            session, participant_id=alice, clip_id=alice_clips[0]
        )
        assert (clip.id, rating.id) == (alice_clips[0], rated.id)
        clip, rating = repository.assigned_clip(
            session, participant_id=alice, clip_id=alice_clips[1]
        )
        assert (clip.id, rating) == (alice_clips[1], None)
        assert repository.assigned_clip(session, participant_id=alice, clip_id=crossed) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scores": {"realism": 1}}, "please rate short term phrasing, long term phrasing"),
        ({"scores": GOOD_SCORES | {"groove": 1}}, "unknown criterion groove"),
        ({"scores": GOOD_SCORES | {"realism": 3}}, "realism must be a whole number from -2 to 2"),
        ({"scores": GOOD_SCORES | {"originality": 1.5}}, "originality must be a whole number"),
        ({"scores": GOOD_SCORES | {"originality": True}}, "originality must be a whole number"),
        ({"genre_answer": "polka"}, "genre answer must be one of"),
        ({"genre_confidence": 0}, "confidence must be a whole number from 1 to 5"),
        ({"comment": "x" * 1001}, "limited to 1000 characters"),
        ({"listened_seconds": -1.0}, "listened seconds"),
        ({"listened_seconds": float("nan")}, "listened seconds"),
        ({"play_count": -1}, "play count"),
    ],
)
def test_invalid_ratings_are_refused_with_a_clear_message(db_engine, change, message):
    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id)
    with transaction(db_engine, write_lock=True) as session:
        clip_id = repository.next_assignment(session, participant_id=participant_id)[1].id
    with pytest.raises(RatingError, match=message):
        rate(db_engine, participant_id, clip_id, **change)
    assert _ratings(db_engine) == 0


def test_resume_continues_at_the_first_unrated_clip(db_engine):
    study_id = make_study(db_engine)
    participant_id, token = join(db_engine, study_id)
    with transaction(db_engine, write_lock=True) as session:
        rows = repository.assignment_rows(session, participant_id=participant_id)
    rate(db_engine, participant_id, rows[0][0].clip_id)
    rate(db_engine, participant_id, rows[2][0].clip_id)  # out of order, e.g. a second tab
    with transaction(db_engine, write_lock=True) as session:
        from drumeval.study.tokens import hash_token

        again = repository.get_participant(
            session, study_id=study_id, token_sha256=hash_token(token)
        )
        assignment, clip = repository.next_assignment(session, participant_id=again.id)
        rows = repository.assignment_rows(session, participant_id=again.id)
    assert (assignment.position, clip.id) == (1, rows[1][1].id)
    assert [rating is not None for _, _, rating in rows] == [True, False, True, False]


def test_writes_on_sqlite_need_the_write_lock(db_engine):
    """A deferred SQLite transaction that reads then writes fails under load: refuse it always."""
    study_id = make_study(db_engine)
    sqlite = db_engine.dialect.name == "sqlite"
    with transaction(db_engine) as session:
        if sqlite:
            with pytest.raises(DatabaseError, match="write_lock=True"):
                repository.record_decline(session, study_id=study_id)
        else:
            repository.record_decline(session, study_id=study_id)
    with transaction(db_engine) as session:
        assert session.get(Study, study_id).declined_count == (0 if sqlite else 1)


def test_a_failed_screening_cannot_be_retaken(db_engine):
    study_id = make_study(db_engine)
    participant_id, _ = join(db_engine, study_id, start=False)
    for _ in range(2):  # a double click records one failure
        with transaction(db_engine, write_lock=True) as session:
            repository.record_screening(
                session, participant_id=participant_id, passed=False, details={"correct": 3}
            )
    with (
        pytest.raises(StudyError, match="did not pass"),
        transaction(db_engine, write_lock=True) as session,
    ):
        repository.record_screening(
            session, participant_id=participant_id, passed=True, details={"correct": 6}
        )
    with transaction(db_engine) as session:
        assert session.get(Participant, participant_id).screening == {"passed": False, "correct": 3}
    assert _events(db_engine, participant_id) == ["consent", "screen-out"]


def test_queries_live_in_the_repository():
    """drumeval/study and drumeval/analysis build no SQL: they import from sqlalchemy at most
    the Engine type (issue 30: `db/repository.py` is the only way in)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    allowed = {"sqlalchemy.Engine", "sqlalchemy.engine.Engine"}
    found = {}
    for path in sorted([*root.glob("drumeval/study/*.py"), *root.glob("drumeval/analysis/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                names = {f"{node.module}.{alias.name}" for alias in node.names} - allowed
            elif isinstance(node, ast.Import):
                names = {a.name for a in node.names if a.name.startswith("sqlalchemy")}
            else:
                continue
            if names:
                found[path.name] = sorted(names)
    assert not found, found


def test_released_places_stop_counting_in_exposure_and_balance(db_engine):
    """A participant whose place was released (abandoned, returned) leaves the exposure and
    position counts that balance the next participants' clips (issue 31)."""
    study_id = make_study(db_engine, conditions=2, clips_per_condition=2, clips_per_participant=2)
    gone, _ = join(db_engine, study_id)
    seen = []

    def recording(pool, **counts):
        seen.append((dict(counts["exposure"]), dict(counts["position_counts"])))
        return assign_clips(pool, **counts)

    for status in ("in_progress", "abandoned"):
        with transaction(db_engine, write_lock=True) as session:
            session.get(Participant, gone).status = status
        newcomer, _ = join(db_engine, study_id, start=False)
        with transaction(db_engine, write_lock=True) as session:
            repository.start_assignments(session, participant_id=newcomer, assign=recording)
        with transaction(db_engine, write_lock=True) as session:
            session.get(Participant, newcomer).status = "returned"
    held, released = seen
    assert sum(held[0].values()) == 2 and sum(held[1].values()) == 2
    assert released == ({}, {})
