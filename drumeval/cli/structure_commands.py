"""`drumeval structure-report`: the issue-33 comparison of DrumsRNN, MusicVAE, the arranger
baseline and the structure model on the same song forms and seeds."""

from pathlib import Path
from typing import Annotated

import typer

from drumeval.cli.terminal import make_console, parameters_as_flags

console = make_console()


def structure_report(
    genre: Annotated[
        list[str] | None,
        typer.Option(help="Genre to run (repeat for several; default: techno-house, jazz-soul)."),
    ] = None,
    form: Annotated[
        str | None,
        typer.Option(
            help="Form for the one --genre: a preset name (e.g. peak-time), a form such as "
            "'intro:8 drop:16 break:8 drop:16 outro:12', or corpus:N — the section detector's "
            "labelled form of a 60-bar train track drawn with seed N (default: the genre's "
            "report preset)."
        ),
    ] = None,
    num: Annotated[int, typer.Option(help="Seeds per model: --seed, --seed + 1, …")] = 4,
    seed: Annotated[int, typer.Option(help="First seed.")] = 0,
    corpus_size: Annotated[int, typer.Option(help="Checkpoints and corpora of this size.")] = 700,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the Markdown here instead of data/tables/structure_report.md."),
    ] = None,
) -> None:
    """Planned-boundary F1, self-similarity, same- vs different-label similarity, backbeat,
    groove distance and copying per model on fixed forms and seeds; prints and writes
    the Markdown table."""
    from drumeval.analysis.structure_eval import (
        DEFAULT_FORMS,
        draw_corpus_form,
        report_markdown,
        run_structure_report,
        write_structure_report,
    )
    from drumeval.data.forms import FORM_PRESETS, parse_form
    from drumeval.errors import ModelError
    from drumeval.registry import corpus_name

    genres = genre or list(DEFAULT_FORMS)
    for name in genres:
        corpus_name(name, corpus_size)  # checks the genre and the size
    if num < 1:
        raise ModelError(f"--num must be at least 1, got {num}")
    if form is not None and len(genres) != 1:
        raise ModelError("--form needs exactly one --genre (forms are written per genre)")
    forms = {}
    with parameters_as_flags():
        for name in genres:
            text = form or DEFAULT_FORMS[name]
            if text.startswith("corpus:"):
                forms[name] = draw_corpus_form(
                    corpus_name(name, corpus_size), seed=_corpus_seed(text)
                )
            else:
                forms[name] = FORM_PRESETS[name].get(text) or parse_form(text)
    report = run_structure_report(
        forms,
        tuple(range(seed, seed + num)),
        corpus_size=corpus_size,
        note=lambda message: console.print(f"[yellow]note:[/] {message}", highlight=False),
    )
    typer.echo(report_markdown(report))
    console.print(f"wrote {write_structure_report(report, out)}", highlight=False)


def _corpus_seed(text: str) -> int:
    """N of `--form corpus:N` (ModelError naming the flag otherwise)."""
    from drumeval.errors import ModelError

    seed = text.removeprefix("corpus:")
    if not seed.isdigit():
        raise ModelError(f"--form corpus:N needs a whole number N ≥ 0, got {text!r}")
    return int(seed)


def register(app: typer.Typer) -> None:
    """Add the structure report to the root app."""
    app.command("structure-report")(structure_report)
