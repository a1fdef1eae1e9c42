"""The throwaway PostgreSQL helper says clearly what is missing instead of skipping."""

import pytest

from deploy import pg_server


def test_missing_server_programs_are_a_clear_error(monkeypatch):
    monkeypatch.setattr(pg_server.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg_server.shutil, "which", lambda name: None)
    with pytest.raises(pg_server.PostgresUnavailableError, match="install the Debian package"):
        pg_server.find_bin_dir()


def test_the_server_answers_and_databases_come_and_go(postgres_server):
    import psycopg

    url = pg_server.create_database(postgres_server, "scratch")
    assert url.endswith(f":{postgres_server.port}/scratch")
    with psycopg.connect(
        host="127.0.0.1", port=postgres_server.port, user="drumeval", dbname="scratch"
    ) as connection:
        assert connection.execute("SELECT current_user").fetchone() == ("drumeval",)
    pg_server.drop_database(postgres_server, "scratch")
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(
            host="127.0.0.1", port=postgres_server.port, user="drumeval", dbname="scratch"
        )
