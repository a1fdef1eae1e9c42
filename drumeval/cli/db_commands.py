"""`drumeval db upgrade|current`: create or migrate the study database, and show its state.

The database is `$DATABASE_URL` when set (PostgreSQL), else SQLite in the data directory.
"""

from typing import Annotated

import typer

from drumeval.cli.terminal import make_console

console = make_console(soft_wrap=True)
db_app = typer.Typer(help="Create, migrate and inspect the study database.", no_args_is_help=True)
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", help="Database URL (default: $DATABASE_URL, else SQLite in the data home)."
    ),
]


@db_app.command("upgrade")
def upgrade(url: UrlOption = None) -> None:
    """Apply every pending migration (safe to run again)."""
    from db.engine import head_revision, open_database, safe_url

    engine = open_database(url)
    try:
        console.print(f"{safe_url(engine)} is at revision {head_revision()} (newest)")
    finally:
        engine.dispose()


@db_app.command("current")
def current(url: UrlOption = None) -> None:
    """Show the database's schema revision and whether it is up to date (changes nothing)."""
    from db.engine import check_schema, current_revisions, head_revision, make_engine, safe_url

    engine = make_engine(url)
    try:
        revisions = current_revisions(engine)
        shown = ", ".join(revisions) or "none (empty database)"
        console.print(
            f"{safe_url(engine)}: revision {shown}; this drumeval's newest is {head_revision()}"
        )
        check_schema(engine)
        console.print("up to date")
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    """Add the `db` command group to the root app."""
    app.add_typer(db_app, name="db")
