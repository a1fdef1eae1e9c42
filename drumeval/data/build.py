"""Build the four standard corpora (both genres, 700 and 1500 examples)."""

from collections.abc import Sequence
from pathlib import Path

from drumeval.data import jazz_soul
from drumeval.data.corpus import CORPUS_NAMES
from drumeval.data.techno_house import build_techno_house
from drumeval.errors import DatasetError
from drumeval.paths import corpora_dir
from drumeval.progress import ProgressCallback


def corpus_sizes(names: Sequence[str], genre: str) -> dict[str, int]:
    """{name: size} for the standard corpora of one genre among `names`."""
    return {name: int(name.rsplit("-", 1)[1]) for name in names if name.startswith(genre + "-")}


def build_corpora(
    names: Sequence[str] = CORPUS_NAMES,
    out_dir: str | Path | None = None,
    *,
    groove_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """Build the named standard corpora into `out_dir` (default `paths.corpora_dir()`);
    returns their directories. `progress` hears each stage in turn: the programmed tracks
    generated, then the GMD files read."""
    unknown = sorted(set(names) - set(CORPUS_NAMES))
    if unknown:
        raise DatasetError(f"unknown corpus {', '.join(unknown)}; choose from {CORPUS_NAMES}")
    out_dir = out_dir or corpora_dir()
    written = []
    techno = corpus_sizes(names, "techno-house")
    if techno:
        written += build_techno_house(techno, out_dir, progress=progress)
    jazz = corpus_sizes(names, "jazz-soul")
    if jazz:
        written += jazz_soul.build_jazz_soul(
            jazz, out_dir, groove_dir=groove_dir, progress=progress
        )
    return written
