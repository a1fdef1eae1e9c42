"""Shared test setup: JAX backend for Keras, quiet TensorFlow, paths to fixtures."""

import gc
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Collect the last test's garbage, then freeze what survives before the next test.

    Once models are loaded (JAX, Keras, TensorFlow), millions of long-lived objects sit in
    the collector's oldest generation, and every full collection walks them all: AppTest runs,
    which allocate a lot, became 5-10x slower after the model tests (61.7 s against 12.4 s
    for tests/ui/test_admin_page.py behind tests/models/test_light.py). Frozen objects are
    never scanned again. Only objects alive at this point are frozen, so each test's own
    garbage is still freed.
    """
    gc.collect()
    gc.freeze()


def _shipped_tables() -> dict[str, tuple[int, int]]:
    tables = REPO_ROOT / "data" / "tables"
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(tables.glob("*"))}


@pytest.fixture(autouse=True)
def _shipped_tables_untouched():
    """The committed tables under data/tables are written by their CLI verbs, never by a test
    (a CLI test without --out once replaced the structure report with its fake models)."""
    before = _shipped_tables()
    yield
    assert _shipped_tables() == before, "a test wrote to data/tables: give it a tmp_path"


ADMIN_PASSWORD = "correct horse battery staple"


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    """A temp data home (clip store, SQLite) so that nothing touches var/."""
    home = tmp_path / "home"
    monkeypatch.setenv("DRUMEVAL_HOME", str(home))
    return home


@pytest.fixture
def admin_env(db_engine, monkeypatch):
    """The researcher pages' database is the test's; the login throttle starts fresh."""
    import streamlit as st

    from drumeval.study import admin_auth

    monkeypatch.setenv("DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv(admin_auth.PASSWORD_ENV, ADMIN_PASSWORD)
    st.cache_resource.clear()
    yield db_engine
    st.cache_resource.clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last, in their collected order. Playwright's sync API keeps an asyncio
    loop running on the main thread while the run's one Chromium is open, and
    `asyncio.run()` refuses to start beside it: no other test may run in that window."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def _chromium():
    from playwright.sync_api import sync_playwright

    from deploy.app_server import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser(_chromium):
    """Headless Chromium (Debian's), launched once per run; the contexts a test opens are
    closed after it, so cookies and sessions never leak into the next test."""
    before = set(_chromium.contexts)
    yield _chromium
    for context in _chromium.contexts:
        if context not in before:
            context.close()


@pytest.fixture(scope="session")
def magenta_fixtures() -> Path:
    """Outputs recorded from real Magenta 2.1.4 (see tests/fixtures/magenta/README.md)."""
    return FIXTURES / "magenta"


# --- Databases: every DB test runs on SQLite and on a throwaway PostgreSQL server ---------


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the whole run, started on first use, always stopped."""
    from deploy.pg_server import PostgresUnavailableError, start_server

    try:
        server = start_server()
    except PostgresUnavailableError as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server) -> str:
    """URL of an (initially empty) database on the throwaway server."""
    return postgres_server.url()


@pytest.fixture(scope="session")
def _sqlite_migrated_template(tmp_path_factory) -> Path:
    from db.engine import open_database

    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.sqlite"
    open_database(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_migrated_template(postgres_server) -> str:
    from db.engine import open_database
    from deploy.pg_server import create_database

    open_database(create_database(postgres_server, "migrated_template")).dispose()
    return "migrated_template"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path):
    """A brand-new database without any table, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    import uuid

    from deploy.pg_server import create_database, drop_database

    server = request.getfixturevalue("postgres_server")
    name = f"test_{uuid.uuid4().hex[:16]}"
    yield create_database(server, name)
    drop_database(server, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_engine(request, tmp_path):
    """An engine on a freshly migrated, empty database, on each backend."""
    import shutil
    import uuid

    from db.engine import make_engine
    from deploy.pg_server import create_database, drop_database

    if request.param == "sqlite":
        path = tmp_path / "drumeval.sqlite"
        shutil.copyfile(request.getfixturevalue("_sqlite_migrated_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("_postgres_migrated_template")
    name = f"test_{uuid.uuid4().hex[:16]}"
    engine = make_engine(create_database(server, name, template=template))
    yield engine
    engine.dispose()
    drop_database(server, name)


@pytest.fixture
def db_cli(db_engine, monkeypatch, capsys, tmp_path):
    """Run `drumeval …` in-process against the test database: (exit code, stdout, stderr)."""
    from drumeval.cli import main

    monkeypatch.setenv("DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            main(list(argv))
            code = 0
        except SystemExit as exit_:
            code = exit_.code or 0
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
