"""Study TOML for pairwise and MUSHRA studies: the fields each type takes, errors that name
the key, and a study created from the pool whose participants get pages."""

import pytest

from db.engine import transaction
from db.models import Study
from drumeval.study import flow, setup
from tests.factories import GENERATED, add_pool

PAIRWISE = """
title = "Pairs"
slug = "pairs"
trial_type = "pairwise"
seed = 2
conditions = [
  "drums_rnn/thesis/techno-house-700/t1/4bars",
  "music_vae/thesis-longbar/techno-house-700/t1/4bars",
]
clips_per_condition = 2
trials_per_participant = 4
references = 1
min_listen_seconds = 2
reason = "required"
adaptive = false
headphone_check = false
"""
MUSHRA = """
title = "Pages"
slug = "pages"
trial_type = "mushra"
conditions = [
  "drums_rnn/thesis/techno-house-700/t1/4bars",
  "music_vae/thesis-longbar/techno-house-700/t1/4bars",
]
clips_per_condition = 2
trials_per_participant = 2
headphone_check = false
"""


def test_pairwise_and_mushra_configs_parse_with_their_defaults():
    pairs = setup.parse_config(PAIRWISE)
    assert (pairs.trial_type, pairs.trials_per_participant, pairs.reason) == (
        "pairwise",
        4,
        "required",
    )
    assert (pairs.references, pairs.anchors, pairs.practice) == (1, 0, False)
    design = pairs.design()
    assert design["trial_type"] == "pairwise" and design["trials_per_participant"] == 4
    pages = setup.parse_config(MUSHRA + "excerpt_bars = [1, 2]\n")
    assert (pages.references, pages.anchors, pages.excerpt_bars) == (1, 1, (1, 2))
    assert (pairs.adaptive, pairs.adaptive_burn_in, design["adaptive"]) == (False, None, False)
    adaptive = setup.parse_config(PAIRWISE.replace("adaptive = false", "adaptive = true"))
    assert (adaptive.adaptive, adaptive.adaptive_burn_in) == (True, 5)  # the default burn-in
    assert adaptive.design()["adaptive_burn_in"] == 5
    tuned = setup.parse_config(
        PAIRWISE.replace("adaptive = false", "adaptive = true\nadaptive_burn_in = 2")
    )
    assert tuned.design()["adaptive_burn_in"] == 2
    for config in (pairs, pages, tuned):  # what the admin form writes reads back the same
        text = setup.config_to_toml({**config.design(), "title": config.title, "slug": config.slug})
        assert setup.parse_config(text) == config
    assert (
        setup.parse_config(
            setup.config_to_toml(
                {
                    "title": "t",
                    "slug": "rated",
                    "conditions": ["a"],
                    "clips_per_condition": 1,
                    "clips_per_participant": 1,
                }
            )
        ).trial_type
        == "rating"
    )


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (PAIRWISE.replace('"pairwise"', '"duel"'), "trial_type", "must be one of"),
        (PAIRWISE.replace("trials_per_participant = 4\n", ""), "trials_per_participant", "missing"),
        (PAIRWISE + "clips_per_participant = 4\n", "clips_per_participant", "rating studies"),
        (PAIRWISE + "practice = true\n", "practice", "rating studies"),
        (PAIRWISE.replace('reason = "required"', 'reason = "maybe"'), "reason", "must be one of"),
        (PAIRWISE.replace("adaptive = false", "adaptive = 1"), "adaptive", "true or false"),
        (
            PAIRWISE.replace("adaptive = false", "adaptive = true\nadaptive_burn_in = 0"),
            "adaptive_burn_in",
            "between 1 and",
        ),
        (
            PAIRWISE.replace("adaptive = false", 'adaptive = true\nadaptive_burn_in = "5"'),
            "adaptive_burn_in",
            "whole number",
        ),
        (PAIRWISE + "adaptive_burn_in = 3\n", "adaptive_burn_in", "adaptive = true"),
        (MUSHRA + "adaptive = true\n", "adaptive", "pairwise"),
        (MUSHRA + "adaptive_burn_in = 3\n", "adaptive_burn_in", "pairwise"),
        (
            PAIRWISE.replace(
                '  "music_vae/thesis-longbar/techno-house-700/t1/4bars",\n', ""
            ).replace("references = 1", "references = 0"),
            "conditions",
            "at least two",
        ),
        (MUSHRA + "anchors = 0\n", "anchors", "between 1 and"),
        (MUSHRA + 'reason = "optional"\n', "reason", "pairwise"),
        (MUSHRA + "excerpt_bars = [5, 2]\n", "excerpt_bars", "first ≤ last"),
        (MUSHRA + 'excerpt_bars = ["a", 2]\n', "excerpt_bars", "[first, last]"),
    ],
)
def test_bad_trial_configs_name_the_field(text, field, words):
    with pytest.raises(setup.StudyConfigError) as raised:
        setup.parse_config(text)
    assert raised.value.field == field and words in str(raised.value)


@pytest.mark.parametrize("key", ["adaptive", "adaptive_burn_in", "reason"])
def test_a_rating_study_refuses_the_pairwise_keys(key):
    rating = {"title": "t", "slug": "rated", "conditions": ["a"], "clips_per_condition": 1}
    text = setup.config_to_toml({**rating, "clips_per_participant": 1})
    value = {"adaptive": "true", "adaptive_burn_in": "3", "reason": '"optional"'}[key]
    with pytest.raises(setup.StudyConfigError) as raised:
        setup.parse_config(f"{text}\n{key} = {value}\n")
    assert raised.value.field == key and 'applies to trial_type = "pairwise"' in str(raised.value)
    assert "mushra" not in str(raised.value)


def test_a_pairwise_study_from_the_pool_gives_pages_of_one_pair(db_engine):
    add_pool(db_engine)
    summary = setup.create_study(db_engine, PAIRWISE)
    assert summary.clips == 5  # 2 + 2 generated, 1 reference; no practice clip, no anchor
    setup.open_study(db_engine, "pairs")
    with transaction(db_engine) as session:
        assert session.query(Study).one().trial_type == "pairwise"
    study = flow.load_study(db_engine, "pairs")
    token = flow.consent(db_engine, study, {})
    flow.save_questionnaire(
        db_engine, study, token, {key: options[0] for key, _, options in flow.content.QUESTIONNAIRE}
    )
    flow.start(db_engine, study, token)
    progress = flow.progress(db_engine, study, token)
    assert progress.step is flow.Step.PAIR and progress.page.total == 4
    assert len(progress.page.stimuli) == 2


def test_a_mushra_study_from_the_pool_has_every_condition_on_a_page(db_engine):
    add_pool(db_engine)
    setup.create_study(db_engine, MUSHRA)
    page = flow.progress(db_engine, *_started(db_engine, "pages")).page
    assert len(page.stimuli) == len(GENERATED) + 2  # with the hidden reference and the anchor
    assert all(stimulus.min_listen_seconds == 0.0 for stimulus in page.stimuli)


def _started(engine, slug: str) -> tuple[flow.StudyInfo, str]:
    """Open study `slug` and start one participant past the questionnaire."""
    setup.open_study(engine, slug)
    study = flow.load_study(engine, slug)
    token = flow.consent(engine, study, {})
    flow.save_questionnaire(
        engine, study, token, {key: options[0] for key, _, options in flow.content.QUESTIONNAIRE}
    )
    flow.start(engine, study, token)
    return study, token


def _add_imported(engine, name: str, *, bars: int, genre: str = "techno-house") -> None:
    """Three imported clips as `pool.import_midi` records them: genre and bars, no corpus."""
    from db import repository
    from drumeval import clipstore
    from drumeval.study.synthetic import click_track_wav

    with transaction(engine, write_lock=True) as session:
        for index in range(3):
            repository.add_clip(
                session,
                role="imported",
                condition=name,
                midi_sha256=clipstore.sha256_hex(f"{name}#{index}".encode()),
                audio_sha256=clipstore.put(click_track_wav(900 + index, 2.0), "wav"),
                audio_format="wav",
                duration_s=2.0,
                genre=genre,
                provenance={"source": "imported MIDI", "bars": bars, "file_name": f"{index}.mid"},
            )


def _with_imported(text: str) -> str:
    return text.replace("conditions = [\n", 'conditions = [\n  "magenta-original",\n')


def test_an_imported_condition_is_compared_with_generated_ones_of_its_length(db_engine):
    add_pool(db_engine)
    _add_imported(db_engine, "magenta-original", bars=4)
    setup.create_study(db_engine, _with_imported(PAIRWISE).replace("= 4\n", "= 12\n"))
    _started(db_engine, "pairs")
    with transaction(db_engine) as session:
        from db.models import Clip, TrialStimulus

        conditions = [
            condition
            for (condition,) in session.query(Clip.condition).join(
                TrialStimulus, TrialStimulus.clip_id == Clip.id
            )
        ]
    # 4 conditions (the reference too) make 6 pairs, 3 with the import: 12 pages, 2 a pair
    assert conditions.count("magenta-original") == 6


@pytest.mark.parametrize("text", [PAIRWISE, MUSHRA.replace("headphone", "anchors = 1\nheadphone")])
def test_study_create_refuses_a_condition_that_no_page_can_hold(db_engine, text):
    add_pool(db_engine)
    _add_imported(db_engine, "magenta-original", bars=8)  # the generated clips have 4 bars
    with pytest.raises(setup.StudyConfigError, match="magenta-original") as raised:
        setup.create_study(db_engine, _with_imported(text))
    assert raised.value.field == "conditions" and "8bars" in str(raised.value)
    assert setup.list_summaries(db_engine) == []
