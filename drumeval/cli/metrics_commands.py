"""`drumeval metrics` and `drumeval objective-table`: objective metrics of MIDI drum tracks
and of every shipped checkpoint."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from drumeval.cli.terminal import make_console

console = make_console()


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


def objective_table(
    num: Annotated[int, typer.Option(help="Seeded 60-bar samples per checkpoint.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the fixed sample set.")] = 2024,
    out_dir: Annotated[
        Path | None,
        typer.Option(help="Write the CSVs here instead of data/tables/ (where the app reads)."),
    ] = None,
) -> None:
    """The objective Table 1 of every shipped checkpoint and corpus, with its validation;
    writes objective_table1.csv and self_similarity_curves.csv for the About/Results pages."""
    from drumeval.analysis.objective_run import run_objective_table1, write_objective_tables

    run = run_objective_table1(num, seed)
    accuracy = ", ".join(f"{genre} {share:.0%}" for genre, share in run.genre_accuracy.items())
    console.print(f"genre classifier, held-out accuracy: {accuracy}")
    for tolerance, scores in run.section_scores.items():
        console.print(
            f"section detector (±{tolerance} bar): P {scores['precision']:.2f} "
            f"R {scores['recall']:.2f} F1 {scores['f1']:.2f} on {scores['tracks']} tracks"
        )
    typer.echo(run.table.to_markdown(index=False, floatfmt=".3f"))
    for path in write_objective_tables(run, out_dir):
        console.print(f"wrote {path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the metrics commands to the root app."""
    app.command()(metrics)
    app.command("objective-table")(objective_table)
