"""Cold and warm wall time of one call, the way the sampling benchmarks report it.

The first call pays for loading weights and the XLA compile; the warm figure is the best of
the calls after it, each with its own seed so that no result is reused. Every sampling benchmark
(`bench_drums_rnn`, `bench_music_vae`, `bench_structured`) times its calls with it.
"""

import time
from collections.abc import Callable


def cold_and_warm(call: Callable[[int], object], repeats: int) -> tuple[float, float]:
    """(first call, best of `repeats` warm calls) in seconds; `call` receives seed 0, 1, …"""
    started = time.perf_counter()
    call(0)
    cold = time.perf_counter() - started
    warm = []
    for seed in range(1, repeats + 1):
        started = time.perf_counter()
        call(seed)
        warm.append(time.perf_counter() - started)
    return cold, min(warm)
