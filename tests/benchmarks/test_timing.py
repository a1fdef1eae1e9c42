"""`benchmarks/_timing.py`: the first call is the cold figure, the best later call the warm one."""

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import _timing


def test_cold_is_the_first_call_and_warm_the_fastest_later_one(monkeypatch) -> None:
    # A fake clock: each call's duration is read from this list, start and end one tick apart.
    durations = [5.0, 0.3, 0.1, 0.2]
    ticks = itertools.chain.from_iterable((0.0, duration) for duration in durations)
    monkeypatch.setattr(_timing.time, "perf_counter", lambda: next(ticks))
    seeds: list[int] = []
    assert _timing.cold_and_warm(seeds.append, repeats=3) == (5.0, 0.1)
    assert seeds == [0, 1, 2, 3]  # a new seed each call: no result can be reused
