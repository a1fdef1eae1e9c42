"""MIDI → PCM with the FluidSynth command-line program (the only place that runs it).

We call the CLI rather than midi2audio: midi2audio ignores the exit code and has no gain
option. Output is 32-bit float WAV, because at gain 1.0 dense TR-808 patterns exceed
full scale and 16-bit output would clip before we get to normalise.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from drumeval.errors import AudioError, MissingDependencyError

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SOUNDFONT_ENV = "DRUMEVAL_SOUNDFONT"
SYNTH_GAIN = 1.0  # 0.2 (FluidSynth's default) is very quiet; the level is normalised later
_TIMEOUT_S = 300
_FALLBACK_WARNING = "instrument not found"


def find_fluidsynth(executable: str = "fluidsynth") -> str:
    """Full path of the FluidSynth program, or MissingDependencyError naming the package."""
    found = shutil.which(executable)
    if found is None:
        raise MissingDependencyError(
            f"FluidSynth program {executable!r} not found; install it with "
            "`apt-get install fluidsynth`"
        )
    return found


def find_soundfont(soundfont: str | Path | None = None) -> Path:
    """The sound font to use: argument, else $DRUMEVAL_SOUNDFONT, else FluidR3_GM."""
    chosen = Path(soundfont or os.environ.get(SOUNDFONT_ENV) or DEFAULT_SOUNDFONT)
    if not chosen.is_file():
        raise MissingDependencyError(
            f"sound font {chosen} not found; install it with "
            "`apt-get install fluid-soundfont-gm` or set DRUMEVAL_SOUNDFONT"
        )
    return chosen


def synthesize(
    midi_bytes: bytes,
    *,
    soundfont: Path,
    sample_rate: int,
    executable: str = "fluidsynth",
) -> np.ndarray:
    """Render a MIDI file's bytes to float32 stereo samples [n, 2] at `sample_rate`.

    A kit substitution warning on stderr is an error: FluidSynth exits 0 after silently
    replacing a missing kit by the Standard kit.
    """
    import soundfile

    program = find_fluidsynth(executable)
    with tempfile.TemporaryDirectory(prefix="drumeval-synth-") as workdir:
        midi_path = Path(workdir) / "in.mid"
        wav_path = Path(workdir) / "out.wav"
        midi_path.write_bytes(midi_bytes)
        command = [
            program, "-ni", "-q", "-g", str(SYNTH_GAIN), "-r", str(sample_rate),
            "-T", "wav", "-O", "float", "-F", str(wav_path), str(soundfont), str(midi_path),
        ]  # fmt: skip
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise AudioError(f"FluidSynth took longer than {_TIMEOUT_S} s; giving up") from None
        if result.returncode != 0 or not wav_path.is_file():
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise AudioError(
                f"FluidSynth failed (exit {result.returncode}): {detail[-1] if detail else '?'}"
            )
        if _FALLBACK_WARNING in result.stderr.lower():
            line = next(ln for ln in result.stderr.splitlines() if _FALLBACK_WARNING in ln.lower())
            raise AudioError(f"FluidSynth substituted a missing instrument: {line.strip()}")
        samples, rate = soundfile.read(wav_path, dtype="float32", always_2d=True)
    if rate != sample_rate:
        raise AudioError(f"FluidSynth wrote {rate} Hz instead of {sample_rate} Hz")
    return samples
