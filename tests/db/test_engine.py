"""Connecting, migrating and refusing schemas: on SQLite and PostgreSQL."""

import sqlite3
import threading
import time

import pytest
from sqlalchemy import inspect, text

from db.engine import (
    check_schema,
    current_revisions,
    database_url,
    head_revision,
    make_engine,
    open_database,
    transaction,
    upgrade_database,
)
from drumeval.errors import DatabaseError, SchemaTooNewError

TABLES = {
    "clips",
    "studies",
    "study_clips",
    "participants",
    "assignments",
    "ratings",
    "trials",
    "trial_stimuli",
    "pairwise_votes",
    "mushra_scores",
    "events",
    "alembic_version",
}


def test_migration_creates_every_table_from_empty(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        assert current_revisions(engine) == ()
        with pytest.raises(DatabaseError, match="db upgrade"):
            check_schema(engine)
        upgrade_database(engine)
        assert set(inspect(engine).get_table_names()) == TABLES
        assert current_revisions(engine) == (head_revision(),)
        check_schema(engine)
        upgrade_database(engine)  # a second upgrade is a no-op
        assert current_revisions(engine) == (head_revision(),)
    finally:
        engine.dispose()


def test_a_newer_schema_is_refused(db_engine):
    with db_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_future'"))
    with pytest.raises(SchemaTooNewError, match="newer than this drumeval"):
        check_schema(db_engine)
    with pytest.raises(SchemaTooNewError):
        upgrade_database(db_engine)


def test_open_database_refuses_a_newer_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    open_database(url).dispose()
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_future'"))
    engine.dispose()
    with pytest.raises(SchemaTooNewError):
        open_database(url)


def test_database_url_defaults_to_sqlite_in_the_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    assert database_url() == f"sqlite:///{tmp_path / 'home' / 'drumeval.sqlite'}"
    assert (tmp_path / "home").is_dir()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_database_url_maps_plain_postgresql_to_psycopg(monkeypatch, scheme):
    monkeypatch.setenv("DATABASE_URL", f"{scheme}://user:pw@db.example:5432/study")
    assert database_url() == "postgresql+psycopg://user:pw@db.example:5432/study"


@pytest.mark.parametrize(
    ("url", "message"),
    [("not a url", "not a valid database URL"), ("mysql://u@h/db", "unsupported database")],
)
def test_bad_urls_are_database_errors(url, message):
    with pytest.raises(DatabaseError, match=message):
        make_engine(url)


def test_unreachable_postgresql_is_a_readable_error_without_the_password():
    engine = make_engine("postgresql+psycopg://user:s3cret-pw@127.0.0.1:1/study")
    with pytest.raises(DatabaseError) as error:
        open_database(str(engine.url.render_as_string(hide_password=False)))
    engine.dispose()
    assert "cannot use the database at postgresql+psycopg://user:***@127.0.0.1:1/study" in str(
        error.value
    )
    assert "s3cret-pw" not in str(error.value)


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_transaction_commits_and_rolls_back(db_engine):
    with transaction(db_engine) as session:
        session.execute(
            text(
                "INSERT INTO studies (slug, title, status, design, is_demo, "
                "declined_count, created_at) VALUES ('kept', 'K', 'draft', '{}', "
                "false, 0, CURRENT_TIMESTAMP)"
            )
        )
    with pytest.raises(RuntimeError), transaction(db_engine) as session:
        session.execute(text("UPDATE studies SET title = 'changed'"))
        raise RuntimeError("abort")
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT title FROM studies")).scalars().all() == ["K"]


def test_write_lock_makes_a_second_writer_wait_on_sqlite(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with transaction(engine, write_lock=True):
            order.append("first begins")
            holding.set()
            time.sleep(0.3)
            order.append("first commits")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with transaction(engine, write_lock=True):
        order.append("second begins")
    thread.join()
    engine.dispose()
    assert order == ["first begins", "first commits", "second begins"]


def test_a_busy_database_is_a_retry_message(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    locker = engine.raw_connection()
    locker.execute("PRAGMA busy_timeout=0")
    locker.driver_connection.isolation_level = None
    locker.execute("BEGIN EXCLUSIVE")
    impatient = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")

    @__import__("sqlalchemy").event.listens_for(impatient, "connect")
    def no_wait(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    try:
        with (
            pytest.raises(DatabaseError, match="unavailable or busy; please retry") as error,
            transaction(impatient, write_lock=True),
        ):
            pass
        assert error.value.__cause__ is not None
    finally:
        locker.execute("ROLLBACK")
        locker.close()
        impatient.dispose()
        engine.dispose()


def test_a_writer_waits_for_another_processs_lock_and_keeps_its_busy_timeout(tmp_path):
    """The lock is polled (not SQLite's sleeping busy handler) until the holder commits."""
    path = tmp_path / "db.sqlite"
    engine = open_database(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE held (x INTEGER)")
    release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    release.start()
    try:
        with transaction(engine, write_lock=True) as session:
            # it got the lock only after the holder's commit: the table is there
            session.execute(text("INSERT INTO held VALUES (1)"))
            timeout = session.execute(text("PRAGMA busy_timeout")).scalar()
        assert timeout == 30000  # restored after polling with a zero timeout
        assert holder.execute("SELECT x FROM held").fetchall() == [(1,)]
    finally:
        release.join()
        holder.close()
        engine.dispose()


def test_the_migrations_build_exactly_the_models_schema(empty_db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from db.models import Base

    engine = make_engine(empty_db_url)
    try:
        upgrade_database(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()


def test_studies_made_before_0002_get_the_default_grace_period(empty_db_url):
    from alembic import command

    from db.engine import _alembic_config
    from db.models import DEFAULT_GRACE_MINUTES, Study

    engine = make_engine(empty_db_url)
    try:
        command.upgrade(_alembic_config(engine), "0001")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO studies (slug, title, status, design, is_demo, declined_count,"
                    " created_at) VALUES ('old', 'Old study', 'closed', '{}', false, 0,"
                    " CURRENT_TIMESTAMP)"
                )
            )
        upgrade_database(engine)
        with transaction(engine) as session:
            study = session.query(Study).one()
            assert (study.grace_minutes, study.public_title, study.base_url) == (
                DEFAULT_GRACE_MINUTES,
                None,
                None,
            )
    finally:
        engine.dispose()


def test_0003_allows_gold_clips_released_places_targets_and_no_confidence(empty_db_url):
    """The CHECK constraints 0003 widens (autogenerate compares no CHECKs): rows of the new
    kinds are refused at 0002 and taken after the upgrade; the old rows survive."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from db.engine import _alembic_config
    from db.models import Participant, Study

    sha = "ab" * 32
    gold_clip = text(
        "INSERT INTO clips (public_id, role, condition, midi_sha256, audio_sha256,"
        " audio_format, duration_s, metrics, provenance, is_demo, created_at) VALUES"
        f" ('g1', 'gold', 'gold/noise', '{sha}', '{sha}', 'opus', 10, '{{}}', '{{}}', false,"
        " CURRENT_TIMESTAMP)"
    )
    engine = make_engine(empty_db_url)
    try:
        command.upgrade(_alembic_config(engine), "0002")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO studies (slug, title, status, design, is_demo, declined_count,"
                    " created_at, grace_minutes) VALUES ('old', 'Old', 'open', '{}', false, 0,"
                    " CURRENT_TIMESTAMP, 30)"
                )
            )
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(gold_clip)
        upgrade_database(engine)
        with engine.begin() as connection:
            connection.execute(gold_clip)
            connection.execute(
                text(
                    "INSERT INTO participants (study_id, public_id, token_sha256, external_ids,"
                    f" consented_at, status) VALUES (1, 'p1', '{sha}', '{{}}', CURRENT_TIMESTAMP,"
                    " 'abandoned')"
                )
            )
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("UPDATE studies SET participant_target = 0"))
        with transaction(engine, write_lock=True) as session:
            study = session.query(Study).one()
            assert (study.grace_minutes, study.participant_target, study.abandon_minutes) == (
                30,
                None,
                None,
            )
            study.participant_target, study.abandon_minutes = 40, 90
            assert session.query(Participant).one().status == "abandoned"
        columns = {column["name"]: column for column in inspect(engine).get_columns("ratings")}
        assert columns["genre_confidence"]["nullable"]
    finally:
        engine.dispose()


def _add_a_started_participant(connection, sha: str) -> None:
    """An open study, a clip and a participant with one assignment, in plain SQL (for a
    schema before the newest)."""
    for statement in (
        "INSERT INTO studies (slug, title, status, design, is_demo, declined_count,"
        " created_at, grace_minutes) VALUES ('old', 'Old', 'open', '{}', false, 0,"
        " CURRENT_TIMESTAMP, 30)",
        "INSERT INTO clips (public_id, role, condition, midi_sha256, audio_sha256,"
        " audio_format, duration_s, metrics, provenance, is_demo, created_at) VALUES"
        f" ('c1', 'generated', 'a/b', '{sha}', '{sha}', 'opus', 10, '{{}}', '{{}}',"
        " false, CURRENT_TIMESTAMP)",
        "INSERT INTO participants (study_id, public_id, token_sha256, external_ids,"
        f" consented_at, status) VALUES (1, 'p1', '{sha}', '{{}}', CURRENT_TIMESTAMP,"
        " 'in_progress')",
        "INSERT INTO assignments (participant_id, clip_id, position, is_training)"
        " VALUES (1, 1, 0, false)",
    ):
        connection.execute(text(statement))


def test_0004_keeps_listening_and_draft_answers_on_assignments(empty_db_url):
    """Assignments made before 0004 start with nothing heard and no draft; the new columns
    refuse negative counts, and the downgrade takes them away again."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from db.engine import _alembic_config

    sha = "ab" * 32
    engine = make_engine(empty_db_url)
    try:
        command.upgrade(_alembic_config(engine), "0003")
        with engine.begin() as connection:
            _add_a_started_participant(connection, sha)
        upgrade_database(engine)
        listening = text(
            "SELECT heard_seconds, heard_spans, play_count, draft_answers FROM assignments"
        )
        with engine.connect() as connection:
            assert connection.execute(listening).one() == (0.0, None, 0, None)
        for column in ("heard_seconds", "play_count"):
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(text(f"UPDATE assignments SET {column} = -1"))
        command.downgrade(_alembic_config(engine), "0003")
        columns = {column["name"] for column in inspect(engine).get_columns("assignments")}
        assert columns == {"id", "participant_id", "clip_id", "position", "is_training"}
        assert current_revisions(engine) == ("0003",)
    finally:
        engine.dispose()


def test_0006_adds_trial_types_and_keeps_every_participant(empty_db_url):
    """Studies made before 0006 are rating studies with their participants and assignments
    intact (the column is added in place: copying `studies` would cascade-delete them);
    an unknown trial type is refused, and the downgrade takes the new tables away."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from db.engine import _alembic_config

    sha = "cd" * 32
    engine = make_engine(empty_db_url)
    try:
        command.upgrade(_alembic_config(engine), "0005")
        with engine.begin() as connection:
            _add_a_started_participant(connection, sha)
        upgrade_database(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT trial_type FROM studies")).one() == ("rating",)
            assert connection.execute(text("SELECT count(*) FROM participants")).scalar() == 1
            assert connection.execute(text("SELECT count(*) FROM assignments")).scalar() == 1
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("UPDATE studies SET trial_type = 'vibes'"))
        command.downgrade(_alembic_config(engine), "0005")
        assert "trial_type" not in {c["name"] for c in inspect(engine).get_columns("studies")}
        assert "trials" not in inspect(engine).get_table_names()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM participants")).scalar() == 1
        assert current_revisions(engine) == ("0005",)
    finally:
        engine.dispose()


def test_a_database_with_participants_upgrades_from_0002_and_keeps_them(empty_db_url):
    """0003 copies `clips`, `participants` and `studies` (SQLite batch mode): with foreign
    keys enforced the copy's DROP TABLE failed, so a 0002 database with data could not be
    upgraded at all. The migrations run with enforcement off, check the references before
    committing, and leave enforcement on for the connections that follow."""
    from alembic import command

    from db.engine import _alembic_config

    engine = make_engine(empty_db_url)
    try:
        command.upgrade(_alembic_config(engine), "0002")
        with engine.begin() as connection:
            _add_a_started_participant(connection, "ef" * 32)
        upgrade_database(engine)
        with engine.connect() as connection:
            for table in ("studies", "clips", "participants", "assignments"):
                assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1
            if engine.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
