"""The jazz-soul corpora from the Groove MIDI Dataset subset in `data/groove/`.

Only a handful of GMD performances reach 60 bars, so a corpus of 700 or 1500 examples
needs windows: one starting at every bar line of every file, min(60, bars left) bars
long, windows under 16 bars dropped (≈ 1,900 candidates from 162 files). Windows of the
same file overlap heavily, which is why the train/eval split is made by *file* and the
manifest states how many distinct files and minutes of music really back each set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from drumeval.data.corpus import (
    EVAL_FRACTION,
    choose_eval_sources,
    covered_minutes,
    subset_keeping_split,
    window_pool,
    window_provenance,
    windows_to_examples,
    write_corpus,
)
from drumeval.data.drum_classes import DEFAULT_BARS
from drumeval.data.midi import DrumTrackData, load_drum_track
from drumeval.errors import DatasetError, DrumevalError
from drumeval.paths import groove_dir as default_groove_dir
from drumeval.progress import ProgressCallback, no_progress

# GMD names encode the style, tempo, beat/fill and meter: 10_soul-groove10_102_beat_4-4.mid
GMD_NAME = re.compile(r"^\d+_(jazz|soul)[^_]*_\d+_(beat|fill)_4-4\.midi?$", re.IGNORECASE)
SPLIT_SEED = 0
SUBSET_SEED = 1


def groove_files(groove_dir: str | Path | None = None) -> list[Path]:
    """The jazz*/soul* 4/4 beats and fills under `groove_dir` (default `paths.groove_dir()`),
    in a stable order."""
    root = Path(groove_dir or default_groove_dir())
    return sorted(
        (path for path in root.rglob("*") if GMD_NAME.match(path.name)),
        key=lambda path: path.relative_to(root).as_posix(),
    )


def load_groove_tracks(
    files: Sequence[Path], progress: ProgressCallback | None = None
) -> list[DrumTrackData]:
    """Every file as a drum track; a failing file names itself (the subset is curated)."""
    report = progress or no_progress
    tracks = []
    for path in files:
        try:
            tracks.append(load_drum_track(path))
        except DrumevalError as error:
            raise DatasetError(f"GMD file {path} cannot be used: {error}") from error
        report("GMD files", len(tracks), len(files))
    return tracks


def build_jazz_soul(
    sizes: dict[str, int],
    out_dir: str | Path,
    *,
    groove_dir: str | Path | None = None,
    split_seed: int = SPLIT_SEED,
    subset_seed: int = SUBSET_SEED,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """Write one jazz-soul corpus per {name: size}; all share one by-file split."""
    groove_dir = Path(groove_dir or default_groove_dir())
    files = groove_files(groove_dir)
    if not files:
        raise DatasetError(f"no GMD jazz/soul 4/4 MIDI files under {groove_dir}")
    tracks = load_groove_tracks(files, progress)
    pool = window_pool([track.num_bars for track in tracks])
    eval_sources = choose_eval_sources(
        np.bincount(pool.source_index, minlength=len(tracks)), seed=split_seed
    )
    pool_is_eval = eval_sources[pool.source_index]
    qpms = [track.qpm for track in tracks]
    sources = [path.relative_to(groove_dir).as_posix() for path in files]
    written = []
    for name, size in sizes.items():
        chosen = subset_keeping_split(pool_is_eval, size, seed=subset_seed)
        examples = windows_to_examples(
            pool, chosen, [track.event_ids for track in tracks], qpms, pool_is_eval
        )
        provenance = window_provenance(examples, covered_minutes(pool, chosen, qpms), overlap=True)
        provenance["note"] = (
            "examples are overlapping windows (one per bar line) of far fewer performances"
        )
        written.append(
            write_corpus(
                Path(out_dir) / name,
                name=name,
                genre="jazz-soul",
                examples=examples,
                sources=sources,
                build={
                    "source": "Groove MIDI Dataset (CC BY 4.0), jazz*/soul* 4/4 beats and fills",
                    "window_bars": DEFAULT_BARS,
                    "window_stride_bars": 1,
                    "min_window_bars": 16,
                    "candidate_windows": len(pool.source_index),
                    "candidate_eval_windows": int(pool_is_eval.sum()),
                    "size": size,
                    "split_seed": split_seed,
                    "subset_seed": subset_seed,
                    "eval_fraction": EVAL_FRACTION,
                },
                provenance=provenance,
            )
        )
    return written
