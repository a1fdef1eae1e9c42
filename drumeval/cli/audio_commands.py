"""`drumeval render` and `drumeval plot`: hear and see drum MIDI files."""

import shutil
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from drumeval.audio.kits import GENRE_KITS, KITS
from drumeval.cli.terminal import make_console, progress_bar
from drumeval.errors import DrumevalError

console = make_console()

Kit = StrEnum("Kit", {name: name for name in KITS})
Genre = StrEnum("Genre", {name: name for name in GENRE_KITS})


class AudioFormat(StrEnum):
    ogg = "ogg"
    opus = "opus"
    mp3 = "mp3"
    wav = "wav"


def _outputs(inputs: list[Path], out: Path | None, out_dir: Path | None, suffix: str) -> list[Path]:
    """One output path per input: --out for a single input, else OUT_DIR/<stem><suffix>."""
    if out is not None and out_dir is not None:
        raise typer.BadParameter("give either --out or --out-dir, not both")
    if out is not None:
        if len(inputs) != 1:
            raise typer.BadParameter("--out takes one input; use --out-dir for several")
        return [out]
    if out_dir is None:
        raise typer.BadParameter("give --out (one input) or --out-dir")
    stems = [path.stem for path in inputs]
    if len(set(stems)) != len(stems):
        raise typer.BadParameter("inputs with the same file name would overwrite each other")
    return [out_dir / f"{stem}{suffix}" for stem in stems]


def render(
    inputs: Annotated[list[Path], typer.Argument(help="MIDI file(s) with drums on channel 10.")],
    out: Annotated[
        Path | None, typer.Option(help="Output file (one input); the suffix sets the format.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option(help="Output folder for several inputs (<name>.<format>).")
    ] = None,
    kit: Annotated[
        Kit | None,
        typer.Option(
            help="Drum kit (default: the genre's kit; for generated files the genre their "
            ".meta/ sidecar records, as the app does; else standard)."
        ),
    ] = None,
    genre: Annotated[
        Genre | None, typer.Option(help="Use this genre's study kit (techno-house → tr808).")
    ] = None,
    lufs: Annotated[float, typer.Option(help="Target integrated loudness (LUFS).")] = -23.0,
    start: Annotated[float, typer.Option(help="Excerpt start in seconds.")] = 0.0,
    length: Annotated[
        float | None, typer.Option(help="Excerpt length in seconds (default: whole track).")
    ] = None,
    audio_format: Annotated[
        AudioFormat | None,
        typer.Option("--format", help="Audio format (default: from --out's suffix, else opus)."),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Render cache (default $DRUMEVAL_CACHE_DIR/audio).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Clips rendered in parallel.")] = 2,
    engine: Annotated[
        str, typer.Option(help="fast (cached FluidSynth one-shots) or fluidsynth (whole clip).")
    ] = "fast",
) -> None:
    """Render drum MIDI to level-matched audio (FluidSynth's drum kits, −23 LUFS, Opus)."""
    from drumeval.audio import RenderSettings, render_many

    chosen_format = audio_format.value if audio_format else None
    if chosen_format is None:
        suffix = out.suffix.lstrip(".").lower() if out is not None else ""
        chosen_format = suffix if suffix in AudioFormat.__members__ else "opus"
    kits = [_kit_for(source, kit, genre) for source in inputs]
    settings = RenderSettings(
        target_lufs=lufs, start_s=start, length_s=length, format=chosen_format, engine=engine
    )
    outputs = _outputs(inputs, out, out_dir, f".{chosen_format}")
    with progress_bar(f"rendering ({', '.join(sorted(set(kits)))})", console) as report:
        clips = render_many(
            inputs,
            kit=kits,
            settings=settings,
            cache_dir=cache_dir,
            workers=workers,
            progress=report,
        )
    for source, target, clip in zip(inputs, outputs, clips, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip.path, target)
        limited = " [yellow](peak-limited below target)[/]" if clip.peak_limited else ""
        console.print(
            f"{source.name} → {target} ({clip.kit} kit): {clip.duration_s:.2f} s, "
            f"{clip.loudness_lufs:.1f} LUFS, {clip.true_peak_dbtp:.1f} dBTP{limited}",
            highlight=False,
        )


def _kit_for(source: Path, kit: Kit | None, genre: Genre | None) -> str:
    """--kit, else --genre's kit, else the kit of the genre the file's provenance records."""
    from drumeval.audio import kit_for_genre
    from drumeval.generate import recorded_genre

    if kit:
        return kit.value
    chosen = genre.value if genre else recorded_genre(source)
    return kit_for_genre(chosen) if chosen else "standard"


def plot(
    inputs: Annotated[list[Path], typer.Argument(help="MIDI file(s) with drums on channel 10.")],
    out: Annotated[Path | None, typer.Option(help="Drum-grid PNG (one input).")] = None,
    density: Annotated[
        Path | None, typer.Option(help="Also write a hits-per-bar PNG here (one input).")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(help="Folder for several inputs: <name>_grid.png and <name>_density.png."),
    ] = None,
) -> None:
    """Draw the 16th-note drum grid (and hits per bar) of MIDI files as PNG."""
    from drumeval.data.midi import load_drum_track
    from drumeval.plots import density_figure, drum_grid_figure, save_figure

    if density is not None and out is None:
        raise typer.BadParameter("--density goes with --out (one input)")
    grids = _outputs(inputs, out, out_dir, "_grid.png")
    densities = (
        [density]
        if out is not None
        else [path.with_name(path.name.replace("_grid.png", "_density.png")) for path in grids]
    )
    failures = 0
    with progress_bar("drawing", console) as report:
        for done, (source, grid_path, density_path) in enumerate(
            zip(inputs, grids, densities, strict=True), start=1
        ):
            try:
                track = load_drum_track(source)
            except DrumevalError as error:
                if len(inputs) == 1:
                    raise
                console.print(f"[red]skipped[/] {source.name}: {error}", highlight=False)
                failures += 1
                continue
            title = f"{track.source}: {track.num_bars} bars at {track.qpm:g} qpm"
            save_figure(drum_grid_figure(track.event_ids, title=title), grid_path)
            written = [grid_path]
            if density_path is not None:
                save_figure(density_figure(track.event_ids, title=title), density_path)
                written.append(density_path)
            report(source.name, done, len(inputs))
            console.print(f"{source.name} → {', '.join(map(str, written))}", highlight=False)
    if failures:
        raise typer.Exit(code=2)


def register(app: typer.Typer) -> None:
    """Add the audio commands to the root app."""
    app.command()(render)
    app.command()(plot)
