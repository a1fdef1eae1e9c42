"""Migration 0007: pairwise votes get a nullable `flag` (only `burst`), removed on downgrade."""

from sqlalchemy import inspect

from db.engine import current_revisions, make_engine, upgrade_database


def test_0007_adds_a_checked_vote_flag_and_takes_it_away(empty_db_url):
    from alembic import command

    from db.engine import _alembic_config

    engine = make_engine(empty_db_url)
    try:
        upgrade_database(engine)
        columns = {c["name"]: c for c in inspect(engine).get_columns("pairwise_votes")}
        assert columns["flag"]["nullable"]
        checks = inspect(engine).get_check_constraints("pairwise_votes")
        [flag] = [check for check in checks if check["name"] == "ck_pairwise_votes_flag"]
        assert "burst" in flag["sqltext"]
        command.downgrade(_alembic_config(engine), "0006")
        assert "flag" not in {c["name"] for c in inspect(engine).get_columns("pairwise_votes")}
        assert current_revisions(engine) == ("0006",)
    finally:
        engine.dispose()
