"""Originality against the training data: exact copies of bars and of 4-bar windows.

A model that memorised its corpus would score well on realism and badly on originality
(Table 1); copying a whole 4-bar phrase is the clearest sign. Windows are compared as raw
event ids (all 64 steps equal), bar-aligned, and sliding by one bar.
"""

from collections.abc import Mapping, Sequence

import numpy as np

from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.metrics import bars, novel_bar_fraction, summary

COPY_WINDOW_BARS = 4


def bar_windows(event_ids: np.ndarray, window_bars: int = COPY_WINDOW_BARS) -> list[bytes]:
    """Every bar-aligned window of `window_bars` bars (one per start bar) as bytes keys."""
    per_bar = bars(event_ids).astype(np.int16)
    return [
        per_bar[start : start + window_bars].tobytes()
        for start in range(len(per_bar) - window_bars + 1)
    ]


def corpus_window_set(
    tracks: Sequence[np.ndarray], window_bars: int = COPY_WINDOW_BARS
) -> set[bytes]:
    """The distinct `window_bars`-bar windows of a set of tracks (e.g. a training split)."""
    return {window for track in tracks for window in bar_windows(track, window_bars)}


def exact_copy_rate(
    event_ids: np.ndarray, reference_windows: set[bytes], window_bars: int = COPY_WINDOW_BARS
) -> float:
    """Share of the track's non-silent `window_bars`-bar windows found verbatim in
    `reference_windows` (`corpus_window_set` of the training split); 0 for no windows.

    copy rate = |{w ∈ W(track), w not all rests : w ∈ reference}| / |{w not all rests}|.
    Silent windows are left out: every corpus has some, and silence is not a copy.
    """
    silent = bytes(window_bars * STEPS_PER_BAR * 2)
    windows = [window for window in bar_windows(event_ids, window_bars) if window != silent]
    if not windows:
        return 0.0
    return sum(window in reference_windows for window in windows) / len(windows)


def measure_tracks(
    tracks: Mapping[str, np.ndarray],
    reference_bars: set[bytes] | None = None,
    reference_windows: set[bytes] | None = None,
) -> dict[str, dict[str, float]]:
    """Per named track, `summary` plus, when a training split is given, the share of novel
    bars (`novel_bar_fraction`) and of copied 4-bar windows (`exact_copy_rate`)."""
    results = {}
    for name, event_ids in tracks.items():
        values = summary(event_ids)
        if reference_bars is not None:
            values["novel_bar_fraction"] = novel_bar_fraction(event_ids, reference_bars)
        if reference_windows is not None:
            values["exact_copy_rate"] = exact_copy_rate(event_ids, reference_windows)
        results[name] = values
    return results
