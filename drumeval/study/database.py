"""The study database as the pages reach it: the app's URL, its engine (opened and migrated
once per server process by the caller's cache) and a label safe to show or key caches by.

Pages and `ui/` never import `db`; this is their way to it (`docs/architecture.md`).
"""

from sqlalchemy.engine import Engine

from db import engine as db_engine


def app_database_url() -> str:
    """`$DATABASE_URL`, else the SQLite file in the data home."""
    return db_engine.database_url()


def open_app_database(url: str) -> Engine:
    """The migrated, checked engine for `url` (`DatabaseError` when it is unusable)."""
    return db_engine.open_database(url)


def database_label(engine: Engine) -> str:
    """The engine's URL with its password masked."""
    return db_engine.safe_url(engine)
