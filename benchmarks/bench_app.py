"""Generate page speed: `make_clip` from click to playable audio, warm and cold, vs target.

Run: `KERAS_BACKEND=jax .venv/bin/python benchmarks/bench_app.py [--quick]`.
Target (issue 15): ≤ 1.5 s from a click to playable audio for a 60-bar clip once the model is
loaded — what the page waits for before it can show the player (sample + render + encode +
metrics), as for a visitor who presses Generate again. Each warm run
uses a new seed, so the audio cache never holds its clip (only the kit's one-shots, rendered
once per server). The drum grid is drawn after the player appears and is timed separately.
"""

import argparse
import io
import itertools
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

from _report import report

from drumeval import clips
from drumeval.plots import phrase_grid_figure

TARGET_WARM_S = 1.5
CONDITIONS = {
    "DrumsRNN thesis, techno-house-700": ("drums_rnn", "thesis", "techno-house", 700),
    "MusicVAE thesis-longbar, jazz-soul-700": ("music_vae", "thesis-longbar", "jazz-soul", 700),
}


def _stages(condition: clips.Condition, cache_dir: Path) -> tuple[float, dict[str, float]]:
    """(total seconds, seconds per stage) of one make_clip call."""
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    clips.make_clip(
        condition,
        cache_dir=cache_dir,
        progress=lambda stage, _done, _total: marks.append((stage, time.perf_counter())),
    )
    total = time.perf_counter() - started
    per_stage = {stage: end - start for (stage, start), (_, end) in itertools.pairwise(marks)}
    return total, per_stage


def bench(label: str, spec: tuple[str, str, str, int], repeats: int) -> float:
    model, preset, genre, size = spec
    base = clips.Condition(model, preset, genre, size, 1.0, 60, 0)
    with tempfile.TemporaryDirectory() as folder:
        cold, _ = _stages(base, Path(folder))
        runs = [
            _stages(clips.Condition(model, preset, genre, size, 1.0, 60, seed), Path(folder))
            for seed in range(1, repeats + 1)
        ]
    warm = statistics.median(total for total, _ in runs)
    stages = {stage: statistics.median(r[1].get(stage, 0.0) for r in runs) for stage in runs[0][1]}
    met = "met" if warm <= TARGET_WARM_S else "MISSED"
    print(f"{label}: cold {cold:.2f} s (model load + compile), warm {warm:.2f} s median of "
          f"{repeats} → target ≤ {TARGET_WARM_S} s: {met}")  # fmt: skip
    report(f"{label}: click to playable audio, warm", warm, f"≤ {TARGET_WARM_S}", "s",
           warm <= TARGET_WARM_S)  # fmt: skip
    print("   warm stages: " + ", ".join(f"{stage} {s:.2f} s" for stage, s in stages.items()))
    return warm


def bench_grid() -> None:
    ids = clips.make_clip(clips.Condition("drums_rnn", "thesis", "techno-house", 700, 1.0, 60, 9))
    started = time.perf_counter()
    figure = phrase_grid_figure(ids.event_ids)
    figure.savefig(io.BytesIO(), format="png", dpi=110)
    print(f"phrase grid of 60 bars (drawn after the player): {time.perf_counter() - started:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 warm run per model, not 3")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores: figures above ~1 are shared)")
    for label, spec in CONDITIONS.items():
        bench(label, spec, 1 if args.quick else 3)
    bench_grid()


if __name__ == "__main__":
    main()
