"""Pictures of drum tracks (matplotlib Figures, Agg, never shown): grid and density."""

from drumeval.plots.figures import (
    density_figure,
    drum_grid_figure,
    phrase_grid_figure,
    save_figure,
)

__all__ = [
    "density_figure",
    "drum_grid_figure",
    "phrase_grid_figure",
    "save_figure",
]
