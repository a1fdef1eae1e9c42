"""The database layer: SQLAlchemy models, Alembic migrations, and repository functions.

Nothing here opens a connection at import time; call `db.engine.open_database()`.
"""
