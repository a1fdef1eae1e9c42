"""A rating study's own criteria and questions: the TOML, the page that renders them (symbols,
Likert, a slider that must be moved, a categorical question), and the stored answers."""

from dataclasses import asdict

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.engine import transaction
from db.models import Rating, Study
from drumeval.study import content, flow, setup
from drumeval.study.synthetic import make_study
from tests.conftest import REPO_ROOT
from tests.factories import CONFIG

OWN = """
[[criteria]]
name = "groove"
question = "How much does it groove?"
help = "Would you nod along?"
scale = "likert7"

[[criteria]]
name = "overall"
question = "Overall quality"
scale = "slider100"

[[criteria]]
name = "fills"
question = "Fills"
scale = "symbols5"
required = false

[[questions]]
name = "tempo_feel"
question = "The tempo feels…"
options = ["slow", "right", "fast"]
"""


def test_own_criteria_parse_and_read_back_from_the_admin_toml():
    config = setup.parse_config(CONFIG + OWN)
    assert [(q.key, q.scale, q.required) for q in config.criteria] == [
        ("groove", "likert7", True),
        ("overall", "slider100", True),
        ("fills", "symbols5", False),
        ("tempo_feel", "choice", True),
    ]
    assert config.criteria[3].options == ("slow", "right", "fast")
    text = setup.config_to_toml({**config.design(), "title": config.title, "slug": config.slug})
    assert setup.parse_config(text) == config
    assert setup.parse_config(CONFIG).criteria is None  # the thesis's form by default


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ('[[criteria]]\nname = "Bad Name"\nquestion = "q"\n', "criteria[1]", "lowercase"),
        ('[[criteria]]\nname = "comment"\nquestion = "q"\n', "criteria[1]", "not comment"),
        ('[[criteria]]\nname = "a"\n', "criteria[1]", "`question` is missing"),
        ('[[criteria]]\nname = "a"\nquestion = "q"\nscale = "stars"\n', "criteria[1]", "`scale`"),
        ('[[questions]]\nname = "a"\nquestion = "q"\noptions = ["x"]\n', "questions[1]", "two or"),
        (
            '[[criteria]]\nname = "a"\nquestion = "q"\n[[questions]]\nname = "a"\nquestion = "r"\n'
            'options = ["x", "y"]\n',
            "criteria",
            "used twice",
        ),
        ('criteria = "groove"\n', "criteria", "list of [[criteria]]"),
    ],
)
def test_bad_criteria_name_the_entry(extra, field, words):
    with pytest.raises(setup.StudyConfigError) as raised:
        setup.parse_config(CONFIG + extra)
    assert raised.value.field == field and words in str(raised.value)


def test_a_question_accepts_only_its_scale():
    likert, slider, symbols, choice = setup.parse_config(CONFIG + OWN).criteria
    assert likert.accepts(7) and not likert.accepts(0) and not likert.accepts(True)
    assert slider.accepts(0) and slider.accepts(100) and not slider.accepts(101)
    assert symbols.accepts(-2) and not symbols.accepts(3)
    assert choice.accepts("fast") and not choice.accepts("quick") and not choice.accepts(None)


def _own_criteria_study(engine) -> None:
    make_study(engine, headphone_check=False)
    criteria = [asdict(q) for q in setup.parse_config(CONFIG + OWN).criteria]
    with transaction(engine, write_lock=True) as session:
        study = session.scalars(select(Study)).one()
        study.design = {**study.design, "criteria": criteria}


def _at_practice_clip(engine) -> AppTest:
    _own_criteria_study(engine)
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "study.py"), default_timeout=60)
    app.query_params["s"] = "tiny"
    app.run()
    next(b for b in app.button if b.label.startswith("I agree")).click().run()
    for radio in app.radio:
        radio.set_value(radio.options[0])
    app.button[0].click().run()
    assert any("How much does it groove?" in str(m.value) for m in app.markdown)
    next(b for b in app.button if b.label.startswith("Start")).click().run()
    app.session_state["player:0"] = {
        "progress": {"token": "0", "heard_seconds": 3.0, "plays": 1, "seeks": 0, "ended": True}
    }
    return app.run()


def _radio(app: AppTest, label: str):
    return next(radio for radio in app.radio if radio.label.startswith(label))


def test_the_page_asks_the_studys_own_questions_and_stores_their_answers(engine):
    app = _at_practice_clip(engine)
    labels = [radio.label for radio in app.radio]
    assert content.GENRE_QUESTION not in labels
    assert "How much does it groove?" in labels and "Fills (optional)" in labels
    assert [slider.label for slider in app.slider] == ["Overall quality"]
    _radio(app, "How much does it groove?").set_value(6).run()
    _radio(app, "The tempo feels").set_value("right").run()
    next(b for b in app.button if b.label == "Submit rating").click().run()
    assert "Answer “Overall quality”." in [error.value for error in app.error]  # not moved
    app.slider[0].set_value(80).run()
    next(b for b in app.button if b.label == "Submit rating").click().run()
    assert app.title[0].value.startswith("Clip 1 of")
    with transaction(engine) as session:
        rating = session.scalars(select(Rating)).one()
        assert rating.answers == {"groove": 6, "overall": 80, "tempo_feel": "right"}
        assert rating.short_term_phrasing is None and rating.genre_answer is None


def test_a_reload_keeps_the_moved_slider_and_the_ticked_answers(engine):
    app = _at_practice_clip(engine)
    _radio(app, "How much does it groove?").set_value(2).run()
    app.slider[0].set_value(30).run()
    token = app.query_params["t"]
    reloaded = AppTest.from_file(str(REPO_ROOT / "pages" / "study.py"), default_timeout=60)
    reloaded.query_params["s"] = "tiny"
    reloaded.query_params["t"] = token[0] if isinstance(token, list) else token
    reloaded.run()
    assert _radio(reloaded, "How much does it groove?").value == 2
    assert reloaded.slider[0].value == 30
    assert not any("Not rated yet" in str(c.value) for c in reloaded.caption)


def test_the_flow_refuses_a_thesis_form_for_a_study_with_its_own_questions(engine):
    _own_criteria_study(engine)
    study = flow.load_study(engine, "tiny")
    form = flow.RatingForm(scores={}, genre_answer="jazz-soul", genre_confidence=3)
    with pytest.raises(flow.RatingError, match="does not match the study's questions"):
        flow.submit_rating(
            engine, study, "x" * 43, clip_id=1, form=form, heard_seconds=3.0, plays=1
        )


def test_own_answers_are_exported_and_table1_refuses_them(engine):
    import json

    from drumeval.analysis import export
    from drumeval.analysis.from_db import load_study
    from drumeval.errors import AnalysisError

    app = _at_practice_clip(engine)
    for position in (0, 1):  # the practice clip, then the first rated clip
        if position:
            app.session_state[f"player:{position}"] = {
                "progress": {"token": str(position), "heard_seconds": 3.0, "plays": 1}
            }
            app.run()
        _radio(app, "How much does it groove?").set_value(5).run()
        _radio(app, "The tempo feels").set_value("slow").run()
        app.slider[0].set_value(64).run()
        next(b for b in app.button if b.label == "Submit rating").click().run()
    data = load_study(engine, "tiny")
    assert len(data.rows) == 1 and data.tables.ratings.empty  # the practice rating is left out
    assert json.loads(data.rows["answers"].iloc[0]) == {
        "groove": 5,
        "overall": 64,
        "tempo_feel": "slow",
    }
    exported = export.read_export(export.to_bytes(data.rows, "csv"), "csv", "ratings")
    assert exported["answers"].iloc[0] == data.rows["answers"].iloc[0]
    with pytest.raises(AnalysisError, match="asks its own questions"):
        export.study_table1(data, screened=False)
