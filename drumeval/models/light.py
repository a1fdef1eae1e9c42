"""Checkpoints read without Keras: DrumsRNN and MusicVAE as plain arrays for the pure JAX code.

`drumeval generate` used to spend most of its cold start importing Keras (which pulls in
scikit-learn), rebuilding the Keras model and tracing its layers, while the sampling itself
takes a tenth of a second. A `.keras` file is a zip of `config.json` (the model's
hparams) and `model.weights.h5` (each layer's weights under `<layer path>/vars/<i>`, in
the order the layer created them), so h5py — which Keras depends on anyway — reads the
weights directly: `drums_rnn_sampling` only needs `config` and `params()` of a model, and
`music_vae_core` only `config` and `weight_tree()`. Same checkpoint and arguments → the same
event ids as the Keras model (tested on every shipped checkpoint).
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
from drumeval.data.encoding import DRUMS_RNN_INPUT_SIZE, MUSIC_VAE_INPUT_SIZE
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


@dataclass(frozen=True)
class LightMusicVAE:
    """A MusicVAE's hparams and weight pytree, enough for `music_vae_core` (no Keras model)."""

    config: Any  # music_vae_core.MusicVaeConfig
    weights: Any  # music_vae_core.VaeWeights

    def weight_tree(self) -> Any:
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
    saved, model_file, card = _read_checkpoint(directory, "DrumsRNN")
    return drums_rnn_from_keras_file(saved, model_file), card


def load_music_vae(directory: str | Path) -> tuple[LightMusicVAE, dict[str, Any]]:
    """`(model, card)` of a MusicVAE checkpoint directory, read without Keras."""
    saved, model_file, card = _read_checkpoint(directory, "MusicVAE")
    return music_vae_from_keras_file(saved, model_file), card


def _read_checkpoint(
    directory: str | Path, class_name: str
) -> tuple[KerasFile, Path, dict[str, Any]]:
    model_file, card = checkpoint_files(directory)
    saved = read_keras_file(model_file)
    if saved.class_name != class_name:
        raise ModelError(f"{model_file} holds a {saved.class_name}, not a {class_name}")
    return saved, model_file, card


def music_vae_from_keras_file(saved: KerasFile, model_file: Path) -> LightMusicVAE:
    """Arrange a MusicVAE's h5 weights as `MusicVAE.weight_tree()`, checking every shape.

    Keras stores the cell lists under their attribute names (`encoder_fw/…`,
    `decoder_cells/…`), the two initial-state layers under theirs, and the other three
    Dense layers as `layers/dense`, `layers/dense_1`, `layers/dense_<n>` in the order the
    model created them: mu, sigma, output projection.
    """
    from drumeval.models.music_vae_core import MusicVaeConfig, VaeWeights
    from drumeval.models.music_vae_decoders import (
        NUM_CLASSES,
        ConductorWeights,
        DecoderWeights,
        Dense,
        Lstm,
    )

    fields = {key: value for key, value in saved.config.items() if key not in _KERAS_KEYS}
    try:
        config = MusicVaeConfig.from_dict(fields)
    except (ModelError, TypeError, ValueError) as error:
        raise ModelError(f"{model_file}: bad MusicVAE config: {error}") from None
    weights = saved.weights
    used: set[str] = set()

    def take(key: str, shape: tuple[int, ...]) -> np.ndarray:
        if key not in weights:
            raise ModelError(f"{model_file}: weight {key} is missing")
        if weights[key].shape != shape:
            raise ModelError(
                f"{model_file}: weight {key} has shape {weights[key].shape}, expected {shape}"
            )
        used.add(key)
        return weights[key]

    def dense(group: str, inputs: int, units: int) -> Dense:
        return Dense(take(f"{group}/vars/0", (inputs, units)), take(f"{group}/vars/1", (units,)))

    def cells(prefix: str, sizes: tuple[int, ...], input_sizes: list[int]) -> tuple[Lstm, ...]:
        groups = _cell_groups(weights, prefix)
        if len(groups) != len(sizes):
            raise ModelError(
                f"{model_file}: {len(groups)} {prefix} layers stored, config says {len(sizes)}"
            )
        return tuple(
            Lstm(
                take(f"{group}/vars/0", (input_size + units, 4 * units)),
                take(f"{group}/vars/1", (4 * units,)),
            )
            for group, units, input_size in zip(groups, sizes, input_sizes, strict=True)
        )

    def stacked(first_input: int, sizes: tuple[int, ...]) -> list[int]:
        return [first_input, *sizes[:-1]]

    # each encoder layer reads the previous layer's forward and backward outputs
    enc = config.enc_rnn_size
    encoder_inputs = [MUSIC_VAE_INPUT_SIZE, *(2 * units for units in enc[:-1])]
    encoder = tuple(
        zip(
            cells("encoder_fw", enc, encoder_inputs),
            cells("encoder_bw", enc, encoder_inputs),
            strict=True,
        )
    )
    encoder_width = 2 * config.enc_rnn_size[-1]
    denses = _dense_groups(weights, model_file)
    hierarchical = config.decoder == "hierarchical"
    core_z = config.dec_rnn_size[-1] if hierarchical else config.z_size
    state_width = 2 * sum(config.dec_rnn_size)
    decoder = DecoderWeights(
        dense("decoder_initial_state", core_z, state_width),
        cells(
            "decoder_cells", config.dec_rnn_size, stacked(NUM_CLASSES + core_z, config.dec_rnn_size)
        ),
        dense(denses[2], config.dec_rnn_size[-1], NUM_CLASSES),
    )
    conductor = None
    if hierarchical:
        width = 1 if config.disable_autoregression else state_width
        conductor = ConductorWeights(
            dense("conductor_initial_state", config.z_size, state_width),
            cells(
                "conductor_cells",
                config.dec_rnn_size,
                stacked(width + config.z_size, config.dec_rnn_size),
            ),
        )
    tree = VaeWeights(
        encoder=encoder,
        mu=dense(denses[0], encoder_width, config.z_size),
        sigma=dense(denses[1], encoder_width, config.z_size),
        decoder=decoder,
        conductor=conductor,
    )
    unexpected = sorted(set(weights) - used)
    if unexpected:
        raise ModelError(f"{model_file}: unexpected weights {', '.join(unexpected)}")
    return LightMusicVAE(config, tree)


_KERAS_KEYS = ("name", "trainable", "dtype")
_DENSE_GROUP = re.compile(r"layers/dense(?:_(\d+))?")


def _dense_groups(weights: dict[str, np.ndarray], model_file: Path) -> list[str]:
    """`layers/dense`, `layers/dense_<n>`… in creation order (numeric): mu, sigma, projection."""
    groups = {"/".join(key.split("/")[:2]) for key in weights if key.startswith("layers/")}
    numbered = []
    for group in groups:
        match = _DENSE_GROUP.fullmatch(group)
        if match is None:
            raise ModelError(f"{model_file}: unexpected weight group {group}")
        numbered.append((int(match.group(1) or 0), group))
    if len(numbered) != 3:
        raise ModelError(
            f"{model_file}: expected 3 Dense layers (mu, sigma, output projection), "
            f"found {len(numbered)}"
        )
    return [group for _, group in sorted(numbered)]


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


def _cell_groups(weights: dict[str, np.ndarray], prefix: str = "cells") -> list[str]:
    """`<prefix>/magenta_lstm_cell`, `…_1`, `…_2`… in layer order (numeric, not text order)."""
    groups = {key.split("/")[1] for key in weights if key.startswith(f"{prefix}/")}
    numbered = []
    for group in groups:
        match = _CELL_GROUP.fullmatch(group)
        if match is None:
            raise ModelError(f"unexpected LSTM layer group {prefix}/{group}")
        numbered.append((int(match.group(1) or 0), f"{prefix}/{group}"))
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
