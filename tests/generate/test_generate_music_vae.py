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


def test_the_plan_reads_sampling_from_the_checkpoint_config(checkpoints):
    """Latent walk or prior sample follows the checkpoint's own max_seq_len, whatever its
    preset is called."""
    walk = gen.plan_generation("music_vae", checkpoint=checkpoints["cat-drums_2bar_small"])
    prior = gen.plan_generation("music_vae", checkpoint=checkpoints["thesis-longbar"], bars=60)
    assert (walk.method, walk.segment_bars, walk.decodes_whole_tracks) == ("latent walk", 2, False)
    assert (prior.method, prior.segment_bars, prior.decodes_whole_tracks) == (
        "prior sample",
        60,
        True,
    )
    card_path = checkpoints["thesis-longbar"] / "card.json"
    card = json.loads(card_path.read_text())
    renamed = {**card, "preset": "cat-drums_2bar_small", "hparams": {"max_seq_len": 32}}
    card_path.write_text(json.dumps(renamed))
    try:
        from_card = gen.plan_generation("music_vae", checkpoint=checkpoints["thesis-longbar"])
    finally:
        card_path.write_text(json.dumps(card))
    assert (from_card.method, from_card.segment_bars) == ("latent walk", 2)


def test_shipped_plans_choose_their_mode_from_their_config():
    two_bar = gen.plan_generation(
        "music_vae", preset="cat-drums_2bar_small", corpus="techno-house-1500", bars=60
    )
    long = gen.plan_generation(
        "music_vae", preset="thesis-longbar", corpus="techno-house-700", bars=60
    )
    assert (two_bar.method, two_bar.segment_bars) == ("latent walk", 2)
    assert (long.method, long.segment_bars) == ("prior sample", 60)


def test_an_interpolation_plan_needs_two_inputs(checkpoints):
    plan = gen.plan_generation("music_vae", checkpoint=checkpoints["thesis-longbar"])
    with pytest.raises(gen.ModelError, match="exactly 2"):
        plan.interpolating([np.zeros(16, np.int32)], num_interpolations=3)
    blended = plan.interpolating([np.zeros(16, np.int32)] * 2, num_interpolations=3)
    assert (blended.mode, blended.num_interpolations, blended.seed) == ("interpolate", 3, plan.seed)
