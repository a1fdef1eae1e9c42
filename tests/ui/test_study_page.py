"""The evaluator pages through streamlit.testing: every screen, every bad link."""

import json
import re
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from db.engine import open_database, transaction
from db.models import Participant, Rating, Study
from drumeval import clipstore
from drumeval.paths import clip_store_dir
from drumeval.study import content, flow, headphone, huggins
from drumeval.study.synthetic import make_study
from tests.ui.apptest import evaluator_page


def _texts(app: AppTest) -> str:
    parts = [
        element.value
        for kind in (
            "title",
            "markdown",
            "caption",
            "info",
            "error",
            "success",
            "warning",
            "text",
            "code",
        )
        for element in getattr(app, kind)
    ]
    return "\n".join(str(part) for part in parts)


def _button(app: AppTest, label_start: str):
    return next(button for button in app.button if button.label.startswith(label_start))


def _submit(app: AppTest):
    """The rating form's submit button (locked or not)."""
    return next(b for b in app.button if b.label.startswith(("Submit", "Listen first")))


def _consent(app: AppTest) -> str:
    _button(app, "I agree").click().run()
    assert not app.exception
    return (
        app.query_params["t"][0]
        if isinstance(app.query_params["t"], list)
        else app.query_params["t"]
    )


def _answer_questionnaire(app: AppTest) -> None:
    for radio in app.radio:
        radio.set_value(radio.options[0])
    app.button[0].click().run()


def _play_sound(app: AppTest, number: int) -> None:
    """What the browser reports once headphone sound `number` has played to its end."""
    seconds = headphone.TRIAL_SECONDS
    _report(app, f"hp-sound:{number}", f"hp{number}", seconds)


def _answer_headphones(app: AppTest, engine, token: str, *, correct: bool) -> None:
    for number in range(1, headphone.TRIALS + 1):
        _play_sound(app, number)
    study = flow.load_study(engine, "tiny")
    trials = flow.headphone_trials(flow.progress(engine, study, token))
    for radio, trial in zip(app.radio, trials, strict=True):
        answer = trial.quiet_index if correct else (trial.quiet_index + 1) % 3
        radio.set_value(answer)
    app.button[0].click().run()


def _report(app: AppTest, key: str, token: str, seconds: float) -> None:
    app.session_state[key] = {
        "progress": {
            "token": token,
            "heard_seconds": seconds,
            "plays": 1,
            "seeks": 0,
            "ended": True,
        }
    }
    app.run()


def _listen(app: AppTest, position: int, seconds: float) -> None:
    _report(app, f"player:{position}", str(position), seconds)


def _at_practice_clip(engine, **study) -> AppTest:
    """A new evaluator of a study without headphone check, on the practice clip."""
    make_study(engine, headphone_check=False, **study)
    app = evaluator_page(s="tiny")
    _consent(app)
    _answer_questionnaire(app)
    _button(app, "Start").click().run()
    return app


def _fill_rating(app: AppTest, score_label: str = "+") -> None:
    for radio in app.radio:
        if radio.label in {criterion.label for criterion in content.CRITERIA}:
            radio.set_value(dict((label, value) for value, label in content.SCALE)[score_label])
        elif radio.label == content.GENRE_QUESTION:
            radio.set_value("jazz-soul")
        else:
            radio.set_value(4)


def test_an_evaluator_takes_the_whole_study(engine):
    make_study(engine, completion_url="https://example.org/complete?cc=ABC")
    app = evaluator_page(s="tiny", PROLIFIC_PID="p-42")
    assert "Tiny drum study" in _texts(app)
    token = _consent(app)
    assert "A few questions" in _texts(app)
    _answer_questionnaire(app)
    assert "Headphone check" in _texts(app)
    _answer_headphones(app, engine, token, correct=True)
    assert "How to rate" in _texts(app)
    for criterion in content.CRITERIA:
        assert criterion.definition in _texts(app)
    _button(app, "Start").click().run()
    assert "Practice clip" in _texts(app)
    for position in range(5):
        submit = _submit(app)
        assert submit.disabled, "the form must stay locked until the clip was heard"
        _listen(app, position, 2.5)
        assert not _submit(app).disabled
        _fill_rating(app)
        _submit(app).click().run()
        assert not app.exception and not app.error, _texts(app)
        if position < 4:
            assert f"Clip {position + 1} of 4" in _texts(app)
    assert "Thank you!" in _texts(app)
    with transaction(engine) as session:
        participant = session.query(Participant).one()
        assert participant.completion_code in _texts(app)
        assert participant.external_ids == {"PROLIFIC_PID": "p-42"}
        assert session.query(Rating).count() == 5
        assert {rating.genre_answer for rating in session.query(Rating)} == {"jazz-soul"}


def test_declining_consent_ends_politely_and_stores_no_participant(engine):
    make_study(engine)
    app = evaluator_page(s="tiny")
    _button(app, "I do not agree").click().run()
    assert "Nothing about you has been stored" in _texts(app)
    assert "t" not in app.query_params
    with transaction(engine) as session:
        assert session.query(Participant).count() == 0
        assert session.query(Study).one().declined_count == 1


def _players(app: AppTest) -> list[dict]:
    """The data each mounted player was given (its source URL, minimum, texts)."""
    return [
        json.loads(element.proto.json)
        for element in app.get("bidi_component")
        if element.proto.component_name.endswith("drumeval_player")
    ]


def test_the_headphone_sounds_come_from_the_clip_store(engine, data_home):
    make_study(engine)
    app = evaluator_page(s="tiny")
    token = _consent(app)
    _answer_questionnaire(app)
    trials = flow.headphone_trials(flow.progress(engine, flow.load_study(engine, "tiny"), token))
    players = _players(app)
    assert len(players) == len(trials) == headphone.TRIALS
    for player, trial in zip(players, trials, strict=True):
        sha256 = re.fullmatch(r"/clips/([0-9a-f]{64})\.wav", player["src"])[1]
        assert clipstore.get(sha256, "wav") == headphone.trial_wav(trial)  # the trial's own sound
        assert player["min_seconds"] == headphone.TRIAL_SECONDS == 4.0  # to the end


def test_headphone_answers_unlock_only_once_their_sound_was_played(engine):
    make_study(engine)
    app = evaluator_page(s="tiny")
    token = _consent(app)
    _answer_questionnaire(app)
    assert [radio.disabled for radio in app.radio] == [True] * headphone.TRIALS
    _report(app, "hp-sound:2", "hp2", headphone.TRIAL_SECONDS - 1.0)  # stopped a second early
    assert [radio.disabled for radio in app.radio] == [True] * headphone.TRIALS
    _play_sound(app, 2)
    assert [radio.disabled for radio in app.radio] == [True, False, True, True, True, True]
    trials = flow.headphone_trials(flow.progress(engine, flow.load_study(engine, "tiny"), token))
    app.radio[1].set_value(trials[1].quiet_index).run()
    _button(app, "Continue").click().run()
    assert "Please play every sound to the end" in _texts(app)
    with transaction(engine) as session:
        assert session.query(Participant).one().screening is None  # nothing scored yet


def test_an_unwritable_clip_store_names_itself_on_the_headphone_check(engine, data_home):
    make_study(engine)
    app = evaluator_page(s="tiny")
    _consent(app)
    store = clip_store_dir()
    shutil.rmtree(store, ignore_errors=True)
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("not a directory")  # as unwritable as a full disk, even for root
    _answer_questionnaire(app)
    assert not app.exception
    assert "cannot write the clip store" in " ".join(error.value for error in app.error)
    assert not _players(app)


def test_a_failed_headphone_check_ends_the_study(engine):
    make_study(engine)
    app = evaluator_page(s="tiny")
    token = _consent(app)
    _answer_questionnaire(app)
    _answer_headphones(app, engine, token, correct=False)
    assert "the study ends here" in _texts(app)
    assert not app.exception
    reloaded = evaluator_page(s="tiny", t=token)
    assert "the study ends here" in _texts(reloaded)


def test_the_rating_form_is_locked_until_the_minimum_is_heard(engine):
    app = _at_practice_clip(engine, min_listen_seconds=2.0)
    assert _submit(app).disabled
    assert _submit(app).label.startswith("Listen first")
    _listen(app, 0, 1.0)
    assert _submit(app).disabled
    _listen(app, 0, 2.0)
    assert not _submit(app).disabled


def test_a_reload_resumes_where_the_evaluator_left(engine):
    make_study(engine, headphone_check=False)
    app = evaluator_page(s="tiny")
    token = _consent(app)
    _answer_questionnaire(app)
    _button(app, "Start").click().run()
    for position in range(2):
        _listen(app, position, 3.0)
        _fill_rating(app)
        _submit(app).click().run()
    assert "Clip 2 of 4" in _texts(app)
    reloaded = evaluator_page(s="tiny", t=token)  # a new browser session on the same link
    assert "Clip 2 of 4" in _texts(reloaded)
    with transaction(engine) as session:
        assert session.query(Rating).count() == 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "not valid"),
        ({"s": "no-such-study"}, "There is no study at this link"),
        ({"s": "<script>alert(1)</script>"}, "not valid"),
        ({"s": "tiny", "t": "forged"}, "not valid"),
        ({"s": "tiny", "t": "A" * 32}, "does not match any participant"),
    ],
)
def test_bad_links_get_a_clear_message(engine, query, message):
    make_study(engine)
    app = evaluator_page(**query)
    assert not app.exception
    assert message in _texts(app)


def test_a_closed_study_says_so(engine):
    make_study(engine, status="closed")
    app = evaluator_page(s="tiny")
    assert not app.exception
    assert "This study has closed" in _texts(app)


def test_a_rating_submitted_while_the_database_is_locked_is_kept_and_written_once(
    data_home, monkeypatch
):
    import sqlite3

    from db.engine import BUSY_TIMEOUT_ENV
    from drumeval.paths import sqlite_path

    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "0.2")
    engine = open_database()
    app = _at_practice_clip(engine)
    _listen(app, 0, 3.0)
    _fill_rating(app)
    blocker = sqlite3.connect(sqlite_path(), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        _submit(app).click().run()
        assert not app.exception
        assert "could not save your rating yet" in _texts(app)
        with transaction(engine) as session:
            assert session.query(Rating).count() == 0
        app.run()  # the page retries by itself while the lock is held
        assert "could not save your rating yet" in _texts(app)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    app.run()  # the next automatic retry finds the database free
    assert not app.exception
    assert "Clip 1 of 4" in _texts(app)
    app.run()
    with transaction(engine) as session:
        assert session.query(Rating).count() == 1


def test_an_incomplete_rating_is_refused_under_the_form_and_the_answers_are_kept(engine):
    app = _at_practice_clip(engine)
    _listen(app, 0, 2.5)
    _fill_rating(app)
    genre = next(radio for radio in app.radio if radio.label == content.GENRE_QUESTION)
    genre.set_value(None)
    _submit(app).click().run()
    assert not app.exception
    assert [error.value for error in app.error] == ["Choose the genre (or “Can't tell”)."]
    assert "Practice clip" in _texts(app), "still the same clip"
    realism = next(radio for radio in app.radio if radio.label == content.CRITERIA[-1].label)
    assert realism.value is not None, "the answers given are kept"
    with transaction(engine) as session:
        assert session.query(Rating).count() == 0
    genre = next(radio for radio in app.radio if radio.label == content.GENRE_QUESTION)
    genre.set_value("techno-house")
    _submit(app).click().run()
    assert not app.error and "Clip 1 of 4" in _texts(app)
    with transaction(engine) as session:
        assert session.query(Rating).count() == 1


def test_cant_tell_needs_no_confidence(engine):
    app = _at_practice_clip(engine)
    _listen(app, 0, 2.5)
    _fill_rating(app)
    next(radio for radio in app.radio if radio.label == content.GENRE_QUESTION).set_value(
        content.CANT_TELL
    )
    next(radio for radio in app.radio if radio.label.startswith("How sure")).set_value(None)
    _submit(app).click().run()
    assert not app.exception and not app.error, _texts(app)
    assert "Clip 1 of 4" in _texts(app)
    with transaction(engine) as session:
        assert session.query(Rating).one().genre_confidence is None


def _prolific_codes(engine) -> None:
    with transaction(engine, write_lock=True) as session:
        study = session.query(Study).one()
        study.design = {**study.design, "screened_out_code": "SCREEN", "returned_code": "RET"}


def _links(app: AppTest) -> list[str]:
    return [element.proto.url for element in app.get("link_button")]


def test_screened_out_and_returned_participants_go_back_with_their_own_codes(engine):
    make_study(engine, completion_url="https://app.prolific.com/submissions/complete?cc=DONE")
    _prolific_codes(engine)
    app = evaluator_page(s="tiny")
    token = _consent(app)
    _answer_questionnaire(app)
    _answer_headphones(app, engine, token, correct=False)
    assert "the study ends here" in _texts(app) and "SCREEN" in _texts(app)
    assert _links(app) == ["https://app.prolific.com/submissions/complete?cc=SCREEN"]
    other = evaluator_page(s="tiny")
    _consent(other)
    _button(other, "Leave the study").click().run()
    assert not other.exception and "You have left this study" in _texts(other)
    assert _links(other) == ["https://app.prolific.com/submissions/complete?cc=RET"]
    declined = evaluator_page(s="tiny")
    _button(declined, "I do not agree").click().run()
    assert _links(declined) == ["https://app.prolific.com/submissions/complete?cc=SCREEN"]


@pytest.mark.parametrize(("screen", "huggins_right", "passes"), [
    ("huggins", 6, True), ("both", 6, True), ("both", 4, False),
])  # fmt: skip
def test_the_huggins_screen_alone_or_with_the_anti_phase_one(engine, screen, huggins_right, passes):
    make_study(engine)
    with transaction(engine, write_lock=True) as session:
        study = session.query(Study).one()
        study.design = {**study.design, "headphone_screen": screen}
    app = evaluator_page(s="tiny")
    token = _consent(app)
    _answer_questionnaire(app)
    study = flow.load_study(engine, "tiny")
    trials = flow.headphone_trials(flow.progress(engine, study, token), screen)
    players = _players(app)
    assert len(players) == len(app.radio) == len(trials) == (6 if screen == "huggins" else 12)
    for player, trial in zip(players, trials, strict=True):
        sha256 = re.fullmatch(r"/clips/([0-9a-f]{64})\.wav", player["src"])[1]
        assert clipstore.get(sha256, "wav") == headphone.screen_wav(trial)
    assert "three bursts of noise" in _texts(app)
    question = f"In which noise of sound {len(trials)} did you hear a faint tone?"
    assert app.radio[-1].label == question
    wrong = 6 - huggins_right
    for number in range(1, len(trials) + 1):
        _play_sound(app, number)
    huggins_seen = 0
    for radio, trial in zip(app.radio, trials, strict=True):
        is_huggins = isinstance(trial, huggins.HugginsTrial)
        huggins_seen += is_huggins
        miss = is_huggins and huggins_seen <= wrong
        radio.set_value((trial.answer + 1) % 3 if miss else trial.answer)
    _button(app, "Continue").click().run()
    assert not app.exception
    with transaction(engine) as session:
        screening = session.query(Participant).one().screening
    assert screening["passed"] is passes
    assert screening["correct_per_test"]["milne2021-huggins"] == huggins_right
    assert ("woods2017-antiphase" in screening["test"]) is (screen == "both")


def _target(engine, participants: int) -> None:
    with transaction(engine, write_lock=True) as session:
        session.query(Study).one().participant_target = participants


def test_a_full_study_says_so_before_consent_and_sends_a_recruit_back(engine):
    make_study(engine, completion_url="https://app.prolific.com/submissions/complete?cc=DONE")
    _prolific_codes(engine)
    _target(engine, 3)
    study = flow.load_study(engine, "tiny")
    for _ in range(3):
        flow.consent(engine, study, {})
    app = evaluator_page(s="tiny", PROLIFIC_PID="p-4")
    assert not app.exception
    assert flow.STUDY_FULL_MESSAGE in _texts(app) and "You are invited" not in _texts(app)
    assert not [button for button in app.button if button.label.startswith("I agree")]
    assert _links(app) == ["https://app.prolific.com/submissions/complete?cc=RET"]


def test_a_study_that_fills_while_the_consent_page_is_open_says_so_without_a_traceback(engine):
    make_study(engine)
    _target(engine, 1)
    app = evaluator_page(s="tiny")
    assert "You are invited" in _texts(app)
    flow.consent(engine, flow.load_study(engine, "tiny"), {})  # someone else takes the place
    _button(app, "I agree").click().run()
    assert not app.exception and "t" not in app.query_params
    assert flow.STUDY_FULL_MESSAGE in _texts(app)
    with transaction(engine) as session:
        assert session.query(Participant).count() == 1


def test_an_abandoned_place_counts_as_free_on_the_inviteevaluator_page(engine):
    from datetime import timedelta

    from db.models import Event

    make_study(engine)
    _target(engine, 1)
    flow.consent(engine, flow.load_study(engine, "tiny"), {})
    with transaction(engine, write_lock=True) as session:
        session.query(Study).one().abandon_minutes = 30
        for event in session.query(Event):
            event.created_at -= timedelta(minutes=31)
    app = evaluator_page(s="tiny")
    assert "You are invited" in _texts(app)
    _consent(app)
    with transaction(engine) as session:
        statuses = sorted(participant.status for participant in session.query(Participant))
    assert statuses == ["abandoned", "consented"]


@pytest.mark.parametrize(("screen", "caption"), [
    ("antiphase", "Step 2 of 3 · 6 sounds, about 2 minutes"),
    ("both", "Step 2 of 3 · 12 sounds, about 4 minutes"),
])  # fmt: skip
def test_the_headphone_step_says_how_many_sounds_and_minutes_it_takes(engine, screen, caption):
    make_study(engine, headphone_screen=screen)
    app = evaluator_page(s="tiny")
    _consent(app)
    _answer_questionnaire(app)
    assert caption in [element.value for element in app.caption]


def test_the_invite_page_says_the_server_is_busy_when_the_database_is_down(engine, monkeypatch):
    from drumeval.errors import DatabaseError
    from ui import study as screens

    make_study(engine)

    def unreachable(*args, **kwargs):
        raise DatabaseError("the database is unavailable or busy; please retry")

    monkeypatch.setattr(flow, "is_full", unreachable)
    app = evaluator_page(s="tiny")
    assert not app.exception
    assert screens.SERVER_BUSY in [element.value for element in app.warning]
    assert not [button for button in app.button if button.label.startswith("I agree")]
