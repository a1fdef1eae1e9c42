"""Pictures of drum tracks: a step grid and hits per bar, as matplotlib Figures.

Pure functions of event ids ([T] int, bit k = drum class k). Figures are built with
`matplotlib.figure.Figure` directly (Agg canvas, no pyplot), so nothing global is
touched, nothing is shown, and a Streamlit page or the CLI decides what to do with them.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from drumeval.data.drum_classes import DRUM_CLASS_NAMES, NUM_DRUM_CLASSES, STEPS_PER_BAR
from drumeval.data.encoding import event_ids_to_rolls
from drumeval.metrics import hits_per_bar

BARS_PER_PHRASE = 4
_ROW_LABELS = tuple(name.replace("_", " ") for name in DRUM_CLASS_NAMES)
_HIT_COLOR = "#1f3b73"
_SECTION_COLOR = "#e67e22"
# kick, snare, closed/open hi-hat, low/mid/high tom, crash, ride: one colour per family
_CLASS_COLORS = (
    "#1f3b73", "#c0392b", "#1e8449", "#52be80", "#ca6f1e", "#ca6f1e", "#ca6f1e", "#7d3c98",
    "#a569bd",
)  # fmt: skip


def _check_event_ids(event_ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(event_ids)
    if ids.ndim != 1:
        raise ValueError(f"event ids must be one track [T], got shape {ids.shape}")
    return ids


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


def phrase_grid_figure(
    event_ids: np.ndarray,
    *,
    bars_per_row: int = 8,
    title: str | None = None,
    sections: Sequence[tuple[int, str]] = (),
) -> Figure:
    """The drum grid folded into one row per `bars_per_row` bars, like lines of a score.

    A 60-bar track drawn as one strip leaves each 16th note a pixel or two wide; folded into
    8-bar rows, every hit is a separate square, lanes are labelled in readable type, and
    phrases line up vertically, so a repeat or a change every 8 bars is visible at a glance.
    Hits are squares coloured by drum family; lines mark beats, bars and 4-bar phrases.
    `sections` — (start bar, label) of each section of a song form — are drawn as thick orange
    lines with their labels, so a change that lands on a planned boundary lines up with one.
    """
    rolls = event_ids_to_rolls(_check_event_ids(event_ids))
    if bars_per_row < 1:
        raise ValueError(f"bars_per_row must be ≥ 1, got {bars_per_row}")
    steps_per_row = bars_per_row * STEPS_PER_BAR
    bars = max(1, -(-rolls.shape[0] // STEPS_PER_BAR))
    rows = -(-bars // bars_per_row)
    figure = Figure(figsize=(12.0, 0.4 + 1.55 * rows), layout="constrained")
    axes_list = figure.subplots(rows, 1, squeeze=False)[:, 0]
    marker_size = (0.62 * 72 * 10.8 / steps_per_row) ** 2  # ~60 % of a step, in points²
    for row, axes in enumerate(axes_list):
        first_step = row * steps_per_row
        chunk = rolls[first_step : first_step + steps_per_row]
        steps, classes = np.nonzero(chunk)
        axes.scatter(
            steps,
            classes,
            s=marker_size,
            marker="s",
            c=[_CLASS_COLORS[k] for k in classes],
            linewidths=0,
        )
        for step in range(0, steps_per_row + 1, STEPS_PER_BAR // 4):
            bar_line = step % STEPS_PER_BAR == 0
            phrase = (
                bar_line and (row * bars_per_row + step // STEPS_PER_BAR) % BARS_PER_PHRASE == 0
            )
            axes.axvline(
                step - 0.5,
                color="#c0392b" if phrase else "#7f8c8d" if bar_line else "#d5d8dc",
                linewidth=1.1 if phrase else 0.6 if bar_line else 0.3,
                zorder=0,
            )
        for start_bar, label in sections:
            if row * bars_per_row <= start_bar < (row + 1) * bars_per_row:
                x = (start_bar - row * bars_per_row) * STEPS_PER_BAR - 0.5
                axes.axvline(x, color=_SECTION_COLOR, linewidth=2.4, zorder=3)
                axes.text(
                    x + 1, NUM_DRUM_CLASSES - 0.5, label, color=_SECTION_COLOR, fontsize=8,
                    fontweight="bold", va="top", zorder=4,
                )  # fmt: skip
        if len(chunk) < steps_per_row:
            axes.axvspan(len(chunk) - 0.5, steps_per_row - 0.5, color="#f2f3f4", zorder=0)
        axes.set_xlim(-0.5, steps_per_row - 0.5)
        axes.set_ylim(-0.6, NUM_DRUM_CLASSES - 0.4)
        axes.set_yticks(range(NUM_DRUM_CLASSES), _ROW_LABELS, fontsize=8)
        bar_numbers = range(row * bars_per_row, min((row + 1) * bars_per_row, bars))
        axes.set_xticks(
            [(bar - row * bars_per_row) * STEPS_PER_BAR + STEPS_PER_BAR / 2 for bar in bar_numbers],
            [f"bar {bar + 1}" for bar in bar_numbers],
            fontsize=8,
        )
        axes.tick_params(axis="x", length=0)
        axes.set_ylabel(
            f"bars {bar_numbers[0] + 1}–{bar_numbers[-1] + 1}", fontsize=9, rotation=0,
            ha="right", va="center",
        )  # fmt: skip
    axes_list[0].set_title(title or f"Drum grid: {bars} bars, {bars_per_row} per row", fontsize=11)
    return figure


def density_figure(event_ids: np.ndarray, *, title: str | None = None) -> Figure:
    """Hits per bar over time: the total on top, each class as a heat-map row below (whole
    bars, as `metrics.hits_per_bar` counts them)."""
    counts = hits_per_bar(_check_event_ids(event_ids))
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
