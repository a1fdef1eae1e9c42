"""`drumeval db backup|restore` and `drumeval health`, on SQLite and PostgreSQL."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from drumeval.analysis.simulate import simulate_study
from drumeval.cli.ops_commands import backup_database, restore_database, run_checks
from drumeval.errors import DatabaseError, MissingDependencyError
from tests.factories import write_simulated_study

REPO_ROOT = Path(__file__).resolve().parents[2]


def all_rows(engine) -> dict[str, list[tuple]]:
    """Every row of every table (alembic_version included), in a stable order."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(map(tuple, connection.execute(select(table))), key=repr)
            for name, table in sorted(metadata.tables.items())
        }


@pytest.fixture
def seeded(db_engine):
    write_simulated_study(db_engine, simulate_study(6, 1, seed=3))
    rows = all_rows(db_engine)
    assert len(rows["ratings"]) > 10 and rows["participants"] and rows["clips"]
    return db_engine, rows


@pytest.fixture
def empty_target(db_engine, request, tmp_path):
    """URL of a new, empty database on the same backend as `db_engine`."""
    from sqlalchemy import make_url

    from deploy.pg_server import create_database, drop_database

    if db_engine.dialect.name == "sqlite":
        yield make_url(f"sqlite:///{tmp_path / 'restored.sqlite'}")
        return
    server = request.getfixturevalue("postgres_server")
    name = f"restore_{uuid.uuid4().hex[:12]}"
    yield make_url(create_database(server, name))
    drop_database(server, name)


def test_backup_then_restore_keeps_every_row(seeded, empty_target, tmp_path):
    from db.engine import make_engine

    engine, rows = seeded
    backup_file = tmp_path / "study.backup"
    backup_database(engine.url, backup_file)
    restore_database(empty_target, backup_file)
    restored = make_engine(empty_target.render_as_string(hide_password=False))
    try:
        assert all_rows(restored) == rows
    finally:
        restored.dispose()


def test_restore_refuses_a_database_with_tables_unless_forced(seeded, tmp_path):
    """--force replaces the study: rows written after the backup are gone, the rest is back."""
    from sqlalchemy import delete

    from db.engine import transaction
    from db.models import Rating

    engine, rows = seeded
    backup_file = tmp_path / "study.backup"
    backup_database(engine.url, backup_file)
    with transaction(engine, write_lock=True) as session:
        session.execute(delete(Rating))
    with pytest.raises(DatabaseError, match="pass --force"):
        restore_database(engine.url, backup_file)
    engine.dispose()
    restore_database(engine.url, backup_file, force=True)
    assert all_rows(engine) == rows


def test_backup_refuses_to_overwrite_and_restore_names_a_wrong_file(seeded, tmp_path):
    engine, _rows = seeded
    existing = tmp_path / "taken.backup"
    existing.write_bytes(b"keep me")
    with pytest.raises(DatabaseError, match="exists; choose another name or pass --force"):
        backup_database(engine.url, existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(DatabaseError, match="neither a SQLite database nor a pg_dump"):
        restore_database(engine.url, existing, force=True)
    with pytest.raises(DatabaseError, match="no such backup file"):
        restore_database(engine.url, tmp_path / "absent.backup")


def test_a_backup_of_one_backend_is_refused_by_the_other(postgres_url, tmp_path):
    from sqlalchemy import make_url

    from db.engine import open_database

    sqlite_url = make_url(f"sqlite:///{tmp_path / 'a.sqlite'}")
    open_database(str(sqlite_url)).dispose()
    backup_database(sqlite_url, tmp_path / "a.backup")
    with pytest.raises(DatabaseError, match="is a sqlite backup; the database is postgresql"):
        restore_database(make_url(postgres_url), tmp_path / "a.backup", force=True)


def test_missing_pg_dump_names_the_package(postgres_url, tmp_path, monkeypatch):
    from sqlalchemy import make_url

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match=r"pg_dump not found.*postgresql-client"):
        backup_database(make_url(postgres_url), tmp_path / "pg.backup")
    assert not (tmp_path / "pg.backup").exists()


# --- health ------------------------------------------------------------------------------


def test_health_passes_on_a_migrated_database_and_a_writable_home(db_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    url = db_engine.url.render_as_string(hide_password=False)
    checks = run_checks(url, min_free_gb=0.001)
    assert [c.name for c in checks] == [
        "database", "sound font", "checkpoints", "writable folders", "free disk",
    ]  # fmt: skip
    assert all(check.healthy for check in checks), checks
    assert "(newest)" in checks[0].detail and "shipped" in checks[2].detail


def test_health_names_each_broken_part(tmp_path, monkeypatch):
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DRUMEVAL_SOUNDFONT", str(tmp_path / "gone.sf2"))
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("DRUMEVAL_CACHE_DIR", str(tmp_path / "a-file"))
    broken = tmp_path / "checkpoints" / "drums_rnn" / "thesis" / "techno-house-700"
    broken.mkdir(parents=True)
    (broken / "card.json").write_text("{}")
    (broken / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    monkeypatch.setattr("drumeval.registry.checkpoints_dir", lambda: tmp_path / "checkpoints")
    checks = {c.name: c for c in run_checks(f"sqlite:///{tmp_path / 'none.sqlite'}",
                                            min_free_gb=1e9)}  # fmt: skip
    assert not any(check.healthy for check in checks.values())
    assert "no SQLite database" in checks["database"].detail
    assert "gone.sf2 not found" in checks["sound font"].detail
    assert "techno-house-700/model.keras is corrupt" in checks["checkpoints"].detail
    assert "keep at least" in checks["free disk"].detail
    assert "a-file/audio" in checks["writable folders"].detail


def test_health_and_backup_commands_exit_codes(tmp_path):
    """Real processes: a table and exit 0 when healthy; exit 2 otherwise; one-line errors."""
    environment = {**os.environ, "DRUMEVAL_HOME": str(tmp_path / "home")}
    environment.pop("DATABASE_URL", None)

    def drumeval(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "drumeval", *args], cwd=REPO_ROOT, env=environment,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    unhealthy = drumeval("health")
    assert unhealthy.returncode == 2 and "FAIL" in unhealthy.stdout
    assert "drumeval db upgrade" in unhealthy.stdout
    assert drumeval("db", "upgrade").returncode == 0
    healthy = drumeval("health", "--min-free-gb", "0.001")
    assert healthy.returncode == 0, healthy.stdout
    assert healthy.stdout.count(" ok ") == 5
    first = drumeval("db", "backup", str(tmp_path / "b.sqlite"))
    assert first.returncode == 0 and "backed up" in first.stdout
    again = drumeval("db", "backup", str(tmp_path / "b.sqlite"))
    assert again.returncode == 2 and again.stderr.strip().startswith("error: ")
    assert len(again.stderr.strip().splitlines()) == 1


def test_restore_refuses_a_foreign_or_newer_database_before_touching_anything(tmp_path):
    import sqlite3
    from contextlib import closing

    from sqlalchemy import make_url

    from db.engine import open_database

    target = make_url(f"sqlite:///{tmp_path / 'live.sqlite'}")
    open_database(str(target)).dispose()
    before = (tmp_path / "live.sqlite").read_bytes()
    foreign = tmp_path / "foreign.sqlite"
    with closing(sqlite3.connect(foreign)) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.commit()
    with pytest.raises(DatabaseError, match="SQLite file but not a drumeval database"):
        restore_database(target, foreign, force=True)
    newer = tmp_path / "newer.sqlite"
    backup_database(target, newer)
    with closing(sqlite3.connect(newer)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
        connection.commit()
    with pytest.raises(DatabaseError, match="revision 9999, newer than this drumeval"):
        restore_database(target, newer, force=True)
    assert (tmp_path / "live.sqlite").read_bytes() == before
