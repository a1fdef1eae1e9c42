"""Model-free commands must not import TensorFlow, JAX or Keras (they start in about a second)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from drumeval.cli import main
from drumeval.data.midi import write_midi

PROBE = """
import sys
from drumeval.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted(name for name in ("tensorflow", "jax", "keras") if name in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


@pytest.fixture(scope="module")
def beat_file(tmp_path_factory):
    bar = np.zeros(16, dtype=np.int32)
    bar[::4] = 1
    bar[4::8] |= 2
    return write_midi(np.tile(bar, 8), tmp_path_factory.mktemp("midi") / "beat.mid")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["inspect", "{file}"],
        ["metrics", "{file}"],
        ["export", "jazz-soul-700", "--out", "{tmp}/exp", "--limit", "1"],
        ["data", "stats", "--corpus", "jazz-soul-700"],
        ["plot", "{file}", "--out", "{tmp}/grid.png"],
    ],
)
def test_model_free_commands_import_no_ml_framework(args, beat_file, tmp_path):
    argv = [arg.format(file=beat_file, tmp=tmp_path) for arg in args]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120
    )
    assert "HEAVY=\n" in result.stdout, result.stdout + result.stderr


def test_metrics_command_writes_json(beat_file, tmp_path, capsys):
    out = tmp_path / "m.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["metrics", str(beat_file), "--json", str(out)])
    assert exit_info.value.code == 0
    values = json.loads(out.read_text())[str(beat_file)]
    assert values["kick_on_beat_share"] == 1.0
    assert values["groove_consistency"] == 1.0
    assert "kick on beat share" in capsys.readouterr().out


def test_registering_the_commands_imports_no_pandas():
    """Every command is registered on each start; the analysis stack loads only when used."""
    probe = PROBE.replace('("tensorflow", "jax", "keras")', '("pandas", "scipy", "statsmodels")')
    result = subprocess.run(
        [sys.executable, "-c", probe, "--help"], capture_output=True, text=True, timeout=120
    )
    assert "HEAVY=\n" in result.stdout, result.stdout + result.stderr


# `python -m drumeval …` in a fresh interpreter, then which heavy modules it loaded.
MODULE_PROBE = """
import runpy, sys
sys.argv = ["drumeval", *sys.argv[1:]]
try:
    runpy.run_module("drumeval", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
print("LOADED=" + ",".join(name for name in ("pandas", "scipy") if name in sys.modules))
"""


# Reading MIDI goes through note_seq, whose package __init__ imports its notebook helpers (bokeh,
# pandas, scipy: 0.95 s of note_seq's 1.26 s); strict, so the mark goes once that is fixed.
NOTE_SEQ_LOADS_PANDAS = pytest.mark.xfail(strict=True, reason="note_seq/__init__ imports pandas")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["data", "stats", "--corpus", "jazz-soul-700"],
        ["export", "jazz-soul-700", "--out", "{tmp}/exp", "--limit", "1"],
        ["checkpoints"],
        pytest.param(["inspect", "{file}"], marks=NOTE_SEQ_LOADS_PANDAS),
    ],
)
def test_python_m_drumeval_imports_no_pandas(args, beat_file, tmp_path):
    """Commands import what they use when they run: a start never pays for pandas unless the
    command needs it."""
    argv = [arg.format(file=beat_file, tmp=tmp_path) for arg in args]
    result = subprocess.run(
        [sys.executable, "-c", MODULE_PROBE, *argv], capture_output=True, text=True, timeout=120
    )
    assert "LOADED=\n" in result.stdout, result.stdout + result.stderr


def test_piped_tables_are_not_cut_at_80_columns(beat_file, tmp_path):
    names = [tmp_path / f"a-rather-long-file-name-for-a-drum-track-{n}.mid" for n in range(3)]
    for name in names:
        name.write_bytes(beat_file.read_bytes())
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    result = subprocess.run(
        [sys.executable, "-m", "drumeval", "metrics", *map(str, names)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "metric" in line)
    assert all(name.name in header for name in names), result.stdout
    assert len(header) > 80


def test_the_console_is_wide_off_a_terminal_unless_columns_says_otherwise(monkeypatch):
    from drumeval.cli.terminal import PIPED_WIDTH, make_console

    monkeypatch.delenv("COLUMNS", raising=False)
    assert make_console().width == PIPED_WIDTH  # pytest captures stdout: not a terminal
    monkeypatch.setenv("COLUMNS", "100")
    assert make_console().width == 100
