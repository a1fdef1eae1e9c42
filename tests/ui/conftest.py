"""Page tests (AppTest and Chromium) run in a temp data home, like the study tests."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_data_home(data_home: Path) -> Path:
    """Every test here runs in a temp data home, so that nothing touches var/."""
    return data_home


@pytest.fixture
def results_env(db_engine, monkeypatch, tmp_path):
    """The Results page's database is the test's, behind RESULTS_PASSWORD; caches and the login
    throttle start fresh."""
    import streamlit as st

    from drumeval.study import admin_auth
    from tests.ui.apptest import RESULTS_PASSWORD

    monkeypatch.setenv("DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(admin_auth.PASSWORD_ENV, RESULTS_PASSWORD)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield db_engine
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def engine(data_home):
    """The data home's SQLite database, migrated: what the pages open themselves."""
    from db.engine import open_database

    return open_database()
