"""Previewing a study as an evaluator (issue 31): every step, nothing stored — the library,
`drumeval study preview` and the Preview button on /admin."""

import pytest
from sqlalchemy import func, select

from db.engine import transaction
from db.models import (
    Assignment,
    Event,
    MushraScore,
    PairwiseVote,
    Participant,
    Rating,
    Study,
    Trial,
    TrialStimulus,
)
from drumeval.errors import StudyNotFoundError
from drumeval.study import headphone, setup
from drumeval.study.preview import preview_study
from tests.factories import CONFIG, add_pool, make_trial_study, trial_conditions
from tests.ui.test_admin_page import _button, _login, _page, _texts

WITH_HEADPHONES = CONFIG.replace("headphone_check = false", "headphone_check = true")


def _counts(engine) -> dict[str, int]:
    """Rows an evaluator's visit would write, and the study row itself."""
    with transaction(engine) as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (
                Participant,
                Assignment,
                Rating,
                Event,
                Trial,
                TrialStimulus,
                PairwiseVote,
                MushraScore,
            )
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


def test_a_pairwise_preview_shows_its_pairs_and_stores_nothing(db_engine):
    study = make_trial_study(db_engine, trial_type="pairwise", trials_per_participant=3)
    before = _counts(db_engine)
    walk = preview_study(db_engine, "trials", seed=2)
    assert walk.steps == (
        "consent",
        "questionnaire",
        "instructions",
        "page:0",
        "page:1",
        "page:2",
        "finished",
    )
    assert walk.clips == () and [page.number for page in walk.pages] == [1, 2, 3]
    for page in walk.pages:
        assert page.trial_type == "pairwise" and len(page.clips) == 2
        first, second = page.clips
        assert first.condition != second.condition  # never two clips of one condition
        assert {first.condition, second.condition} <= set(study["clips"].values())
        assert first.min_listen_seconds == 2.0  # the study's minimum per side
    text = walk.describe("page:0")
    assert text.startswith("pair 1 of 3:") and "- A: " in text and "- B: " in text
    assert "A / B / Tie / Both bad" in walk.describe("instructions")
    assert "rate" not in walk.describe("instructions").lower()
    assert _counts(db_engine) == before


def test_a_mushra_preview_shows_every_condition_on_each_page(db_engine):
    make_trial_study(
        db_engine, trial_type="mushra", trials_per_participant=2, min_listen_seconds=None
    )
    before = _counts(db_engine)
    walk = preview_study(db_engine, "trials")
    assert [step for step in walk.steps if step.startswith(("clip:", "page:"))] == [
        "page:0",
        "page:1",
    ]
    for page in walk.pages:
        assert sorted(clip.condition for clip in page.clips) == sorted(trial_conditions())
        assert {clip.role for clip in page.clips} >= {"reference", "anchor"}
        assert all(clip.min_listen_seconds == 0.0 for clip in page.clips)  # listener's choice
    text = walk.describe("page:1")
    assert "track 5:" in text and "0–100 slider" in text
    assert _counts(db_engine) == before


def test_cli_preview_of_a_pairwise_study_prints_its_pairs(db_cli, db_engine):
    make_trial_study(db_engine, trial_type="pairwise", trials_per_participant=2)
    before = _counts(db_engine)
    code, out, _ = db_cli("study", "preview", "trials")
    assert code == 0, out
    assert "4. page" in out and "pair 2 of 2:" in out and "6. finished" in out
    assert "clip 1 of" not in out and "Short-term phrasing" not in out
    assert _counts(db_engine) == before


@pytest.mark.parametrize("trial_type", ["pairwise", "mushra"])
def test_admin_preview_of_a_comparison_study_shows_its_pages_read_only(admin_env, trial_type):
    make_trial_study(admin_env, trial_type=trial_type, trials_per_participant=2)
    before = _counts(admin_env)
    app = _login(_page().run())
    _button(app, "Preview as an evaluator").click().run()
    for _ in range(3):  # consent, questionnaire, instructions
        _button(app, "Next").click().run()
    assert not app.exception
    title = "Pair 1 of 2" if trial_type == "pairwise" else "Page 1 of 2"
    assert app.subheader[0].value == title and "For you only: " in _texts(app)
    assert not [radio for radio in app.radio if radio.key.startswith("preview:page")]
    if trial_type == "pairwise":
        votes = [button for button in app.button if button.label in ("A is better", "Tie")]
        assert len(votes) == 2 and all(button.disabled for button in votes)
    else:
        sliders = [slider for slider in app.slider if slider.key.startswith("preview:page:0")]
        assert len(sliders) == len(trial_conditions()) and all(s.disabled for s in sliders)
    _button(app, "Next").click().run()
    assert app.subheader[0].value.endswith("2 of 2")
    _button(app, "Next").click().run()
    assert app.subheader[0].value == "Thank you!"
    assert _counts(admin_env) == before


def test_a_preview_names_every_condition_no_page_can_hold(db_engine):
    from db.models import Clip, StudyClip
    from drumeval.errors import StudyError

    make_trial_study(db_engine, trial_type="pairwise")
    with transaction(db_engine, write_lock=True) as session:  # made before create checked
        session.add(
            Clip(
                role="imported",
                condition="magenta-original",
                midi_sha256="a" * 64,
                audio_sha256="b" * 64,
                audio_format="wav",
                duration_s=20.0,
                genre="jazz-soul",
                provenance={"bars": 8},
            )
        )
        session.flush()
        study_id = session.scalar(select(Study.id))
        clip_id = session.scalar(select(Clip.id).where(Clip.condition == "magenta-original"))
        session.add(StudyClip(study_id=study_id, clip_id=clip_id, purpose="trial"))
    with pytest.raises(StudyError, match=r"'magenta-original' \(jazz-soul/8bars\) has no other"):
        preview_study(db_engine, "trials")
