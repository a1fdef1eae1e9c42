"""`drumeval study create|open|close|status|list|config|import-clips` on a terminal."""

import numpy as np
import pytest

from db.engine import transaction
from db.models import Clip, Study
from drumeval.clips import event_ids_to_midi_bytes
from tests.factories import CONFIG, add_pool

pytestmark = pytest.mark.usefixtures("data_home")  # clips and SQLite in a temp home, not var/


def test_create_open_status_close_and_recreate(db_cli, db_engine, tmp_path):
    add_pool(db_engine)
    config = tmp_path / "study.toml"
    config.write_text(CONFIG)
    code, out, _ = db_cli("study", "create", "--config", str(config), "--participants", "30")
    assert code == 0, out
    assert "120 ratings, 20.0 per clip" in out and "created (draft) with 6 clips" in out
    assert "/study?s=two-models" in out
    assert db_cli("study", "open", "two-models")[:2] == (0, "Study 'two-models' is open.\n")
    code, out, _ = db_cli("study", "status", "two-models")
    assert code == 0 and "open" in out and "started 0" in out and "Per clip" in out
    code, out, _ = db_cli("study", "list")
    assert "two-models" in out and "open" in out
    code, out, _ = db_cli("study", "close", "two-models", "--grace-minutes", "45")
    assert code == 0 and "Those who started can finish until" in out
    code, out, _ = db_cli("study", "config", "two-models")
    assert out == CONFIG  # what was stored is what was given
    config.write_text(out.replace('slug = "two-models"', 'slug = "two-models-again"'))
    assert db_cli("study", "create", "--config", str(config), "--open")[0] == 0
    with transaction(db_engine) as session:
        statuses = {study.slug: study.status for study in session.query(Study)}
        assert session.query(Study).filter_by(slug="two-models").one().grace_minutes == 45
    assert statuses == {"two-models": "closed", "two-models-again": "open"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("study", "open", "nope"), "no study called 'nope'"),
        (("study", "create", "--config", "/nonexistent.toml"), "cannot read /nonexistent.toml"),
        (
            ("study", "import-clips", "/nonexistent", "--condition", "x1", "--genre", "jazz-soul"),
            "is not a directory",
        ),
        (("study", "demo"), "--ensure"),
        (
            ("study", "pool", "--temperature", "5"),
            "--temperature must be between 0.1 and 2.0; got 5",
        ),
        (("study", "pool", "--corpus-size", "900"), "--corpus-size must be "),
        (("study", "pool", "--model", "rnn"), "--model: unknown model 'rnn'"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(db_cli, argv, message):
    code, _, err = db_cli(*argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error:") and message in err


def test_a_bad_config_names_the_field(db_cli, db_engine, tmp_path):
    add_pool(db_engine)
    config = tmp_path / "study.toml"
    config.write_text(CONFIG.replace("seed = 3", "seed = -1"))
    code, _, err = db_cli("study", "create", "--config", str(config))
    assert code == 2 and "`seed`" in err


def test_import_clips_lists_bad_files(db_cli, db_engine, tmp_path):
    ids = np.zeros(64, dtype=np.int32)
    ids[::4] = 1
    (tmp_path / "ok.mid").write_bytes(event_ids_to_midi_bytes(ids, kit="jazz"))
    (tmp_path / "bad.mid").write_bytes(b"\x00" * 40)
    code, out, _ = db_cli(
        "study", "import-clips", str(tmp_path), "--condition", "mine", "--genre", "jazz-soul"
    )
    assert code == 1, "a partial import must be visible to a script"
    assert "skipped bad.mid:" in out and "1 clip(s) imported as 'mine', 1 skipped." in out
    with transaction(db_engine) as session:
        assert [clip.condition for clip in session.query(Clip)] == ["mine"]
    (tmp_path / "bad.mid").unlink()
    code, out, _ = db_cli(
        "study", "import-clips", str(tmp_path), "--condition", "mine", "--genre", "jazz-soul"
    )
    assert code == 0 and "0 skipped" in out


def test_import_clips_warns_when_the_audio_is_already_another_condition(
    db_cli, db_engine, tmp_path
):
    ids = np.zeros(64, dtype=np.int32)
    ids[::4] = 1
    (tmp_path / "ok.mid").write_bytes(event_ids_to_midi_bytes(ids, kit="jazz"))
    argv = ("study", "import-clips", str(tmp_path), "--genre", "jazz-soul")
    assert db_cli(*argv, "--condition", "mine")[0] == 0
    code, out, _ = db_cli(*argv, "--condition", "theirs")
    assert code == 0, out
    assert "warning ok.mid: the same audio is already in the pool as 'mine'" in out
    with transaction(db_engine) as session:
        assert sorted(clip.condition for clip in session.query(Clip)) == ["mine", "theirs"]


def test_import_clips_with_one_shared_kit(db_cli, db_engine, tmp_path):
    ids = np.zeros(64, dtype=np.int32)
    ids[::4] = 1
    (tmp_path / "ok.mid").write_bytes(event_ids_to_midi_bytes(ids, kit="jazz"))
    argv = ("study", "import-clips", str(tmp_path), "--condition", "mine", "--genre", "jazz-soul")
    code, out, err = db_cli(*argv, "--kit", "tr909")
    assert code == 2 and "unknown drum kit 'tr909'" in out + err
    code, out, _ = db_cli(*argv, "--kit", "standard")
    assert code == 0, out
    with transaction(db_engine) as session:
        (clip,) = session.query(Clip).all()
        assert clip.provenance["kit"] == "standard"


def test_status_prints_the_invite_link_with_the_base_url_given_at_create(
    db_cli, db_engine, tmp_path
):
    add_pool(db_engine)
    config = tmp_path / "study.toml"
    config.write_text(CONFIG)
    base = "https://study.example.org/drums"
    code, out, _ = db_cli("study", "create", "--config", str(config), "--base-url", base)
    assert code == 0 and f"{base}/study?s=two-models" in out
    code, out, _ = db_cli("study", "status", "two-models")
    assert code == 0 and f"Invite link: {base}/study?s=two-models" in out
    code, out, _ = db_cli("study", "status", "two-models", "--base-url", "http://other:1")
    assert "Invite link: http://other:1/study?s=two-models" in out


def test_evaluators_see_the_public_title_not_the_internal_one(db_engine, tmp_path):
    from drumeval.study import flow, setup

    add_pool(db_engine)
    setup.create_study(
        db_engine,
        CONFIG.replace('slug = "two-models"', 'slug = "two-models"\npublic_title = "Rate drums"'),
    )
    setup.open_study(db_engine, "two-models")
    assert flow.load_study(db_engine, "two-models").title == "Rate drums"
    assert setup.study_status(db_engine, "two-models").title != "Rate drums"  # the researcher's


def test_create_warns_when_what_evaluators_see_names_a_condition(db_cli, db_engine, tmp_path):
    add_pool(db_engine)
    config = tmp_path / "study.toml"
    leaky = CONFIG.replace(
        'title = "Two models"', 'title = "Pilot: original Magenta DrumsRNN vs drumeval ports"'
    ).replace('slug = "two-models"', 'slug = "musicvae-pilot"')
    config.write_text(leaky)
    code, out, _ = db_cli("study", "create", "--config", str(config))
    assert code == 0, out
    title = next(line for line in out.splitlines() if line.startswith("warning: the title"))
    assert "(evaluators see it: set public_title) names" in title
    assert "'DrumsRNN'" in title and "'Magenta'" in title
    assert "warning: the slug (in every evaluator's URL) names 'MusicVAE'" in out
    assert "--random-slug" in out
    config.write_text(
        CONFIG.replace('slug = "two-models"', 'slug = "two-models-2"\npublic_title = "Rate drums"')
    )
    code, out, _ = db_cli("study", "create", "--config", str(config))
    assert code == 0 and "warning" not in out


def test_create_with_a_random_slug(db_cli, db_engine, tmp_path):
    add_pool(db_engine)
    config = tmp_path / "study.toml"
    config.write_text(CONFIG.replace('slug = "two-models"', 'slug = "drums-rnn-pilot"'))
    code, out, _ = db_cli("study", "create", "--config", str(config), "--random-slug")
    assert code == 0, out
    with transaction(db_engine) as session:
        slug = session.query(Study).one().slug
    assert slug != "drums-rnn-pilot" and f"/study?s={slug}" in out and "warning" not in out
    code, stored, _ = db_cli("study", "config", slug)
    assert f'slug = "{slug}"' in stored and "drums-rnn-pilot" not in stored  # recreatable


def test_reconcile_lists_paid_submissions_without_data_and_data_without_submission(
    db_cli, db_engine, tmp_path
):
    from drumeval.study import content, flow
    from drumeval.study.synthetic import make_study

    make_study(db_engine, headphone_check=False)
    study = flow.load_study(db_engine, "tiny")
    answers = {key: options[0] for key, _, options in content.QUESTIONNAIRE}

    def take(pid: str | None, clips: int) -> None:
        token = flow.consent(db_engine, study, {"PROLIFIC_PID": pid} if pid else {})
        flow.save_questionnaire(db_engine, study, token, answers)
        flow.start(db_engine, study, token)
        for _ in range(clips + 1):  # the practice clip first
            clip = flow.progress(db_engine, study, token).clip
            if clip is None:
                break
            form = flow.RatingForm(dict.fromkeys(content.CRITERION_KEYS, 0), "cant_tell", None)
            flow.submit_rating(
                db_engine, study, token, clip_id=clip.clip_id, form=form, heard_seconds=3, plays=1
            )
        if flow.progress(db_engine, study, token).step is flow.Step.FINISHED:
            flow.finish(db_engine, study, token)

    take("p-done", 4)
    take("p-partial", 2)
    take(None, 1)  # no PROLIFIC_PID: the invite link was not Prolific's
    take("p-not-paid", 4)
    export = tmp_path / "prolific.csv"
    export.write_text(
        "Submission id,Participant id,Status,Completion code\n"
        "s1,p-done,APPROVED,C\ns2,p-partial,AWAITING REVIEW,C\n"
        "s3,p-lost,APPROVED,C\ns4,p-gone,RETURNED,\n",
        encoding="utf-8-sig",
    )
    code, out, _ = db_cli("study", "reconcile", "tiny", "--prolific-export", str(export))
    assert code == 1, out
    first, second = out.split("Participants here without a Prolific submission")
    assert "Prolific submissions without complete data: 2" in first
    assert "p-partial" in first and "in_progress, 2 of 4 clips rated" in first
    assert "p-lost" in first and "no participant here" in first and "p-done" not in first
    assert ": 2" in second and "p-not-paid" in second and "no submission on Prolific" in second
    assert "no PROLIFIC_PID" in second
    export.write_text("id,state\n1,APPROVED\n")
    code, _, err = db_cli("study", "reconcile", "tiny", "--prolific-export", str(export))
    assert code == 2 and "no 'Participant id' or 'Status' column" in err


PAGES_CONFIG = """
title = "Pages"
slug = "pages"
trial_type = "{trial_type}"
conditions = [
  "drums_rnn/thesis/techno-house-700/t1/4bars",
  "music_vae/thesis-longbar/techno-house-700/t1/4bars",
]
clips_per_condition = 2
trials_per_participant = 2
references = 1
headphone_check = false
"""


def _create_pages_study(db_cli, db_engine, tmp_path, trial_type: str) -> str:
    """`study create` of a 4-participant pairwise or MUSHRA study; its output."""
    add_pool(db_engine)
    config = tmp_path / "study.toml"
    config.write_text(PAGES_CONFIG.format(trial_type=trial_type))
    code, out, _ = db_cli("study", "create", "--config", str(config), "--participants", "4")
    assert code == 0, out
    return out


def test_create_plans_votes_per_pair_for_a_pairwise_study(db_cli, db_engine, tmp_path):
    out = _create_pages_study(db_cli, db_engine, tmp_path, "pairwise")
    assert "4 participants: 8 pages, votes per pair" in out and "ratings" not in out
    votes = {
        line.split("│")[1].strip(): int(line.split("│")[2])
        for line in out.splitlines()
        if " vs " in line
    }
    assert len(votes) == 3 and sum(votes.values()) == 8  # 3 pairs of 3 conditions
    assert max(votes.values()) - min(votes.values()) <= 1


def test_create_plans_ratings_per_condition_for_a_mushra_study(db_cli, db_engine, tmp_path):
    out = _create_pages_study(db_cli, db_engine, tmp_path, "mushra")
    assert "4 participants: 8 pages, ratings per condition" in out
    rows = [line.split("│") for line in out.splitlines() if "/4bars" in line]
    assert len(rows) == 4 and all(int(row[2]) == 8 for row in rows)  # each on every page


def test_create_names_an_imported_condition_no_pair_can_hold(db_cli, db_engine, tmp_path):
    from db import repository
    from drumeval import clipstore

    add_pool(db_engine)
    with transaction(db_engine, write_lock=True) as session:
        repository.add_clip(
            session,
            role="imported",
            condition="magenta-original",
            midi_sha256=clipstore.sha256_hex(b"imported"),
            audio_sha256=clipstore.sha256_hex(b"imported audio"),
            audio_format="wav",
            duration_s=20.0,
            genre="techno-house",
            provenance={"bars": 8},
        )
    config = tmp_path / "study.toml"
    text = PAGES_CONFIG.format(trial_type="pairwise").replace(
        "clips_per_condition = 2", "clips_per_condition = 1"
    )
    config.write_text(text.replace("conditions = [\n", 'conditions = [\n  "magenta-original",\n'))
    code, out, err = db_cli("study", "create", "--config", str(config))
    assert code != 0 and "Traceback" not in out + err
    assert "'magenta-original' (techno-house/8bars) has no other condition" in out + err
    assert db_cli("study", "list")[1].count("pages") == 0
