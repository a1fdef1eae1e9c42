"""MusicVAE generation modes (sample, latent walk, interpolate, reconstruct) end to end."""

import json

import numpy as np
import pytest

from drumeval import generate as gen
from drumeval.cli import main
from drumeval.data.midi import load_drum_track, write_midi

TINY = "enc_rnn_size=[16],dec_rnn_size=[16],z_size=8"


def _checkpoint(root, preset):
    from drumeval.models.checkpoints import save_checkpoint
    from drumeval.training.families import build_config, build_model

    model = build_model("music_vae", build_config("music_vae", preset, TINY), seed=1)
    directory = root / preset
    save_checkpoint(model, directory, {"model": "music_vae", "preset": preset, "corpus": "test"})
    return directory


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("mvae")
    return {
        preset: _checkpoint(root, preset) for preset in ("cat-drums_2bar_small", "thesis-longbar")
    }


@pytest.fixture(scope="module")
def two_midi_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    bar = np.zeros(16, dtype=np.int32)
    bar[::4] = 1
    other = np.full(16, 4, dtype=np.int32)
    return write_midi(np.tile(bar, 4), root / "a.mid"), write_midi(
        np.tile(other, 4), root / "b.mid"
    )


def test_two_bar_model_builds_60_bars_by_latent_walk(checkpoints):
    tracks = gen.generate(
        "music_vae", checkpoint=checkpoints["cat-drums_2bar_small"], num=2, seed=3
    )
    again = gen.generate("music_vae", checkpoint=checkpoints["cat-drums_2bar_small"], num=2, seed=3)
    assert [len(t.event_ids) for t in tracks] == [960, 960]
    assert tracks[0].extra["method"].startswith("latent walk")
    assert isinstance(tracks[0].extra["near_empty"], bool)
    for a, b in zip(tracks, again, strict=True):
        np.testing.assert_array_equal(a.event_ids, b.event_ids)
    assert not np.array_equal(tracks[0].event_ids, tracks[1].event_ids)


def test_long_model_samples_from_the_prior(checkpoints):
    [track] = gen.generate("music_vae", checkpoint=checkpoints["thesis-longbar"], bars=60, seed=0)
    assert len(track.event_ids) == 960 and track.extra["method"] == "prior sample"


def test_interpolate_from_the_cli_as_files_and_as_one_track(checkpoints, two_midi_files, tmp_path):
    base = [
        "generate",
        "--model",
        "music_vae",
        "--mode",
        "interpolate",
        "--checkpoint",
        str(checkpoints["cat-drums_2bar_small"]),
        "--num-interpolations",
        "4",
        "--input",
        str(two_midi_files[0]),
        "--input",
        str(two_midi_files[1]),
    ]
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "--out", str(tmp_path / "files")])
    assert exit_info.value.code == 0
    assert len(list((tmp_path / "files").glob("*.mid"))) == 4
    with pytest.raises(SystemExit):
        main([*base, "--out", str(tmp_path / "joined"), "--join"])
    [joined] = list((tmp_path / "joined").glob("*.mid"))
    assert len(load_drum_track(joined).event_ids) == 4 * 32
    [sidecar] = list((tmp_path / "joined" / gen.META_DIR).glob("*.json"))
    assert json.loads(sidecar.read_text())["joined_tracks"] == 4


def test_reconstruct_and_mode_errors(checkpoints, two_midi_files):
    inputs = [load_drum_track(path).event_ids for path in two_midi_files]
    tracks = gen.generate(
        "music_vae", checkpoint=checkpoints["thesis-longbar"], mode="reconstruct", inputs=inputs
    )
    assert [t.mode for t in tracks] == ["reconstruct", "reconstruct"]
    with pytest.raises(gen.ModelError, match="exactly 2"):
        gen.generate(
            "music_vae",
            checkpoint=checkpoints["thesis-longbar"],
            mode="interpolate",
            inputs=inputs[:1],
        )
    with pytest.raises(gen.ModelError, match="needs input MIDI"):
        gen.generate("music_vae", checkpoint=checkpoints["thesis-longbar"], mode="reconstruct")
