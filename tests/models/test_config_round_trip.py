"""One config protocol for every model family, as keras-hub tests its models: a preset's
config survives `to_dict` → `from_dict`, and a model survives save → load with the same output."""

import dataclasses

import keras
import numpy as np
import pytest

from drumeval.errors import ModelError
from drumeval.models import drums_rnn, music_vae, structured
from drumeval.models.structured_steps import CONDITION_SIZE
from drumeval.registry import MODELS

FAMILIES = {"drums_rnn": drums_rnn, "music_vae": music_vae, "structured": structured}
CASES = [
    pytest.param(name, preset, id=f"{name}-{preset}")
    for name, family in MODELS.items()
    for preset in family.presets
]


def _config_class(module):
    return type(next(iter(module.PRESETS.values())))


def _small(name: str, config):
    """The preset's architecture (attention, decoder kind, lengths) with narrow layers, so
    every preset is saved and loaded in seconds."""
    if name in ("drums_rnn", "structured"):
        return dataclasses.replace(config, rnn_layer_sizes=(8,) * len(config.rnn_layer_sizes))
    return dataclasses.replace(
        config,
        enc_rnn_size=(8,) * len(config.enc_rnn_size),
        dec_rnn_size=(8,) * len(config.dec_rnn_size),
        z_size=4,
    )


def _inputs(name: str, config) -> object:
    """A small deterministic batch; MusicVAE gets its full sequence length (the hierarchical
    decoder needs whole bars of every level)."""
    rng = np.random.default_rng(0)
    if name == "drums_rnn":
        return rng.integers(0, 512, (2, 12)).astype(np.int32)
    if name == "structured":
        return {
            "event_ids": rng.integers(0, 512, (2, 12)).astype(np.int32),
            "conditions": rng.random((2, 12, CONDITION_SIZE)).astype(np.float32),
        }
    steps = config.max_seq_len
    return {
        "event_ids": rng.integers(0, 512, (1, steps)).astype(np.int32),
        "lengths": np.array([steps]),
    }


def _output(name: str, model, inputs) -> np.ndarray:
    out = model(inputs)
    return np.asarray(out["logits"] if name == "music_vae" else out)


def test_every_family_and_preset_is_covered():
    assert set(FAMILIES) == set(MODELS)
    for name, family in MODELS.items():
        assert set(family.presets) <= set(FAMILIES[name].PRESETS)


@pytest.mark.parametrize(("name", "preset"), CASES)
def test_config_dict_round_trip(name, preset):
    config = FAMILIES[name].PRESETS[preset]
    values = config.to_dict()
    assert all(not isinstance(value, tuple) for value in values.values())  # JSON-friendly
    assert _config_class(FAMILIES[name]).from_dict(values) == config


@pytest.mark.parametrize("name", list(FAMILIES))
def test_from_dict_names_an_unknown_hparam(name):
    config_class = _config_class(FAMILIES[name])
    values = next(iter(FAMILIES[name].PRESETS.values())).to_dict()
    with pytest.raises(ModelError, match="not_an_hparam"):
        config_class.from_dict({**values, "not_an_hparam": 1})


@pytest.mark.parametrize(("name", "preset"), CASES)
def test_model_save_load_gives_the_same_output(name, preset, tmp_path):
    """keras-hub's round trip: config → Keras config → model; model → .keras file → model."""
    module = FAMILIES[name]
    config = _small(name, module.PRESETS[preset])
    keras.utils.set_random_seed(3)
    model = getattr(module, MODELS[name].keras_class)(config)
    clone = type(model).from_config(model.get_config())
    assert clone.config == config
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded) is type(model) and loaded.config == config
    inputs = _inputs(name, config)
    np.testing.assert_allclose(
        _output(name, loaded, inputs), _output(name, model, inputs), atol=1e-5
    )
