"""A hierarchical MusicVAE continued with autoregression starts as the model it came from."""

import dataclasses

import numpy as np

from drumeval.models.music_vae import MusicVAE
from drumeval.models.music_vae_core import PRESETS
from drumeval.training.recipes import _fitted_values

_SMALL = dataclasses.replace(
    PRESETS["hier-60bar"],
    enc_rnn_size=(8,),
    dec_rnn_size=(6, 5),
    z_size=4,
    level_lengths=(3, 16),
    max_seq_len=48,
    disable_autoregression=True,
)


def _models(seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    source = MusicVAE(_SMALL)
    keras.utils.set_random_seed(seed + 1)
    continued = MusicVAE(dataclasses.replace(_SMALL, disable_autoregression=False))
    return source, continued


def _tracks(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 512, size=(2, 48)).astype(np.int32)


def test_the_widened_conductor_plays_exactly_as_the_model_it_continues():
    source, continued = _models()
    for variable, value in zip(continued.weights, _fitted_values(continued, source), strict=True):
        variable.assign(value)
    inputs = {"event_ids": _tracks(3), "lengths": np.full((2,), 48, np.int32)}
    before, after = source(inputs), continued(inputs)
    assert set(before) == set(after) == {"mu", "sigma", "logits"}
    for name in before:  # the teacher-forced logits of every bar, bar 2 and 3 included
        np.testing.assert_allclose(after[name], before[name], rtol=1e-5, atol=1e-6)


def test_only_the_conductors_input_rows_grow_and_they_start_at_zero():
    source, continued = _models()
    fitted = _fitted_values(continued, source)
    assert [value.shape for value in fitted] == [tuple(v.shape) for v in continued.weights]
    grown = [
        i
        for i, (old, new) in enumerate(zip(source.weights, fitted, strict=True))
        if tuple(old.shape) != new.shape
    ]
    assert len(grown) == 1
    kernel = fitted[grown[0]]
    state_width = 2 * sum(_SMALL.dec_rnn_size)
    assert not kernel[:state_width].any()
    np.testing.assert_array_equal(kernel[state_width:], np.asarray(source.weights[grown[0]])[1:])


def test_models_of_the_same_shape_are_left_as_they_are():
    source, _ = _models()
    import keras

    keras.utils.set_random_seed(5)
    twin = MusicVAE(_SMALL)
    for old, new in zip(source.weights, _fitted_values(twin, source), strict=True):
        np.testing.assert_array_equal(new, np.asarray(old))
