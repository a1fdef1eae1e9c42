"""`drumeval study pool|import-clips|create|edit|duplicate|open|close|archive|delete|status|
list|config|demo`: run a study.

The same verbs as the researcher pages (`/admin`), over the same functions in
`drumeval.study.pool` and `drumeval.study.setup`; errors are one line and exit code 2, an
import that skipped files exits 1 after its summary.
"""

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from drumeval.cli.terminal import make_console, progress_bar
from drumeval.errors import StudyError

if TYPE_CHECKING:
    from drumeval.clips import ConditionError

console = make_console()
DEFAULT_BASE_URL = "http://localhost:8501"
SharedKit = Annotated[
    str | None,
    typer.Option(
        help="Render every clip with this one drum kit (standard, electronic, tr808, jazz, "
        "brush) instead of each genre's own, so the sound cannot tell the genre."
    ),
]
TargetLufs = Annotated[  # one loudness for the whole pool: listeners compare drums, not levels
    float | None,
    typer.Option(help="Loudness of every clip, LUFS (default: the pool's, or -23)."),
]


def _engine():
    from db.engine import open_database

    return open_database()


def _print_skipped(skipped) -> None:
    for name, reason in skipped:
        console.print(f"[yellow]skipped[/] {name}: {reason}", highlight=False)


def pool(
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Model (repeat; default: all).")
    ] = None,
    genre: Annotated[
        list[str] | None, typer.Option("--genre", help="Genre (repeat; default: all).")
    ] = None,
    preset: Annotated[
        list[str] | None,
        typer.Option("--preset", help="MODEL:PRESET (repeat; default: each model's default)."),
    ] = None,
    corpus_size: Annotated[
        list[int] | None, typer.Option("--corpus-size", help="Corpus size (repeat; default 700).")
    ] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    bars: Annotated[int, typer.Option(help="Clip length in bars (4…60, steps of 4).")] = 60,
    per_condition: Annotated[int, typer.Option(help="Clips per condition.")] = 4,
    seed: Annotated[int, typer.Option(help="First seed; clips use seed, seed+1, …")] = 0,
    target_lufs: TargetLufs = None,
    references: Annotated[int, typer.Option(help="Human references per corpus.")] = 1,
    anchors: Annotated[int, typer.Option(help="Low anchors per corpus.")] = 1,
    gold: Annotated[
        int, typer.Option(help="Gold clips (random noise, known answer) per corpus.")
    ] = 0,
    practice: Annotated[bool, typer.Option(help="Also build a practice clip.")] = True,
    kit: SharedKit = None,
) -> None:
    """Build the clip pool from the shipped checkpoints (reruns add only what is missing)."""
    from drumeval.clips import Condition, ConditionError
    from drumeval.registry import DEFAULT_PRESETS, GENRE_NAMES, MODEL_NAMES
    from drumeval.study import pool as clip_pool

    presets = dict(DEFAULT_PRESETS)
    for item in preset or []:
        name, _, value = item.partition(":")
        if not value:
            raise StudyError(
                f"--preset takes MODEL:PRESET, e.g. music_vae:hier-60bar; got {item!r}"
            )
        presets[name] = value
    try:
        conditions = [
            Condition(m, presets.get(m, ""), g, size, temperature, bars, seed)
            for m in model or MODEL_NAMES
            for g in genre or GENRE_NAMES
            for size in corpus_size or [700]
        ]
    except ConditionError as error:
        raise StudyError(_as_flag(error)) from None
    engine = _engine()
    with progress_bar("Building the pool", console) as report:
        result = clip_pool.build_pool(
            engine,
            conditions=conditions,
            per_condition=per_condition,
            seed=seed,
            target_lufs=target_lufs,
            references_per_genre=references,
            anchors_per_genre=anchors,
            gold_per_genre=gold,
            practice=practice,
            kit=kit,
            progress=report,
        )
    _print_skipped(result.skipped)
    for clip in result.quiet:
        console.print(
            f"[yellow]quieter than {result.target_lufs:g} LUFS[/] clip {clip.id} "
            f"({clip.condition}): {clip.loudness_lufs:.1f} LUFS (its peaks limit it); a lower "
            "target in a new data home level-matches every clip",
            highlight=False,
        )
    console.print(f"{len(result.added)} clip(s) added, {len(result.existing)} already in the pool.")
    _print_conditions(clip_pool.pool_clips(engine))


_POOL_FLAGS = {"size": "--corpus-size"}  # a condition's field → `pool`'s flag, where they differ


def _as_flag(error: "ConditionError") -> str:
    """A `ConditionError` in the words of `pool`'s flags: the library's sentence ("the
    temperature must be …") is written for a form field, a terminal user typed a flag."""
    flag = _POOL_FLAGS.get(error.field, f"--{error.field}")
    requirement = re.fullmatch(r"the [\w ]+? (must .*)", str(error), re.DOTALL)
    return f"{flag} {requirement[1]}" if requirement else f"{flag}: {error}"


def _print_conditions(clips) -> None:
    counts: dict[tuple[str, str], int] = {}
    for clip in clips:
        counts[(clip.condition, clip.role)] = counts.get((clip.condition, clip.role), 0) + 1
    table = Table("condition", "role", "clips", title="Clip pool", title_justify="left")
    for (condition, role), count in sorted(counts.items()):
        table.add_row(condition, role, str(count))
    console.print(table)


def import_clips(
    directory: Annotated[Path, typer.Argument(help="Folder of .mid/.midi files.")],
    condition: Annotated[str, typer.Option(help="Name of the condition these clips form.")],
    genre: Annotated[str, typer.Option(help="Genre whose kit renders them.")],
    target_lufs: TargetLufs = None,
    kit: SharedKit = None,
) -> None:
    """Import external MIDI files (any generator's) as one condition of the pool."""
    from drumeval.study import pool as clip_pool

    engine = _engine()
    with progress_bar("Importing", console) as report:
        result = clip_pool.import_clips(
            engine,
            directory,
            condition=condition,
            genre=genre,
            target_lufs=target_lufs,
            kit=kit,
            progress=report,
        )
    _print_skipped(result.skipped)
    for name, warning in result.duplicates:
        console.print(f"[yellow]warning[/] {name}: {warning}", highlight=False)
    console.print(
        f"{len(result.imported)} clip(s) imported as {condition!r}, {len(result.skipped)} skipped."
    )
    if result.skipped:  # a partial import: scripts must be able to tell
        raise typer.Exit(1)


def create(
    config: Annotated[Path, typer.Option("--config", help="Study config (TOML).")],
    participants: Annotated[int, typer.Option(help="Participants for the plan preview.")] = 30,
    open_now: Annotated[bool, typer.Option("--open", help="Open it right away.")] = False,
    base_url: Annotated[
        str | None,
        typer.Option(help=f"Address of the app, kept for the invite link [{DEFAULT_BASE_URL}]."),
    ] = None,
    random_slug: Annotated[
        bool,
        typer.Option(
            "--random-slug", help="A link name that reveals nothing (replaces the config's)."
        ),
    ] = False,
) -> None:
    """Create a draft study from a config file, with a preview of the answers it will get."""
    from drumeval.study import setup

    text = _read_config(config)
    if random_slug:
        text = setup.with_slug(text, setup.random_slug())
    engine = _engine()
    parsed = setup.parse_config(text)
    for warning in setup.blinding_warnings(parsed):
        hint = " (--random-slug gives one that reveals nothing)" if "the slug" in warning else ""
        console.print(f"[yellow]warning:[/] {warning}{hint}", highlight=False, soft_wrap=True)
    selection = setup.select_clips(engine, parsed)
    _print_plan(setup.study_plan(engine, parsed, selection, participants=participants))
    summary = setup.create_study(engine, text, base_url=base_url)
    if open_now:
        setup.open_study(engine, summary.slug)
    status = "open" if open_now else "draft"
    console.print(f"Study {summary.slug!r} created ({status}) with {summary.clips} clips.")
    link = setup.invite_url(base_url or DEFAULT_BASE_URL, summary.slug)
    console.print(f"Invite link: {link}", soft_wrap=True)


def _read_config(config: Path) -> str:
    try:
        return config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise StudyError(f"cannot read {config}: {error}") from None


def _print_plan(plan) -> None:
    """Ratings per condition (rating), votes per pair (pairwise) or ratings per condition
    (MUSHRA) if the planned participants finish."""
    from drumeval.study import setup

    if isinstance(plan, setup.PagePlan):
        item = "pair" if plan.trial_type == "pairwise" else "condition"
        title = (
            f"Plan for {plan.participants} participants: {plan.pages} pages, {plan.unit} per {item}"
        )
        rows = {name: str(count) for name, count in plan.per_item.items()}
        table = Table(item, f"expected {plan.unit}", title=title, title_justify="left")
    else:
        title = (
            f"Plan for {plan.participants} participants: {plan.ratings} ratings, "
            f"{plan.per_clip:.1f} per clip"
        )
        rows = {name: f"{ratings:.1f}" for name, ratings in plan.per_condition.items()}
        table = Table("condition", "expected ratings", title=title, title_justify="left")
    for name, value in rows.items():
        table.add_row(name, value)
    console.print(table)


def open_(slug: Annotated[str, typer.Argument(help="The study's slug.")]) -> None:
    """Open a study to participants."""
    from drumeval.study import setup

    setup.open_study(_engine(), slug)
    console.print(f"Study {slug!r} is open.")


def close(
    slug: Annotated[str, typer.Argument(help="The study's slug.")],
    grace_minutes: Annotated[
        int | None,
        typer.Option(
            help="Minutes in which those who already started may still finish "
            "(default: the study's own, 60 unless set; 0 ends everything now).",
        ),
    ] = None,
) -> None:
    """Close a study: nobody new can start; those who started may finish; ratings are kept."""
    from drumeval.study import setup

    deadline = setup.close_study(_engine(), slug, grace_minutes=grace_minutes)
    console.print(
        f"Study {slug!r} is closed. Those who started can finish until "
        f"{deadline:%Y-%m-%d %H:%M} UTC."
    )


def status(
    slug: Annotated[str, typer.Argument(help="The study's slug.")],
    base_url: Annotated[
        str | None,
        typer.Option(help="Address of the app [the one given at `study create`]."),
    ] = None,
) -> None:
    """Participants and ratings so far, per condition and per clip."""
    from drumeval.study import setup

    state = setup.study_status(_engine(), slug)
    console.print(f"[bold]{state.title}[/] ({state.slug}): {state.status}")
    link = setup.invite_url(base_url or state.base_url or DEFAULT_BASE_URL, state.slug)
    console.print(f"Invite link: {link}", soft_wrap=True)
    console.print(
        ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in state.counts.items())
    )
    table = Table("condition", "ratings", title="Per condition", title_justify="left")
    for condition, count in state.per_condition.items():
        table.add_row(condition, str(count))
    console.print(table)
    clips = Table(
        "clip", "condition", "ratings", "median s", title="Per clip", title_justify="left"
    )
    for clip in state.clips:
        median = setup.seconds_label(clip.median_seconds)
        clips.add_row(str(clip.clip_id), clip.condition, str(clip.ratings), median)
    console.print(clips)
    _print_stimuli(state.stimuli)


def _print_stimuli(stimuli) -> None:
    """One tab-separated line per clip (full hashes are wider than any table)."""
    console.print("\n[bold]Stimuli[/] (the export's `stimuli` table):")
    header = ("clip", "public_id", "purpose", "condition", "role", "source_file", "midi_sha256")
    lines = ["\t".join((*header, "audio_file"))]
    lines += [
        "\t".join(
            (
                str(item.clip_id),
                item.public_id,
                item.purpose,
                item.condition,
                item.role,
                item.source_file or "-",
                item.midi_sha256,
                f"{item.audio_sha256}.{item.audio_format}",
            )
        )
        for item in stimuli
    ]
    console.print("\n".join(lines), soft_wrap=True, highlight=False, markup=False)


def list_(
    all_: Annotated[bool, typer.Option("--all", help="Archived studies too.")] = False,
) -> None:
    """Every study with its status (archived ones with --all)."""
    from drumeval.study import setup

    table = Table("slug", "title", "status", "clips", "demo", title="Studies", title_justify="left")
    for study in setup.list_summaries(_engine(), include_archived=all_):
        status = f"{study.status}, archived" if study.archived else study.status
        table.add_row(
            study.slug, study.title, status, str(study.clips), "yes" if study.is_demo else ""
        )
    console.print(table)


def preview(
    slug: Annotated[str, typer.Argument(help="The study's slug.")],
    seed: Annotated[int, typer.Option(help="Which clips the imagined evaluator gets.")] = 0,
) -> None:
    """Walk every evaluator step of a study (consent, questionnaire, headphone check,
    instructions, clips, ending) without creating a participant or a rating."""
    from drumeval.study.preview import preview_study

    walk = preview_study(_engine(), slug, seed=seed)
    console.print(
        f"[bold]Preview of {walk.study.title!r}[/] ({slug}, {walk.status}) as one evaluator "
        "would take it:",
        highlight=False,
    )
    for number, step in enumerate(walk.steps, start=1):
        name = step.split(":")[0]
        console.print(f"\n[bold]{number}. {name}[/]", highlight=False)
        console.print(walk.describe(step), highlight=False, markup=False, soft_wrap=True)
    console.print("\nNothing was stored: no participant, no rating.")


def edit(
    slug: Annotated[str, typer.Argument(help="The draft study's slug.")],
    config: Annotated[Path, typer.Option("--config", help="Its new config (TOML).")],
) -> None:
    """Change a draft nobody has joined: its config, and the clips it picks (see `study
    config SLUG` for the current one)."""
    from drumeval.study import setup

    summary = setup.edit_draft(_engine(), slug, _read_config(config))
    console.print(f"Draft {summary.slug!r} now has {summary.clips} clips.")


def duplicate(
    slug: Annotated[str, typer.Argument(help="The study to copy.")],
    new_slug: Annotated[
        str | None,
        typer.Option("--slug", help="The copy's link name [random: reveals nothing]."),
    ] = None,
) -> None:
    """A new draft with the same design and clips (to change a study that has participants)."""
    from drumeval.study import setup

    summary = setup.duplicate_study(_engine(), slug, new_slug or setup.random_slug())
    console.print(f"Study {summary.slug!r} created (draft) as a copy of {slug!r}.")


def archive(
    slug: Annotated[str, typer.Argument(help="The study's slug.")],
    restore: Annotated[bool, typer.Option("--restore", help="Bring it back.")] = False,
) -> None:
    """Archive a draft or closed study: it leaves `study list` and the pages' dropdowns
    (`study list --all` still shows it); nothing is deleted."""
    from drumeval.study import setup

    setup.archive_study(_engine(), slug, archived=not restore)
    console.print(f"Study {slug!r} is {'back' if restore else 'archived'}.")


def delete(
    slug: Annotated[str, typer.Argument(help="The study's slug.")],
    confirm: Annotated[
        str | None,
        typer.Option("--confirm", help="The slug again: needed when the study has ratings."),
    ] = None,
) -> None:
    """Delete a study and what it collected (the pool's clips stay); a JSON backup of its
    config, stimuli, ratings and participants is written first."""
    from drumeval.analysis.export import delete_with_backup

    try:
        backup = delete_with_backup(_engine(), slug, confirm=confirm)
    except StudyError as error:
        asked, flag = "confirm the deletion with its slug", f"add --confirm {slug} to delete it"
        if asked in str(error):
            raise StudyError(str(error).replace(asked, flag)) from None
        raise
    console.print(f"Study {slug!r} deleted; its backup: {backup}", soft_wrap=True)


def config(slug: Annotated[str, typer.Argument(help="The study's slug.")]) -> None:
    """Print the config a study was created from (to recreate it exactly)."""
    from drumeval.study import setup

    text = setup.study_status(_engine(), slug).config_text
    if not text:
        raise StudyError(f"study {slug!r} was not created from a config file")
    typer.echo(text, nl=False)


def demo(
    ensure: Annotated[
        bool, typer.Option("--ensure", help="Build the demo study if it does not exist.")
    ] = False,
    bars: Annotated[int, typer.Option(help="Clip length of the demo's clips.")] = 60,
) -> None:
    """Make sure the app has its open demo study, the arena's standing pairwise study (and an
    admin password): what `make run` does."""
    from drumeval.study import admin_auth
    from drumeval.study.demo import demo_exists, ensure_demo

    if not ensure:
        raise StudyError("say --ensure to build the demo study when it is missing")
    engine = _engine()
    if demo_exists(engine):
        result = ensure_demo(engine, bars=bars)
    else:
        with progress_bar("Building the demo study (first start only)", console) as report:
            result = ensure_demo(engine, bars=bars, progress=report)
    state = "built" if result.built else "ready"
    console.print(f"Demo study {result.study.slug!r} {state} ({result.study.clips} clips).")
    from drumeval.study import arena

    if arena.arena_exists(engine):
        board = arena.ensure_arena(engine)
    else:
        with progress_bar("Rendering the arena's excerpts (first start only)", console) as report:
            board = arena.ensure_arena(engine, progress=report)
    console.print(f"Arena study {board.slug!r} open ({board.clips} excerpts) at /arena.")
    password = admin_auth.ensure_admin_password()
    if password:
        console.print(
            "\n[bold]Researcher pages (/admin) password[/] — shown only this once, "
            f"its hash is kept in {admin_auth.secret_path()}:\n\n    {password}\n",
            highlight=False,
            soft_wrap=True,
        )


def reconcile(
    slug: Annotated[str, typer.Argument(help="The study's slug.")],
    prolific_export: Annotated[
        Path, typer.Option("--prolific-export", help="Prolific's 'Download summary' CSV.")
    ],
) -> None:
    """List Prolific submissions without complete data here, and participants here without a
    Prolific submission; exits 1 when there is any."""
    from drumeval.study import reconcile as reconciling

    try:
        data = prolific_export.read_bytes()
    except OSError as error:
        raise StudyError(f"cannot read {prolific_export}: {error.strerror or error}") from None
    result = reconciling.reconcile(_engine(), slug, reconciling.read_prolific_export(data))
    console.print(
        f"{result.submissions} Prolific submission(s), {result.participants} participant(s) here."
    )
    for title, rows in (
        ("Prolific submissions without complete data", result.submissions_without_data),
        ("Participants here without a Prolific submission", result.participants_without_submission),
    ):
        table = Table("PROLIFIC_PID", "why", title=f"{title}: {len(rows)}")
        for row in rows:
            table.add_row(row.prolific_pid or "-", row.why)
        console.print(table)
    if not result.clean:
        raise typer.Exit(1)


def register(study_app: typer.Typer) -> None:
    """Add the researcher's commands to the `study` sub-app."""
    study_app.command()(pool)
    study_app.command("import-clips")(import_clips)
    study_app.command("reconcile")(reconcile)
    study_app.command()(create)
    study_app.command()(preview)
    study_app.command()(edit)
    study_app.command()(duplicate)
    study_app.command()(archive)
    study_app.command()(delete)
    study_app.command("open")(open_)
    study_app.command()(close)
    study_app.command()(status)
    study_app.command("list")(list_)
    study_app.command()(config)
    study_app.command()(demo)
