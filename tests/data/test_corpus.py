"""Corpus format, windows, by-source splits and builds."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from drumeval.data.corpus import (
    CORPUS_NAMES,
    Examples,
    arrays_sha256,
    bar_windows,
    choose_eval_sources,
    file_sha256,
    load_corpus,
    subset_keeping_split,
    window_pool,
    windows_to_examples,
    write_corpus,
)
from drumeval.data.jazz_soul import build_jazz_soul, groove_files
from drumeval.data.techno_house import build_techno_house
from drumeval.errors import DatasetError
from tests.data.malformed import hits, meter, smf, tempo

# ---------------------------------------------------------------- stand-in programmed module


@dataclass(frozen=True)
class StandInTrack:
    event_ids: np.ndarray
    substyle: str
    qpm: float
    seed: int

    def sidecar(self) -> dict:
        return {
            "seed": self.seed,
            "substyle": self.substyle,
            "qpm": self.qpm,
            "bars": 60,
            "sections": [{"name": "drop", "start_bar": 0, "num_bars": 60}],
        }


def stand_in_track(seed: int, *, substyle=None, bars: int = 60) -> StandInTrack:
    pattern = np.tile([1, 0, 4, 0], bars * 4).astype(np.int32)  # kick on beats, hat offbeats
    pattern[seed % 16] |= 2
    return StandInTrack(pattern, "techno" if seed % 2 else "house", 120.0 + seed % 10, seed)


@pytest.fixture
def programmed_stand_in(monkeypatch):
    monkeypatch.setattr("drumeval.data.techno_house.generate_programmed_track", stand_in_track)
    return stand_in_track


def tiny_examples(count: int = 4) -> Examples:
    event_ids = np.zeros((count, 960), dtype=np.int32)
    event_ids[:, :32] = np.arange(1, 33)
    return Examples(
        event_ids=event_ids,
        lengths=np.full(count, 32),
        is_eval=np.arange(count) == 0,
        source_index=np.arange(count),
        start_bar=np.zeros(count),
        qpm=np.full(count, 120.0),
    )


# ---------------------------------------------------------------- windows and splits


def test_bar_windows_start_at_every_bar_and_drop_short_ones():
    windows = bar_windows(70)
    assert windows[0] == (0, 60) and windows[10] == (10, 60) and windows[11] == (11, 59)
    assert windows[-1] == (54, 16) and len(windows) == 55
    assert bar_windows(15) == []
    assert bar_windows(130, stride_bars=60) == [(0, 60), (60, 60)]


def test_choose_eval_sources_targets_ten_percent_of_windows():
    is_eval = choose_eval_sources([10] * 10, seed=0)
    assert is_eval.sum() == 1
    weighted = choose_eval_sources([50, 5, 5, 40], seed=3)
    assert np.dot(weighted, [50, 5, 5, 40]) <= 10 and weighted.any()


def test_subsets_keep_the_eval_share_and_nest():
    is_eval = np.arange(100) % 10 == 0
    small = subset_keeping_split(is_eval, 20, seed=1)
    large = subset_keeping_split(is_eval, 50, seed=1)
    assert is_eval[small].sum() == 2 and is_eval[large].sum() == 5
    assert set(small) <= set(large)
    with pytest.raises(DatasetError, match="only 100"):
        subset_keeping_split(is_eval, 101, seed=1)


def test_windows_are_cut_from_their_sources():
    tracks = [np.arange(16 * 20), np.arange(16 * 17) + 1000]
    pool = window_pool([20, 17])
    assert len(pool.source_index) == 5 + 2
    examples = windows_to_examples(
        pool, np.array([1, 6]), tracks, [100.0, 90.0], np.zeros(7, dtype=bool)
    )
    assert examples.lengths.tolist() == [19 * 16, 16 * 16]
    assert examples.event_ids[0, 0] == 16 and examples.event_ids[0, 19 * 16] == 0
    assert examples.event_ids[1, 0] == 1016 and examples.qpm.tolist() == [100.0, 90.0]


# ---------------------------------------------------------------- format


def write_tiny_corpus(directory: Path, sources: list[str] | None = None) -> Path:
    """`tiny_examples()` as a jazz-soul corpus named c, without build notes."""
    return write_corpus(
        directory,
        name="c",
        genre="jazz-soul",
        examples=tiny_examples(),
        sources=sources or [],
        build={},
        provenance={},
    )


def test_hash_covers_contents_dtype_and_shape():
    a = {"x": np.arange(4, dtype=np.int32)}
    assert arrays_sha256(a) == arrays_sha256({"x": np.arange(4, dtype=np.int32)})
    assert arrays_sha256(a) != arrays_sha256({"x": np.arange(4, dtype=np.int64)})
    assert arrays_sha256(a) != arrays_sha256({"x": np.arange(4, dtype=np.int32).reshape(2, 2)})


def test_file_hash_reads_every_block(tmp_path):
    """Checkpoint cards and the sound font's one-shot folder both name files by this hash."""
    data = bytes(range(256)) * 8193  # two 1 MiB blocks and a partial third
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    path.write_bytes(data[:-1])
    assert file_sha256(str(path)) == hashlib.sha256(data[:-1]).hexdigest()


def test_write_then_load_round_trip_and_split(tmp_path):
    write_tiny_corpus(tmp_path / "c", sources=["a", "b", "c", "d"])
    corpus = load_corpus(tmp_path / "c")
    assert corpus.event_ids.dtype == np.int32 and corpus.event_ids[1, 31] == 32
    train_ids, train_lengths = corpus.split("train")
    assert train_ids.shape == (3, 960) and train_lengths.tolist() == [32, 32, 32]
    assert corpus.manifest["counts"] == {"examples": 4, "train": 3, "eval": 1}


def test_same_content_gives_same_hash_in_the_manifest(tmp_path):
    for name in ("one", "two"):
        write_tiny_corpus(tmp_path / name)
    manifests = [json.loads((tmp_path / n / "manifest.json").read_text()) for n in ("one", "two")]
    assert manifests[0] == manifests[1]


def test_load_rejects_missing_and_tampered_corpora(tmp_path):
    with pytest.raises(DatasetError, match="drumeval data build"):
        load_corpus("jazz-soul-700", corpora_dir=tmp_path)
    directory = write_tiny_corpus(tmp_path / "c")
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["counts"]["eval"] = 2
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match="counts"):
        load_corpus(directory)
    write_tiny_corpus(directory)
    good = json.loads((directory / "manifest.json").read_text())
    altered = tiny_examples()
    altered.event_ids[0, 0] = 7
    np.savez_compressed(directory / "examples.npz", **altered.arrays())
    with pytest.raises(DatasetError, match="sha256"):
        load_corpus(directory)
    assert good["sha256"] != arrays_sha256(altered.arrays())


# ---------------------------------------------------------------- builds


def test_techno_house_build_splits_by_track_and_stores_sections(tmp_path, programmed_stand_in):
    ticks = []
    (small, large) = build_techno_house(
        {"th-10": 10, "th-20": 20}, tmp_path, base_seed=5, progress=lambda *t: ticks.append(t)
    )
    assert ticks == [("programmed tracks", done, 20) for done in range(1, 21)]  # made once
    corpus = load_corpus(small)
    assert corpus.genre == "techno-house" and corpus.is_eval.sum() == 1
    assert corpus.lengths.tolist() == [960] * 10 and corpus.qpm[0] == 125.0
    sections = json.loads((small / "sections.json").read_text())
    assert [s["seed"] for s in sections] == list(range(5, 15))
    assert corpus.manifest["sources"][3] == "programmed seed=8 house"
    np.testing.assert_array_equal(load_corpus(large).event_ids[:10], corpus.event_ids)


def write_gmd_like(directory, bars_per_file):
    for index, bars in enumerate(bars_per_file):
        path = directory / "drummer1" / f"{index}_jazz-swing_120_beat_4-4.mid"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(smf(tempo(120), meter(4, 4), hits([36, 51, 38, 51], steps=bars * 16)))
    (directory / "drummer1" / "9_rock-1_120_beat_4-4.mid").write_bytes(b"not used")
    (directory / "drummer1" / "8_soul-1_120_beat_3-4.mid").write_bytes(b"not used")


def test_jazz_soul_build_windows_split_by_file(tmp_path):
    groove = tmp_path / "groove"
    write_gmd_like(groove, [40, 20, 10, 30, 18])
    assert len(groove_files(groove)) == 5
    ticks = []
    (directory,) = build_jazz_soul(
        {"js-20": 20}, tmp_path / "out", groove_dir=groove, progress=lambda *t: ticks.append(t)
    )
    assert ticks == [("GMD files", done, 5) for done in range(1, 6)]
    corpus = load_corpus(directory)
    eval_files = set(corpus.source_index[corpus.is_eval])
    assert not eval_files & set(corpus.source_index[~corpus.is_eval])
    build = corpus.manifest["build"]
    assert build["candidate_windows"] == 25 + 5 + 0 + 15 + 3
    assert corpus.manifest["provenance"]["windows_overlap"] is True
    assert corpus.manifest["counts"]["examples"] == 20
    assert set(corpus.lengths // 16) <= set(range(16, 41))


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_shipped_corpora_are_valid_and_split_by_source(name):
    corpus = load_corpus(name)  # shipped: a missing corpus is a failure, not a skip
    size = int(name.rsplit("-", 1)[1])
    assert corpus.event_ids.shape == (size, 960)
    assert corpus.is_eval.sum() == size // 10
    assert not set(corpus.source_index[corpus.is_eval]) & set(corpus.source_index[~corpus.is_eval])


def test_shipped_700_is_a_subset_of_1500():
    small, large = load_corpus("jazz-soul-700"), load_corpus("jazz-soul-1500")
    windows = {(s, b) for s, b in zip(large.source_index, large.start_bar, strict=True)}
    assert {(s, b) for s, b in zip(small.source_index, small.start_bar, strict=True)} <= windows
