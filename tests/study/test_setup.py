"""Study setup: config validation naming the field, seeded selection, recreation, open/close."""

import pytest

from db.engine import transaction
from db.models import Clip, Study, StudyClip
from drumeval.errors import StudyError
from drumeval.study import setup
from drumeval.study.flow import StudyDesign
from tests.factories import ANCHOR, CONFIG, GENERATED, PRACTICE, REFERENCE, add_pool


def _with(**changes) -> str:
    values = setup.parse_config(CONFIG).design() | {"title": "Two models", "slug": "two-models"}
    values.update(changes)
    return setup.config_to_toml(
        {key: value for key, value in values.items() if key in setup.KNOWN_KEYS}
    )


def test_config_round_trips_through_toml():
    config = setup.parse_config(CONFIG)
    assert config.conditions == GENERATED
    assert config.clips_per_participant == 4 and config.min_listen_seconds == 2.0
    assert config.headphone_check is False and config.completion_code == "DONE42"
    assert (
        setup.parse_config(
            setup.config_to_toml({**config.design(), "title": config.title, "slug": config.slug})
        )
        == config
    )


def test_design_is_what_the_evaluator_flow_reads():
    design = StudyDesign.from_json(setup.parse_config(CONFIG).design())
    assert design.clips_per_participant == 4
    assert design.min_listen_seconds == 2.0
    assert design.headphone_check is False


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('slug = "x"\n', "title", "missing"),
        (_with(slug="Has Spaces"), "slug", "not a valid link name"),
        (_with(clips_per_participant=0), "clips_per_participant", "between 1 and"),
        (_with(clips_per_participant="six"), "clips_per_participant", "whole number"),
        (_with(conditions=[]), "conditions", "at least one"),
        (_with(headphone_check="yes"), "headphone_check", "true or false"),
        (_with(min_listen_seconds=0), "min_listen_seconds", "1…600"),
        (_with(completion_url="javascript:alert(1)"), "completion_url", "http(s)"),
        (_with() + 'colour = "red"\n', "colour", "unknown key"),
    ],
)
def test_bad_configs_name_the_field(text, field, words):
    with pytest.raises(setup.StudyConfigError) as raised:
        setup.parse_config(text)
    assert raised.value.field == field
    assert f"`{field}`" in str(raised.value) and words in str(raised.value)


def test_toml_syntax_errors_are_explained():
    with pytest.raises(StudyError, match=r"not valid TOML.*line 1"):
        setup.parse_config('title = "unclosed\n')


def test_plan_preview_spreads_ratings_over_clips():
    plan = setup.plan_preview(
        {"a": 2, "b": 2, "ref": 1, "anc": 1}, clips_per_participant=4, participants=30
    )
    assert (plan.clips, plan.ratings, plan.per_clip) == (6, 120, 20.0)
    assert plan.per_condition == {"a": 40.0, "b": 40.0, "ref": 20.0, "anc": 20.0}


def test_create_selects_clips_per_condition_and_stores_the_config(db_engine):
    add_pool(db_engine)
    summary = setup.create_study(db_engine, CONFIG)
    assert (summary.slug, summary.status, summary.clips) == ("two-models", "draft", 6)
    with transaction(db_engine) as session:
        study = session.query(Study).one()
        assert study.config_text == CONFIG
        assert study.design["completion_code"] == "DONE42"
        rows = session.query(StudyClip, Clip).join(Clip, Clip.id == StudyClip.clip_id).all()
    by_condition: dict[str, int] = {}
    for study_clip, clip in rows:
        by_condition[clip.condition] = by_condition.get(clip.condition, 0) + 1
        assert (study_clip.purpose == "training") == (clip.condition == PRACTICE)
    assert by_condition == {GENERATED[0]: 2, GENERATED[1]: 2, REFERENCE: 1, ANCHOR: 1, PRACTICE: 1}


def test_a_study_is_recreated_exactly_from_its_stored_config(db_engine, tmp_path):
    from db.engine import open_database

    add_pool(db_engine)
    setup.create_study(db_engine, CONFIG)
    with transaction(db_engine) as session:
        stored = session.query(Study).one().config_text
        first = {clip.midi_sha256 for _, clip in session.query(StudyClip, Clip).join(Clip).all()}
    other = open_database(f"sqlite:///{tmp_path / 'other.sqlite'}")
    add_pool(other, order=-1)  # same clips, other insertion order and ids
    setup.create_study(other, stored)
    with transaction(other) as session:
        again = {clip.midi_sha256 for _, clip in session.query(StudyClip, Clip).join(Clip).all()}
    other.dispose()
    assert again == first
    assert len(first) == 7


def test_a_different_seed_picks_other_clips(db_engine):
    add_pool(db_engine, per_condition=6)
    picks = []
    for seed, slug in ((1, "seed-one"), (2, "seed-two")):
        setup.create_study(db_engine, _with(seed=seed, slug=slug))
        with transaction(db_engine) as session:
            study = session.query(Study).filter_by(slug=slug).one()
            picks.append(
                {row.clip_id for row in session.query(StudyClip).filter_by(study_id=study.id)}
            )
    assert picks[0] != picks[1]


def test_selection_errors_name_the_field(db_engine):
    add_pool(db_engine, per_condition=1)
    with pytest.raises(setup.StudyConfigError, match=r"pool has 1 clip.*2 wanted") as raised:
        setup.create_study(db_engine, CONFIG)
    assert raised.value.field == "conditions"
    with pytest.raises(setup.StudyConfigError) as raised:
        setup.create_study(db_engine, _with(clips_per_condition=1, clips_per_participant=9))
    assert raised.value.field == "clips_per_participant"
    with pytest.raises(setup.StudyConfigError) as raised:
        setup.create_study(db_engine, _with(clips_per_condition=1, references=5))
    assert raised.value.field == "references"


def test_open_close_and_status(db_engine):
    add_pool(db_engine)
    setup.create_study(db_engine, CONFIG)
    setup.open_study(db_engine, "two-models")
    setup.open_study(db_engine, "two-models")  # already open: nothing happens
    state = setup.study_status(db_engine, "two-models")
    assert state.status == "open"
    assert state.counts["started"] == 0 and len(state.clips) == 6
    assert set(state.per_condition) == {*GENERATED, REFERENCE, ANCHOR}
    setup.close_study(db_engine, "two-models")
    assert setup.study_status(db_engine, "two-models").status == "closed"
    with pytest.raises(StudyError, match="is closed"):
        setup.open_study(db_engine, "two-models")
    with pytest.raises(StudyError, match="no study called 'nope'"):
        setup.study_status(db_engine, "nope")
    assert [s.slug for s in setup.list_summaries(db_engine)] == ["two-models"]


def test_invite_link_and_qr_code():
    url = setup.invite_url("http://example.org:8501/", "two-models")
    assert url == "http://example.org:8501/study?s=two-models"
    svg = setup.invite_qr_svg(url)
    assert svg.startswith("<svg") and "</svg>" in svg
    assert svg != setup.invite_qr_svg(url + "x")


def test_names_that_reveal_a_condition_are_warned_about():
    config = setup.parse_config(
        CONFIG.replace('title = "Two models"', 'title = "Techno-House 700 by drums_rnn"')
    )
    warnings = setup.blinding_warnings(config)
    assert len(warnings) == 1 and "the title" in warnings[0]
    assert "'techno-house-700'" in warnings[0] and "'drums_rnn'" in warnings[0]
    hidden = setup.parse_config(
        CONFIG.replace('slug = "two-models"', 'public_title = "Drums"\nslug = "x7"')
    )
    assert setup.blinding_warnings(hidden) == []  # the internal title is not shown then
    assert setup.blinding_warnings(setup.parse_config(CONFIG)) == []
    slug = setup.random_slug()
    assert setup.SLUG_PATTERN.fullmatch(slug) and slug != setup.random_slug()


@pytest.mark.parametrize(
    ("condition", "parts"),
    [
        ("drums_rnn/thesis/techno-house-700/t1/60bars", ("", "techno-house-700", 60)),
        (
            "demo/kit-tr808/structured/thesis+form-0a1b2c3d/jazz-soul-1500/t0.9/32bars",
            ("demo/kit-tr808/", "jazz-soul-1500", 32),
        ),
        ("human/takes/jazz-soul-700/studio/60bars", None),  # no t<temperature>: not generated
        ("magenta-original", None),
    ],
)
def test_references_follow_the_pools_own_reading_of_a_condition_name(condition, parts):
    """The prefix, corpus and bars that pick a condition's references are the pool's parse."""
    assert setup._parts(condition) == parts
