"""`drumeval train`, `generate`, `import-magenta`, `checkpoints` and `compare-checkpoints`:
the model verbs."""

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from drumeval.cli.terminal import make_console, parameters_as_flags, progress_bar

console = make_console()
# `compare-checkpoints` defaults: a seed neither training's selection nor the report uses, and
# eight times the report's samples: one model's bar similarity has a per-track sd of ≈ 0.1, so
# 16 samples swing by ±0.05 between seeds and 32 ranked two jazz-soul candidates 0.04 apart the
# wrong way round; 128 give a standard error of ≈ 0.01 (sampling 128 × 60 bars takes seconds).
HELD_OUT_SEED = 99
HELD_OUT_SAMPLES = 128


class ModelName(StrEnum):
    drums_rnn = "drums_rnn"
    music_vae = "music_vae"
    structured = "structured"


class GenerateMode(StrEnum):
    sample = "sample"
    interpolate = "interpolate"
    reconstruct = "reconstruct"


def train(
    model: Annotated[ModelName, typer.Argument(help="Which model to train.")],
    corpus: Annotated[
        str, typer.Option(help="Corpus name (see `drumeval data stats`) or dataset dir.")
    ] = "techno-house-700",
    preset: Annotated[
        str | None,
        typer.Option(
            help="Hparam preset (drums_rnn: thesis, magenta_drum_kit; "
            "music_vae: thesis-longbar, hier-60bar, cat-drums_2bar_small; "
            "structured: thesis-form)."
        ),
    ] = None,
    hparams: Annotated[
        str, typer.Option(help="Overrides, e.g. 'rnn_layer_sizes=[128,128],attn_length=64'.")
    ] = "",
    steps: Annotated[
        int, typer.Option(help="Training steps (stops earlier on an eval-loss plateau).")
    ] = 2000,
    eval_every: Annotated[
        int, typer.Option(help="Evaluate on the 10 % split every N steps.")
    ] = 200,
    checkpoint_every: Annotated[
        int, typer.Option(help="Save a resumable checkpoint every N steps.")
    ] = 200,
    patience: Annotated[
        int, typer.Option(help="Stop after N evaluations without improvement (0: never).")
    ] = 5,
    export_last: Annotated[
        bool,
        typer.Option(
            "--export-last",
            help="Export the last weights, not the best-eval-loss ones (MusicVAE's free-running "
            "eval loss is noisy).",
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed for initialisation, data order and dropout.")] = 0,
    run_dir: Annotated[
        Path | None,
        typer.Option(help="Where logs and checkpoints go (default runs/MODEL/PRESET/CORPUS)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --run-dir.")
    ] = False,
    ship: Annotated[
        bool,
        typer.Option(
            "--ship", help="Copy the final checkpoint into checkpoints/ (what the app uses)."
        ),
    ] = False,
    eval_smoothing: Annotated[
        int, typer.Option(help="Select/stop on the moving mean of this many eval losses.")
    ] = 1,
    fidelity_every: Annotated[
        int,
        typer.Option(
            help="Every N steps sample the model, compare its groove with the corpus and "
            "export the best-fidelity weights (0: off)."
        ),
    ] = 0,
    fidelity_samples: Annotated[
        int, typer.Option(help="60-bar samples per fidelity evaluation during training.")
    ] = 8,
    init_from: Annotated[
        Path | None, typer.Option(help="Warm-start from this checkpoint dir's weights.")
    ] = None,
) -> None:
    """Train DrumsRNN, MusicVAE or the structured model on a corpus (TensorBoard logs,
    curves.png, resumable)."""
    import shlex
    import sys

    from drumeval.training.loop import keep_freed_memory

    keep_freed_memory()  # before JAX starts its threads
    from drumeval.training.recipes import train_model
    from drumeval.training.shipping import ship_checkpoint

    with progress_bar("training", console) as report, parameters_as_flags():
        result = train_model(
            model.value,
            corpus=corpus,
            preset=preset,
            hparams=hparams,
            steps=steps,
            eval_every=eval_every,
            checkpoint_every=checkpoint_every,
            patience=patience or None,
            export_best=not export_last,
            seed=seed,
            run_dir=run_dir,
            resume=resume,
            eval_smoothing=eval_smoothing,
            fidelity_every=fidelity_every or None,
            fidelity_samples=fidelity_samples,
            init_from=init_from,
            command=shlex.join(["drumeval", *sys.argv[1:]]),
            progress=report,
        )
    console.print(
        f"[green]done[/]: {result.steps} steps in {result.wall_time_s:.0f} s"
        f"{' (stopped on plateau)' if result.stopped_early else ''}; "
        f"best eval loss {result.best_eval_loss:.4f} at step {result.best_eval_step}; "
        f"checkpoint {result.checkpoint_dir}"
    )
    if ship:
        console.print(f"shipped to {ship_checkpoint(result.checkpoint_dir)}")


def generate(
    model: Annotated[
        ModelName, typer.Option(help="drums_rnn, music_vae or structured.")
    ] = ModelName.drums_rnn,
    corpus: Annotated[
        str, typer.Option(help="Pick the shipped checkpoint trained on this corpus.")
    ] = "techno-house-700",
    preset: Annotated[
        str | None, typer.Option(help="Shipped checkpoint preset (default: the thesis one).")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="Any checkpoint dir (overrides --corpus/--preset).")
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Output folder for MIDI files (+ .meta/ sidecars).")
    ] = Path("out"),
    num: Annotated[int, typer.Option(help="Number of tracks.")] = 1,
    bars: Annotated[
        int | None,
        typer.Option(
            help="Length in bars (60 bars = 2 minutes at 120 qpm; structured: the form's bars)."
        ),
    ] = None,
    form: Annotated[
        str | None,
        typer.Option(
            help="structured: the song form, e.g. 'intro:8 build:8 drop:16 break:8 outro:4' "
            "(default: the genre's first preset form)."
        ),
    ] = None,
    temperature: Annotated[float, typer.Option(help="Softmax temperature.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed → identical MIDI).")] = 0,
    mode: Annotated[
        GenerateMode, typer.Option(help="MusicVAE: sample, interpolate (2 inputs) or reconstruct.")
    ] = GenerateMode.sample,
    inputs: Annotated[
        list[Path] | None,
        typer.Option("--input", help="Input MIDI for interpolate/reconstruct (repeat)."),
    ] = None,
    join: Annotated[
        bool, typer.Option("--join", help="Write an interpolation as one track instead of N files.")
    ] = False,
    num_interpolations: Annotated[
        int, typer.Option(help="Interpolation steps, endpoints included.")
    ] = 8,
    primer_midi: Annotated[
        Path | None, typer.Option(help="DrumsRNN primer from a MIDI file.")
    ] = None,
    primer: Annotated[
        str | None,
        typer.Option(help="DrumsRNN primer in Magenta's syntax, e.g. '[(36,),(),(42,),()]'."),
    ] = None,
    beam_size: Annotated[int, typer.Option(help="DrumsRNN beam search width.")] = 1,
    branch_factor: Annotated[int, typer.Option(help="DrumsRNN beam branches per sequence.")] = 1,
    steps_per_iteration: Annotated[
        int, typer.Option(help="DrumsRNN steps per beam iteration.")
    ] = 1,
    audio: Annotated[
        bool,
        typer.Option(
            "--audio",
            help="Also render each track (genre kit, level-matched, as the app) to track-NNN.ogg.",
        ),
    ] = False,
) -> None:
    """Generate 2-minute drum tracks as MIDI (120 qpm, GM drums) with provenance sidecars."""
    from drumeval.data.primers import parse_primer
    from drumeval.generate import execute, plan_generation, write_tracks

    primer_ids = parse_primer(primer=primer, primer_midi=primer_midi)
    input_ids = None
    if inputs:
        from drumeval.data.midi import load_drum_track

        input_ids = [load_drum_track(path).event_ids for path in inputs]
    with parameters_as_flags():
        plan = plan_generation(
            model.value,
            corpus=corpus,
            preset=preset,
            checkpoint=checkpoint,
            num=num,
            bars=bars,
            form=form,
            temperature=temperature,
            seed=seed,
            mode=mode.value,
            primer_event_ids=primer_ids,
            beam_size=beam_size,
            branch_factor=branch_factor,
            steps_per_iteration=steps_per_iteration,
            inputs=input_ids,
            num_interpolations=num_interpolations,
        )
    with console.status(f"generating {num} × {plan.bars} bars with {model.value}…"):
        tracks = execute(plan)
    if join:
        from drumeval.generate import join_tracks

        tracks = [join_tracks(tracks)]
    paths = write_tracks(tracks, out)
    for path, track in zip(paths, tracks, strict=True):
        warning = (
            "  [yellow](near-empty: lacking drum content)[/]"
            if track.extra.get("near_empty")
            else ""
        )
        console.print(f"wrote {path} ({track.num_bars} bars){warning}")
        if audio:
            audio_path = _write_audio(path, track)
            console.print(
                f"wrote {audio_path}"
                if audio_path
                else f"[yellow]{path.name}: no drum hit, no audio[/]"
            )


def _write_audio(midi_path: Path, track) -> Path | None:
    """Render a generated track through the clip pipeline (the app's kit and loudness)."""
    from drumeval.clips import finish_clip
    from drumeval.errors import ModelError
    from drumeval.registry import genre_of_corpus

    genre = genre_of_corpus(track.corpus)
    if genre is None:
        raise ModelError(
            f"--audio needs the genre's kit, but corpus {track.corpus!r} has no known genre; "
            "render the MIDI with `drumeval render --genre …` instead"
        )
    clip = finish_clip(track.event_ids, genre=genre, corpus=None, provenance=track.sidecar())
    if clip.audio_bytes is None:
        return None
    audio_path = midi_path.with_suffix(f".{clip.audio_format}")
    audio_path.write_bytes(clip.audio_bytes)
    return audio_path


def import_magenta(
    source: Annotated[
        Path, typer.Argument(help="A .mag bundle or a Magenta TF checkpoint dir/prefix.")
    ],
    out: Annotated[Path, typer.Option(help="Checkpoint dir to write (model.keras + card.json).")],
    model: Annotated[
        ModelName, typer.Option(help="drums_rnn (drum_kit) or music_vae.")
    ] = ModelName.drums_rnn,
    config: Annotated[
        str, typer.Option(help="MusicVAE config name, e.g. cat-drums_2bar_small.")
    ] = "cat-drums_2bar_small",
    hparams: Annotated[
        str,
        typer.Option(
            help="Hparams the checkpoint was trained with (DrumsRNN TF dirs need attn_length=N)."
        ),
    ] = "",
) -> None:
    """Convert a real Magenta DrumsRNN/MusicVAE checkpoint into a drumeval checkpoint."""
    from drumeval.training.shipping import import_magenta_checkpoint

    directory = import_magenta_checkpoint(model.value, source, out, config=config, hparams=hparams)
    console.print(f"[green]imported[/] {source} → {directory}")


def checkpoints(
    fidelity: Annotated[
        bool,
        typer.Option(
            "--fidelity",
            help="Also print each checkpoint's groove fidelity beside its corpus's (issue 18: "
            "16 seeded 60-bar samples) and which targets it meets.",
        ),
    ] = False,
    recompute: Annotated[
        bool, typer.Option("--recompute", help="Sample again instead of reading the cards.")
    ] = False,
    write_cards: Annotated[
        bool, typer.Option("--write-cards", help="Store recomputed fidelity in the cards.")
    ] = False,
) -> None:
    """List the shipped checkpoints with their training figures (and groove fidelity)."""
    from drumeval.generate import CHECKPOINTS_DIR, list_shipped_checkpoints
    from drumeval.models.checkpoints import read_card

    table = Table("checkpoint", "steps (total)", "wall time", "eval loss", "size")
    for name in list_shipped_checkpoints():
        card = read_card(CHECKPOINTS_DIR / name)
        training = card.get("training", {})
        size_mb = (CHECKPOINTS_DIR / name / "model.keras").stat().st_size / 1e6
        loss = training.get("best_eval_loss")
        table.add_row(
            name,
            str(training.get("total_steps", training.get("steps", "?"))),
            f"{training.get('wall_time_s', 0):.0f} s",
            f"{loss:.3f}" if loss is not None else "?",
            f"{size_mb:.1f} MB",
        )
    console.print(table)
    if fidelity:
        from drumeval.training.shipping import shipped_fidelity

        for name in list_shipped_checkpoints():
            _print_fidelity(
                name, shipped_fidelity(name, recompute=recompute, write_card=write_cards)
            )


def compare_checkpoints(
    checkpoints: Annotated[
        list[str],
        typer.Argument(
            help="Checkpoint dirs (a run's final/, an exported snapshot) or shipped names "
            "MODEL/PRESET/CORPUS.",
            show_default=False,
        ),
    ],
    seed: Annotated[
        int,
        typer.Option(
            help="Sampling seed; keep it apart from training's selection seed (18) and the "
            "report's (7), or the comparison partly selects that seed's luck."
        ),
    ] = HELD_OUT_SEED,
    samples: Annotated[
        int, typer.Option(min=2, max=256, help="60-bar samples per checkpoint.")
    ] = HELD_OUT_SAMPLES,
) -> None:
    """Which candidate plays its corpus's groove best: fidelity on a held-out seed's samples."""
    from drumeval.training.fidelity import compare_fidelity

    comparison = compare_fidelity(checkpoints, num_samples=samples, seed=seed)
    best = comparison.best
    console.print(_comparison_table(comparison, samples=samples, seed=seed))
    console.print(
        f"best: [bold green]{best.label}[/] (distance {best.report.distance:.2f})", soft_wrap=True
    )
    corpora = comparison.corpora()
    if len(corpora) > 1:
        for corpus, labels in corpora.items():
            console.print(
                f"[yellow]note:[/] {', '.join(labels)} trained on {corpus}: distances to "
                "different corpora do not compare",
                soft_wrap=True,
            )


# `GrooveProfile` attributes shown as shares; "snare on 1 & 3" is the backbeat with the bar
# line lost (a flat 60-bar decoder plays it as often as the backbeat, see docs/models.md,
# "What misses, and why").
_COMPARED_SHARES = (
    "kick_four_on_floor_share",
    "backbeat_share",
    "shifted_backbeat_share",
    "bar_similarity_1",
    "bar_similarity_8",
)
_COMPARISON_ROWS = (
    "distance ↓",
    "hits/bar ± sd",
    "outside hits range",
    "kick on all 4",
    "backbeat",
    "snare on 1 & 3",
    "bar sim. lag 1",
    "bar sim. lag 8",
    "targets met",
    "z effect",
)


def _share_cell(samples, name: str) -> str:
    """A candidate's figure; bar similarity with its standard error over the samples."""
    value = f"{getattr(samples, name):.2f}"
    if name == "bar_similarity_1" and math.isfinite(samples.bar_similarity_1_se):
        return f"{value} ± {samples.bar_similarity_1_se:.2f}"
    return value


def _comparison_table(comparison, *, samples: int, seed: int) -> Table:
    """One row per figure, one column per candidate (narrow terminals fit a few candidates),
    plus the corpus's own figures when every candidate was trained on the same corpus."""

    def column(report, latent) -> list[str]:
        figures = report.samples.figures()
        outside = report.samples.tracks_outside(report.corpus.hits_per_bar_range())
        met = sum(check.met for check in report.checks)
        return [
            f"{report.distance:.2f}",
            f"{figures['hits_per_bar']:.1f} ± {figures['hits_per_bar_spread']:.1f}",
            f"{outside}/{report.samples.num_tracks}",
            *(_share_cell(report.samples, name) for name in _COMPARED_SHARES),
            f"{met}/{len(report.checks)}",
            "—" if latent is None else f"{round(latent.effect, 2) + 0.0:+.2f}",  # no "-0.00"
        ]

    best = comparison.best
    columns = [column(c.report, c.latent) for c in comparison.candidates]
    headers = [
        Column(f"[bold green]{c.label}[/]" if c is best else c.label, overflow="fold")
        for c in comparison.candidates
    ]
    if len(comparison.corpora()) == 1:
        corpus = comparison.candidates[0].report.corpus
        low, high = corpus.hits_per_bar_range()
        columns.append(
            [
                "0",
                f"{corpus.hits_per_bar:.1f} ± {corpus.hits_per_bar_spread:.1f}",
                f"range {low:.1f}–{high:.1f}",
                *(f"{getattr(corpus, name):.2f}" for name in _COMPARED_SHARES),
                "",
                "",
            ]
        )
        headers.append(Column(f"[dim]corpus {comparison.candidates[0].corpus}[/]"))
    table = Table(
        "figure",
        *headers,
        title=f"{samples} samples × 60 bars, seed {seed}, T=1.0",
        caption="distance: the groove figures' gap to the corpus's (lower is closer). "
        "bar sim. lag 1: mean ± standard error over the samples; closer candidates differ "
        "by chance. "
        "z effect (MusicVAE): onset similarity of two decodes of one prior code minus that "
        "of decodes of different codes; ≈ 0 when the decoder ignores z",
    )
    for label, *cells in zip(_COMPARISON_ROWS, *columns, strict=True):
        table.add_row(label, *cells)
    return table


def _print_fidelity(name: str, report: dict) -> None:
    from drumeval.metrics.fidelity import FIGURE_NAMES, figure_label

    settings = report["settings"]
    low, high = report["corpus_hits_per_bar_range"]
    table = Table(
        "figure",
        "model",
        "corpus",
        title=f"{name}: {settings['samples']} samples × {settings['bars']} bars, "
        f"seed {settings['seed']}, T={settings['temperature']} (corpus hits/bar 1–99 %: "
        f"{low:.1f}–{high:.1f})",
    )
    for key in FIGURE_NAMES:
        model_value, corpus_value = report["model"][key], report["corpus"][key]
        table.add_row(figure_label(key), f"{model_value:.2f}", f"{corpus_value:.2f}")
    console.print(table)
    for check in report["targets"]:
        mark = "[green]met[/]" if check["met"] else "[red]missed[/]"
        console.print(f"  {mark}  {check['target']}: {check['detail']}")


def register(app: typer.Typer) -> None:
    """Add the model commands to the root app."""
    app.command()(train)
    app.command()(generate)
    app.command("import-magenta")(import_magenta)
    app.command()(checkpoints)
    app.command("compare-checkpoints")(compare_checkpoints)
