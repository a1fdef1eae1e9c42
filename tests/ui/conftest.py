"""Page tests (AppTest and Chromium) run in a temp data home, like the study tests."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_data_home(data_home: Path) -> Path:
    """Every test here runs in a temp data home, so that nothing touches var/."""
    return data_home
