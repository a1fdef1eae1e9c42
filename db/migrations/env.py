"""Alembic environment: run by `db.engine.upgrade_database`, which passes the engine in.

There is no alembic.ini: the configuration is built in code, so users never need one.
SQLite needs batch mode to alter tables, hence `render_as_batch`.
"""

from alembic import context

from db.models import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
