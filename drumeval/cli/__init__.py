"""The `drumeval` command line: the library's verbs on a terminal.

Each command module registers its commands on `app`; heavy libraries (JAX, Keras,
TensorFlow, matplotlib) are imported inside the command functions, so `--help` and the
model-free commands start in about a second.
"""

import sys

import typer

from drumeval.cli.terminal import make_console
from drumeval.errors import DrumevalError

app = typer.Typer(
    name="drumeval",
    help="Generate evolving 2-minute drum tracks (DrumsRNN, MusicVAE), render and inspect them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
error_console = make_console(stderr=True, soft_wrap=True)


def _register_commands() -> None:
    """Register every command once per process (tests call `main` many times)."""
    if app.registered_commands:
        return
    from drumeval.cli import (
        audio_commands,
        data_commands,
        metrics_commands,
        model_commands,
        ops_commands,
        structure_commands,
        study_commands,
    )
    from drumeval.cli import db_commands as db_commands_module

    for module in (data_commands, model_commands, audio_commands, metrics_commands):
        module.register(app)
    structure_commands.register(app)
    db_commands_module.register(app)
    ops_commands.register(app)
    study_commands.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: friendly one-line errors, exit code 2."""
    _register_commands()
    try:
        app(args=argv, standalone_mode=True)
    except DrumevalError as error:
        error_console.print(f"[bold red]error:[/] {error}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        error_console.print("[yellow]interrupted[/]")
        sys.exit(130)
