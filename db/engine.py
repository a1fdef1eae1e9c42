"""Connecting to the database: SQLite in the data directory, or PostgreSQL via DATABASE_URL.

Engines are made on request (never at import time). SQLite gets WAL, a 30 s busy
timeout and foreign keys on every connection, and we emit `BEGIN` ourselves so that a
unit of work can take the write lock up front (`BEGIN IMMEDIATE`): a transaction that
reads then writes would otherwise fail with "database is locked" instead of waiting.
"""

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from drumeval.errors import DatabaseError, SchemaTooNewError
from drumeval.paths import sqlite_path

URL_ENV = "DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_WRITE_LOCK_OPTION = "drumeval_write_lock"
_BUSY_MESSAGE = "the database is unavailable or busy; please retry"
# How long a SQLite writer waits for the lock before giving up (a retryable error).
BUSY_TIMEOUT_ENV = "DRUMEVAL_SQLITE_BUSY_TIMEOUT_S"
DEFAULT_BUSY_TIMEOUT_S = 30.0


def _busy_timeout_s() -> float:
    try:
        return max(0.0, float(os.environ.get(BUSY_TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT_S)))
    except ValueError as error:
        raise DatabaseError(f"{BUSY_TIMEOUT_ENV} must be a number of seconds") from error


def database_url() -> str:
    """`$DATABASE_URL` (`postgresql://` mapped to psycopg 3), else SQLite in the data home."""
    value = os.environ.get(URL_ENV, "").strip()
    if not value:
        path = sqlite_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    for prefix in ("postgresql://", "postgres://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value.removeprefix(prefix)
    return value


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise DatabaseError(f"{URL_ENV} is not a valid database URL") from error
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
        )
    return parsed


def safe_url(engine_or_url: Engine | URL) -> str:
    """The URL with its password masked, for messages and logs."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else engine_or_url
    return url.render_as_string(hide_password=True)


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default: `database_url()`), configured for concurrent writers."""
    parsed = _parse_url(url or database_url())
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            timeout_s = _busy_timeout_s()
            engine = create_engine(parsed, connect_args={"timeout": timeout_s})
            _configure_sqlite(engine, timeout_s)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError as error:
        raise DatabaseError(f"no database driver for {safe_url(parsed)}") from error
    return engine


def _configure_sqlite(engine: Engine, timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below (pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(_WRITE_LOCK_OPTION, False):
            _begin_immediate(connection.connection.driver_connection)
        else:
            connection.exec_driver_sql("BEGIN")


# How often a SQLite writer asks again for the write lock another process holds.
_LOCK_POLL_S = 0.001


def _begin_immediate(raw: sqlite3.Connection) -> None:
    """`BEGIN IMMEDIATE`, asking again every millisecond while another process writes.

    SQLite's own busy handler sleeps 1, 2, 5, 10 … 100 ms between tries, so a writer in a
    second process (the CLI, another replica on one file, a load driver) often waits up to
    100 ms after the lock was free. Here the busy timeout is 0 while we poll, up to the
    connection's own busy timeout; writers of one process already queue in memory
    (`_writer_queue`), so at most one thread per process polls.
    """
    timeout_ms = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    deadline = time.monotonic() + timeout_ms / 1000
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                busy = error.sqlite_errorname in ("SQLITE_BUSY", "SQLITE_LOCKED")
                if not busy or time.monotonic() >= deadline:
                    raise DatabaseError(_BUSY_MESSAGE) from error
            time.sleep(_LOCK_POLL_S)
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")


@contextmanager
def transaction(engine: Engine, *, write_lock: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    `write_lock=True` takes SQLite's write lock at BEGIN (use it for every unit of work
    that writes after reading); on PostgreSQL the repository locks the rows it needs.
    Objects stay readable after the commit (`expire_on_commit=False`).
    """
    bind = engine.execution_options(**{_WRITE_LOCK_OPTION: True}) if write_lock else engine
    queue = _writer_queue(engine) if write_lock else contextlib.nullcontext()
    try:
        with queue, Session(bind, expire_on_commit=False) as session, session.begin():
            if write_lock:
                session.connection()  # BEGIN now, not at the first statement
            yield session
    except OperationalError as error:
        raise DatabaseError(_BUSY_MESSAGE) from error


_WRITER_QUEUES: dict[int, threading.RLock] = {}
_WRITER_QUEUES_GUARD = threading.Lock()


def _writer_queue(engine: Engine) -> contextlib.AbstractContextManager:
    """SQLite writers of one process take turns in a lock before asking SQLite for theirs.

    SQLite's busy handler lets waiting writers poll with growing sleeps, which is unfair to
    the ones that waited longest (a long p95 under bursts); a process-wide queue serves them
    in turn. Other processes still meet SQLite's own lock. PostgreSQL needs no queue.
    """
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _WRITER_QUEUES_GUARD:
        return _WRITER_QUEUES.setdefault(id(engine.pool), threading.RLock())


def require_write_lock(session: Session) -> None:
    """Refuse to write on SQLite outside `transaction(write_lock=True)`.

    A deferred SQLite transaction that reads and then writes fails with "database is
    locked" as soon as another evaluator wrote in between (WAL snapshot conflict, no
    waiting): rare in a test, certain under load. Failing every time makes it visible.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.get_execution_options().get(
        _WRITE_LOCK_OPTION, False
    ):
        raise DatabaseError(
            "this unit of work writes to SQLite: open it with transaction(engine, write_lock=True)"
        )


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The Alembic revisions recorded in the database (empty when never migrated)."""
    try:
        with engine.connect() as connection:
            return tuple(MigrationContext.configure(connection).get_current_heads())
    except OperationalError as error:
        raise DatabaseError(_connect_message(engine, error)) from error


def head_revision() -> str:
    """The newest migration this code knows."""
    head = _script().get_current_head()
    if head is None:
        raise DatabaseError("no database migrations found in the installation")
    return head


def _refuse_unknown(revisions: tuple[str, ...]) -> None:
    script = _script()
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = [revision for revision in revisions if revision not in known]
    if unknown:
        raise SchemaTooNewError(
            f"the database schema (revision {', '.join(unknown)}) is newer than this drumeval; "
            "upgrade drumeval before using this database"
        )


def upgrade_database(engine: Engine) -> None:
    """Apply every pending migration (Alembic `upgrade head`)."""
    _refuse_unknown(current_revisions(engine))
    try:
        command.upgrade(_alembic_config(engine), "head")
    except OperationalError as error:
        raise DatabaseError(_connect_message(engine, error)) from error


def check_schema(engine: Engine) -> None:
    """Refuse a database this code cannot use: never migrated, behind, or from a newer version."""
    revisions = current_revisions(engine)
    _refuse_unknown(revisions)
    if not revisions:
        raise DatabaseError(
            f"the database at {safe_url(engine)} has no drumeval tables; run `drumeval db upgrade`"
        )
    if revisions != (head_revision(),):
        raise DatabaseError(
            f"the database at {safe_url(engine)} is at revision {', '.join(revisions)}, "
            f"not {head_revision()}; run `drumeval db upgrade`"
        )


def open_database(url: str | None = None) -> Engine:
    """Make an engine, migrate it to the newest schema and check it: what the app and CLI call."""
    engine = make_engine(url)
    try:
        upgrade_database(engine)
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _connect_message(engine: Engine, error: OperationalError) -> str:
    reason = str(error.orig).strip().splitlines()[0] if error.orig else "unknown error"
    password = engine.url.password
    if password:
        reason = reason.replace(str(password), "***")
    return f"cannot use the database at {safe_url(engine)}: {reason}"
