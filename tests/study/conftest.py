"""Study tests run in a temp data home (clip store, SQLite) so nothing touches var/."""

import pytest

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DRUMEVAL_HOME", str(home))
    return home


@pytest.fixture
def admin_env(db_engine, monkeypatch):
    """The researcher pages' database is the test's; the login throttle starts fresh."""
    import streamlit as st

    from drumeval.study import admin_auth

    monkeypatch.setenv("DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv(admin_auth.PASSWORD_ENV, PASSWORD)
    st.cache_resource.clear()
    yield db_engine
    st.cache_resource.clear()
