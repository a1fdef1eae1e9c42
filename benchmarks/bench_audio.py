"""Audio benchmark: rendering speed and loudness spread (prints measured figures vs targets).

1. Render + normalise + encode (OGG) of one 2-minute clip, cold cache → × real time,
   with a stage breakdown; then a batch of 2-minute clips on 2 worker threads
   (throughput on 2 cores). Target ≥ 100× real time on 2 cores.
2. Loudness spread over 20 clips (10 programmed techno/house tracks on TR-808 and
   Electronic, 10 Groove MIDI jazz/soul beats on Jazz and Brush): the loudness of the
   decoded OGG files, what listeners hear, vs the target. Target ±0.5 LU. Printed at
   −23 LUFS and at the common target (`common_target_lufs`) that no clip must be
   peak-limited for.

Run: `.venv/bin/python benchmarks/bench_audio.py` (about a minute on 2 cores).
"""

import csv
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import soundfile

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from drumeval.audio import (  # noqa: E402
    RenderSettings,
    common_target_lufs,
    measure_loudness,
    render,
    render_many,
)
from drumeval.audio.encode import encode  # noqa: E402
from drumeval.audio.kits import check_kit_available  # noqa: E402
from drumeval.audio.loudness import apply_fades, true_peak_dbtp  # noqa: E402
from drumeval.audio.pipeline import load_score, score_to_midi_bytes  # noqa: E402
from drumeval.audio.synth import find_soundfont, synthesize  # noqa: E402
from drumeval.data.midi import event_ids_to_pretty_midi  # noqa: E402
from drumeval.data.programmed import generate_programmed_track  # noqa: E402

SPEED_TARGET = 100.0
SPREAD_TARGET_LU = 0.5
TARGET_LUFS = -23.0


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISS"


def _programmed(seed: int):
    return event_ids_to_pretty_midi(generate_programmed_track(seed, bars=60).event_ids)


def bench_speed(cache: Path) -> None:
    settings = RenderSettings()
    render(_programmed(999), kit="tr808", settings=RenderSettings(length_s=4.0), cache_dir=cache)
    midi = _programmed(1)
    started = time.perf_counter()
    clip = render(midi, kit="tr808", settings=settings, cache_dir=cache)
    elapsed = time.perf_counter() - started
    speed = clip.duration_s / elapsed
    print(
        f"one {clip.duration_s:.0f} s clip, cold cache: {elapsed:.2f} s = {speed:.0f}× real time "
        f"(target ≥ {SPEED_TARGET:.0f}× on 2 cores, single clip uses ~1 core) "
        f"{_verdict(speed >= SPEED_TARGET)}"
    )

    soundfont = find_soundfont()
    _, score = load_score(midi)
    stages = {}
    start = time.perf_counter()
    samples = synthesize(
        score_to_midi_bytes(score, check_kit_available("tr808", soundfont)),
        soundfont=soundfont,
        sample_rate=settings.sample_rate,
    )[: round(clip.duration_s * settings.sample_rate)]
    stages["fluidsynth"] = time.perf_counter() - start
    start = time.perf_counter()
    faded = apply_fades(samples, settings.sample_rate, fade_in_s=0.01, fade_out_s=0.05)
    loudness = measure_loudness(faded, settings.sample_rate)
    stages["loudness"] = time.perf_counter() - start
    start = time.perf_counter()
    true_peak_dbtp(faded)
    stages["true peak (4× oversampling)"] = time.perf_counter() - start
    start = time.perf_counter()
    faded *= np.float32(10 ** ((TARGET_LUFS - loudness) / 20))
    encode(faded, settings.sample_rate, cache / "stage.ogg", "ogg")
    stages["OGG encode"] = time.perf_counter() - start
    print("  stages: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in stages.items()))

    midis = [_programmed(seed) for seed in range(10, 14)]
    started = time.perf_counter()
    clips = render_many(midis, kit="tr808", settings=settings, cache_dir=cache, workers=2)
    elapsed = time.perf_counter() - started
    speed = sum(c.duration_s for c in clips) / elapsed
    print(
        f"batch of {len(clips)} × 2-minute clips, 2 workers: {elapsed:.2f} s = {speed:.0f}× "
        f"real time (target ≥ {SPEED_TARGET:.0f}× on 2 cores) {_verdict(speed >= SPEED_TARGET)}"
    )


def _groove_beats(count: int) -> list[Path]:
    """The first `count` GMD jazz/soul *beats* (not 2-second fills) of at least 20 s."""
    rows = csv.DictReader((REPO_ROOT / "data" / "groove" / "info.csv").open())
    beats = [row for row in rows if row["beat_type"] == "beat" and float(row["duration"]) >= 20]
    return [REPO_ROOT / "data" / "groove" / row["midi_filename"] for row in beats[:count]]


def _spread(clips: list, target: float) -> str:
    heard = []
    for clip in clips:
        decoded, rate = soundfile.read(clip.path, dtype="float32")
        heard.append(measure_loudness(decoded, rate))
    deviation = float(np.max(np.abs(np.array(heard) - target)))
    limited = sum(clip.peak_limited for clip in clips)
    return (
        f"decoded OGG {min(heard):.2f} .. {max(heard):.2f} LUFS, max deviation {deviation:.2f} LU "
        f"(target ±{SPREAD_TARGET_LU} LU) {_verdict(deviation <= SPREAD_TARGET_LU)}; "
        f"peak-limited: {limited}, "
        f"highest true peak {max(c.true_peak_dbtp for c in clips):.2f} dBTP"
    )


def bench_loudness_spread(cache: Path) -> None:
    techno = [(_programmed(100 + i), ("tr808", "electronic")[i % 2]) for i in range(10)]
    jazz = [(path, ("jazz", "brush")[i % 2]) for i, path in enumerate(_groove_beats(10))]
    midis = [midi for midi, _ in techno + jazz]
    kits = [kit for _, kit in techno + jazz]
    print(
        f"loudness over {len(midis)} clips ({len(techno)} programmed techno/house on tr808/"
        f"electronic, {len(jazz)} GMD jazz/soul beats on jazz/brush):"
    )
    clips = render_many(midis, kit=kits, cache_dir=cache, workers=2)
    print(f"  at {TARGET_LUFS:g} LUFS: {_spread(clips, TARGET_LUFS)}")
    study_target = common_target_lufs(clips, target_lufs=TARGET_LUFS)
    settings = RenderSettings(target_lufs=round(study_target - 0.05, 1))
    clips = render_many(midis, kit=kits, settings=settings, cache_dir=cache, workers=2)
    spread = _spread(clips, settings.target_lufs)
    print(f"  at the common target {settings.target_lufs:g} LUFS: {spread}")


def main() -> None:
    print(f"audio benchmark on {os.cpu_count()} CPU cores")
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as folder:
        bench_speed(Path(folder) / "speed")
        bench_loudness_spread(Path(folder) / "spread")


if __name__ == "__main__":
    main()
