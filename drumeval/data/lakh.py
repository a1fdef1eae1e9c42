"""Thesis corpora from a local copy of the Lakh MIDI Dataset (not shipped: 170k files).

The thesis filtered Lakh MIDI by: the file is valid MIDI, it has a drum track, it is in
4/4; then **techno-house** = a kick on at least 90 % of beats (four on the floor) and
**jazz-soul** = the matched Million Song Dataset track is tagged jazz or soul on Last.fm.
Each accepted file gives non-overlapping 60-bar windows (the last one may be shorter, at
least 16 bars); the 90/10 split is by MSD track id (LMD-matched holds several MIDI
versions of one song, so splitting by file would leak songs into eval).

Tags file (`--msd-tags`), one track per line, either
  - TSV: `TRAAAGR128F425B14B<TAB>jazz,smooth jazz,soul` (tags split on `,` `;` or `|`), or
  - CSV: a header with `track_id` and `tags` columns, e.g. `TRAAAGR128F425B14B,"jazz;soul"`
    (without a header: the first column is the id, every other column a tag).
A tag counts when it contains the word `jazz` or `soul` (`acid jazz`, `neo soul`, not
`soulful`). MIDI files are found recursively; the track id is the first path component
(directory or file name) that looks like `TR` + 16 capitals/digits.

The techno-house filter is a measure (`drumeval.metrics.kick_on_beat_share`); data sits on
the floor below the measures, so the caller hands it in (`kick_on_beat_share=`) and this
module keeps only the thesis's threshold.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drumeval.data.corpus import (
    EVAL_FRACTION,
    choose_eval_sources,
    covered_minutes,
    window_pool,
    window_provenance,
    windows_to_examples,
    write_corpus,
)
from drumeval.data.drum_classes import DEFAULT_BARS, STEPS_PER_BAR
from drumeval.data.midi import DrumTrackData, load_drum_track
from drumeval.errors import (
    DatasetError,
    DrumevalError,
    FileTooLargeError,
    NoDrumsError,
    UnsupportedMeterError,
)
from drumeval.progress import ProgressCallback, no_progress

KickOnBeatShare = Callable[[np.ndarray], float]  # `drumeval.metrics.kick_on_beat_share`
TRACK_ID = re.compile(r"TR[A-Z0-9]{16}")
JAZZ_SOUL_TAG = re.compile(r"\b(jazz|soul)\b", re.IGNORECASE)
KICK_ON_BEAT_THRESHOLD = 0.9
MIN_BARS = 16
LAKH_CORPORA = {"techno-house": "lakh-techno-house", "jazz-soul": "lakh-jazz-soul"}
MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi")

REASON_INVALID = "invalid MIDI"
REASON_TOO_LARGE = "over a size/notes/length limit"
REASON_NO_DRUMS = "no drum track"
REASON_METER = "not in 4/4"
REASON_SHORT = f"shorter than {MIN_BARS} bars"
REASON_NO_GENRE = "neither techno-house (kick on < 90 % of beats) nor tagged jazz/soul"
REASON_UNEXPECTED = "unexpected error while reading"
_REASONS = (  # most specific first
    (FileTooLargeError, REASON_TOO_LARGE),
    (NoDrumsError, REASON_NO_DRUMS),
    (UnsupportedMeterError, REASON_METER),
    (DrumevalError, REASON_INVALID),
)


@dataclass(frozen=True)
class Accepted:
    """A file that passed the filters, with the genres it qualifies for."""

    path: Path
    group: str  # MSD track id, or the file path when there is none
    track: DrumTrackData
    genres: tuple[str, ...]


@dataclass
class LakhReport:
    """Counts per rejection reason (with a few example paths) and per accepted genre."""

    files: int = 0
    rejected: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    accepted: Counter = field(default_factory=Counter)
    corpora: dict[str, dict] = field(default_factory=dict)

    def reject(self, reason: str, path: Path, detail: str = "") -> None:
        self.rejected[reason] += 1
        samples = self.examples.setdefault(reason, [])
        if len(samples) < 3:
            samples.append(f"{path}: {detail}" if detail else str(path))

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "accepted": dict(self.accepted),
            "rejected": dict(self.rejected.most_common()),
            "rejected_examples": self.examples,
            "corpora": self.corpora,
        }


def track_id_from_path(path: Path) -> str | None:
    """The MSD track id in the path (innermost match first), or None."""
    for part in reversed(path.parts):
        match = TRACK_ID.search(part)
        if match:
            return match.group(0)
    return None


def _split_tags(fields: Sequence[str]) -> tuple[str, ...]:
    return tuple(
        tag.strip() for value in fields for tag in re.split(r"[,;|]", value) if tag.strip()
    )


def read_tags(path: str | Path) -> dict[str, tuple[str, ...]]:
    """{track id: tags} from a TSV or CSV tags file (formats in the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"tags file {path} not found")
    tags: dict[str, tuple[str, ...]] = {}
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        if path.suffix.lower() == ".csv":
            rows = list(csv.reader(handle))
            if rows and "track_id" in [cell.strip().lower() for cell in rows[0]]:
                names = [cell.strip().lower() for cell in rows[0]]
                id_column, tag_column = names.index("track_id"), names.index("tags")
                rows = [[row[id_column], row[tag_column]] for row in rows[1:] if len(row) > 1]
        else:
            rows = [line.rstrip("\n").split("\t") for line in handle]
    for row in rows:
        if row and TRACK_ID.fullmatch(row[0].strip()):
            tags[row[0].strip()] = _split_tags(row[1:])
    return tags


def is_jazz_soul(tags: Sequence[str]) -> bool:
    """True when any tag contains the word jazz or soul."""
    return any(JAZZ_SOUL_TAG.search(tag) for tag in tags)


def is_techno_house(kick_on_beat: float) -> bool:
    """Four on the floor: a kick on ≥ 90 % of the track's beats (`kick_on_beat` is the share)."""
    return kick_on_beat >= KICK_ON_BEAT_THRESHOLD


def midi_files(lmd_dir: str | Path) -> list[Path]:
    """Every MIDI file under `lmd_dir`, sorted for a reproducible build."""
    root = Path(lmd_dir)
    if not root.is_dir():
        raise DatasetError(f"Lakh MIDI directory {root} not found")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())


def classify_file(
    path: Path,
    tags: dict[str, tuple[str, ...]] | None,
    report: LakhReport,
    *,
    kick_on_beat_share: KickOnBeatShare,
) -> Accepted | None:
    """Apply the thesis filters to one file; rejections are counted in `report`."""
    try:
        track = load_drum_track(path)
    except DrumevalError as error:
        reason = next(text for kind, text in _REASONS if isinstance(error, kind))
        report.reject(reason, path, str(error))
        return None
    except Exception as error:  # a corpus of 170k files must not stop on one library bug
        report.reject(REASON_UNEXPECTED, path, f"{type(error).__name__}: {error}")
        return None
    if track.num_bars < MIN_BARS:
        report.reject(REASON_SHORT, path)
        return None
    track_id = track_id_from_path(path)
    genres = []
    if is_techno_house(kick_on_beat_share(track.event_ids)):
        genres.append("techno-house")
    if tags is not None and track_id and is_jazz_soul(tags.get(track_id, ())):
        genres.append("jazz-soul")
    if not genres:
        report.reject(REASON_NO_GENRE, path)
        return None
    report.accepted.update(genres)
    return Accepted(path=path, group=track_id or str(path), track=track, genres=tuple(genres))


def write_lakh_corpus(
    name: str, genre: str, accepted: Sequence[Accepted], out_dir: Path, root: Path, *, seed: int
) -> dict:
    """Window the accepted files and write one corpus; returns its manifest counts."""
    bars = [item.track.num_bars for item in accepted]
    pool = window_pool(bars, window_bars=DEFAULT_BARS, stride_bars=DEFAULT_BARS)
    groups = sorted({item.group for item in accepted})
    group_of_source = np.array([groups.index(item.group) for item in accepted])
    windows_per_group = np.bincount(group_of_source[pool.source_index], minlength=len(groups))
    eval_groups = choose_eval_sources(windows_per_group, seed=seed)
    pool_is_eval = eval_groups[group_of_source[pool.source_index]]
    chosen = np.arange(len(pool.source_index))
    qpms = [item.track.qpm for item in accepted]
    examples = windows_to_examples(
        pool, chosen, [item.track.event_ids for item in accepted], qpms, pool_is_eval
    )
    provenance = window_provenance(examples, covered_minutes(pool, chosen, qpms), overlap=False)
    provenance["distinct_track_ids"] = len(groups)
    directory = write_corpus(
        out_dir / name,
        name=name,
        genre=genre,
        examples=examples,
        sources=[item.path.relative_to(root).as_posix() for item in accepted],
        build={
            "source": "Lakh MIDI Dataset (local copy)",
            "filters": "valid MIDI, drum track, 4/4, "
            + ("kick on >= 90 % of beats" if genre == "techno-house" else "MSD tag jazz/soul"),
            "window_bars": DEFAULT_BARS,
            "window_stride_bars": DEFAULT_BARS,
            "min_window_bars": MIN_BARS,
            "steps_per_bar": STEPS_PER_BAR,
            "split": "by MSD track id",
            "split_seed": seed,
            "eval_fraction": EVAL_FRACTION,
        },
        provenance=provenance,
    )
    return {"directory": str(directory), "examples": len(chosen), "eval": int(pool_is_eval.sum())}


def build_lakh_corpora(
    lmd_dir: str | Path,
    out_dir: str | Path,
    *,
    kick_on_beat_share: KickOnBeatShare,
    tags_path: str | Path | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    files: Sequence[Path] | None = None,
) -> LakhReport:
    """Filter a Lakh tree and write `lakh-techno-house` / `lakh-jazz-soul` corpora
    (`kick_on_beat_share`: the measure of the techno-house filter, see the module docstring)."""
    root = Path(lmd_dir)
    files = list(files) if files is not None else midi_files(root)
    tags = read_tags(tags_path) if tags_path else None
    report = LakhReport(files=len(files))
    report_progress = progress or no_progress
    accepted = []
    for done, path in enumerate(files, start=1):
        item = classify_file(path, tags, report, kick_on_beat_share=kick_on_beat_share)
        if item:
            accepted.append(item)
        report_progress("MIDI files", done, len(files))
    for genre, name in LAKH_CORPORA.items():
        members = [item for item in accepted if genre in item.genres]
        if members:
            report.corpora[name] = write_lakh_corpus(
                name, genre, members, Path(out_dir), root, seed=seed
            )
    return report
