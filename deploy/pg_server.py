"""A throwaway PostgreSQL server (Debian's `postgresql` package): the test suite, the replica
deployment (`deploy/replicas.py`) and the load benchmark start theirs with `start_server`.

`initdb` refuses to run as root, so as root the cluster directory is handed to the
`postgres` user and the server runs as that user. Trust authentication on 127.0.0.1 and
a Unix socket inside the temp directory: nothing outside the test run can reach it.
"""

import atexit
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

USER = "drumeval"
DATABASE = "drumeval"


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries are missing or the server does not start."""


@dataclass
class PostgresServer:
    directory: Path
    port: int
    bin_dir: Path
    as_postgres: bool

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop at once (no checkpoint: the data is thrown away) and delete the directory."""
        if self.directory.exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                _run(
                    [
                        str(self.bin_dir / "pg_ctl"),
                        "-D",
                        str(self.directory / "data"),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ],
                    self.as_postgres,
                    timeout=30,
                )
            shutil.rmtree(self.directory, ignore_errors=True)


def find_bin_dir() -> Path:
    """Debian keeps the server programs off PATH, under /usr/lib/postgresql/<version>/bin."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name), reverse=True
    )
    for directory in candidates:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    raise PostgresUnavailableError(
        "PostgreSQL server programs (initdb, pg_ctl) not found: install the Debian package "
        "`postgresql` (`make test` does it)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], as_postgres: bool, timeout: float) -> None:
    if as_postgres:
        command = ["runuser", "-u", "postgres", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise PostgresUnavailableError(
            f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-2000:]}"
        )


def _exit_on_sigterm() -> None:
    """A test run killed with SIGTERM (a CI timeout, `kill`) exits through `atexit`, which
    stops the server; by default SIGTERM ends Python without running it."""
    if threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


def start_server() -> PostgresServer:
    """Initialise a cluster in a temp dir, start it on a free port, create the test database."""
    bin_dir = find_bin_dir()
    as_postgres = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="drumeval-pg-"))
    server = PostgresServer(directory, _free_port(), bin_dir, as_postgres)
    atexit.register(server.stop)
    _exit_on_sigterm()
    try:
        if as_postgres:
            shutil.chown(directory, user="postgres", group="postgres")
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(directory / "data"),
                "-A",
                "trust",
                "-U",
                USER,
                "-E",
                "UTF8",
                "--no-sync",
            ],
            as_postgres,
            timeout=120,
        )
        options = (
            f"-p {server.port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        _run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(directory / "data"),
                "-o",
                options,
                "-l",
                str(directory / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            as_postgres,
            timeout=90,
        )
        create_database(server, DATABASE)
    except BaseException:
        server.stop()
        raise
    return server


def create_database(server: PostgresServer, name: str, template: str | None = None) -> str:
    """CREATE DATABASE (optionally copying a template); returns its URL."""
    import psycopg
    from psycopg import sql

    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    with psycopg.connect(
        host="127.0.0.1", port=server.port, user=USER, dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(statement)
    return server.url(name)


def drop_database(server: PostgresServer, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host="127.0.0.1", port=server.port, user=USER, dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
