"""The pairwise and multi-stimulus pages through streamlit.testing: locked until heard,
A / B / Tie / Both bad, sliders that must be moved, resume from the database, double submit."""

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.engine import transaction
from db.models import MushraScore, PairwiseVote, Participant
from drumeval.study import flow
from tests.factories import make_trial_study
from tests.ui.apptest import evaluator_page


def _button(app: AppTest, label_start: str):
    return next(button for button in app.button if button.label.startswith(label_start))


def _token(app: AppTest) -> str:
    token = app.query_params["t"]
    return token[0] if isinstance(token, list) else token


def _started(engine, trial_type: str, **design) -> tuple[AppTest, str]:
    make_trial_study(engine, trial_type=trial_type, **design)
    app = evaluator_page(s="trials")
    _button(app, "I agree").click().run()
    token = _token(app)
    for radio in app.radio:
        radio.set_value(radio.options[0])
    app.button[0].click().run()
    assert "How it works" in [title.value for title in app.title]
    _button(app, "Start").click().run()
    assert not app.exception
    return app, token


def _hear_pair(app: AppTest, number: int, seconds: tuple[float, float]) -> None:
    app.session_state[f"pair:{number}"] = {
        "progress": {"token": str(number), "heard_seconds": list(seconds), "plays": 1}
    }
    app.run()


def _vote_buttons(app: AppTest) -> dict[str, object]:
    return {
        button.label: button
        for button in app.button
        if button.label in ("A is better", "B is better", "Tie", "Both bad")
    }


def test_a_pairwise_study_from_consent_to_code(engine):
    app, token = _started(engine, "pairwise")
    assert app.title[0].value == "Pair 1 of 3"
    assert all(button.disabled for button in _vote_buttons(app).values())
    _hear_pair(app, 1, (2.0, 0.5))  # B not heard enough yet
    assert all(button.disabled for button in _vote_buttons(app).values())
    _hear_pair(app, 1, (2.0, 2.0))
    app.text_area[0].set_value("steadier groove").run()
    _vote_buttons(app)["B is better"].click().run()
    assert app.title[0].value == "Pair 2 of 3"
    for number, outcome in ((2, "Tie"), (3, "Both bad")):
        _hear_pair(app, number, (3.0, 3.0))
        _vote_buttons(app)[outcome].click().run()
    assert "Thank you!" in [title.value for title in app.title]
    assert "All your votes are saved" in app.success[0].value
    with transaction(engine) as session:
        votes = session.scalars(select(PairwiseVote).order_by(PairwiseVote.id)).all()
        assert [vote.outcome for vote in votes] == ["b", "tie", "both_bad"]
        assert votes[0].reason == "steadier groove" and votes[1].reason is None
        assert votes[0].heard_a_seconds == 2.0 and votes[0].heard_b_seconds == 2.0
        participant = session.scalars(select(Participant)).one()
        assert participant.status == "finished" and participant.completion_code
    study = flow.load_study(engine, "trials", returning=True)
    assert flow.progress(engine, study, token).step is flow.Step.FINISHED


def test_a_reload_keeps_what_was_heard_and_the_reason_and_a_repeat_vote_counts_once(engine):
    app, token = _started(engine, "pairwise")
    _hear_pair(app, 1, (2.0, 2.0))
    app.text_area[0].set_value("kick too loud").run()
    reloaded = evaluator_page(s="trials", t=token)  # a new browser session on the resume link
    assert reloaded.title[0].value == "Pair 1 of 3"
    assert reloaded.text_area[0].value == "kick too loud"
    assert not _vote_buttons(reloaded)["A is better"].disabled  # heard before the reload
    study = flow.load_study(engine, "trials", returning=True)
    page = flow.progress(engine, study, token).page
    heard = {0: 2.0, 1: 2.0}
    assert flow.submit_vote(engine, study, token, trial_id=page.trial_id, outcome="a", heard=heard)
    assert not flow.submit_vote(  # the same vote again (double click, second tab)
        engine, study, token, trial_id=page.trial_id, outcome="b", heard=heard
    )
    with transaction(engine) as session:
        assert session.scalars(select(PairwiseVote.outcome)).all() == ["a"]


def test_the_server_refuses_an_unheard_pair_and_a_missing_required_reason(engine):
    app, token = _started(engine, "pairwise", reason="required")
    study = flow.load_study(engine, "trials", returning=True)
    page = flow.progress(engine, study, token).page
    with pytest.raises(flow.RatingError, match="listen to both"):
        flow.submit_vote(
            engine, study, token, trial_id=page.trial_id, outcome="a", reason="x", heard={0: 2.0}
        )
    with pytest.raises(flow.RatingError, match="why"):
        flow.submit_vote(
            engine, study, token, trial_id=page.trial_id, outcome="a", heard={0: 2.0, 1: 2.0}
        )
    _hear_pair(app, 1, (2.0, 2.0))
    _vote_buttons(app)["A is better"].click().run()
    assert "Please say in a few words why." in [error.value for error in app.error]
    assert app.title[0].value == "Pair 1 of 3"


def _hear_track(app: AppTest, page: int, slot: int, number: int) -> None:
    app.session_state[f"stimulus:{page}:{slot}"] = {
        "progress": {"token": f"{page}-{number}", "heard_seconds": 3.0, "plays": 1, "ended": True}
    }


def _slots(engine, token: str) -> list[int]:
    study = flow.load_study(engine, "trials", returning=True)
    return [stimulus.slot for stimulus in flow.progress(engine, study, token).page.stimuli]


def test_a_mushra_page_needs_every_slider_moved_and_every_track_heard(engine):
    app, token = _started(engine, "mushra", trials_per_participant=2)
    assert app.title[0].value == "Page 1 of 2"
    assert len(app.slider) == 5  # three models, the hidden reference, the anchor
    labels = " ".join(slider.label for slider in app.slider)
    assert "reference" not in labels.lower() and "anchor" not in labels.lower()
    assert _button(app, "Listen to and rate").disabled
    slots = _slots(engine, token)
    for number, slot in enumerate(slots, start=1):
        _hear_track(app, 1, slot, number)
    app.run()
    for slider in app.slider[:-1]:
        slider.set_value(70).run()
    assert _button(app, "Listen to and rate").disabled  # one slider untouched
    reloaded = evaluator_page(s="trials", t=token)  # the moved sliders come back after a reload
    assert [slider.value for slider in reloaded.slider[:-1]] == [70] * 4
    app.slider[-1].set_value(20).run()
    _button(app, "Submit").click().run()
    assert app.title[0].value == "Page 2 of 2"
    with transaction(engine) as session:
        scores = session.scalars(select(MushraScore.score).order_by(MushraScore.id)).all()
    assert sorted(scores) == [20, 70, 70, 70, 70]


def test_pages_that_cannot_be_built_give_a_neutral_message_and_log_the_reason(engine, caplog):
    from db.models import Clip, StudyClip

    make_trial_study(engine, trial_type="mushra")
    with transaction(engine, write_lock=True) as session:  # a design that create now refuses
        anchors = select(Clip.id).where(Clip.role == "anchor")
        session.query(StudyClip).filter(StudyClip.clip_id.in_(anchors)).delete()
    app = evaluator_page(s="trials")
    _button(app, "I agree").click().run()
    for radio in app.radio:
        radio.set_value(radio.options[0])
    app.button[0].click().run()
    _button(app, "Start").click().run()
    assert not app.exception
    shown = " ".join(str(element.value) for element in (*app.error, *app.markdown, *app.title))
    assert "Something went wrong on our side. Your answers so far are saved" in shown
    assert "anchor" not in shown and "reference" not in shown
    assert any("needs a reference, an anchor" in record.getMessage() for record in caplog.records)
