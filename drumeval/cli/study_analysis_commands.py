"""`drumeval study plan`: how many participants a study needs (and what a size can detect)."""

from typing import Annotated

import typer
from rich.table import Table

from drumeval.cli.terminal import make_console

console = make_console()


def plan(
    effect_size: Annotated[
        float,
        typer.Option(
            "--effect-size", help="Cohen's d between the models on one criterion (e.g. 0.5)."
        ),
    ],
    power: Annotated[float, typer.Option(help="Wanted power (1 − β).")] = 0.8,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    design: Annotated[
        str,
        typer.Option(
            help="paired: every participant hears both models; independent: one model each."
        ),
    ] = "paired",
    clips_per_participant: Annotated[
        int, typer.Option(help="Clips each participant rates (for --simulate).")
    ] = 8,
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate",
            help="Also estimate power by simulating ordinal 5-point ratings (proportional odds).",
        ),
    ] = False,
    participants: Annotated[
        int | None,
        typer.Option(
            help="A study size to evaluate: its detectable effect and, with --simulate, its power."
        ),
    ] = None,
    n_sim: Annotated[int, typer.Option(help="Simulated studies for --simulate.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 0,
) -> None:
    """Participants needed to detect an effect (t-test approximation, pingouin), and back."""
    from drumeval.analysis import planning

    needed = planning.participants_needed(effect_size, power, alpha, design)
    per = " per group" if design == "independent" else ""
    table = Table("", "value", title=f"Study size, {design} design", title_justify="left")
    table.add_row("effect size (Cohen's d)", f"{effect_size:g}")
    table.add_row("power / alpha (two-sided)", f"{power:g} / {alpha:g}")
    table.add_row("participants needed (t-test)", f"{needed}{per}")
    size = participants if participants is not None else needed
    if participants is not None:
        detectable = planning.detectable_effect(participants, power, alpha, design)
        table.add_row(f"detectable d with {participants}{per}", f"{detectable:.3f}")
    if simulate:
        shift = planning.latent_shift_for_d(
            effect_size, design=design, clips_per_participant=clips_per_participant, seed=seed
        )
        estimate = planning.simulate_power(
            size,
            shift,
            design=design,
            clips_per_participant=clips_per_participant,
            n_sim=n_sim,
            alpha=alpha,
            seed=seed,
        )
        table.add_row("log-odds shift simulated (gives d on participant means)", f"{shift:.3f}")
        table.add_row(
            f"simulated power, {size}{per}, {clips_per_participant} clips each",
            f"{estimate.power:.3f} [{estimate.low:.3f}, {estimate.high:.3f}] ({n_sim} studies)",
        )
    console.print(table)


def register(study_app: typer.Typer) -> None:
    """Add `plan` to the `study` sub-app."""
    study_app.command()(plan)
