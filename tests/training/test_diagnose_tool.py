"""`tools/diagnose_music_vae.py` measures decoder, latent and prior apart on a shipped model."""

import re
import subprocess
import sys

from tests.conftest import REPO_ROOT

TOOL = REPO_ROOT / "tools" / "diagnose_music_vae.py"
NUMBER = r"[0-9]+\.[0-9]+"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=600
    )


def test_it_reports_each_split_the_prior_and_the_prior_along_the_track():
    result = _run("music_vae/thesis-longbar/jazz-soul-700", "--examples", "3", "--samples", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for split in ("train", "eval"):
        assert re.search(rf"{split}\s+n=3: {NUMBER} nats/step, accuracy {NUMBER}", out), out
    assert re.search(rf"dims in use, E\[mu²\+sigma²\] {NUMBER}", out), out
    windows = re.search(r"along the track \(10-bar windows\): (.*)", out)
    assert windows and len(windows.group(1).split()) == 6, out
    assert all(0 <= float(w) <= 1 for w in windows.group(1).split())


def test_an_unknown_checkpoint_is_an_error_message_not_a_traceback():
    result = _run("music_vae/thesis-longbar/no-such-corpus")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
