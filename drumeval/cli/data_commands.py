"""`drumeval inspect`, `export` and `drumeval data build|stats|lakh|programmed`: the data verbs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from drumeval.cli.terminal import make_console, progress_bar
from drumeval.data.drum_classes import DRUM_CLASS_NAMES, STEPS_PER_BAR, STEPS_PER_QUARTER

if TYPE_CHECKING:
    import numpy as np

console = make_console()
data_app = typer.Typer(
    help="Build, describe and import the training corpora.", no_args_is_help=True
)
OutDir = Annotated[Path | None, typer.Option(help="Output directory (default data/corpora).")]
PREVIEW_BARS = 4


def drum_grid_lines(event_ids: np.ndarray, *, bars: int = PREVIEW_BARS) -> list[str]:
    """Text drum grid: one row per class, `x` for a hit, `.` for none, `|` at bar lines."""
    import numpy as np

    ids = np.asarray(event_ids, dtype=np.int64)[: bars * STEPS_PER_BAR]
    width = max(len(name) for name in DRUM_CLASS_NAMES)
    lines = []
    for drum_class, name in enumerate(DRUM_CLASS_NAMES):
        cells = "".join("x" if step >> drum_class & 1 else "." for step in ids)
        bar_cells = [cells[i : i + STEPS_PER_BAR] for i in range(0, len(cells), STEPS_PER_BAR)]
        lines.append(f"{name:<{width}} |" + "|".join(bar_cells) + "|")
    return lines


def inspect(
    file: Annotated[Path, typer.Argument(help="A MIDI file (.mid, or RMID .rmi).")],
) -> None:
    """Show a MIDI file's drums: bars, tempo, meter, hits per class and a 4-bar grid."""
    from drumeval.data.midi import load_drum_track

    track = load_drum_track(file)
    console.print(f"[bold]{file.name}[/]", highlight=False)
    console.print(
        f"bars {track.num_bars}  ·  tempo {track.qpm:.1f} qpm  ·  meter 4/4  ·  "
        f"{len(track.event_ids)} steps of 1/{STEPS_PER_QUARTER * 4}",
        highlight=False,
    )
    table = Table("class", "hits", title="Hits per class")
    for name, count in zip(DRUM_CLASS_NAMES, track.hits_per_class, strict=True):
        table.add_row(name, str(count))
    console.print(table)
    shown = min(PREVIEW_BARS, track.num_bars)
    console.print(f"[bold]First {shown} bar(s)[/]")
    for line in drum_grid_lines(track.event_ids, bars=shown):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


@data_app.command("build")
def build(
    corpus: Annotated[
        list[str] | None, typer.Option(help="Corpus to build (repeatable; default: all four).")
    ] = None,
    out: OutDir = None,
    groove: Annotated[
        Path | None, typer.Option(help="GMD jazz/soul subset (default data/groove).")
    ] = None,
) -> None:
    """Build the techno-house and jazz-soul corpora (700 and 1500 examples each)."""
    from drumeval.data.build import build_corpora
    from drumeval.data.corpus import CORPUS_NAMES
    from drumeval.paths import corpora_dir

    names = tuple(corpus or CORPUS_NAMES)
    out = out or corpora_dir()
    with progress_bar("building corpora", console) as report:
        written = build_corpora(names, out, groove_dir=groove, progress=report)
    table = Table("corpus", "examples", "train", "eval", "sha256", title=f"Built in {out}")
    for directory in written:
        manifest = json.loads((directory / "manifest.json").read_text())
        counts = manifest["counts"]
        table.add_row(
            manifest["name"],
            str(counts["examples"]),
            str(counts["train"]),
            str(counts["eval"]),
            manifest["sha256"][:16],
        )
    console.print(table)


def load_stats(names: Sequence[str], corpora_dir: Path | None) -> dict:
    """{name: CorpusStats} for each named corpus (all missing → DatasetError)."""
    from drumeval.data.corpus import load_corpus
    from drumeval.metrics.corpus import summarize

    return {
        name: summarize(corpus.event_ids, corpus.lengths, corpus.is_eval)
        for name in names
        for corpus in [load_corpus(name, corpora_dir=corpora_dir)]
    }


def stats_figure(stats: dict):
    """Class shares per corpus (grouped bars) beside hits per bar and kick-on-beat share."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (shares_axis, numbers_axis) = plt.subplots(
        1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]}
    )
    width = 0.8 / max(len(stats), 1)
    positions = np.arange(len(DRUM_CLASS_NAMES))
    for offset, (name, values) in enumerate(stats.items()):
        shares_axis.bar(positions + offset * width, values.class_shares, width, label=name)
        numbers_axis.scatter(values.mean_hits_per_bar, values.kick_on_beat_share, label=name)
    shares_axis.set_xticks(positions + 0.4 - width / 2, DRUM_CLASS_NAMES, rotation=30)
    shares_axis.set_ylabel("share of hits")
    shares_axis.legend(fontsize="small")
    numbers_axis.set_xlabel("hits per bar")
    numbers_axis.set_ylabel("kick-on-beat share")
    numbers_axis.set_ylim(0, 1.05)
    figure.tight_layout()
    return figure


@data_app.command("stats")
def stats(
    corpus: Annotated[
        list[str] | None, typer.Option(help="Corpus name or directory (repeatable; default all).")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Also save a PNG of the statistics.")] = None,
    corpora_dir: Annotated[
        Path | None, typer.Option(help="Where named corpora live (default data/corpora).")
    ] = None,
) -> None:
    """Per-corpus statistics: size, split, bars, density, class shares, kick on the beat."""
    from drumeval.data.corpus import CORPUS_NAMES

    per_corpus = load_stats(corpus or CORPUS_NAMES, corpora_dir)
    names = [Path(name).name for name in per_corpus]
    table = Table(
        "examples",
        "train/eval",
        "bars/example",
        "hits/bar",
        "kick on beat",
        title="Corpus statistics",
    )
    table.columns.insert(0, Column("corpus", no_wrap=True))
    for name, values in zip(names, per_corpus.values(), strict=True):
        table.add_row(
            name,
            str(values.examples),
            f"{values.train}/{values.eval}",
            f"{values.mean_bars_per_example:.1f}",
            f"{values.mean_hits_per_bar:.1f}",
            f"{values.kick_on_beat_share:.0%}",
        )
    console.print(table)
    shares = Table(
        "class",
        *(Column(name, no_wrap=True) for name in names),
        title="Share of hits per class (%)",
    )
    for drum_class, class_name in enumerate(DRUM_CLASS_NAMES):
        shares.add_row(
            class_name,
            *(f"{100 * values.class_shares[drum_class]:.1f}" for values in per_corpus.values()),
        )
    console.print(shares)
    if plot:
        figure = stats_figure(per_corpus)
        plot.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(plot, dpi=110)
        console.print(f"plot written to {plot}")


@data_app.command("lakh")
def lakh(
    lmd: Annotated[Path, typer.Option(help="A local Lakh MIDI tree (lmd_matched or lmd_full).")],
    msd_tags: Annotated[
        Path | None,
        typer.Option(help="MSD/Last.fm tags: TSV `TRxxx<TAB>tag,tag` or CSV track_id,tags."),
    ] = None,
    out: OutDir = None,
    seed: Annotated[int, typer.Option(help="Seed of the by-track train/eval split.")] = 0,
) -> None:
    """Filter Lakh MIDI as the thesis did and write lakh-techno-house / lakh-jazz-soul."""
    from drumeval.data.lakh import build_lakh_corpora, midi_files
    from drumeval.metrics import kick_on_beat_share
    from drumeval.paths import corpora_dir

    out = out or corpora_dir()
    files = midi_files(lmd)
    with progress_bar("filtering Lakh MIDI", console) as report:
        report = build_lakh_corpora(
            lmd,
            out,
            kick_on_beat_share=kick_on_beat_share,
            tags_path=msd_tags,
            seed=seed,
            progress=report,
            files=files,
        )
    table = Table("outcome", "files", title=f"{report.files} MIDI files under {lmd}")
    for genre, count in sorted(report.accepted.items()):
        table.add_row(f"accepted: {genre}", str(count))
    for reason, count in report.rejected.most_common():
        table.add_row(f"rejected: {reason}", str(count))
    console.print(table)
    if msd_tags is None:
        console.print("no --msd-tags file: jazz-soul needs MSD tags, so it was skipped")
    for name, summary in report.corpora.items():
        console.print(
            f"{name}: {summary['examples']} examples ({summary['eval']} eval) "
            f"→ {summary['directory']}",
            highlight=False,
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "lakh_report.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n")


@data_app.command("programmed")
def programmed(
    out: Annotated[Path, typer.Option(help="Directory for the .mid files and .json sidecars.")],
    count: Annotated[int, typer.Option(min=1, help="How many tracks.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the first track (then seed+1, …).")] = 0,
) -> None:
    """Write programmed techno/house tracks as MIDI plus a .json sidecar with the sections."""
    from drumeval.data import programmed as generator
    from drumeval.data.midi import write_midi

    out.mkdir(parents=True, exist_ok=True)
    with progress_bar("writing programmed tracks", console) as report:
        for done, track_seed in enumerate(range(seed, seed + count), start=1):
            track = generator.generate_programmed_track(track_seed)
            path = write_midi(track.event_ids, out / f"programmed_{track_seed}.mid", qpm=track.qpm)
            path.with_suffix(".json").write_text(json.dumps(track.sidecar(), indent=2) + "\n")
            report(path.name, done, count)
    console.print(f"wrote {count} tracks (seeds {seed}–{seed + count - 1}) to {out}")


def export(
    corpus: Annotated[str, typer.Argument(help="Corpus name (e.g. jazz-soul-700) or dataset dir.")],
    out: Annotated[Path, typer.Option(help="Directory for the MIDI files.")],
    split: Annotated[str, typer.Option(help="train, eval or all.")] = "all",
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many examples.")] = None,
) -> None:
    """Write a corpus's examples as MIDI files at their own tempo (listen to the training data)."""
    import numpy as np

    from drumeval.data.corpus import load_corpus
    from drumeval.data.midi import write_midi
    from drumeval.errors import DatasetError

    if split not in ("train", "eval", "all"):
        raise DatasetError(f"--split must be train, eval or all, got {split!r}")
    data = load_corpus(corpus)
    chosen = (
        np.flatnonzero(data.is_eval == (split == "eval"))
        if split != "all"
        else np.arange(len(data.lengths))
    )
    chosen = chosen[:limit] if limit else chosen
    out.mkdir(parents=True, exist_ok=True)
    with progress_bar(f"exporting {data.name}", console) as report:
        for done, index in enumerate(chosen, start=1):
            qpm = float(data.qpm[index]) if data.qpm is not None else 120.0
            event_ids = data.event_ids[index][: data.lengths[index]]
            path = write_midi(event_ids, out / f"{data.name}-{index:04d}.mid", qpm=qpm)
            report(path.name, done, len(chosen))
    console.print(f"wrote {len(chosen)} MIDI files to {out}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("inspect")(inspect)
    app.command("export")(export)
    app.add_typer(data_app, name="data")
