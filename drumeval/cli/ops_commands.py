"""Operations: `drumeval db backup OUT`, `drumeval db restore IN`, `drumeval health`.

Backups are taken while the app runs: SQLite through its online backup API (a consistent
copy even with evaluators writing, which copying the file under WAL is not), PostgreSQL
with `pg_dump` in its custom format. A restore replaces the whole database and migrates
it to this drumeval's schema; stop the app first. `health` is what a lab checks before
inviting listeners (and what a supervisor can poll): every check names the file, package
or setting to fix.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from drumeval.cli.terminal import make_console
from drumeval.errors import DatabaseError, DrumevalError, MissingDependencyError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

console = make_console(soft_wrap=True)
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", help="Database URL (default: $DATABASE_URL, else SQLite in the data home)."
    ),
]
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
MIN_FREE_GB = 2.0  # audio cache and clip store grow with every new clip
_PG_TIMEOUT_S = 3600


# --- backup and restore ------------------------------------------------------------------


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise DatabaseError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, which travels in PGPASSWORD instead
    (a command line is readable by every user of the machine)."""
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _pg_program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise MissingDependencyError(
            f"{name} not found: install the PostgreSQL client programs "
            "(`apt-get install postgresql-client`, same major version as the server or newer)"
        )
    return found


def _run_pg(command: list[str], environment: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=_PG_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as error:
        raise DatabaseError(f"{what} did not finish in {_PG_TIMEOUT_S} s") from error
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {result.returncode}"
        raise DatabaseError(f"{what} failed: {reason}")


def _check_new_file(out: Path, force: bool) -> None:
    if out.is_dir():
        raise DatabaseError(f"{out} is a directory; give the backup file's name")
    if out.exists() and not force:
        raise DatabaseError(f"{out} exists; choose another name or pass --force")
    out.parent.mkdir(parents=True, exist_ok=True)


def backup_database(url: URL, out: Path, *, force: bool = False) -> None:
    """A consistent copy of the live database at `url` in `out` (written whole, then renamed)."""
    _check_new_file(out, force)
    partial = out.with_name(f".{out.name}.partial")
    try:
        if url.get_backend_name() == "sqlite":
            source_path = _sqlite_file(url)
            if not source_path.is_file():
                raise DatabaseError(f"no SQLite database at {source_path}")
            partial.unlink(missing_ok=True)
            with (
                closing(sqlite3.connect(source_path)) as source,
                closing(sqlite3.connect(partial)) as target,
            ):
                source.backup(target)
        else:
            address, environment = _libpq(url)
            command = [_pg_program("pg_dump"), "--format=custom", "--no-owner", "--file",
                       str(partial), "--dbname", address]  # fmt: skip
            _run_pg(command, environment, "pg_dump")
        partial.replace(out)
    except sqlite3.Error as error:
        raise DatabaseError(f"SQLite backup failed: {error}") from error
    finally:
        partial.unlink(missing_ok=True)


def _kind_of_backup(path: Path) -> str:
    if not path.is_file():
        raise DatabaseError(f"{path}: no such backup file")
    with path.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise DatabaseError(f"{path} is neither a SQLite database nor a pg_dump custom archive")


def _backup_revision(path: Path, kind: str) -> str | None:
    """The schema revision inside a backup (None where pg_dump's format hides it); refuse a
    file that is not a drumeval database before it replaces anything."""
    if kind == "postgresql":
        listing = subprocess.run([_pg_program("pg_restore"), "--list", str(path)],
                                 capture_output=True, text=True, timeout=600)  # fmt: skip
        if listing.returncode != 0 or " TABLE public alembic_version " not in listing.stdout:
            raise DatabaseError(f"{path} is a pg_dump archive but not of a drumeval database")
        return None
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as backup:
            rows = backup.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error as error:
        raise DatabaseError(f"{path} is a SQLite file but not a drumeval database") from error
    return rows[0][0] if rows else None


def _check_known_revision(revision: str | None, path: Path) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from db.engine import MIGRATIONS_DIR

    if revision is None:
        return
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if revision not in known:
        raise DatabaseError(
            f"{path} holds schema revision {revision}, newer than this drumeval; "
            "restore it with the drumeval that wrote it"
        )


def _has_tables(url: URL) -> bool:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from db.engine import make_engine, safe_url

    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        return bool(inspect(engine).get_table_names())
    except SQLAlchemyError as error:
        raise DatabaseError(f"cannot reach {safe_url(url)} to restore into it") from error
    finally:
        engine.dispose()


def restore_database(url: URL, backup: Path, *, force: bool = False) -> None:
    """Replace the database at `url` by `backup`, then migrate it to the newest schema."""
    from db.engine import open_database

    kind = _kind_of_backup(backup)
    backend = url.get_backend_name()
    if kind != backend:
        raise DatabaseError(f"{backup} is a {kind} backup; the database is {backend}")
    _check_known_revision(_backup_revision(backup, kind), backup)
    if backend == "sqlite" and not _sqlite_file(url).exists():
        _sqlite_file(url).parent.mkdir(parents=True, exist_ok=True)
    elif _has_tables(url) and not force:
        raise DatabaseError(
            "the database already has tables: stop the app and pass --force to replace them"
        )
    try:
        if backend == "sqlite":
            with (
                closing(sqlite3.connect(backup)) as source,
                closing(sqlite3.connect(_sqlite_file(url))) as target,
            ):
                source.backup(target)
        else:
            address, environment = _libpq(url)
            command = [_pg_program("pg_restore"), "--clean", "--if-exists", "--no-owner",
                       "--exit-on-error", "--single-transaction", "--dbname", address,
                       str(backup)]  # fmt: skip
            _run_pg(command, environment, "pg_restore")
    except sqlite3.Error as error:
        raise DatabaseError(f"SQLite restore failed: {error}") from error
    open_database(url.render_as_string(hide_password=False)).dispose()


def _parsed_url(url: str | None) -> URL:
    from db.engine import database_url, make_engine

    engine = make_engine(url or database_url())  # validates the URL and the driver
    engine.dispose()
    return engine.url


def backup(
    out: Annotated[Path, typer.Argument(help="Backup file to write (SQLite file or pg_dump).")],
    url: UrlOption = None,
    force: Annotated[bool, typer.Option(help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Copy the live study database to OUT (safe while the app runs)."""
    from db.engine import safe_url

    parsed = _parsed_url(url)
    backup_database(parsed, out, force=force)
    size_mb = out.stat().st_size / 1e6
    console.print(f"backed up {safe_url(parsed)} to {out} ({size_mb:.2f} MB)", highlight=False)


def restore(
    backup_file: Annotated[Path, typer.Argument(metavar="IN", help="A `db backup` file.")],
    url: UrlOption = None,
    force: Annotated[
        bool, typer.Option(help="Replace a database that has tables (stop the app first).")
    ] = False,
) -> None:
    """Replace the study database by a backup, then migrate it to this drumeval's schema."""
    from db.engine import head_revision, safe_url

    parsed = _parsed_url(url)
    restore_database(parsed, backup_file, force=force)
    console.print(
        f"restored {backup_file} into {safe_url(parsed)} (revision {head_revision()})",
        highlight=False,
    )


# --- health ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    healthy: bool
    detail: str


def _check(name: str, probe: Callable[[], str]) -> Check:
    """Run one probe: its text when it passes, the error's message when it does not."""
    try:
        return Check(name, True, probe())
    except DrumevalError as error:
        return Check(name, False, str(error))
    except OSError as error:
        return Check(name, False, f"{error.strerror or error}: {error.filename or ''}".strip())


def _database(url: str | None) -> str:
    from db.engine import check_schema, head_revision, make_engine, safe_url

    parsed = _parsed_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise DatabaseError(f"no SQLite database at {parsed.database}; run `drumeval db upgrade`")
    engine = make_engine(parsed.render_as_string(hide_password=False))
    try:
        check_schema(engine)
        return f"{safe_url(engine)} reachable, at revision {head_revision()} (newest)"
    finally:
        engine.dispose()


def _sound_font() -> str:
    from drumeval.audio.synth import find_fluidsynth, find_soundfont

    path = find_soundfont()
    find_fluidsynth()
    return f"{path} ({path.stat().st_size / 1e6:.0f} MB), FluidSynth installed"


def _checkpoints() -> str:
    """Every shipped checkpoint's card parses and its .keras archive holds config and weights
    (the headers only: loading every model would take a minute)."""
    from drumeval.errors import CheckpointNotFoundError, ModelError
    from drumeval.registry import MODEL_FILE, shipped_checkpoints

    try:
        shipped = shipped_checkpoints()
    except ValueError as error:  # a card.json that is not JSON
        raise ModelError(f"a checkpoint card is not valid JSON: {error}") from error
    if not shipped:
        raise CheckpointNotFoundError("no shipped checkpoint found under checkpoints/")
    for checkpoint in shipped:
        archive = checkpoint.directory / MODEL_FILE
        try:
            with zipfile.ZipFile(archive) as bundle:
                names = set(bundle.namelist())
                bundle.getinfo("config.json")
                if bundle.testzip() is not None:
                    raise zipfile.BadZipFile("a member fails its CRC check")
        except (zipfile.BadZipFile, KeyError) as error:
            raise ModelError(f"{archive} is corrupt: {error}") from error
        if "model.weights.h5" not in names:
            raise ModelError(f"{archive} has no weights (model.weights.h5)")
    return f"{len(shipped)} shipped, every card and archive readable"


def _writable_folders() -> str:
    """The data home, audio cache and clip store each accept a new file (the app writes all
    three while a study runs; a read-only mount or a wrong owner shows up here, not mid-study)."""
    from drumeval.audio.pipeline import resolve_cache_dir
    from drumeval.paths import clip_store_dir, data_home

    folders = (data_home(), resolve_cache_dir(), clip_store_dir())
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".health-"):
            pass
    return ", ".join(str(folder) for folder in folders) + " writable"


def _free_disk(min_free_gb: float) -> str:
    from drumeval.paths import data_home

    home = data_home()
    free_gb = shutil.disk_usage(home if home.exists() else home.parent).free / 1e9
    if free_gb < min_free_gb:
        raise DrumevalError(
            f"{free_gb:.1f} GB free under {home}; keep at least {min_free_gb:g} GB "
            "for the audio cache, clip store and database"
        )
    return f"{free_gb:.1f} GB free (minimum {min_free_gb:g} GB)"


def run_checks(url: str | None = None, *, min_free_gb: float = MIN_FREE_GB) -> tuple[Check, ...]:
    """Every health check, each independent of the others' failures."""
    return (
        _check("database", lambda: _database(url)),
        _check("sound font", _sound_font),
        _check("checkpoints", _checkpoints),
        _check("writable folders", _writable_folders),
        _check("free disk", lambda: _free_disk(min_free_gb)),
    )


def health(
    url: UrlOption = None,
    min_free_gb: Annotated[float, typer.Option(help="Free disk space (GB).")] = MIN_FREE_GB,
) -> None:
    """Check that a study can run: database, sound font, checkpoints, folders, disk.

    Exit code 0 when every check passes, 2 otherwise (for scripts and supervisors).
    """
    checks = run_checks(url, min_free_gb=min_free_gb)
    table = Table("check", "status", "detail", title="drumeval health")
    for check in checks:
        status = "[green]ok[/]" if check.healthy else "[bold red]FAIL[/]"
        table.add_row(check.name, status, check.detail)
    console.print(table)
    if not all(check.healthy for check in checks):
        raise typer.Exit(code=2)


def register(app: typer.Typer) -> None:
    """`health` on the root app; `backup` and `restore` in the existing `db` group."""
    from drumeval.cli.db_commands import db_app

    db_app.command("backup")(backup)
    db_app.command("restore")(restore)
    app.command("health")(health)
