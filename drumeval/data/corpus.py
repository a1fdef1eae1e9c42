"""Training corpora on disk: `data/corpora/<name>/{examples.npz, manifest.json}`.

Each corpus is N examples of at most 960 steps (60 bars), zero-padded, with a 90/10
train/eval split made *by source* (a GMD file, a programmed track, a Lakh file) so no
source leaks into both halves. The manifest records where every example came from and
a sha256 over the array contents (not the zip bytes, which carry timestamps), so two
builds of the same corpus give the same hash and `load_corpus` can prove the arrays are
the ones the manifest describes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from drumeval.data.drum_classes import DEFAULT_BARS, DEFAULT_STEPS, STEPS_PER_BAR
from drumeval.errors import DatasetError
from drumeval.paths import corpora_dir as default_corpora_dir
from drumeval.registry import CORPUS_NAMES, GENRE_NAMES

FORMAT_VERSION = 1
GENRES = GENRE_NAMES  # the registry's genres and corpora, the builders' vocabulary
EXAMPLES_FILE = "examples.npz"
MANIFEST_FILE = "manifest.json"
SECTIONS_FILE = "sections.json"
EVAL_FRACTION = 0.1
MIN_WINDOW_BARS = 16
TECHNO_HOUSE_BASE_SEED = 10_000
REBUILD_HINT = "rebuild it with `drumeval data build`"
ARRAY_DTYPES = {
    "event_ids": np.uint16,
    "lengths": np.int32,
    "is_eval": np.bool_,
    "source_index": np.int32,
    "start_bar": np.int32,
    "qpm": np.float32,
}


@dataclass(frozen=True)
class Examples:
    """The arrays of a corpus, as stored (one row per example)."""

    event_ids: np.ndarray  # [N, 960] zero-padded
    lengths: np.ndarray  # [N] steps
    is_eval: np.ndarray  # [N]
    source_index: np.ndarray  # [N] index into the manifest's sources
    start_bar: np.ndarray  # [N] first bar of the window inside its source
    qpm: np.ndarray  # [N] tempo of the source

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays in their stored dtypes, in a fixed order (the hash depends on it)."""
        return {
            name: np.ascontiguousarray(getattr(self, name), dtype=dtype)
            for name, dtype in ARRAY_DTYPES.items()
        }

    def take(self, indices: np.ndarray) -> Examples:
        """The examples at `indices`, in that order."""
        return Examples(**{name: getattr(self, name)[indices] for name in ARRAY_DTYPES})


@dataclass(frozen=True)
class Corpus:
    """A loaded corpus; event ids are int32 for the models."""

    name: str
    genre: str
    manifest: dict
    event_ids: np.ndarray
    lengths: np.ndarray
    is_eval: np.ndarray
    source_index: np.ndarray | None = None
    start_bar: np.ndarray | None = None
    qpm: np.ndarray | None = None

    def split(self, which: Literal["train", "eval"]) -> tuple[np.ndarray, np.ndarray]:
        """(event_ids, lengths) of the train or eval split."""
        if which not in ("train", "eval"):
            raise DatasetError(f"split must be 'train' or 'eval', not {which!r}")
        mask = self.is_eval if which == "eval" else ~self.is_eval
        return self.event_ids[mask], self.lengths[mask]


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks (a sound font is 148 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over each array's name, dtype, shape and bytes, in the given order."""
    digest = hashlib.sha256()
    for name, array in arrays.items():
        contiguous = np.ascontiguousarray(array)
        header = f"{name}|{contiguous.dtype.str}|{contiguous.shape}|"
        digest.update(header.encode())
        digest.update(contiguous.tobytes())
    return digest.hexdigest()


def bar_windows(
    num_bars: int,
    *,
    window_bars: int = DEFAULT_BARS,
    min_bars: int = MIN_WINDOW_BARS,
    stride_bars: int = 1,
) -> list[tuple[int, int]]:
    """(start bar, bars) of each window: one per `stride_bars`, min(window, remaining) long.

    Windows shorter than `min_bars` are dropped: too short to teach long-term structure.
    """
    windows = []
    for start in range(0, num_bars, stride_bars):
        length = min(window_bars, num_bars - start)
        if length >= min_bars:
            windows.append((start, length))
    return windows


def choose_eval_sources(
    windows_per_source: Sequence[int], *, seed: int, eval_fraction: float = EVAL_FRACTION
) -> np.ndarray:
    """bool [num_sources]: a seeded set of sources holding ≈ `eval_fraction` of all windows.

    Sources are visited in a seeded random order and taken while they fit under the
    target, so the split is by source (no leakage) yet close to the wanted share even when
    sources have very different numbers of windows.
    """
    counts = np.asarray(windows_per_source, dtype=np.int64)
    target = eval_fraction * counts.sum()
    is_eval = np.zeros(len(counts), dtype=bool)
    taken = 0
    for source in np.random.default_rng(seed).permutation(len(counts)):
        if counts[source] and taken + counts[source] <= target:
            is_eval[source] = True
            taken += counts[source]
    return is_eval


def subset_keeping_split(is_eval: np.ndarray, size: int, *, seed: int) -> np.ndarray:
    """Sorted indices of a seeded `size`-example subset with the pool's eval share.

    Both halves are taken as prefixes of one seeded permutation each, so a smaller subset
    is always contained in a larger one built with the same seed.
    """
    is_eval = np.asarray(is_eval, dtype=bool)
    if size > len(is_eval):
        raise DatasetError(f"asked for {size} examples but the pool has only {len(is_eval)}")
    num_eval = round(size * is_eval.mean())
    rng = np.random.default_rng(seed)
    eval_pool = rng.permutation(np.flatnonzero(is_eval))
    train_pool = rng.permutation(np.flatnonzero(~is_eval))
    return np.sort(np.concatenate([eval_pool[:num_eval], train_pool[: size - num_eval]]))


@dataclass(frozen=True)
class WindowPool:
    """Every candidate window of every source track."""

    source_index: np.ndarray  # [W]
    start_bar: np.ndarray  # [W]
    num_bars: np.ndarray  # [W]


def window_pool(
    bars_per_source: Sequence[int], *, window_bars: int = DEFAULT_BARS, stride_bars: int = 1
) -> WindowPool:
    """All bar-aligned windows of all sources (see `bar_windows`)."""
    rows = [
        (source, start, bars)
        for source, num_bars in enumerate(bars_per_source)
        for start, bars in bar_windows(num_bars, window_bars=window_bars, stride_bars=stride_bars)
    ]
    source, start, bars = np.array(rows, dtype=np.int32).reshape(-1, 3).T
    return WindowPool(source_index=source, start_bar=start, num_bars=bars)


def covered_minutes(pool: WindowPool, indices: np.ndarray, qpms: Sequence[float]) -> float:
    """Minutes of source music inside the union of the chosen windows (overlaps once)."""
    covered: dict[int, set[int]] = {}
    for index in indices:
        source, start = int(pool.source_index[index]), int(pool.start_bar[index])
        covered.setdefault(source, set()).update(range(start, start + int(pool.num_bars[index])))
    return sum(len(bars) * 4 / qpms[source] for source, bars in covered.items())


def windows_to_examples(
    pool: WindowPool,
    chosen: np.ndarray,
    tracks: Sequence[np.ndarray],
    qpms: Sequence[float],
    pool_is_eval: np.ndarray,
) -> Examples:
    """The chosen windows cut out of their source tracks' event ids, padded to 960 steps."""
    starts = pool.start_bar[chosen] * STEPS_PER_BAR
    ends = starts + pool.num_bars[chosen] * STEPS_PER_BAR
    sources = pool.source_index[chosen]
    return Examples(
        event_ids=pad_examples(
            [tracks[s][a:b] for s, a, b in zip(sources, starts, ends, strict=True)]
        ),
        lengths=ends - starts,
        is_eval=pool_is_eval[chosen],
        source_index=sources,
        start_bar=pool.start_bar[chosen],
        qpm=np.asarray(qpms, dtype=np.float64)[sources],
    )


def window_provenance(examples: Examples, minutes: float, *, overlap: bool) -> dict:
    """What really backs a windowed corpus: distinct sources per split and minutes of music."""
    sources = examples.source_index
    return {
        "distinct_source_files": len(np.unique(sources)),
        "distinct_train_files": len(np.unique(sources[~examples.is_eval])),
        "distinct_eval_files": len(np.unique(sources[examples.is_eval])),
        "source_minutes": round(minutes, 2),
        "windows_overlap": overlap,
        "split": "by source file: no file is in both train and eval",
    }


def pad_examples(tracks: Sequence[np.ndarray], steps: int = DEFAULT_STEPS) -> np.ndarray:
    """[N, steps] int32, each track cut to `steps` and zero-padded after it."""
    padded = np.zeros((len(tracks), steps), dtype=np.int32)
    for row, track in enumerate(tracks):
        padded[row, : min(len(track), steps)] = track[:steps]
    return padded


def write_corpus(
    directory: str | Path,
    *,
    name: str,
    genre: str,
    examples: Examples,
    sources: Sequence[str],
    build: dict,
    provenance: dict,
    sections: list | None = None,
) -> Path:
    """Write examples.npz + manifest.json (+ sections.json); returns the directory."""
    if genre not in GENRES:
        raise DatasetError(f"genre must be one of {GENRES}, not {genre!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = examples.arrays()
    np.savez_compressed(directory / EXAMPLES_FILE, **arrays)
    num_eval = int(arrays["is_eval"].sum())
    manifest = {
        "name": name,
        "genre": genre,
        "format_version": FORMAT_VERSION,
        "counts": {
            "examples": len(arrays["lengths"]),
            "train": len(arrays["lengths"]) - num_eval,
            "eval": num_eval,
        },
        "steps_per_example": DEFAULT_STEPS,
        "steps_per_bar": STEPS_PER_BAR,
        "arrays": {key: str(np.dtype(dtype)) for key, dtype in ARRAY_DTYPES.items()},
        "sha256": arrays_sha256(arrays),
        "build": build,
        "provenance": provenance,
        "sources": list(sources),
    }
    if sections is not None:
        lines = (json.dumps(item, separators=(",", ":")) for item in sections)
        (directory / SECTIONS_FILE).write_text("[\n" + ",\n".join(lines) + "\n]\n")
        manifest["sections_file"] = SECTIONS_FILE
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return directory


def resolve_corpus_dir(name_or_dir: str | Path, corpora_dir: str | Path | None = None) -> Path:
    """A corpus directory from a name (under `paths.corpora_dir()`) or a path."""
    path = Path(name_or_dir)
    if (path / MANIFEST_FILE).exists() or path.is_dir():
        return path
    return Path(corpora_dir or default_corpora_dir()) / str(name_or_dir)


def load_corpus(name_or_dir: str | Path, *, corpora_dir: str | Path | None = None) -> Corpus:
    """Load a corpus and check its arrays against its manifest (DatasetError with a fix)."""
    directory = resolve_corpus_dir(name_or_dir, corpora_dir)
    manifest_path, examples_path = directory / MANIFEST_FILE, directory / EXAMPLES_FILE
    if not manifest_path.exists() or not examples_path.exists():
        raise DatasetError(
            f"corpus {str(name_or_dir)!r} not found at {directory}; {REBUILD_HINT}"
            + (f" --corpus {name_or_dir}" if str(name_or_dir) in CORPUS_NAMES else "")
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        with np.load(examples_path) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError) as error:
        raise DatasetError(
            f"corpus at {directory} is unreadable ({error}); {REBUILD_HINT}"
        ) from error
    validate_corpus(manifest, arrays, directory)
    return Corpus(
        name=manifest["name"],
        genre=manifest["genre"],
        manifest=manifest,
        event_ids=arrays["event_ids"].astype(np.int32),
        lengths=arrays["lengths"].astype(np.int32),
        is_eval=arrays["is_eval"].astype(bool),
        source_index=arrays["source_index"],
        start_bar=arrays["start_bar"],
        qpm=arrays["qpm"],
    )


def validate_corpus(manifest: dict, arrays: dict[str, np.ndarray], directory: Path) -> None:
    """Raise DatasetError on the first mismatch between manifest and arrays."""

    def fail(problem: str) -> DatasetError:
        return DatasetError(f"corpus at {directory}: {problem}; {REBUILD_HINT}")

    if manifest.get("format_version") != FORMAT_VERSION:
        raise fail(f"format version {manifest.get('format_version')!r}, expected {FORMAT_VERSION}")
    missing = [key for key in ARRAY_DTYPES if key not in arrays]
    if missing:
        raise fail(f"examples.npz lacks {', '.join(missing)}")
    count = len(arrays["lengths"])
    if arrays["event_ids"].shape != (count, manifest.get("steps_per_example", DEFAULT_STEPS)):
        raise fail(f"event_ids has shape {arrays['event_ids'].shape}, expected ({count}, 960)")
    if any(len(arrays[key]) != count for key in ARRAY_DTYPES):
        raise fail("arrays have different numbers of examples")
    counts = manifest.get("counts", {})
    if counts.get("examples") != count or counts.get("eval") != int(arrays["is_eval"].sum()):
        raise fail(f"manifest counts {counts} do not match the {count} stored examples")
    lengths = arrays["lengths"]
    if (lengths % STEPS_PER_BAR).any() or (lengths <= 0).any() or (lengths > DEFAULT_STEPS).any():
        raise fail("example lengths must be whole bars between 1 and 60")
    if arrays_sha256({key: arrays[key] for key in ARRAY_DTYPES}) != manifest.get("sha256"):
        raise fail("array contents do not match the manifest's sha256")
