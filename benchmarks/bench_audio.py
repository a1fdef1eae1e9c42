"""Audio benchmark: rendering speed and loudness spread (prints measured figures vs targets).

1. Render + normalise + encode of a 60-bar (2-minute) clip, cold clip cache, in-process:
   the fast engine (default: cached one-shots mixed in numpy, Opus) → × real time, target
   ≥ 200× (≤ 0.6 s per clip), with a stage breakdown; the one-time cost of rendering a
   kit's one-shots; the old path (FluidSynth on the whole clip, OGG Vorbis, 44.1 kHz) for
   comparison; then a batch of 2-minute clips on 2 worker threads. Times are wall-clock
   on a shared machine: the load average is printed with them.
2. Loudness spread over 20 clips (10 programmed techno/house tracks on TR-808 and
   Electronic, 10 Groove MIDI jazz/soul beats on Jazz and Brush): the loudness of the
   decoded files, what listeners hear, vs the target. Target ±0.5 LU. Printed at
   −23 LUFS and at the common target (`common_target_lufs`) that no clip must be
   peak-limited for.

Run: `.venv/bin/python benchmarks/bench_audio.py` (about a minute on 2 cores).
"""

import csv
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import soundfile
from _report import report

from drumeval.audio import (
    RenderSettings,
    common_target_lufs,
    measure_loudness,
    render,
    render_many,
)
from drumeval.audio.encode import encode
from drumeval.audio.loudness import true_peak_dbtp
from drumeval.audio.pipeline import load_score, synthesize_fast
from drumeval.audio.synth import find_soundfont
from drumeval.data.midi import event_ids_to_pretty_midi
from drumeval.data.programmed import generate_programmed_track
from drumeval.paths import groove_dir

SPEED_TARGET = 200.0
SPREAD_TARGET_LU = 0.5
TARGET_LUFS = -23.0
OLD_PATH = RenderSettings(engine="fluidsynth", format="ogg", sample_rate=44100)


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISS"


def _programmed(seed: int):
    return event_ids_to_pretty_midi(generate_programmed_track(seed, bars=60).event_ids)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg, FluidSynth)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed_render(midi, settings: RenderSettings, cache: Path) -> tuple[float, float, float]:
    """(seconds, × real time, CPU seconds) of one cold-cache render.

    CPU seconds (ours and the encoder's) say what the render costs when the machine is
    shared; on an idle machine the wall time approaches them.
    """
    cpu = _cpu_seconds()
    started = time.perf_counter()
    clip = render(midi, kit="tr808", settings=settings, cache_dir=cache)
    elapsed = time.perf_counter() - started
    return elapsed, clip.duration_s / elapsed, _cpu_seconds() - cpu


def _stage_breakdown(midi, settings: RenderSettings, cache: Path) -> str:
    soundfont = find_soundfont()
    rate = settings.sample_rate
    stages = {}
    start = time.perf_counter()
    _, score = load_score(midi)
    stages["score"] = time.perf_counter() - start
    start = time.perf_counter()
    samples = synthesize_fast(
        score, kit="tr808", soundfont=soundfont, sample_rate=rate, length=120 * rate,
        cache_dir=cache,
    )  # fmt: skip
    stages["mix"] = time.perf_counter() - start
    start = time.perf_counter()
    loudness = measure_loudness(samples, rate)
    stages["loudness"] = time.perf_counter() - start
    start = time.perf_counter()
    true_peak_dbtp(samples)
    stages["true peak"] = time.perf_counter() - start
    samples *= np.float32(10 ** ((TARGET_LUFS - loudness) / 20))
    start = time.perf_counter()
    encode(samples, rate, cache / "stage.opus", "opus")
    stages["Opus encode"] = time.perf_counter() - start
    return ", ".join(f"{name} {seconds:.3f} s" for name, seconds in stages.items())


def bench_speed(cache: Path) -> None:
    settings = RenderSettings()
    started = time.perf_counter()
    render(_programmed(999), kit="tr808", settings=RenderSettings(length_s=4.0), cache_dir=cache)
    print(
        f"one-time: the TR-808 kit's one-shots rendered by FluidSynth and cached "
        f"(plus imports): {time.perf_counter() - started:.2f} s"
    )
    runs = [_timed_render(_programmed(seed), settings, cache) for seed in (1, 2, 3)]
    elapsed, speed, cpu = sorted(runs)[1]
    print(
        f"fast engine, one 120 s clip (render + normalise + Opus), cold clip cache, median "
        f"of 3: {elapsed:.2f} s = {speed:.0f}× real time (target ≥ {SPEED_TARGET:.0f}×, "
        f"≤ {120 / SPEED_TARGET:.1f} s) {_verdict(speed >= SPEED_TARGET)}; CPU {cpu:.2f} s "
        f"= {120 / cpu:.0f}× real time per core; load average {os.getloadavg()[0]:.1f}"
    )
    report("fast engine, one 120 s clip", speed, f"≥ {SPEED_TARGET:.0f}", "× real time",
           speed >= SPEED_TARGET)  # fmt: skip
    print(f"  stages: {_stage_breakdown(_programmed(4), settings, cache)}")
    elapsed, speed, cpu = _timed_render(_programmed(1), OLD_PATH, cache)
    print(
        f"old path (FluidSynth on the whole clip, OGG Vorbis, 44.1 kHz): {elapsed:.2f} s = "
        f"{speed:.0f}× real time; CPU {cpu:.2f} s; load average {os.getloadavg()[0]:.1f}"
    )

    midis = [_programmed(seed) for seed in range(10, 14)]
    started = time.perf_counter()
    clips = render_many(midis, kit="tr808", settings=settings, cache_dir=cache, workers=2)
    elapsed = time.perf_counter() - started
    speed = sum(c.duration_s for c in clips) / elapsed
    print(
        f"fast engine, batch of {len(clips)} × 2-minute clips, 2 workers: {elapsed:.2f} s = "
        f"{speed:.0f}× real time (target ≥ {SPEED_TARGET:.0f}×) "
        f"{_verdict(speed >= SPEED_TARGET)}"
    )
    report(f"fast engine, batch of {len(clips)} clips", speed, f"≥ {SPEED_TARGET:.0f}",
           "× real time", speed >= SPEED_TARGET)  # fmt: skip


def _groove_beats(count: int) -> list[Path]:
    """The first `count` GMD jazz/soul *beats* (not 2-second fills) of at least 20 s."""
    rows = csv.DictReader((groove_dir() / "info.csv").open())
    beats = [row for row in rows if row["beat_type"] == "beat" and float(row["duration"]) >= 20]
    return [groove_dir() / row["midi_filename"] for row in beats[:count]]


def _spread(clips: list, target: float) -> str:
    heard = []
    for clip in clips:
        decoded, rate = soundfile.read(clip.path, dtype="float32")
        heard.append(measure_loudness(decoded, rate))
    deviation = float(np.max(np.abs(np.array(heard) - target)))
    limited = sum(clip.peak_limited for clip in clips)
    report(f"loudness spread at {target:g} LUFS", deviation, f"≤ {SPREAD_TARGET_LU}", "LU",
           deviation <= SPREAD_TARGET_LU)  # fmt: skip
    return (
        f"decoded {clips[0].format} {min(heard):.2f} .. {max(heard):.2f} LUFS, "
        f"max deviation {deviation:.2f} LU "
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
