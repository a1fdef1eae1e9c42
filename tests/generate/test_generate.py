"""The generation entry point on a tiny DrumsRNN checkpoint made in the test."""

import json

import numpy as np
import pytest

from drumeval import generate as gen
from drumeval.errors import CheckpointNotFoundError, ModelError, ParameterError


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from drumeval.models.checkpoints import save_checkpoint
    from drumeval.training.families import build_config, build_model

    config = build_config("drums_rnn", "thesis", "rnn_layer_sizes=[8],attn_length=4")
    model = build_model("drums_rnn", config, seed=3)
    directory = tmp_path_factory.mktemp("ckpt") / "tiny"
    save_checkpoint(model, directory, {"model": "drums_rnn", "preset": "thesis", "corpus": "test"})
    return directory


def test_generate_is_deterministic_per_seed(tiny_checkpoint):
    first = gen.generate("drums_rnn", checkpoint=tiny_checkpoint, num=2, bars=4, seed=7)
    again = gen.generate("drums_rnn", checkpoint=tiny_checkpoint, num=2, bars=4, seed=7)
    other = gen.generate("drums_rnn", checkpoint=tiny_checkpoint, num=2, bars=4, seed=8)
    assert [t.event_ids.shape for t in first] == [(64,), (64,)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.event_ids, b.event_ids)
    assert not all(
        np.array_equal(a.event_ids, b.event_ids) for a, b in zip(first, other, strict=True)
    )
    assert first[0].event_ids[0] == 1  # Magenta's default primer: one kick
    assert first[0].sidecar()["checkpoint_sha256"]


def test_write_tracks_round_trips_and_hides_sidecars(tiny_checkpoint, tmp_path):
    from drumeval.data.midi import load_drum_track

    tracks = gen.generate(
        "drums_rnn",
        checkpoint=tiny_checkpoint,
        num=1,
        bars=4,
        seed=1,
        primer_event_ids=np.array([1, 0, 4, 0]),
    )
    [path] = gen.write_tracks(tracks, tmp_path)
    np.testing.assert_array_equal(tracks[0].event_ids[:4], [1, 0, 4, 0])
    loaded = load_drum_track(path)
    np.testing.assert_array_equal(loaded.event_ids[: len(tracks[0].event_ids)], tracks[0].event_ids)
    assert loaded.qpm == pytest.approx(120.0)
    sidecar = json.loads((tmp_path / gen.META_DIR / f"{path.stem}.json").read_text())
    assert sidecar["model"] == "drums_rnn" and sidecar["seed"] == 1 and sidecar["primer_steps"] == 4
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == [path.name]


def test_written_names_reveal_nothing_and_never_overwrite(tiny_checkpoint, tmp_path):
    tracks = gen.generate("drums_rnn", checkpoint=tiny_checkpoint, num=2, bars=4, seed=3)
    first = gen.write_tracks(tracks, tmp_path)
    second = gen.write_tracks(tracks[:1], tmp_path)
    names = [path.name for path in first + second]
    assert names == ["track-000.mid", "track-001.mid", "track-002.mid"]
    assert not any("drums_rnn" in name or "3" in name.split("-")[0] for name in names)
    sidecars = sorted(path.name for path in (tmp_path / gen.META_DIR).iterdir())
    assert sidecars == ["track-000.json", "track-001.json", "track-002.json"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num": 0}, "^num must be between 1 and 256, got 0$"),
        ({"bars": 0}, "^bars must be between 1 and 240, got 0$"),
        ({"temperature": 0.0}, r"^temperature must be in \(0, 10\], got 0.0$"),
        ({"beam_size": 0}, "^beam_size must be ≥ 1, got 0$"),
        ({"mode": "interpolate"}, "DrumsRNN can only sample"),
    ],
)
def test_bad_requests_are_named_errors(tiny_checkpoint, kwargs, message):
    with pytest.raises(ModelError, match=message):
        gen.generate("drums_rnn", checkpoint=tiny_checkpoint, **kwargs)


def test_missing_checkpoints_say_what_exists(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="available"):
        gen.shipped_checkpoint("drums_rnn", "no-such-corpus")
    with pytest.raises(CheckpointNotFoundError):
        gen.generate("drums_rnn", checkpoint=tmp_path)
    with pytest.raises(ModelError, match="unknown model"):
        gen.generate("wavenet")


def test_checkpoint_of_other_model_is_refused(tiny_checkpoint):
    with pytest.raises(ModelError, match="holds a drums_rnn model"):
        gen.generate("music_vae", checkpoint=tiny_checkpoint)


def test_a_plan_validates_parameters_by_name(tiny_checkpoint):
    with pytest.raises(ParameterError, match=r"temperature must be in \(0, 10\], got 12") as error:
        gen.plan_generation("drums_rnn", checkpoint=tiny_checkpoint, temperature=12)
    assert error.value.parameter == "temperature" and "--" not in str(error.value)
    plan = gen.plan_generation("drums_rnn", checkpoint=tiny_checkpoint, temperature=7, bars=4)
    assert (plan.method, plan.segment_bars, plan.num_steps, plan.temperature) == (
        "sample",
        None,
        64,
        7.0,
    )
    assert plan.card["model"] == "drums_rnn" and not plan.decodes_whole_tracks


def test_a_plan_is_frozen_and_reruns_identically(tiny_checkpoint):
    import dataclasses

    plan = gen.plan_generation("drums_rnn", checkpoint=tiny_checkpoint, bars=4, seed=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.seed = 3  # type: ignore[misc]
    first, again = gen.execute(plan), gen.execute(plan)
    np.testing.assert_array_equal(first[0].event_ids, again[0].event_ids)
    other = gen.execute(plan.with_seed(3))
    assert other[0].seed == 3 and plan.with_seed(3).checkpoint == plan.checkpoint


def test_a_shipped_request_is_resolved_once(monkeypatch):
    """One registry look-up per request: the clip pipeline plans once and executes the plan."""
    from drumeval import clips

    calls = []
    real = gen.find_shipped
    monkeypatch.setattr(gen, "find_shipped", lambda *args: calls.append(args) or real(*args))
    condition = clips.Condition("drums_rnn", "thesis", "techno-house", 700, 1.0, 4, 11)
    event_ids, provenance = clips.sample_event_ids(clips.plan(condition))
    assert len(calls) == 1 and len(event_ids) == 64
    assert provenance["checkpoint"].endswith("drums_rnn/thesis/techno-house-700")
    calls.clear()
    clips.make_clip(condition)
    assert len(calls) == 1
