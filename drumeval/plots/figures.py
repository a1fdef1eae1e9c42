"""Pictures of drum tracks: a step grid and hits per bar, as matplotlib Figures.

Pure functions of event ids ([T] int, bit k = drum class k). Figures are built with
`matplotlib.figure.Figure` directly (Agg canvas, no pyplot), so nothing global is
touched, nothing is shown, and a Streamlit page or the CLI decides what to do with them.
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from drumeval.data.drum_classes import DRUM_CLASS_NAMES, NUM_DRUM_CLASSES, STEPS_PER_BAR
from drumeval.data.encoding import event_ids_to_rolls

BARS_PER_PHRASE = 4
_ROW_LABELS = tuple(name.replace("_", " ") for name in DRUM_CLASS_NAMES)
_HIT_COLOR = "#1f3b73"


def _check_event_ids(event_ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(event_ids)
    if ids.ndim != 1:
        raise ValueError(f"event ids must be one track [T], got shape {ids.shape}")
    return ids


def hits_per_bar(event_ids: np.ndarray) -> np.ndarray:
    """int [bars, 9]: hits of each class in each bar (a last partial bar counts as a bar)."""
    rolls = event_ids_to_rolls(_check_event_ids(event_ids)).astype(np.int64)
    bars = -(-rolls.shape[0] // STEPS_PER_BAR)
    padded = np.zeros((bars * STEPS_PER_BAR, NUM_DRUM_CLASSES), dtype=np.int64)
    padded[: rolls.shape[0]] = rolls
    return padded.reshape(bars, STEPS_PER_BAR, NUM_DRUM_CLASSES).sum(axis=1)


def _bar_ticks(bars: int) -> np.ndarray:
    """Bars (0-based) that get a numbered tick: every phrase start, every bar if short."""
    every = 1 if bars <= 2 * BARS_PER_PHRASE else BARS_PER_PHRASE
    return np.arange(0, bars, every)


def drum_grid_figure(event_ids: np.ndarray, *, title: str | None = None) -> Figure:
    """9 rows (kick at the bottom) × steps, with bar lines and stronger 4-bar phrase lines.

    Sized about one inch per 4 bars (at least 6 in) so that 960 steps keep every 16th
    note distinguishable at 150 dpi.
    """
    rolls = event_ids_to_rolls(_check_event_ids(event_ids))
    steps = rolls.shape[0]
    bars = max(1, -(-steps // STEPS_PER_BAR))
    figure = Figure(figsize=(max(6.0, bars / 4 + 1.5), 3.0), layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(
        rolls.T,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap="Greys",
        vmin=0,
        vmax=1.25,
        extent=(-0.5, max(steps, 1) - 0.5, -0.5, NUM_DRUM_CLASSES - 0.5),
    )
    for bar in range(1, bars):
        phrase = bar % BARS_PER_PHRASE == 0
        axes.axvline(
            bar * STEPS_PER_BAR - 0.5,
            color="#c0392b" if phrase else "#9aa5b1",
            linewidth=1.2 if phrase else 0.4,
        )
    axes.set_yticks(range(NUM_DRUM_CLASSES), _ROW_LABELS, fontsize=8)
    ticks = _bar_ticks(bars)
    axes.set_xticks(ticks * STEPS_PER_BAR - 0.5, [str(bar + 1) for bar in ticks], fontsize=8)
    axes.set_xlabel("bar")
    axes.set_title(title or f"Drum grid: {bars} bars, {steps} steps", fontsize=10)
    return figure


def density_figure(event_ids: np.ndarray, *, title: str | None = None) -> Figure:
    """Hits per bar over time: the total on top, each class as a heat-map row below."""
    counts = hits_per_bar(event_ids)
    bars = counts.shape[0]
    figure = Figure(figsize=(max(6.0, bars / 6 + 2.0), 4.0), layout="constrained")
    total_axes, class_axes = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": (1, 2)}
    )
    positions = np.arange(bars)
    total_axes.plot(positions, counts.sum(axis=1), color=_HIT_COLOR, marker=".", linewidth=1)
    total_axes.set_ylabel("hits / bar", fontsize=8)
    total_axes.set_ylim(bottom=0)
    total_axes.grid(alpha=0.3)
    image = class_axes.imshow(
        counts.T,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap="viridis",
        vmin=0,
        vmax=STEPS_PER_BAR,
        extent=(-0.5, bars - 0.5, -0.5, NUM_DRUM_CLASSES - 0.5),
    )
    figure.colorbar(image, ax=class_axes, label="hits in bar", pad=0.01)
    class_axes.set_yticks(range(NUM_DRUM_CLASSES), _ROW_LABELS, fontsize=8)
    ticks = _bar_ticks(bars)
    class_axes.set_xticks(ticks, [str(bar + 1) for bar in ticks], fontsize=8)
    class_axes.set_xlabel("bar")
    total_axes.set_title(title or "Hits per bar", fontsize=10)
    return figure


def save_figure(figure: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write a figure as PNG (parent folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=dpi)
    return path
