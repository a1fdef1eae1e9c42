"""Model-free commands must not import TensorFlow, JAX or Keras (they start in about a second)."""

import json
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
