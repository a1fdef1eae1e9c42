"""The Rich console every command prints through.

Rich sizes a console from the terminal; piped or redirected output has none, and Rich then
assumes 80 columns and cuts wider tables (ellipsised names, wrapped numbers) — exactly when a
script reads them. Off a terminal the console is therefore wide; `COLUMNS` still wins.

Here, too, the two translations every command needs: the library's progress reports
(`drumeval.progress`) into a Rich bar, and its parameter names into flags.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from drumeval.errors import ModelError, ParameterError
from drumeval.progress import ProgressCallback

PIPED_WIDTH = 240  # columns when stdout/stderr is not a terminal and COLUMNS is unset


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A console on stdout (or stderr): the terminal's width, or `PIPED_WIDTH` off a TTY."""
    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, soft_wrap=soft_wrap, width=PIPED_WIDTH if piped else None)


@contextmanager
def progress_bar(title: str, console: Console | None = None) -> Iterator[ProgressCallback]:
    """A Rich bar titled `title`, fed by `(label, done, total)` reports (`drumeval.progress`):
    done/total, time elapsed and left, then the label."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn(f"[bold]{title}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=console or make_console(),
        transient=False,
    ) as bar:
        tasks = []  # the bar appears with the first report: a job refused early draws none

        def report(label: str, done: int, total: int) -> None:
            if not tasks:
                tasks.append(bar.add_task(label, total=total))
            bar.update(tasks[0], completed=done, total=total, description=label)

        yield report


@contextmanager
def parameters_as_flags() -> Iterator[None]:
    """Library errors name parameters (`ParameterError`: "temperature must be …"); a terminal
    user knows flags, so inside this block they are re-raised as "--temperature must be …"."""
    try:
        yield
    except ParameterError as error:
        raise ModelError(f"--{error.parameter.replace('_', '-')} {error.requirement}") from None
