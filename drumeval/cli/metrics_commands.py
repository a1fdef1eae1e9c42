"""`drumeval metrics`: objective metrics of MIDI drum tracks."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def metrics(
    files: Annotated[list[Path], typer.Argument(help="MIDI files to measure.")],
    corpus: Annotated[
        str | None,
        typer.Option(
            help="Also measure originality: share of bars not found in this corpus's train split."
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the numbers as JSON too.")
    ] = None,
) -> None:
    """Per-track metrics: density, empty bars, kick on beat, groove, phrasing, evolution."""
    from drumeval import metrics as measures
    from drumeval.data.midi import load_drum_track

    reference = None
    if corpus:
        from drumeval.data.corpus import load_corpus

        reference = measures.corpus_bar_set(*load_corpus(corpus).split("train"))
    results = {}
    for path in files:
        event_ids = load_drum_track(path).event_ids
        values = measures.summary(event_ids)
        if reference is not None:
            values["novel_bar_fraction"] = measures.novel_bar_fraction(event_ids, reference)
        results[str(path)] = values
    table = Table("metric", *[Path(path).name for path in results])
    for name in next(iter(results.values())):
        table.add_row(
            name.replace("_", " "), *[f"{values[name]:.3f}" for values in results.values()]
        )
    console.print(table)
    if json_out:
        json_out.write_text(json.dumps(results, indent=2) + "\n")


def register(app: typer.Typer) -> None:
    """Add the metrics command to the root app."""
    app.command()(metrics)
