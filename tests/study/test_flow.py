"""The evaluator flow over the database, on SQLite and PostgreSQL: consent to completion code."""

from datetime import timedelta

import pytest

from db import repository
from db.engine import transaction
from db.models import Assignment, Event, Participant, Rating, Study
from drumeval.errors import (
    InvalidTokenError,
    RatingError,
    StudyClosedError,
    StudyError,
    StudyNotFoundError,
)
from drumeval.study import content, flow, headphone, setup
from drumeval.study.synthetic import make_study

ANSWERS = {key: options[0] for key, _, options in content.QUESTIONNAIRE}


def _form(score: int = 1, genre: str = "techno-house") -> flow.RatingForm:
    return flow.RatingForm(
        scores=dict.fromkeys(content.CRITERION_KEYS, score),
        genre_answer=genre,
        genre_confidence=3,
        comment="steady groove",
    )


def _pass_headphones(engine, study, token) -> None:
    trials = flow.headphone_trials(flow.progress(engine, study, token))
    assert flow.submit_headphone_check(engine, study, token, [t.quiet_index for t in trials])


def _rate_everything(engine, study, token, *, score=1) -> list[int]:
    rated = []
    while (progress := flow.progress(engine, study, token)).step is flow.Step.RATING:
        flow.submit_rating(
            engine,
            study,
            token,
            clip_id=progress.clip.clip_id,
            form=_form(score),
            heard_seconds=progress.clip.min_listen_seconds,
            plays=1,
        )
        rated.append(progress.clip.clip_id)
    return rated


def test_a_participant_goes_from_consent_to_completion_code(db_engine):
    ids = make_study(db_engine, completion_url="https://example.org/done")
    study = flow.load_study(db_engine, "tiny")
    token = flow.consent(db_engine, study, {"PROLIFIC_PID": "abc123", "evil": "<script>"})
    assert flow.progress(db_engine, study, token).step is flow.Step.QUESTIONNAIRE
    flow.save_questionnaire(db_engine, study, token, ANSWERS)
    assert flow.progress(db_engine, study, token).step is flow.Step.HEADPHONES
    _pass_headphones(db_engine, study, token)
    assert flow.progress(db_engine, study, token).step is flow.Step.INSTRUCTIONS
    flow.start(db_engine, study, token)
    first = flow.progress(db_engine, study, token)
    assert first.step is flow.Step.RATING
    assert first.clip.is_training and first.clip.clip_id == ids["training_clip_id"]
    assert first.clip.audio().startswith(b"RIFF")
    rated = _rate_everything(db_engine, study, token)
    assert len(rated) == 1 + 4 and rated[0] == ids["training_clip_id"]
    assert set(rated[1:]) <= set(ids["clips"])
    done = flow.progress(db_engine, study, token)
    assert done.step is flow.Step.FINISHED
    code = flow.finish(db_engine, study, token)
    assert code and flow.finish(db_engine, study, token) == code  # idempotent
    finished = flow.progress(db_engine, study, token)
    assert finished.completion_code == code
    assert finished.completion_url == "https://example.org/done"
    with transaction(db_engine) as session:
        participant = session.query(Participant).one()
        assert participant.external_ids == {"PROLIFIC_PID": "abc123"}
        assert participant.token_sha256 != token and token not in str(participant.token_sha256)
        assert participant.status == "finished"
        ratings = session.query(Rating).all()
        assert len(ratings) == 5
        assert sum(rating.is_training for rating in ratings) == 1
        events = session.query(Event).filter_by(participant_id=participant.id).order_by(Event.id)
        kinds = [event.kind for event in events]
        assert kinds[0] == "consent" and kinds.count("rating") == 5


def test_reloading_resumes_at_the_first_unrated_clip_and_nothing_is_rated_twice(db_engine):
    make_study(db_engine, headphone_check=False)
    study = flow.load_study(db_engine, "tiny")
    token = flow.consent(db_engine, study, {})
    flow.save_questionnaire(db_engine, study, token, ANSWERS)
    flow.start(db_engine, study, token)
    flow.start(db_engine, study, token)  # a double click on Start assigns once
    before = flow.progress(db_engine, study, token)
    for _ in range(2):
        clip = flow.progress(db_engine, study, token).clip
        flow.submit_rating(
            db_engine, study, token, clip_id=clip.clip_id, form=_form(), heard_seconds=2.0, plays=1
        )
    resumed = flow.progress(db_engine, study, token)  # what a reload computes
    assert resumed.clip.position == before.clip.position + 2
    assert resumed.rated == 1  # the practice clip does not count
    repeat = flow.submit_rating(
        db_engine,
        study,
        token,
        clip_id=before.clip.clip_id,
        form=_form(score=-2),
        heard_seconds=2.0,
        plays=1,
    )
    assert repeat is False
    with transaction(db_engine) as session:
        assert session.query(Assignment).count() == 5
        assert session.query(Rating).count() == 2
        stored = session.query(Rating).filter_by(clip_id=before.clip.clip_id).one()
        assert stored.realism == 1  # the first submission wins


def test_the_form_is_refused_before_the_minimum_listening_time(db_engine):
    make_study(db_engine, headphone_check=False, min_listen_seconds=2.0)
    study = flow.load_study(db_engine, "tiny")
    token = flow.consent(db_engine, study, {})
    flow.save_questionnaire(db_engine, study, token, ANSWERS)
    flow.start(db_engine, study, token)
    clip = flow.progress(db_engine, study, token).clip
    with pytest.raises(RatingError, match="listen to at least 2 seconds"):
        flow.submit_rating(
            db_engine, study, token, clip_id=clip.clip_id, form=_form(), heard_seconds=0.5, plays=1
        )
    incomplete = flow.RatingForm(scores={"realism": 1}, genre_answer=None, genre_confidence=None)
    with pytest.raises(RatingError, match="Short-term phrasing"):
        flow.submit_rating(
            db_engine,
            study,
            token,
            clip_id=clip.clip_id,
            form=incomplete,
            heard_seconds=3.0,
            plays=1,
        )
    with pytest.raises(RatingError, match="not part of your study"):
        flow.submit_rating(
            db_engine, study, token, clip_id=10_000, form=_form(), heard_seconds=3.0, plays=1
        )


def test_a_failed_headphone_check_ends_the_study_and_is_counted(db_engine):
    make_study(db_engine)
    study = flow.load_study(db_engine, "tiny")
    token = flow.consent(db_engine, study, {})
    flow.save_questionnaire(db_engine, study, token, ANSWERS)
    trials = flow.headphone_trials(flow.progress(db_engine, study, token))
    wrong = [(trial.quiet_index + 1) % 3 for trial in trials]
    assert flow.submit_headphone_check(db_engine, study, token, wrong) is False
    assert flow.progress(db_engine, study, token).step is flow.Step.SCREENED_OUT
    with pytest.raises(StudyError):
        flow.start(db_engine, study, token)
    with transaction(db_engine) as session:
        participant = session.query(Participant).one()
        assert participant.screening["correct"] == headphone.score(trials, wrong)[0]
        assert [event.kind for event in session.query(Event)].count("screen-out") == 1


def test_declining_stores_only_a_count(db_engine):
    make_study(db_engine)
    study = flow.load_study(db_engine, "tiny")
    flow.decline(db_engine, study)
    flow.decline(db_engine, study)
    with transaction(db_engine) as session:
        assert session.query(Participant).count() == 0
        assert session.query(Study).one().declined_count == 2


@pytest.mark.parametrize(
    ("slug", "error"),
    [("nope", StudyNotFoundError), ("../etc", StudyNotFoundError), (None, StudyNotFoundError)],
)
def test_unknown_or_malformed_study_links_are_refused(db_engine, slug, error):
    make_study(db_engine)
    with pytest.raises(error):
        flow.load_study(db_engine, slug)


def test_closed_and_draft_studies_take_no_participants(db_engine):
    ids = make_study(db_engine, status="closed")
    with pytest.raises(StudyClosedError, match="closed"):
        flow.load_study(db_engine, "tiny")
    with transaction(db_engine, write_lock=True) as session:
        repository.set_study_status(session, study_id=ids["study_id"], status="draft")
    with pytest.raises(StudyClosedError, match="not taking participants"):
        flow.load_study(db_engine, "tiny")


@pytest.mark.parametrize("token", ["x", "A" * 32, "' OR 1=1 --" + "a" * 21, ""])
def test_forged_tokens_are_refused(db_engine, token):
    make_study(db_engine)
    study = flow.load_study(db_engine, "tiny")
    flow.consent(db_engine, study, {})
    with pytest.raises(InvalidTokenError):
        flow.progress(db_engine, study, token)


def test_minimum_listening_defaults_to_the_whole_clip_less_five_seconds():
    design = flow.StudyDesign.from_json({"clips_per_participant": 4})
    assert design.minimum_listening(120.0) == 115.0
    assert design.minimum_listening(3.0) == 1.0
    assert flow.StudyDesign.from_json({"min_listen_seconds": 2}).minimum_listening(120.0) == 2.0


def test_the_default_consent_text_states_this_studys_clips_and_time(db_engine):
    """A 4-clip study of 3-s clips (+ practice, headphone check): 4 clips, about 10 minutes
    — not the fixed "about a dozen clips… about 30 minutes" of before."""
    ids = make_study(db_engine, clips_per_participant=4, clip_seconds=3.0)
    study = flow.load_study(db_engine, "tiny")
    text = flow.consent_text(db_engine, study)
    assert "You will hear 4 clips (after one practice clip)" in text
    assert "it takes about 10 minutes" in text
    assert "dozen" not in text and "30 minutes" not in text
    with transaction(db_engine, write_lock=True) as session:  # a study created before the fix
        stored = session.get(Study, ids["study_id"])
        stored.design = {**stored.design, "consent_text": content.FORMER_DEFAULT_CONSENT_TEXT}
    assert flow.consent_text(db_engine, flow.load_study(db_engine, "tiny")) == text
    with transaction(db_engine, write_lock=True) as session:  # a study's own text is kept
        stored = session.get(Study, ids["study_id"])
        stored.design = {**stored.design, "consent_text": "Our own words."}
    assert flow.consent_text(db_engine, flow.load_study(db_engine, "tiny")) == "Our own words."


def test_expected_minutes_adds_listening_rating_and_the_fixed_steps():
    # 4 × (120 s + 60 s) + practice (120 + 60) + questionnaire 60 + instructions 60 = 1020 s
    assert (
        content.expected_minutes(
            clip_seconds=[120.0] * 4, headphone_tests=0, practice_seconds=120.0
        )
        == 20
    )  # 17 min, to the next 5
    # 1 × (30 + 60) + 60 + 60 + headphone check 120 = 330 s = 5.5 → 6 minutes
    assert content.expected_minutes(clip_seconds=[30.0], headphone_tests=1) == 6
    # headphone_screen = "both" runs two tests: 330 + 120 s = 7.5 → 8 minutes
    assert content.expected_minutes(clip_seconds=[30.0], headphone_tests=2) == 8


def test_a_screen_counts_its_tests():
    assert [headphone.test_count(s) for s in ("antiphase", "huggins", "both")] == [1, 1, 2]


def test_closing_lets_those_who_started_finish_within_the_grace_period(db_engine):
    """Closing stops new starts; who consented before may finish (and get a code) within
    the grace period; after it, only finished participants still see their code."""
    ids = make_study(db_engine)
    study = flow.load_study(db_engine, "tiny")
    mid_study = flow.consent(db_engine, study, {})
    flow.save_questionnaire(db_engine, study, mid_study, ANSWERS)
    _pass_headphones(db_engine, study, mid_study)
    flow.start(db_engine, study, mid_study)
    just_consented = flow.consent(db_engine, study, {})
    late = flow.consent(db_engine, study, {})

    deadline = setup.close_study(db_engine, "tiny", grace_minutes=30)
    with pytest.raises(StudyClosedError, match="has closed"):
        flow.load_study(db_engine, "tiny")  # a newcomer
    study = flow.load_study(db_engine, "tiny", returning=True)
    assert study.finish_by == deadline and 29 <= study.minutes_left() <= 30
    assert flow.progress(db_engine, study, mid_study).step is flow.Step.RATING
    _rate_everything(db_engine, study, mid_study)
    code = flow.finish(db_engine, study, mid_study)
    flow.save_questionnaire(db_engine, study, just_consented, ANSWERS)
    _pass_headphones(db_engine, study, just_consented)
    flow.start(db_engine, study, just_consented)  # assigned after the close, within the grace
    assert _rate_everything(db_engine, study, just_consented)
    assert flow.finish(db_engine, study, just_consented)

    with transaction(db_engine, write_lock=True) as session:  # the grace period is over
        stored = session.get(Study, ids["study_id"])
        stored.closed_at = stored.closed_at - timedelta(minutes=31)
    study = flow.load_study(db_engine, "tiny", returning=True)
    with pytest.raises(StudyClosedError, match="time to finish it has passed"):
        flow.progress(db_engine, study, late)
    with pytest.raises(StudyClosedError):
        flow.save_questionnaire(db_engine, study, late, ANSWERS)
    finished = flow.progress(db_engine, study, mid_study)
    assert (finished.step, finished.completion_code) == (flow.Step.FINISHED, code)


def test_the_grace_period_is_checked_and_stored(db_engine):
    make_study(db_engine)
    with pytest.raises(StudyError, match="grace period"):
        setup.close_study(db_engine, "tiny", grace_minutes=-5)
    setup.close_study(db_engine, "tiny")  # the study's own: 60 by default
    first = flow.load_study(db_engine, "tiny", returning=True).finish_by
    later = setup.close_study(db_engine, "tiny", grace_minutes=120)  # extended, same close
    assert later - first == timedelta(minutes=60)


def test_confidence_is_asked_only_when_a_genre_was_named(db_engine):
    make_study(db_engine, headphone_check=False)
    study = flow.load_study(db_engine, "tiny")
    token = flow.consent(db_engine, study, {})
    flow.save_questionnaire(db_engine, study, token, ANSWERS)
    flow.start(db_engine, study, token)
    clip = flow.progress(db_engine, study, token).clip
    scores = dict.fromkeys(content.CRITERION_KEYS, 0)
    named = flow.RatingForm(scores=scores, genre_answer="jazz-soul", genre_confidence=None)
    with pytest.raises(RatingError, match="how sure"):
        flow.submit_rating(
            db_engine, study, token, clip_id=clip.clip_id, form=named, heard_seconds=3, plays=1
        )
    unsure = flow.RatingForm(scores=scores, genre_answer="cant_tell", genre_confidence=None)
    assert flow.submit_rating(
        db_engine, study, token, clip_id=clip.clip_id, form=unsure, heard_seconds=3, plays=1
    )
    with transaction(db_engine) as session:
        rating = session.query(Rating).one()
        assert (rating.genre_answer, rating.genre_confidence) == ("cant_tell", None)


def _set_study(engine, **columns) -> None:
    with transaction(engine, write_lock=True) as session:
        study = session.query(Study).one()
        for name, value in columns.items():
            setattr(study, name, value)


def test_a_participant_target_stops_new_starts_when_reached(db_engine):
    make_study(db_engine)
    _set_study(db_engine, participant_target=2)
    study = flow.load_study(db_engine, "tiny")
    first = flow.consent(db_engine, study, {})
    flow.consent(db_engine, study, {})
    with pytest.raises(StudyClosedError, match="all the participants it needs"):
        flow.consent(db_engine, study, {})
    flow.withdraw(db_engine, study, first)  # a place given back is a place for someone else
    flow.consent(db_engine, study, {})
    assert flow.progress(db_engine, study, first).step is flow.Step.RETURNED


def test_abandoned_places_are_released_after_the_studys_timeout(db_engine):
    make_study(db_engine, headphone_check=False, clips_per_condition=1)  # 4 clips, 4 each
    _set_study(db_engine, participant_target=1, abandon_minutes=30)
    study = flow.load_study(db_engine, "tiny")
    gone = flow.consent(db_engine, study, {})
    flow.save_questionnaire(db_engine, study, gone, ANSWERS)
    flow.start(db_engine, study, gone)
    with pytest.raises(StudyClosedError):
        flow.consent(db_engine, study, {})  # the place is still held
    with transaction(db_engine, write_lock=True) as session:
        for event in session.query(Event):
            event.created_at -= timedelta(minutes=31)
    newcomer = flow.consent(db_engine, study, {})  # releases the abandoned place first
    assert flow.progress(db_engine, study, gone).step is flow.Step.RETURNED
    with pytest.raises(StudyClosedError, match="place in this study was released"):
        flow.submit_rating(
            db_engine, study, gone, clip_id=1, form=_form(), heard_seconds=3, plays=1
        )
    flow.save_questionnaire(db_engine, study, newcomer, ANSWERS)
    flow.start(db_engine, study, newcomer)  # the released clips are free again
    with transaction(db_engine) as session:
        statuses = sorted(p.status for p in session.query(Participant))
        assert statuses == ["abandoned", "in_progress"]
        assert session.query(Event).filter_by(kind="abandoned").count() == 1


@pytest.mark.parametrize(
    ("url", "code", "completed", "expected"),
    [
        ("https://app.prolific.com/submissions/complete?cc=DONE", "SCREEN", False,
         "https://app.prolific.com/submissions/complete?cc=SCREEN"),
        ("https://app.prolific.com/submissions/complete?cc=DONE", "DONE", True,
         "https://app.prolific.com/submissions/complete?cc=DONE"),
        ("https://x.org/back/{code}", "RET 1", False, "https://x.org/back/RET%201"),
        ("https://x.org/thanks", "SCREEN", False, None),  # one ending only: completion
        ("https://x.org/thanks", "C1", True, "https://x.org/thanks"),
        ("https://app.prolific.com/submissions/complete?cc=DONE", None, False, None),
    ],
)  # fmt: skip
def test_each_ending_redirects_with_its_own_code(url, code, completed, expected):
    design = flow.StudyDesign(clips_per_participant=1, completion_url=url)
    assert design.redirect_url(code, completed=completed) == expected


def test_a_clips_listening_and_answers_are_kept_until_it_is_rated(db_engine):
    """A reload mid-clip continues from the database: listening only grows, the answers
    keep their latest valid values, and the rating takes them over (and empties the draft)."""
    make_study(db_engine, headphone_check=False)
    study = flow.load_study(db_engine, "tiny")
    token = flow.consent(db_engine, study, {})
    flow.save_questionnaire(db_engine, study, token, ANSWERS)
    flow.start(db_engine, study, token)
    clip = flow.progress(db_engine, study, token).clip
    assert clip.draft == flow.ClipDraft()
    answers = {"realism": 1, "genre": "jazz-soul", "confidence": 9, "surprise": "x"}
    draft = flow.ClipDraft(heard_seconds=2.0, heard_spans=((0, 2),), plays=1, answers=answers)
    flow.save_clip_draft(db_engine, study, token, clip_id=clip.clip_id, draft=draft)
    older_tab = flow.ClipDraft(heard_seconds=1.0, heard_spans=((0, 1),), plays=1, answers={})
    flow.save_clip_draft(db_engine, study, token, clip_id=clip.clip_id, draft=older_tab)
    kept = flow.progress(db_engine, study, token).clip.draft
    assert (kept.heard_seconds, kept.heard_spans, kept.plays) == (2.0, ((0, 2),), 1)
    assert kept.answers == {}  # the latest answers, even when fewer
    flow.save_clip_draft(db_engine, study, token, clip_id=clip.clip_id, draft=draft)
    kept = flow.progress(db_engine, study, token).clip.draft
    assert kept.answers == {"realism": 1, "genre": "jazz-soul"}  # no unknown or invalid ones
    flow.submit_rating(
        db_engine, study, token, clip_id=clip.clip_id, form=_form(), heard_seconds=2.0, plays=2
    )
    flow.save_clip_draft(db_engine, study, token, clip_id=clip.clip_id, draft=draft)  # too late
    with transaction(db_engine) as session:
        assignment = session.query(Assignment).filter_by(clip_id=clip.clip_id).one()
        assert (assignment.heard_seconds, assignment.play_count) == (2.0, 1)
        assert assignment.draft_answers is None
        assert session.query(Rating).one().play_count == 2
