"""`drumeval study export|table1|compare`: a study's ratings as files, its Table 1 and any
contrast between its conditions on a terminal.

The same functions as the Results page (`drumeval.analysis.from_db`,
`drumeval.analysis.export`), so a download and an export of the same study are the same
bytes; errors are one line and exit code 2.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from drumeval.analysis.bootstrap import DEFAULT_RESAMPLES
from drumeval.cli.terminal import make_console
from drumeval.errors import AnalysisError

console = make_console()

Resamples = Annotated[
    int, typer.Option("--resamples", help="Bootstrap resamples of the 95 % intervals.")
]
Seed = Annotated[int, typer.Option(help="Seed of the bootstrap.")]


def load_study_data(slug: str):
    """The study's tables, read through an engine opened for this one command."""
    from db.engine import open_database
    from drumeval.analysis.from_db import load_study

    engine = open_database()
    try:
        return load_study(engine, slug)
    finally:
        engine.dispose()


def check_resamples(resamples: int) -> None:
    """Checked here, not in the library, so that the message names the flag."""
    if resamples < 1:
        raise AnalysisError(f"--resamples must be at least 1, not {resamples}")


def export(
    slug: Annotated[str, typer.Argument(help="The study's slug.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, json or parquet.")] = "csv",
    table: Annotated[
        str,
        typer.Option(
            help="ratings (one row per rating, conditions resolved), participants, or summary "
            "(Table 1 with and without post-screening)."
        ),
    ] = "ratings",
    resamples: Resamples = DEFAULT_RESAMPLES,
    seed: Seed = 0,
) -> None:
    """Write one table of a study's results as CSV, JSON or Parquet."""
    from drumeval.analysis import export as exporter

    check_resamples(resamples)
    if fmt not in exporter.EXPORT_FORMATS:
        raise AnalysisError(
            f"unknown export format {fmt!r}; choose one of {', '.join(exporter.EXPORT_FORMATS)}"
        )
    if table not in exporter.EXPORT_TABLES:
        raise AnalysisError(
            f"unknown table {table!r}; choose one of {', '.join(exporter.EXPORT_TABLES)}"
        )
    data = load_study_data(slug)
    frame = exporter.export_table(data, table, seed=seed, n_resamples=resamples)
    size = exporter.write_export(frame, fmt, out)
    console.print(
        f"Wrote {len(frame)} {table} row(s) of study {slug!r} to {out} ({size:,} bytes).",
        highlight=False,
    )


def table1(
    slug: Annotated[str, typer.Argument(help="The study's slug.")],
    markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown.")] = False,
    latex: Annotated[bool, typer.Option("--latex", help="Print a LaTeX tabular.")] = False,
    screened: Annotated[
        bool,
        typer.Option(
            "--screened",
            help="Only participants who pass post-screening (reference, anchor, "
            "headphone check, listening time).",
        ),
    ] = False,
    genre: Annotated[
        list[str] | None,
        typer.Option("--genre", help="Only clips of this genre (repeatable; default all)."),
    ] = None,
    corpus_size: Annotated[
        list[int] | None,
        typer.Option("--corpus-size", help="Only models trained on this corpus size (repeatable)."),
    ] = None,
    by_condition: Annotated[
        bool,
        typer.Option(
            "--by-condition",
            help="A column per condition of the study (not per model), the thesis's verdict "
            "beside each condition of DrumsRNN or MusicVAE.",
        ),
    ] = False,
    resamples: Resamples = DEFAULT_RESAMPLES,
    seed: Seed = 0,
) -> None:
    """The study's Table 1: symbol, mean and 95 % CI per model, beside the thesis's verdict.

    `--genre` and `--corpus-size` filter as the Results page does (references and anchors
    have no corpus size and stay with their genre)."""
    from drumeval.analysis import export as exporter
    from drumeval.analysis.table1 import format_table1

    if markdown and latex:
        raise AnalysisError("choose one of --markdown and --latex")
    check_resamples(resamples)
    data = load_study_data(slug)
    exporter.require_trial_type(data, "rating", "Table 1")
    table = exporter.study_table1(
        data,
        screened=screened,
        genres=tuple(genre) if genre else None,
        corpus_sizes=tuple(corpus_size) if corpus_size else None,
        seed=seed,
        n_resamples=resamples,
        by_condition=by_condition,
    )
    if markdown:
        print(exporter.table1_markdown(table))
        return
    if latex:
        print(exporter.table1_latex(table))
        return
    cells = format_table1(table)
    who = "participants who pass post-screening" if screened else "all participants"
    if genre or corpus_size:
        who += "; only " + ", ".join([*(genre or ()), *(f"corpus {n}" for n in corpus_size or ())])
    view = Table(
        "criterion",
        *cells.columns,
        title=f"Table 1 of {data.title!r} ({who}; mean [95 % CI], {resamples} resamples)",
        title_justify="left",
    )
    for criterion, row in cells.iterrows():
        view.add_row(str(criterion), *map(str, row))
    console.print(view)


def compare(
    slug: Annotated[str, typer.Argument(help="The study's slug.")],
    contrast: Annotated[
        list[str] | None,
        typer.Option(
            "--contrast",
            help="Two conditions as A:B (B is compared against A; repeatable). "
            "Default: every pair of the study's conditions.",
        ),
    ] = None,
    screened: Annotated[
        bool, typer.Option("--screened", help="Only participants who pass post-screening.")
    ] = False,
) -> None:
    """Any condition against any: per criterion the test on per-participant means (Wilcoxon
    when the same people heard both, else Mann–Whitney), Holm-corrected over every row."""
    from drumeval.analysis import export as exporter
    from drumeval.analysis.inference import parse_contrast

    try:
        pairs = [parse_contrast(text) for text in contrast] if contrast else None
    except AnalysisError as error:
        raise AnalysisError(f"--contrast: {error}") from None
    data = load_study_data(slug)
    table = exporter.study_contrasts(data, contrasts=pairs, screened=screened)
    view = Table(
        "A",
        "B",
        "criterion",
        "mean A",
        "mean B",
        "test",
        "n",
        "p",
        "p (Holm)",
        "effect (B>A > 0)",
        title=f"Contrasts of {data.title!r} ({'screened' if screened else 'all participants'}; "
        f"{len(table)} tests, Holm over all)",
        title_justify="left",
    )
    for row in table.itertuples():
        view.add_row(
            row.level_a,
            row.level_b,
            row.criterion,
            f"{row.mean_a:+.2f}",
            f"{row.mean_b:+.2f}",
            row.test,
            str(row.n_participants),
            _p(row.p_value),
            _p(row.p_holm) + (" *" if row.significant else ""),
            "–" if row.effect_size != row.effect_size else f"{row.effect_size:+.2f}",
        )
    console.print(view)


def _p(value: float) -> str:
    return "–" if value != value else f"{value:.3g}"


def register(study_app: typer.Typer) -> None:
    """Add `export`, `table1` and `compare` to the `study` sub-app."""
    study_app.command()(export)
    study_app.command()(table1)
    study_app.command()(compare)
