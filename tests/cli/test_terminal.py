"""The terminal's two translations: progress reports into a Rich bar, parameters into flags."""

import io

import pytest
from rich.console import Console

from drumeval.cli.terminal import parameters_as_flags, progress_bar
from drumeval.errors import DatasetError, ModelError, ParameterError


def _console() -> tuple[Console, io.StringIO]:
    text = io.StringIO()
    return Console(file=text, width=200, force_terminal=False), text


def test_the_bar_shows_the_last_report():
    console, text = _console()
    with progress_bar("building", console) as report:
        report("tracks", 1, 3)
        report("files", 2, 5)
    line = text.getvalue()
    assert "building" in line and "2/5" in line and "files" in line
    assert "tracks" not in line


def test_a_job_that_never_reports_draws_no_bar():
    console, text = _console()
    with progress_bar("training", console):
        pass
    assert text.getvalue().strip() == ""


def test_parameter_errors_name_flags():
    with pytest.raises(ModelError) as error, parameters_as_flags():
        raise ParameterError("beam_size", "must be ≥ 1, got 0")
    assert str(error.value) == "--beam-size must be ≥ 1, got 0"
    assert not isinstance(error.value, ParameterError)


def test_other_errors_pass_unchanged():
    with pytest.raises(DatasetError, match=r"^corpus missing$"), parameters_as_flags():
        raise DatasetError("corpus missing")


def test_every_command_prints_through_make_console():
    """A bare `Console()` is 80 columns wide when piped: `study leaderboard | less` cut every
    condition name to `drums_rnn…`."""
    import re

    from tests.conftest import REPO_ROOT

    bare = [
        str(path.relative_to(REPO_ROOT))
        for path in sorted((REPO_ROOT / "drumeval" / "cli").glob("*.py"))
        if path.name != "terminal.py" and re.search(r"\bConsole\(", path.read_text())
    ]
    assert bare == []
