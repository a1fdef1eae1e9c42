"""`python -m drumeval.serve`: its help describes itself, not Streamlit's `run`."""

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_help_describes_drumeval_serve_and_starts_no_server():
    result = subprocess.run(
        [sys.executable, "-m", "drumeval.serve", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: python -m drumeval.serve [STREAMLIT OPTIONS]")
    assert "--server.port" in result.stdout and "DRUMEVAL_HOME" in result.stdout
    assert "drumeval.streamlit" not in result.stdout + result.stderr
    assert "You can now view" not in result.stdout  # no server was started
