"""The researcher's workflow (issue 31): edit a draft, duplicate, archive, delete with a backup,
and which stimuli are in a study — in the library and as `drumeval study …` verbs."""

import json

import pytest

from db import repository
from db.engine import transaction
from db.models import Clip
from drumeval.analysis import export
from drumeval.errors import StudyError
from drumeval.study import setup
from tests.factories import CONFIG, GENERATED, add_pool, join, rate


def _created(engine, tmp_path, text: str = CONFIG) -> setup.StudySummary:
    add_pool(engine)
    return setup.create_study(engine, text)


def _trial_ids(engine, slug: str) -> tuple[list[int], int | None]:
    with transaction(engine) as session:
        study = repository.get_study(session, slug=slug)
        return repository.study_clip_ids(session, study_id=study.id)


def _rated(engine, slug: str) -> int:
    """Open the study, let one participant rate one clip; the rated clip's id."""
    setup.open_study(engine, slug)
    with transaction(engine) as session:
        study_id = repository.get_study(session, slug=slug).id
    participant_id, _ = join(engine, study_id)
    with transaction(engine) as session:
        rows = repository.assignment_rows(session, participant_id=participant_id)
        clip_id = next(clip.id for assignment, clip, _ in rows if not assignment.is_training)
    rate(engine, participant_id, clip_id)
    return clip_id


def test_edit_draft_changes_config_clips_and_slug(db_engine, tmp_path):
    _created(db_engine, tmp_path)
    before, _ = _trial_ids(db_engine, "two-models")
    assert len(before) == 6  # 2 per condition + reference + anchor
    text = CONFIG.replace("clips_per_condition = 2", "clips_per_condition = 3").replace(
        'slug = "two-models"', 'slug = "two-models-b"'
    )
    summary = setup.edit_draft(db_engine, "two-models", text)
    assert (summary.slug, summary.clips) == ("two-models-b", 8)
    after, training = _trial_ids(db_engine, "two-models-b")
    assert len(after) == 8 and training is not None
    assert setup.study_status(db_engine, "two-models-b").config_text == text
    with pytest.raises(StudyError, match="no study called 'two-models'"):
        setup.study_status(db_engine, "two-models")


def test_a_study_with_participants_cannot_be_edited(db_engine, tmp_path):
    _created(db_engine, tmp_path)
    setup.open_study(db_engine, "two-models")
    with pytest.raises(StudyError, match="only a draft"):
        setup.edit_draft(db_engine, "two-models", CONFIG)


def test_duplicate_keeps_design_and_clips_in_a_new_draft(db_engine, tmp_path):
    _created(db_engine, tmp_path)
    _rated(db_engine, "two-models")
    copy = setup.duplicate_study(db_engine, "two-models", "two-models-2")
    assert copy.status == "draft" and copy.clips == 6
    assert _trial_ids(db_engine, "two-models-2") == _trial_ids(db_engine, "two-models")
    original = setup.study_status(db_engine, "two-models")
    duplicate = setup.study_status(db_engine, "two-models-2")
    assert duplicate.counts["ratings"] == 0 and original.counts["ratings"] == 1
    assert setup.parse_config(duplicate.config_text).slug == "two-models-2"
    assert duplicate.design == original.design
    with pytest.raises(StudyError, match="already exists"):
        setup.duplicate_study(db_engine, "two-models", "two-models-2")


def test_archived_studies_leave_the_list_until_asked_for(db_engine, tmp_path):
    _created(db_engine, tmp_path)
    setup.open_study(db_engine, "two-models")
    with pytest.raises(StudyError, match="close it before archiving"):
        setup.archive_study(db_engine, "two-models")
    setup.close_study(db_engine, "two-models")
    setup.archive_study(db_engine, "two-models")
    assert setup.list_summaries(db_engine) == []
    [archived] = setup.list_summaries(db_engine, include_archived=True)
    assert archived.slug == "two-models" and archived.archived
    setup.archive_study(db_engine, "two-models", archived=False)
    assert [s.slug for s in setup.list_summaries(db_engine)] == ["two-models"]


def test_delete_needs_the_slug_once_there_are_ratings_and_backs_up_first(db_engine, tmp_path):
    _created(db_engine, tmp_path)
    rated_clip = _rated(db_engine, "two-models")
    with pytest.raises(StudyError, match="1 rating"):
        export.delete_with_backup(db_engine, "two-models", confirm=None, backup_dir=tmp_path)
    with pytest.raises(StudyError, match="1 rating"):
        export.delete_with_backup(db_engine, "two-models", confirm="two", backup_dir=tmp_path)
    assert setup.study_status(db_engine, "two-models").counts["ratings"] == 1  # still there
    backup = export.delete_with_backup(
        db_engine, "two-models", confirm="two-models", backup_dir=tmp_path / "b"
    )
    assert setup.list_summaries(db_engine, include_archived=True) == []
    document = json.loads(backup.read_text())
    assert document["slug"] == "two-models" and document["config_text"] == CONFIG
    assert len(document["ratings"]) == 1 and len(document["participants"]) == 1
    with transaction(db_engine) as session:
        public_id = session.get(Clip, rated_clip).public_id
        assert len(repository.pool_clip_rows(session)) == 11  # the pool's clips stay
    assert document["ratings"][0]["clip_id"] == public_id
    assert public_id in {row["clip_id"] for row in document["stimuli"]}
    assert len(document["stimuli"]) == 7  # 6 rated + the practice clip


def test_a_draft_without_ratings_is_deleted_without_confirmation(db_engine, tmp_path):
    _created(db_engine, tmp_path)
    backup = export.delete_with_backup(db_engine, "two-models", confirm=None, backup_dir=tmp_path)
    assert json.loads(backup.read_text())["ratings"] == []
    assert setup.list_summaries(db_engine) == []


def test_the_export_lists_every_stimulus_of_the_study(db_engine, tmp_path):
    _created(db_engine, tmp_path)
    with transaction(db_engine) as session:
        study = repository.get_study(session, slug="two-models")
        expected = {
            (clip.public_id, clip.condition, clip.role, clip.midi_sha256, clip.audio_sha256)
            for clip, _ in repository.study_stimuli(session, study_id=study.id)
        }
    _rated(db_engine, "two-models")
    from drumeval.analysis.from_db import load_study

    for fmt in export.EXPORT_FORMATS:
        frame = export.export_table(load_study(db_engine, "two-models"), "stimuli")
        back = export.read_export(export.to_bytes(frame, fmt), fmt, "stimuli")
        found = {
            (row.clip_id, row.condition, row.role, row.midi_sha256, row.audio_sha256)
            for row in back.itertuples()
        }
        assert found == expected and len(expected) == 7
    assert set(back["purpose"]) == {"trial", "training"}
    assert set(back.loc[back["purpose"] == "trial", "condition"]) >= set(GENERATED)


def test_cli_edit_duplicate_archive_delete_and_status_stimuli(db_cli, db_engine, tmp_path):
    add_pool(db_engine)
    config = tmp_path / "study.toml"
    config.write_text(CONFIG)
    assert db_cli("study", "create", "--config", str(config))[0] == 0
    config.write_text(CONFIG.replace("clips_per_condition = 2", "clips_per_condition = 1"))
    code, out, _ = db_cli("study", "edit", "two-models", "--config", str(config))
    assert code == 0 and "now has 4 clips" in out, out
    code, out, _ = db_cli("study", "status", "two-models")
    assert code == 0 and "Stimuli" in out
    for item in setup.study_stimuli(db_engine, "two-models"):
        assert item.midi_sha256 in out and item.public_id in out
    code, out, _ = db_cli("study", "duplicate", "two-models", "--slug", "copy-1")
    assert code == 0 and "'copy-1' created (draft)" in out
    assert db_cli("study", "archive", "copy-1")[0] == 0
    assert "copy-1" not in db_cli("study", "list")[1]
    code, out, _ = db_cli("study", "list", "--all")
    assert "copy-1" in out and "archived" in out
    _rated(db_engine, "two-models")
    code, _, err = db_cli("study", "delete", "two-models")
    assert code == 2 and "--confirm two-models" in err and err.count("\n") == 1
    code, out, _ = db_cli("study", "delete", "two-models", "--confirm", "two-models")
    assert code == 0 and "deleted; its backup:" in out
    backups = list((tmp_path / "home" / "backups").glob("two-models-*.json"))
    assert len(backups) == 1 and json.loads(backups[0].read_text())["ratings"]
    assert "two-models" not in db_cli("study", "list", "--all")[1]


def test_recruiting_settings_change_while_the_study_runs(db_engine, tmp_path):
    _created(db_engine, tmp_path)
    setup.open_study(db_engine, "two-models")
    setup.update_recruitment(
        db_engine,
        "two-models",
        {"participant_target": 12, "abandon_minutes": 30, "completion_code": None},
    )
    state = setup.study_status(db_engine, "two-models")
    assert (state.participant_target, state.abandon_minutes) == (12, 30)
    assert state.design["completion_code"] is None
    assert "completion_code" not in state.config_text
    assert "participant_target = 12" in state.config_text
    assert setup.parse_config(state.config_text).abandon_minutes == 30
    with pytest.raises(StudyError, match="`participant_target`"):
        setup.update_recruitment(db_engine, "two-models", {"participant_target": 0})
    with pytest.raises(StudyError, match="not a recruiting setting: title"):
        setup.update_recruitment(db_engine, "two-models", {"title": "x"})
    assert setup.study_status(db_engine, "two-models").participant_target == 12


def test_a_study_config_chooses_its_headphone_screen():
    config = setup.parse_config(CONFIG + 'headphone_screen = "both"\n')
    assert config.design()["headphone_screen"] == "both"
    assert setup.parse_config(CONFIG).design()["headphone_screen"] == "antiphase"
    with pytest.raises(StudyError, match="`headphone_screen`: must be one of antiphase, huggins"):
        setup.parse_config(CONFIG + 'headphone_screen = "loud"\n')
