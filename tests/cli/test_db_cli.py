"""`drumeval db upgrade|current` on both backends; errors are one line and exit code 2."""

import pytest
from sqlalchemy import text

from db.engine import head_revision, make_engine
from drumeval.cli import main


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, " ".join(captured.out.split()), " ".join(captured.err.split())


def test_upgrade_then_current(empty_db_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    code, _, err = run(["db", "current"], capsys)
    assert code == 2
    assert err.startswith("error:") and "drumeval db upgrade" in err
    code, out, _ = run(["db", "upgrade"], capsys)
    assert code == 0 and f"at revision {head_revision()} (newest)" in out
    code, out, _ = run(["db", "current"], capsys)
    assert code == 0 and f"revision {head_revision()};" in out and out.endswith("up to date")


def test_upgrade_defaults_to_sqlite_in_the_data_home(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path))
    code, out, _ = run(["db", "upgrade"], capsys)
    assert code == 0 and "drumeval.sqlite" in out
    assert (tmp_path / "drumeval.sqlite").is_file()


def test_a_newer_database_is_refused_in_one_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run(["db", "upgrade", "--url", url], capsys)[0] == 0
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_future'"))
    engine.dispose()
    for command in ("upgrade", "current"):
        code, _, err = run(["db", command, "--url", url], capsys)
        assert code == 2
        assert err.startswith("error: the database schema (revision ffff_from_future) is newer")
        assert "Traceback" not in err


def test_an_unreachable_server_is_one_line_without_password(capsys):
    url = "postgresql://study:hunter2@127.0.0.1:1/study"
    code, _, err = run(["db", "upgrade", "--url", url], capsys)
    assert code == 2 and err.startswith("error: cannot use the database")
    assert "hunter2" not in err and "Traceback" not in err
