"""Checkpoints read without Keras (DrumsRNN, MusicVAE) sample exactly what the Keras model does."""

import json
import subprocess
import sys
import zipfile

import jax
import keras
import numpy as np
import pytest

from drumeval import generate as gen
from drumeval.errors import ModelError
from drumeval.models import drums_rnn as dr
from drumeval.models import drums_rnn_sampling as ds
from drumeval.models import light
from drumeval.models import music_vae as mv
from drumeval.models import music_vae_core as mvc
from drumeval.models.checkpoints import load_checkpoint, save_checkpoint
from drumeval.registry import shipped_checkpoints

CARD = {"model": "drums_rnn", "preset": "test", "corpus": "test"}


def _checkpoint(tmp_path, config: dr.DrumsRnnConfig, seed: int = 0):
    keras.utils.set_random_seed(seed)
    return save_checkpoint(dr.DrumsRNN(config), tmp_path / "ckpt", CARD)


def _assert_same_tree(light_weights, keras_weights):
    light_leaves, light_tree = jax.tree_util.tree_flatten(light_weights)
    keras_leaves, keras_tree = jax.tree_util.tree_flatten(keras_weights)
    assert light_tree == keras_tree
    for ours, theirs in zip(light_leaves, keras_leaves, strict=True):
        np.testing.assert_array_equal(ours, np.asarray(theirs))


def _assert_same_params(light_model, keras_model):
    _assert_same_tree(light_model.params(), keras_model.params())


def _assert_same_samples(light_model, keras_model, **kwargs):
    ours = ds.sample(light_model, **kwargs)
    theirs = ds.sample(keras_model, **kwargs)
    np.testing.assert_array_equal(ours, theirs)
    return ours


@pytest.mark.parametrize(
    "layout",
    [
        {"rnn_layer_sizes": (8, 6), "attn_length": 3},
        {"rnn_layer_sizes": (5, 4, 3), "attn_length": 0},  # no attention group in the h5
    ],
)
def test_light_weights_and_samples_equal_the_keras_models(tmp_path, layout):
    directory = _checkpoint(tmp_path, dr.DrumsRnnConfig(**layout))
    light_model, card = light.load_drums_rnn(directory)
    keras_model, _ = load_checkpoint(directory)
    assert card["model"] == "drums_rnn"
    assert light_model.config.rnn_layer_sizes == layout["rnn_layer_sizes"]
    _assert_same_params(light_model, keras_model)
    primer = np.array([1, 0, 2, 0, 5], dtype=np.int32)
    _assert_same_samples(
        light_model, keras_model, num_samples=3, num_steps=24, seed=4, temperature=0.7,
        primer_event_ids=primer,
    )  # fmt: skip


def test_light_steps_score_what_the_keras_models_teacher_forcing_scores(tmp_path):
    """The keras-free step (`drums_rnn_steps`) against `drums_rnn.py`'s own sequence code."""
    directory = _checkpoint(tmp_path, dr.DrumsRnnConfig(rnn_layer_sizes=(8, 6), attn_length=3))
    light_model, _ = light.load_drums_rnn(directory)
    keras_model, _ = load_checkpoint(directory)
    uniforms = np.random.default_rng(0).random((4, 20))  # wraps the 3-slot window many times
    events, scores = ds.sample_from_uniforms(light_model, uniforms)
    np.testing.assert_allclose(dr.log_likelihood(keras_model, events), scores, rtol=1e-5)


def test_every_shipped_drums_rnn_checkpoint_samples_identically():
    shipped = [c for c in shipped_checkpoints() if c.model == "drums_rnn"]
    assert shipped, "no shipped DrumsRNN checkpoint found under checkpoints/drums_rnn"
    for checkpoint in shipped:
        light_model, _ = light.load_drums_rnn(checkpoint.directory)
        keras_model, _ = load_checkpoint(checkpoint.directory)
        _assert_same_params(light_model, keras_model)
        events = _assert_same_samples(
            light_model, keras_model, num_samples=2, num_steps=64, seed=11, temperature=0.9
        )
        assert events.shape == (2, 64) and events[:, 0].tolist() == [1, 1]


def test_generate_loads_drums_rnn_without_keras_and_keeps_its_output(tmp_path):
    directory = _checkpoint(tmp_path, dr.DrumsRnnConfig(rnn_layer_sizes=(8,), attn_length=4))
    model, _ = gen.load_model(directory)
    assert isinstance(model, light.LightDrumsRNN)
    [track] = gen.generate("drums_rnn", checkpoint=directory, num=1, bars=2, seed=5)
    keras_model, _ = load_checkpoint(directory)
    expected = ds.sample(keras_model, num_samples=1, num_steps=32, seed=5)
    np.testing.assert_array_equal(track.event_ids, expected[0])


VAE_CARD = {"model": "music_vae", "preset": "test", "corpus": "test"}
VAE_LAYOUTS = {
    "categorical, two encoder layers": mv.MusicVaeConfig(
        max_seq_len=32, z_size=6, enc_rnn_size=(7, 5), dec_rnn_size=(6, 4)
    ),
    "hierarchical, autoregressive": mv.MusicVaeConfig(
        max_seq_len=32,
        z_size=6,
        enc_rnn_size=(5,),
        dec_rnn_size=(4, 3),
        decoder="hierarchical",
        level_lengths=(2, 16),
        disable_autoregression=False,
    ),
    "hierarchical": mv.MusicVaeConfig(
        max_seq_len=32,
        z_size=6,
        enc_rnn_size=(5,),
        dec_rnn_size=(4,),
        decoder="hierarchical",
        level_lengths=(2, 16),
    ),
}


def _assert_same_vae_weights(light_model, keras_model):
    _assert_same_tree(light_model.weight_tree(), keras_model.weight_tree())


@pytest.mark.parametrize("layout", VAE_LAYOUTS.values(), ids=VAE_LAYOUTS.keys())
def test_light_music_vae_weights_and_generation_equal_the_keras_models(tmp_path, layout):
    keras.utils.set_random_seed(3)
    directory = save_checkpoint(mv.build_model(layout, seed=3), tmp_path / "ckpt", VAE_CARD)
    light_model, card = light.load_music_vae(directory)
    keras_model, _ = load_checkpoint(directory)
    assert card["model"] == "music_vae" and light_model.config == layout
    _assert_same_vae_weights(light_model, keras_model)
    for verb, kwargs in (
        (mvc.sample, {"num_samples": 3, "seed": 4, "temperature": 0.8}),
        (mvc.reconstruct, {"event_ids": np.tile(np.array([1, 0, 4, 0]), (2, 8)), "seed": 2}),
    ):
        np.testing.assert_array_equal(verb(light_model, **kwargs), verb(keras_model, **kwargs))


def test_every_shipped_music_vae_checkpoint_generates_identically():
    shipped = [c for c in shipped_checkpoints() if c.model == "music_vae"]
    assert shipped, "no shipped MusicVAE checkpoint found under checkpoints/music_vae"
    for checkpoint in shipped:
        light_model, _ = light.load_music_vae(checkpoint.directory)
        keras_model, _ = load_checkpoint(checkpoint.directory)
        _assert_same_vae_weights(light_model, keras_model)
        steps = light_model.config.bar_steps * (2 if light_model.config.max_seq_len > 32 else 1)
        kwargs = {"num_samples": 2, "num_steps": steps, "seed": 11, "temperature": 0.9}
        np.testing.assert_array_equal(
            mvc.sample(light_model, **kwargs), mvc.sample(keras_model, **kwargs)
        )


def test_generate_loads_music_vae_without_keras_and_keeps_its_output(tmp_path):
    layout = VAE_LAYOUTS["categorical, two encoder layers"]
    directory = save_checkpoint(mv.build_model(layout, seed=1), tmp_path / "ckpt", VAE_CARD)
    model, _ = gen.load_model(directory)
    assert isinstance(model, light.LightMusicVAE)
    [track] = gen.generate("music_vae", checkpoint=directory, num=1, bars=2, seed=5)
    keras_model, _ = load_checkpoint(directory)
    expected = mvc.sample(keras_model, num_samples=1, num_steps=32, seed=5)
    np.testing.assert_array_equal(track.event_ids, expected[0])


def test_damaged_music_vae_files_raise_model_errors_naming_the_file(tmp_path):
    layout = VAE_LAYOUTS["hierarchical"]
    directory = save_checkpoint(mv.build_model(layout, seed=1), tmp_path / "ckpt", VAE_CARD)
    model_file = directory / "model.keras"
    with zipfile.ZipFile(model_file) as archive:
        config = json.loads(archive.read("config.json"))
    config["config"]["z_size"] = 7
    _rewrite(model_file, "config.json", json.dumps(config).encode())
    with pytest.raises(ModelError, match=r"model\.keras: weight .* has shape"):
        light.load_music_vae(directory)
    config["config"]["decoder"] = "transformer"
    _rewrite(model_file, "config.json", json.dumps(config).encode())
    with pytest.raises(ModelError, match=r"model\.keras: bad MusicVAE config: .*decoder must be"):
        light.load_music_vae(directory)
    with pytest.raises(ModelError, match="holds a MusicVAE, not a DrumsRNN"):
        light.load_drums_rnn(directory)


def _rewrite(model_file, entry: str, data: bytes) -> None:
    with zipfile.ZipFile(model_file) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts[entry] = data
    with zipfile.ZipFile(model_file, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


def test_damaged_files_raise_model_errors_naming_the_file(tmp_path):
    directory = _checkpoint(tmp_path, dr.DrumsRnnConfig(rnn_layer_sizes=(8,), attn_length=4))
    model_file = directory / "model.keras"
    with zipfile.ZipFile(model_file) as archive:
        config = json.loads(archive.read("config.json"))
    config["config"]["rnn_layer_sizes"] = [7]
    _rewrite(model_file, "config.json", json.dumps(config).encode())
    with pytest.raises(ModelError, match=r"model\.keras: weight .* has shape"):
        light.load_drums_rnn(directory)
    _rewrite(model_file, "model.weights.h5", b"not hdf5")
    with pytest.raises(ModelError, match="cannot read the weights"):
        light.load_drums_rnn(directory)
    model_file.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="as a Keras file"):
        light.load_drums_rnn(directory)


PROBE = """
import sys
from drumeval.cli import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    print("EXIT=" + str(stop.code))
heavy = sorted(m for m in ("keras", "tensorflow", "sklearn") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


@pytest.mark.parametrize("model", ["drums_rnn", "music_vae"])
def test_cli_generate_imports_no_keras_tensorflow_or_sklearn(tmp_path, model):
    args = ["generate", "--model", model, "--num", "1", "--bars", "2"]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "EXIT=0" in result.stdout and "HEAVY=\n" in result.stdout, result.stdout + result.stderr
    assert (tmp_path / "track-000.mid").is_file()
