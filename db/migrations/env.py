"""Alembic environment: run by `db.engine.upgrade_database`, which passes the engine in.

There is no alembic.ini: the configuration is built in code, so users never need one.
SQLite needs batch mode to alter tables, hence `render_as_batch`. A batch operation copies
the table and drops the old one; with foreign keys enforced that DROP fails (or cascades
into the child tables), so on SQLite the migrations run with enforcement off, as Alembic's
batch documentation advises, and `PRAGMA foreign_key_check` must find nothing broken before
the transaction commits.
"""

from alembic import context
from sqlalchemy import text

from db.models import Base

engine = context.config.attributes["engine"]


def _broken_references(connection) -> list[tuple]:
    return [tuple(row) for row in connection.execute(text("PRAGMA foreign_key_check"))]


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.driver_connection  # outside SQLAlchemy's BEGIN (db.engine)
    if sqlite:  # a no-op inside a transaction: set it before the migrations' one begins
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and (broken := _broken_references(connection)):
                raise RuntimeError(f"the migration left broken references: {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:
            connection.rollback()
            raw.execute("PRAGMA foreign_keys=ON")
