"""One progress protocol for every long job: `report(label, done, total)`.

The library reports what it is doing and how far it is; the front ends draw it — a Rich bar
on the terminal (`drumeval.cli.terminal.progress_bar`), a Streamlit bar on a page
(`ui.progress.streamlit_progress`). A job whose steps are stages, not items (one clip:
load, sample, render, measure), reports percent (`total = 100`).
"""

from typing import Protocol


class ProgressCallback(Protocol):
    def __call__(self, label: str, done: int, total: int) -> None: ...


def no_progress(label: str, done: int, total: int) -> None:
    """The sink for callers without a progress display."""
