"""Previewing a study as an evaluator (issue 31): every step, nothing stored — the library,
`drumeval study preview` and the Preview button on /admin."""

import pytest
from sqlalchemy import func, select

from db.engine import transaction
from db.models import Assignment, Event, Participant, Rating, Study
from drumeval.errors import StudyNotFoundError
from drumeval.study import headphone, setup
from drumeval.study.preview import preview_study
from tests.study.pool_factory import CONFIG, add_pool
from tests.study.test_admin_page import _button, _login, _page, _texts

WITH_HEADPHONES = CONFIG.replace("headphone_check = false", "headphone_check = true")


def _counts(engine) -> dict[str, int]:
    """Rows an evaluator's visit would write, and the study row itself."""
    with transaction(engine) as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Participant, Assignment, Rating, Event)
        }
        counts["declined"] = sum(session.scalars(select(Study.declined_count)))
    return counts


def _open_study(engine, text: str = WITH_HEADPHONES) -> None:
    add_pool(engine)
    setup.create_study(engine, text)
    setup.open_study(engine, "two-models")


def test_the_preview_has_every_step_and_stores_nothing(db_engine):
    _open_study(db_engine)
    before = _counts(db_engine)
    walk = preview_study(db_engine, "two-models", seed=5)
    assert walk.steps == (
        "consent",
        "questionnaire",
        "headphones",
        "instructions",
        *(f"clip:{index}" for index in range(5)),  # practice + 4 rated
        "finished",
    )
    assert [clip.number for clip in walk.clips] == [0, 1, 2, 3, 4]
    assert walk.clips[0].role == "training" and len(walk.headphone_urls) == headphone.TRIALS
    assert len({clip.audio_url for clip in walk.clips}) == 5  # five different clips
    assert "hear 4 clips (after one practice clip)" in walk.consent_text
    assert walk.codes["completed"] == "DONE42"
    for step in walk.steps:
        assert walk.describe(step)
    assert _counts(db_engine) == before


def test_without_headphone_check_the_step_is_left_out(db_engine):
    _open_study(db_engine, CONFIG)
    assert "headphones" not in preview_study(db_engine, "two-models").steps


def test_an_unknown_study_is_a_clear_error(db_engine):
    with pytest.raises(StudyNotFoundError, match="no study called 'nope'"):
        preview_study(db_engine, "nope")


def test_cli_preview_walks_every_step(db_cli, db_engine):
    _open_study(db_engine)
    before = _counts(db_engine)
    code, out, _ = db_cli("study", "preview", "two-models")
    assert code == 0, out
    for heading in ("1. consent", "3. headphones", "4. instructions", "5. clip", "10. finished"):
        assert heading in out
    assert "practice clip:" in out and "clip 4 of 4:" in out and "Short-term phrasing" in out
    assert "Nothing was stored" in out
    assert _counts(db_engine) == before


def test_admin_preview_steps_through_without_a_participant(admin_env):
    _open_study(admin_env)
    before = _counts(admin_env)
    app = _login(_page().run())
    _button(app, "Preview as an evaluator").click().run()
    seen = []
    steps = len(preview_study(admin_env, "two-models").steps)
    for step in range(steps):
        assert not app.exception
        seen.append(app.subheader[0].value)  # the Studies tab comes first
        if step < steps - 1:
            _button(app, "Next").click().run()
    assert seen[0] == "Two models" and "Headphone check" in seen and "Thank you!" in seen
    assert "Practice clip" in seen and "Clip 4 of 4" in seen
    assert "step 10 of 10" in _texts(app)
    _button(app, "End the preview").click().run()
    assert "Preview as an evaluator" in [button.label for button in app.button]
    assert _counts(admin_env) == before
