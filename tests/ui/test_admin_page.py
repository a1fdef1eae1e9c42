"""The researcher pages through streamlit.testing: login, create, open, close, bad configs."""

import pytest
from streamlit.testing.v1 import AppTest

from db.engine import transaction
from db.models import Study
from drumeval.study import admin_auth, content
from tests.conftest import ADMIN_PASSWORD as PASSWORD
from tests.conftest import REPO_ROOT
from tests.factories import CONFIG, GENERATED, add_pool

TIMEOUT_S = 60


def _page() -> AppTest:
    return AppTest.from_file(str(REPO_ROOT / "pages" / "admin.py"), default_timeout=TIMEOUT_S)


def _texts(app: AppTest) -> str:
    kinds = ("title", "markdown", "caption", "info", "error", "success", "warning", "code")
    return "\n".join(str(element.value) for kind in kinds for element in getattr(app, kind))


def _button(app: AppTest, label: str):
    return next(button for button in app.button if button.label == label)


def _login(app: AppTest, password: str = PASSWORD) -> AppTest:
    app.text_input[0].input(password)
    _button(app, "Log in").click().run()
    assert not app.exception
    return app


def test_no_password_configured_says_how_to_set_one(admin_env, monkeypatch):
    monkeypatch.delenv(admin_auth.PASSWORD_ENV)
    app = _page().run()
    assert "No admin password is configured" in _texts(app)
    assert not app.text_input  # no login form without a password to check against


def test_a_wrong_password_is_refused_and_throttled(admin_env, monkeypatch):
    import ui.admin

    throttle = admin_auth.LoginThrottle(base_delay_s=600.0)  # longer than any pause here
    monkeypatch.setattr(ui.admin, "_throttle", lambda: throttle)
    app = _login(_page().run(), "guess")
    assert "Wrong password." in _texts(app)
    assert "Studies" not in [tab.label for tab in app.tabs]
    _login(app)  # the right password, but within the delay
    assert "Too many failed attempts" in _texts(app)


def test_the_right_password_opens_the_pages(admin_env):
    app = _login(_page().run())
    assert [tab.label for tab in app.tabs] == ["Studies", "Create a study", "Clip pool"]
    assert "No study yet" in _texts(app)


def test_create_open_and_close_a_study(admin_env):
    add_pool(admin_env)
    app = _login(_page().run())
    app.text_area(key="create:toml").input(CONFIG)
    _button(app, "Create from this config").click().run()
    texts = _texts(app)
    assert "Study 'two-models' created as a draft with 6 clips" in texts
    assert "with 30 participants, 120 ratings, about 20.0 per clip" in texts
    app.run()
    assert "/study?s=two-models" in _texts(app)
    _button(app, "Open the study").click().run()
    assert not app.exception and "**Status:** open" in _texts(app)
    app.number_input(key="admin:grace").set_value(90).run()
    _button(app, "Close the study").click().run()
    assert "**Status:** closed" in _texts(app)
    with transaction(admin_env) as session:
        study = session.query(Study).one()
        assert (study.status, study.config_text) == ("closed", CONFIG)
        assert study.grace_minutes == 90


def test_the_form_previews_the_plan_and_creates_a_study(admin_env):
    add_pool(admin_env)
    app = _login(_page().run())
    app.text_input(key="create:title").input("From the form")
    app.text_input(key="create:slug").input("from-form")
    app.multiselect(key="create:conditions").set_value(list(GENERATED))
    app.number_input(key="create:cpp").set_value(4)
    app.number_input(key="create:n").set_value(10)
    _button(app, "Preview the plan").click().run()
    assert "with 10 participants, 40 ratings" in _texts(app)
    with transaction(admin_env) as session:
        assert session.query(Study).count() == 0  # a preview creates nothing
    _button(app, "Create the study").click().run()
    assert "Study 'from-form' created as a draft" in _texts(app)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            CONFIG.replace("clips_per_participant = 4", "clips_per_participant = 0"),
            "`clips_per_participant`: must be between 1 and",
        ),
        (CONFIG.replace('slug = "two-models"', 'slug = "Two Models!"'), "`slug`"),
        (
            CONFIG.replace("clips_per_condition = 2", "clips_per_condition = 50"),
            "`conditions`: the pool has 3 clip(s)",
        ),
        ("title = [unclosed", "not valid TOML"),
    ],
)
def test_a_bad_study_config_is_explained(admin_env, config, message):
    add_pool(admin_env)
    app = _login(_page().run())
    app.text_area(key="create:toml").input(config)
    _button(app, "Create from this config").click().run()
    assert not app.exception
    assert message in "\n".join(str(error.value) for error in app.error)
    with transaction(admin_env) as session:
        assert session.query(Study).count() == 0


def test_an_empty_form_names_the_missing_field(admin_env):
    app = _login(_page().run())
    _button(app, "Create the study").click().run()
    assert "`title`: is missing" in "\n".join(str(error.value) for error in app.error)


def test_home_links_to_the_demo_study_and_the_researcher_pages():
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=TIMEOUT_S).run()
    assert not app.exception
    links = {
        (link.proto.label, link.proto.page, link.proto.query_string)
        for link in app.get("page_link")
    }
    assert ("Take the demo study (a few clips, a few minutes)", "study", "s=demo") in links
    assert ("Researcher pages", "admin", "") in links


def test_names_that_break_blinding_are_warned_about_and_a_random_slug_is_offered(admin_env):
    add_pool(admin_env)
    app = _login(_page().run())
    app.text_input(key="create:title").input("DrumsRNN vs MusicVAE")
    app.text_input(key="create:slug").input("drums-rnn-pilot")
    app.multiselect(key="create:conditions").set_value(list(GENERATED))
    app.number_input(key="create:cpp").set_value(4)
    _button(app, "Preview the plan").click().run()
    warnings = [str(warning.value) for warning in app.warning]
    assert any("the title" in w and "'DrumsRNN', 'MusicVAE'" in w for w in warnings), warnings
    assert any("the slug" in w and "'drums-rnn'" not in w and "Random link name" in w
               for w in warnings), warnings  # fmt: skip
    _button(app, "Random link name").click().run()
    slug = app.text_input(key="create:slug").value
    assert slug.startswith("s-") and slug != "drums-rnn-pilot"
    app.text_input(key="create:public-title").input("Rate some drum tracks")
    _button(app, "Create the study").click().run()
    assert not [w for w in app.warning if "Blinding" in str(w.value)], _texts(app)
    assert f"Study '{slug}' created" in _texts(app)
    app.run()
    assert not [w for w in app.warning if "Blinding" in str(w.value)]  # on the Studies tab too


def test_the_studies_tab_counts_each_screening_rule(admin_env):
    add_pool(admin_env)
    from drumeval.study import setup

    setup.create_study(admin_env, CONFIG)
    app = _login(_page().run())
    frame = next(f.value for f in app.dataframe if "participants flagged" in f.value.columns)
    assert list(frame["rule"]) == list(content.SCREENING_RULES)
    assert list(frame["participants flagged"]) == [0] * len(content.SCREENING_RULES)


def test_the_studies_tab_counts_each_headphone_test_of_a_both_screen(
    admin_env, tmp_path, monkeypatch
):
    from tests.factories import screen_listeners

    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    screen_listeners(admin_env, [{}, {"huggins": 2}, {"huggins": 3}, {"antiphase": 2}])
    app = _login(_page().run())
    counts = _frame_with(app, "taken")
    assert counts.astype(object).values.tolist() == [
        ["antiphase", 4, 3, 1], ["huggins", 4, 2, 2],
    ]  # fmt: skip
    assert "**Headphone check** (participants per test)" in _texts(app)


def _frame_with(app: AppTest, column: str):
    return next(f.value for f in app.dataframe if column in f.value.columns)


def test_the_studies_tab_lists_the_stimuli_and_edits_recruiting(admin_env):
    from drumeval.study import setup

    add_pool(admin_env)
    setup.create_study(admin_env, CONFIG)
    app = _login(_page().run())
    stimuli = _frame_with(app, "midi_sha256")
    expected = setup.study_stimuli(admin_env, "two-models")
    assert list(stimuli["audio_sha256"]) == [item.audio_sha256 for item in expected]
    assert set(stimuli["role"]) == {"training", "generated", "reference", "anchor"}
    form = {widget.label: widget for widget in app.text_input}
    form["Returned code"].input("RET9")
    number = {widget.label: widget for widget in app.number_input}
    number["Participant target (0: none)"].set_value(40)
    _button(app, "Save the recruiting settings").click().run()
    assert "Recruiting settings saved." in _texts(app)
    with transaction(admin_env) as session:
        study = session.query(Study).one()
        assert study.participant_target == 40 and study.design["returned_code"] == "RET9"
        assert 'returned_code = "RET9"' in study.config_text
        assert study.design["completion_code"] == "DONE42"  # unchanged


def test_a_draft_is_edited_archived_and_deleted_from_the_page(admin_env):
    from drumeval.study import setup

    add_pool(admin_env)
    setup.create_study(admin_env, CONFIG)
    app = _login(_page().run())
    app.text_area(key="edit:two-models").input(
        CONFIG.replace("clips_per_condition = 2", "clips_per_condition = 3")
    )
    _button(app, "Save the draft").click().run()
    assert not app.exception and len(setup.study_stimuli(admin_env, "two-models")) == 9
    app.text_input(key="dup:two-models").input("two-models-copy")
    _button(app, "Duplicate as a new draft").click().run()
    assert {s.slug for s in setup.list_summaries(admin_env)} == {"two-models", "two-models-copy"}
    _button(app, "Archive").click().run()
    assert [s.slug for s in setup.list_summaries(admin_env)] == ["two-models-copy"]
    app.toggle(key="admin:archived").set_value(True).run()
    app.selectbox(key="admin:study").set_value("two-models").run()
    _button(app, "Delete the study").click().run()  # no ratings: no confirmation needed
    assert "Study 'two-models' deleted; its backup:" in _texts(app)
    assert [s.slug for s in setup.list_summaries(admin_env, include_archived=True)] == [
        "two-models-copy"
    ]


def test_an_unrated_clip_shows_a_dash_for_its_median_listening_time(admin_env):
    from drumeval.study import setup

    add_pool(admin_env)
    setup.create_study(admin_env, CONFIG)
    app = _login(_page().run())
    frame = _frame_with(app, "median seconds listened")
    assert len(frame) == 6 and set(frame["median seconds listened"]) == {"—"}  # trial clips


def test_a_pairwise_config_previews_votes_per_pair(admin_env):
    add_pool(admin_env)
    app = _login(_page().run())
    text = CONFIG.replace("clips_per_participant = 4", 'trial_type = "pairwise"')
    text = text.replace("practice = true", "trials_per_participant = 2")
    app.text_area(key="create:toml").input(text)
    _button(app, "Create from this config").click().run()
    assert not app.exception
    assert "with 30 participants, 60 pages; votes per pair" in _texts(app)
    votes = _frame_with(app, "expected votes")
    assert list(votes["expected votes"]) == [10] * 6  # 4 conditions make 6 pairs
