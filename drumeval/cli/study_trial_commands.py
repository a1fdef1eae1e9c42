"""`drumeval study leaderboard|mushra`: the rankings of pairwise and multi-stimulus studies.

The same functions as the Results page (`drumeval.analysis.pairwise.leaderboard`,
`drumeval.analysis.mushra.analyse_mushra`) over the study's tidy tables
(`drumeval.analysis.from_db.load_study`); a study of another trial type is refused with the
command that analyses it.
"""

from typing import Annotated

import typer
from rich.table import Table

from drumeval.analysis.bootstrap import DEFAULT_RESAMPLES
from drumeval.cli.study_results_commands import Resamples, Seed, check_resamples, load_study_data
from drumeval.cli.terminal import make_console

console = make_console()  # piped: wide, so condition names are not cut


def _cell(value: object, digits: int = 0) -> str:
    if isinstance(value, float):
        return "—" if value != value else f"{value:.{digits}f}"  # NaN: not placed
    return str(value)


def leaderboard(
    slug: Annotated[str, typer.Argument(help="The pairwise study's slug.")],
    min_votes: Annotated[
        int | None,
        typer.Option("--min-votes", help="Votes before a condition is ranked (default 50)."),
    ] = None,
    anchor: Annotated[
        str | None,
        typer.Option(help="A condition pinned at score 1000 (default: the mean is 1000)."),
    ] = None,
    resamples: Resamples = DEFAULT_RESAMPLES,
    seed: Seed = 0,
) -> None:
    """Bradley–Terry scores with 95 % CIs (bootstrap over participants) of a pairwise study,
    ranked by the lower CI bound; below --min-votes a condition is "preliminary"."""
    from drumeval.analysis import export as exporter
    from drumeval.analysis.pairwise import MIN_VOTES
    from drumeval.analysis.pairwise import leaderboard as rank

    check_resamples(resamples)
    data = load_study_data(slug)
    exporter.require_trial_type(data, "pairwise", "a leaderboard")
    board = rank(
        exporter.answers_of(data),
        min_votes=MIN_VOTES if min_votes is None else min_votes,
        n_boot=resamples,
        seed=seed,
        anchor=anchor,
    )
    view = Table(
        "#",
        "condition",
        "score [95 % CI]",
        "P(win vs avg)",
        "votes",
        "W / L / T / both bad",
        "status",
        title=f"Leaderboard of {data.title!r} ({resamples} resamples, seed {seed})",
        title_justify="left",
    )
    for rank_number, row in enumerate(board.itertuples(), start=1):
        view.add_row(
            str(rank_number) if row.ranked else "",
            row.condition,
            f"{_cell(row.score)} [{_cell(row.ci_low)}, {_cell(row.ci_high)}]",
            _cell(row.win_probability, 2),
            str(row.votes),
            f"{row.wins} / {row.losses} / {row.ties} / {row.both_bad}",
            row.status,
        )
    console.print(view)


def mushra(
    slug: Annotated[str, typer.Argument(help="The multi-stimulus study's slug.")],
) -> None:
    """Mean 0–100 score per condition with 95 % CIs over participants, after ITU-R BS.1534
    post-screening (hidden reference < 90 on more than 15 % of pages excludes a listener)."""
    from drumeval.analysis import export as exporter
    from drumeval.analysis.mushra import analyse_mushra

    data = load_study_data(slug)
    exporter.require_trial_type(data, "mushra", "a MUSHRA summary")
    analysis = analyse_mushra(exporter.answers_of(data))
    excluded = int(analysis.screening["excluded"].sum())
    view = Table(
        title=f"MUSHRA summary of {data.title!r} ({excluded} of "
        f"{len(analysis.screening)} listener(s) excluded by post-screening)",
        title_justify="left",
    )
    means = analysis.means
    for column in means.columns:
        view.add_column(str(column))
    for row in means.itertuples(index=False):
        view.add_row(*(_cell(value, 1) for value in row))
    console.print(view)


def register(study_app: typer.Typer) -> None:
    """Add `leaderboard` and `mushra` to the `study` sub-app."""
    study_app.command()(leaderboard)
    study_app.command()(mushra)
