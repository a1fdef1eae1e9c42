"""The demo study: built once from the shipped models, idempotent, open, and completable.

Clips are 4 bars here (the app uses 60) so the test spends seconds, not minutes, rendering.
"""

import pytest

from db.engine import transaction
from db.models import Clip, Rating, Study, StudyClip
from drumeval.study import content, demo, flow, setup

BARS = 4


@pytest.mark.slow
def test_the_demo_study_is_built_once_and_can_be_completed(db_engine):
    labels: list[str] = []
    first = demo.ensure_demo(db_engine, bars=BARS, progress=lambda label, *_: labels.append(label))
    assert first.built and first.study.status == "open" and first.study.is_demo
    # 3 models × 2 genres × 2, + a reference and an anchor per genre
    assert first.study.clips == 16
    assert any("human reference" in label for label in labels) and labels[-1] == "done"
    with transaction(db_engine) as session:
        clips = session.query(Clip).all()
        study = session.query(Study).one()
        purposes = {row.clip_id: row.purpose for row in session.query(StudyClip)}
    assert len(clips) == 17 and all(clip.is_demo for clip in clips)
    roles = sorted(clip.role for clip in clips)
    assert roles == ["anchor"] * 2 + ["generated"] * 12 + ["reference"] * 2 + ["training"]
    generated = [clip for clip in clips if clip.role == "generated"]
    assert {clip.model for clip in generated} == {"drums_rnn", "music_vae", "structured"}
    # The structure model plays its genre's default form under the plain, blind-safe name.
    structured = sorted({clip.condition for clip in generated if clip.model == "structured"})
    assert structured == [
        f"demo/structured/thesis-form/{genre}-700/t1/{BARS}bars"
        for genre in ("jazz-soul", "techno-house")
    ]
    # What evaluators read names no model, preset or form (only the pool's own word 'demo').
    warnings = setup.study_blinding_warnings(db_engine, demo.DEMO_SLUG)
    assert all("names 'demo':" in warning for warning in warnings)
    assert {clip.genre for clip in clips} == {"techno-house", "jazz-soul"}
    assert list(purposes.values()).count("training") == 1
    assert study.config_text == demo.demo_config_text(BARS)

    again = demo.ensure_demo(db_engine, bars=BARS)
    assert not again.built and again.study == first.study
    with transaction(db_engine) as session:
        assert session.query(Clip).count() == 17 and session.query(Study).count() == 1

    _take_the_study(db_engine)
    with transaction(db_engine) as session:
        ratings = session.query(Rating).all()
    assert len(ratings) == demo.DEMO_CLIPS_PER_PARTICIPANT + 1  # + the practice clip
    assert all(rating.study_id == study.id for rating in ratings) and study.is_demo


def _take_the_study(engine) -> None:
    """A participant through the evaluator flow's functions, as the pages call them."""
    study = flow.load_study(engine, demo.DEMO_SLUG)
    token = flow.consent(engine, study, {})
    flow.save_questionnaire(
        engine, study, token, {key: options[0] for key, _, options in content.QUESTIONNAIRE}
    )
    trials = flow.headphone_trials(flow.progress(engine, study, token))
    assert flow.submit_headphone_check(
        engine, study, token, [trial.quiet_index for trial in trials]
    )
    flow.start(engine, study, token)
    form = flow.RatingForm(
        scores={criterion.key: 0 for criterion in content.CRITERIA},
        genre_answer=content.GENRE_OPTIONS[0][0],
        genre_confidence=3,
    )
    while (step := flow.progress(engine, study, token)).step is flow.Step.RATING:
        clip = step.clip
        assert clip.audio()  # the stored audio is there to play
        flow.submit_rating(
            engine,
            study,
            token,
            clip_id=clip.clip_id,
            form=form,
            heard_seconds=clip.duration_s,
            plays=1,
        )
    assert flow.finish(engine, study, token)
