"""The techno-house corpora: programmed tracks (`drumeval.data.programmed`) as datasets."""

from collections import Counter
from pathlib import Path

import numpy as np

from drumeval.data.corpus import (
    EVAL_FRACTION,
    TECHNO_HOUSE_BASE_SEED,
    Examples,
    choose_eval_sources,
    pad_examples,
    write_corpus,
)
from drumeval.data.drum_classes import DEFAULT_STEPS
from drumeval.data.programmed import generate_programmed_track
from drumeval.progress import ProgressCallback, no_progress


def build_techno_house(
    sizes: dict[str, int],
    out_dir: str | Path,
    *,
    base_seed: int = TECHNO_HOUSE_BASE_SEED,
    split_seed: int = 0,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """Programmed techno/house corpora: example i is the track with seed base_seed + i.

    The tracks are generated once for the largest size (reported to `progress` as they are
    made); each corpus takes the first `size` of them and splits them 90/10 by track (each
    track is its own source).
    """
    report = progress or no_progress
    count = max(sizes.values())
    tracks = []
    for index in range(count):
        tracks.append(generate_programmed_track(base_seed + index))
        report("programmed tracks", index + 1, count)
    written = []
    for name, size in sizes.items():
        chosen = tracks[:size]
        is_eval = choose_eval_sources([1] * size, seed=split_seed)
        examples = Examples(
            event_ids=pad_examples([track.event_ids for track in chosen]),
            lengths=np.array([min(len(t.event_ids), DEFAULT_STEPS) for t in chosen]),
            is_eval=is_eval,
            source_index=np.arange(size),
            start_bar=np.zeros(size),
            qpm=np.array([track.qpm for track in chosen]),
        )
        substyles = [track.substyle for track in chosen]
        written.append(
            write_corpus(
                Path(out_dir) / name,
                name=name,
                genre="techno-house",
                examples=examples,
                sources=[f"programmed seed={track.seed} {track.substyle}" for track in chosen],
                build={
                    "generator": "drumeval.data.programmed.generate_programmed_track",
                    "base_seed": base_seed,
                    "size": size,
                    "split_seed": split_seed,
                    "eval_fraction": EVAL_FRACTION,
                },
                provenance={
                    "distinct_sources": size,
                    "source_minutes": round(sum(len(t.event_ids) / 4 / t.qpm for t in chosen), 2),
                    "substyles": dict(sorted(Counter(substyles).items())),
                    "windows_overlap": False,
                    "split": "by track: no track is in both train and eval",
                },
                sections=[track.sidecar() for track in chosen],
            )
        )
    return written
