"""Study tests run in a temp data home (clip store, SQLite) so nothing touches var/."""

import pytest


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DRUMEVAL_HOME", str(home))
    return home
