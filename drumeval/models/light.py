"""Checkpoints read without Keras: a DrumsRNN as plain arrays, sampled by the pure JAX code.

`drumeval generate` used to spend most of its cold start importing Keras (which pulls in
scikit-learn), rebuilding the Keras model and tracing its layers, while the sampling itself
takes a tenth of a second. A `.keras` file is a zip of `config.json` (the model's
hparams) and `model.weights.h5` (each layer's weights under `<layer path>/vars/<i>`, in
the order the layer created them), so h5py — which Keras depends on anyway — reads the
weights directly, and `drums_rnn_sampling` only needs `config` and `params()` of a model.
Same checkpoint and arguments → the same event ids as the Keras model (tested).
"""

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from drumeval.data.drum_classes import NUM_DRUM_EVENTS
from drumeval.data.encoding import DRUMS_RNN_INPUT_SIZE
from drumeval.errors import ModelError
from drumeval.models.checkpoints import checkpoint_files
from drumeval.models.drums_rnn_steps import ATTENTION_WEIGHTS, StepLayout

CONFIG_ENTRY = "config.json"
WEIGHTS_ENTRY = "model.weights.h5"
_CELL_GROUP = re.compile(r"magenta_lstm_cell(?:_(\d+))?")


@dataclass(frozen=True)
class KerasFile:
    """The parts of a `.keras` file: model class, its `get_config()`, weights by h5 path."""

    class_name: str
    config: dict[str, Any]
    weights: dict[str, np.ndarray]


@dataclass(frozen=True)
class LightDrumsRNN:
    """A DrumsRNN's layout and weights, enough for `drums_rnn_sampling` (no Keras model)."""

    config: StepLayout
    weights: dict[str, Any]

    def params(self) -> dict[str, Any]:
        """The weight pytree in `DrumsRNN.params()` form."""
        return self.weights


def model_class(model_file: Path) -> str:
    """The class name a `.keras` file was saved from (reads only its `config.json`)."""
    return _read_config(model_file)["class_name"]


def read_keras_file(model_file: Path) -> KerasFile:
    """Read a Keras 3 `.keras` zip: its model class, config and every weight array."""
    entry = _read_config(model_file)
    config = entry.get("config")
    if not isinstance(config, dict):
        raise ModelError(f"{model_file}: {CONFIG_ENTRY} has no model config")
    return KerasFile(entry["class_name"], config, _read_weights(model_file))


def load_drums_rnn(directory: str | Path) -> tuple[LightDrumsRNN, dict[str, Any]]:
    """`(model, card)` of a DrumsRNN checkpoint directory, read without Keras."""
    model_file, card = checkpoint_files(directory)
    saved = read_keras_file(model_file)
    if saved.class_name != "DrumsRNN":
        raise ModelError(f"{model_file} holds a {saved.class_name}, not a DrumsRNN")
    return drums_rnn_from_keras_file(saved, model_file), card


def drums_rnn_from_keras_file(saved: KerasFile, model_file: Path) -> LightDrumsRNN:
    """Arrange a DrumsRNN's h5 weights as `DrumsRNN.params()`, checking every shape."""
    try:
        sizes = tuple(int(size) for size in saved.config["rnn_layer_sizes"])
        attn_length = int(saved.config["attn_length"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{model_file}: DrumsRNN config lacks layer sizes: {error}") from None
    if not sizes or min(sizes) < 1 or attn_length < 0:
        raise ModelError(f"{model_file}: bad DrumsRNN layout {sizes}, attn_length {attn_length}")
    weights = saved.weights
    expected: dict[str, tuple[int, ...]] = {}
    attention = None
    if attn_length:
        units = sizes[0]
        shapes = (
            (DRUMS_RNN_INPUT_SIZE + units, DRUMS_RNN_INPUT_SIZE),
            (DRUMS_RNN_INPUT_SIZE,),
            (2 * units, units),
            (units,),
            (units, units),
            (units,),
            (2 * units, units),
            (units,),
        )
        keys = [f"attention/vars/{index}" for index in range(len(ATTENTION_WEIGHTS))]
        expected.update(zip(keys, shapes, strict=True))
        attention = {
            name: weights.get(key) for name, key in zip(ATTENTION_WEIGHTS, keys, strict=True)
        }
    cell_groups = _cell_groups(weights)
    if len(cell_groups) != len(sizes):
        raise ModelError(
            f"{model_file}: {len(cell_groups)} LSTM layers stored, config says {len(sizes)}"
        )
    cells = []
    for group, units, input_size in zip(
        cell_groups, sizes, (DRUMS_RNN_INPUT_SIZE, *sizes[:-1]), strict=True
    ):
        expected[f"{group}/vars/0"] = (input_size + units, 4 * units)
        expected[f"{group}/vars/1"] = (4 * units,)
        cells.append(
            {"kernel": weights.get(f"{group}/vars/0"), "bias": weights.get(f"{group}/vars/1")}
        )
    expected["vars/0"] = (sizes[-1], NUM_DRUM_EVENTS)
    expected["vars/1"] = (NUM_DRUM_EVENTS,)
    for key, shape in expected.items():
        if key not in weights:
            raise ModelError(f"{model_file}: weight {key} is missing")
        if weights[key].shape != shape:
            raise ModelError(
                f"{model_file}: weight {key} has shape {weights[key].shape}, expected {shape}"
            )
    unexpected = sorted(set(weights) - set(expected))
    if unexpected:
        raise ModelError(f"{model_file}: unexpected weights {', '.join(unexpected)}")
    params = {
        "attention": attention,
        "cells": cells,
        "logits": {"kernel": weights["vars/0"], "bias": weights["vars/1"]},
    }
    return LightDrumsRNN(StepLayout(sizes, attn_length), params)


def _cell_groups(weights: dict[str, np.ndarray]) -> list[str]:
    """`cells/magenta_lstm_cell`, `…_1`, `…_2`… in layer order (numeric, not text order)."""
    groups = {key.split("/")[1] for key in weights if key.startswith("cells/")}
    numbered = []
    for group in groups:
        match = _CELL_GROUP.fullmatch(group)
        if match is None:
            raise ModelError(f"unexpected LSTM layer group cells/{group}")
        numbered.append((int(match.group(1) or 0), f"cells/{group}"))
    return [name for _, name in sorted(numbered)]


def _read_config(model_file: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(model_file) as archive:
            entry = json.loads(archive.read(CONFIG_ENTRY))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ModelError(f"cannot read {model_file} as a Keras file: {error}") from None
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ModelError(f"{model_file}: {CONFIG_ENTRY} names no model class")
    return entry


def _read_weights(model_file: Path) -> dict[str, np.ndarray]:
    """Every dataset of `model.weights.h5` as float32, keyed by its h5 path."""
    import h5py

    arrays: dict[str, np.ndarray] = {}

    def keep(name: str, item) -> None:
        if isinstance(item, h5py.Dataset):
            arrays[name] = np.asarray(item[()], dtype=np.float32)

    try:
        with zipfile.ZipFile(model_file) as archive:
            data = archive.read(WEIGHTS_ENTRY)
        with h5py.File(io.BytesIO(data), "r") as weights:
            weights.visititems(keep)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ModelError(f"cannot read the weights in {model_file}: {error}") from None
    return arrays
