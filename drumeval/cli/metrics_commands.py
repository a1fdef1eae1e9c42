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
            help="Also measure originality against this corpus's train split: share of novel "
            "bars and of 4-bar windows copied verbatim."
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the numbers as JSON too.")
    ] = None,
) -> None:
    """Per-track metrics: density, empty bars, kick on beat, groove, phrasing, evolution."""
    from drumeval.data.midi import load_drum_track
    from drumeval.metrics import corpus_bar_set, tracks_of
    from drumeval.metrics.novelty import corpus_window_set, measure_tracks

    reference_bars = reference_windows = None
    if corpus:
        from drumeval.data.corpus import load_corpus

        train_ids, train_lengths = load_corpus(corpus).split("train")
        reference_bars = corpus_bar_set(train_ids, train_lengths)
        reference_windows = corpus_window_set(tracks_of(train_ids, train_lengths))
    tracks = {str(path): load_drum_track(path).event_ids for path in files}
    results = measure_tracks(tracks, reference_bars, reference_windows)
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
