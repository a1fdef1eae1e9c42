"""`drumeval study plan`: how many participants a study needs (and what a size can detect),
or, with `--pairwise`, how many A/B votes a Bradley–Terry leaderboard needs."""

import math
from typing import Annotated

import typer
from rich.table import Table

from drumeval.cli.terminal import make_console
from drumeval.errors import AnalysisError

console = make_console()


def plan(
    effect_size: Annotated[
        float | None,
        typer.Option(
            "--effect-size", help="Cohen's d between the models on one criterion (e.g. 0.5)."
        ),
    ] = None,
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
    pairwise: Annotated[
        bool,
        typer.Option(
            "--pairwise",
            help="Size a pairwise (A/B) study instead: votes for a Bradley–Terry half-width.",
        ),
    ] = False,
    conditions: Annotated[int, typer.Option(help="Conditions compared (with --pairwise).")] = 10,
    half_width: Annotated[
        float | None,
        typer.Option(help="Target 95 % half-width of each score, in Elo points (--pairwise)."),
    ] = None,
    coarse: Annotated[
        bool,
        typer.Option("--coarse", help="With --pairwise: 40 simulated studies instead of 400."),
    ] = False,
) -> None:
    """Participants needed to detect an effect (t-test approximation, pingouin), and back;
    with --pairwise, the votes a pairwise study needs."""
    from drumeval.analysis import planning

    if pairwise:
        if effect_size is not None:
            raise AnalysisError("--effect-size sizes a rating study; leave it out with --pairwise")
        _plan_pairwise(conditions, half_width, coarse=coarse, seed=seed)
        return
    if effect_size is None:
        raise AnalysisError("--effect-size is required (or --pairwise --half-width ELO)")
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


def _plan_pairwise(conditions: int, half_width: float | None, *, coarse: bool, seed: int) -> None:
    """Votes per condition and in all for a target half-width; the flags are checked here so
    that the message names them (the planner's own checks name its parameters)."""
    from drumeval.analysis import planning
    from drumeval.study.assignment import ADAPTIVE_SUMMARY

    if half_width is None:
        raise AnalysisError("--half-width is required with --pairwise (Elo points, e.g. 50)")
    if not (half_width > 0 and math.isfinite(half_width)):
        raise AnalysisError(
            f"--half-width must be a positive number of Elo points, not {half_width}"
        )
    if conditions < 2:
        raise AnalysisError(f"--conditions must be at least 2, not {conditions}")
    design = planning.PairwiseDesign(n_conditions=conditions)
    result = planning.pairwise_votes_needed(half_width, design, coarse=coarse, seed=seed)
    simulated = "40 (--coarse)" if coarse else str(planning.PAIRWISE_SIMULATIONS)
    table = Table(
        "", "value", title=f"Pairwise study, {conditions} conditions", title_justify="left"
    )
    table.add_row("target 95 % half-width", f"±{half_width:g} Elo")
    table.add_row("votes per condition", str(result.votes_per_condition))
    table.add_row("total votes", str(result.total_votes))
    table.add_row("half-width at that size (simulated)", f"±{result.half_width_elo:.1f} Elo")
    table.add_row("simulated studies per width", simulated)
    console.print(table)
    console.print(
        f"Assumes scores spread over {planning.PAIRWISE_SPREAD_ELO:g} Elo, "
        f"{planning.PAIRWISE_TIE_SHARE:.0%} ties between equals, every pair compared equally "
        f"often; widths × √{planning.MUSIC_ARENA_DESIGN_EFFECT:g} (design effect) calibrated on "
        "Music Arena's published widths: ±26 Elo at ≈ 830 votes per model, ±58 at ≈ 240, "
        "±97 at ≈ 40 (docs/analysis.md).",
        highlight=False,
    )
    console.print(f"Sized for balanced pair scheduling. {ADAPTIVE_SUMMARY}", highlight=False)


def register(study_app: typer.Typer) -> None:
    """Add `plan` to the `study` sub-app."""
    study_app.command()(plan)
