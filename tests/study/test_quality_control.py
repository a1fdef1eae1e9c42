"""Quality control from the pool to the paper's table: gold clips (a known answer) reach every
participant once, at a random position; post-screening applies the study's rules (gold,
straight-lining, …) in `table1 --screened`, the export and /admin's counts."""

import re

import pytest

from db.engine import transaction
from db.models import Assignment, Clip
from drumeval.analysis import export
from drumeval.analysis.from_db import load_study, screening_counts
from drumeval.analysis.screening import rule_counts
from drumeval.study import content, flow, setup
from tests.factories import CONFIG, GOLD, add_pool

GOLD_CONFIG = CONFIG.replace("anchors = 1", "anchors = 1\ngold = 1")
ANSWERS = {key: options[0] for key, _, options in content.QUESTIONNAIRE}


def _take(engine, study, score_of) -> str:
    """One participant rates every clip; `score_of(is_gold, number)` gives the scores of a
    generated or gold clip (the hidden reference gets ++, the anchor --, as it should)."""
    token = flow.consent(engine, study, {})
    flow.save_questionnaire(engine, study, token, ANSWERS)
    flow.start(engine, study, token)
    number = 0
    with transaction(engine) as session:
        roles = dict(session.query(Clip.id, Clip.role))
    controls = {"reference": _all(2), "anchor": _all(-2)}
    while (progress := flow.progress(engine, study, token)).step is flow.Step.RATING:
        clip = progress.clip
        role = roles[clip.clip_id]
        scores = controls.get(role) or score_of(role == "gold", number)
        flow.submit_rating(
            engine,
            study,
            token,
            clip_id=clip.clip_id,
            form=flow.RatingForm(scores=scores, genre_answer="cant_tell", genre_confidence=None),
            heard_seconds=clip.min_listen_seconds,
            plays=1,
        )
        number += not clip.is_training
    flow.finish(engine, study, token)
    return token


def _all(value: int) -> dict[str, int]:
    return dict.fromkeys(content.CRITERION_KEYS, value)


def _study(engine, config: str = GOLD_CONFIG):
    add_pool(engine, gold=2)
    setup.create_study(engine, config)
    setup.open_study(engine, "two-models")
    return flow.load_study(engine, "two-models")


def test_every_participant_meets_one_gold_clip_at_a_random_position(db_engine):
    study = _study(db_engine)
    for _ in range(6):
        _take(db_engine, study, lambda is_gold, n: _all(-2 if is_gold else n % 5 - 2))
    with transaction(db_engine) as session:
        rows = (
            session.query(Assignment.participant_id, Assignment.position, Clip.condition)
            .join(Clip, Clip.id == Assignment.clip_id)
            .all()
        )
    per_person: dict[int, list[int]] = {}
    for participant, position, condition in rows:
        if condition == GOLD:
            per_person.setdefault(participant, []).append(position)
    assert len(per_person) == 6 and all(len(p) == 1 for p in per_person.values())
    assert len({p[0] for p in per_person.values()}) > 1, "always the same position"
    positions = [position for _, position, _ in rows]
    assert max(positions) == 4 + 1  # clips_per_participant rated clips plus the gold one


def test_table1_screened_applies_the_studys_rules(db_engine, db_cli):
    study = _study(db_engine)
    varied = lambda is_gold, n: _all(-2 if is_gold else n % 5 - 2)  # noqa: E731
    _take(db_engine, study, varied)
    _take(db_engine, study, lambda is_gold, n: _all(2 if is_gold else n % 5 - 2))  # misses gold
    _take(db_engine, study, lambda is_gold, n: _all(-2 if is_gold else 1))  # straight-lines
    data = load_study(db_engine, "two-models")
    assert "gold" not in set(data.tables.ratings["model"])  # gold ratings only screen
    screening = data.screening()
    assert sorted(screening["reasons"]) == ["", "gold_missed", "straight_lining"]
    counts = rule_counts(screening)
    assert (counts["gold_missed"], counts["straight_lining"], counts["reference_low"]) == (1, 1, 0)
    people = export.export_table(data, "participants")
    assert sorted(people["screening_reasons"].fillna("")) == sorted(screening["reasons"])
    assert people["gold_missed"].sum() == 1
    kept = data.analysed(screened=True).ratings["participant_id"].nunique()
    assert kept == 1
    code, out, err = db_cli("study", "table1", "two-models", "--screened", "--markdown")
    assert code == 0, err
    everyone = db_cli("study", "table1", "two-models", "--markdown")[1]
    # one participant left: every bootstrap interval is a point; with all three it is not
    assert all(low == high for low, high in re.findall(r"\[([^,]+), ([^\]]+)\]", out))
    assert any(low != high for low, high in re.findall(r"\[([^,]+), ([^\]]+)\]", everyone))
    assert screening_counts(db_engine, "two-models") == counts  # what /admin shows


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_a_study_can_leave_a_rule_out(db_engine):
    config = GOLD_CONFIG + 'screening_rules = ["gold_missed", "headphone_check_failed"]\n'
    study = _study(db_engine, config)
    _take(db_engine, study, lambda is_gold, n: _all(-2 if is_gold else 1))  # straight-lines
    assert not load_study(db_engine, "two-models").screening()["flagged"].any()
