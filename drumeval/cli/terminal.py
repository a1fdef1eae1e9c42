"""The Rich console every command prints through.

Rich sizes a console from the terminal; piped or redirected output has none, and Rich then
assumes 80 columns and cuts wider tables (ellipsised names, wrapped numbers) — exactly when a
script reads them. Off a terminal the console is therefore wide; `COLUMNS` still wins.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from drumeval.progress import ProgressCallback

PIPED_WIDTH = 240  # columns when stdout/stderr is not a terminal and COLUMNS is unset


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A console on stdout (or stderr): the terminal's width, or `PIPED_WIDTH` off a TTY."""
    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, soft_wrap=soft_wrap, width=PIPED_WIDTH if piped else None)


@contextmanager
def progress_bar(title: str, console: Console | None = None) -> Iterator[ProgressCallback]:
    """A Rich bar titled `title`, fed by `(label, done, total)` reports (`drumeval.progress`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"[bold]{title}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console or make_console(),
        transient=False,
    ) as bar:
        task = bar.add_task("", total=None)

        def report(label: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=label)

        yield report
