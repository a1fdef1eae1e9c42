"""`drumeval` commands for the audio area (registered by drumeval.cli)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
