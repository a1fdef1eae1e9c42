"""MusicVAE weights from a Magenta MusicVAE TF1 checkpoint (Magenta stores no hparams in it)."""

import re
from pathlib import Path

import numpy as np

from drumeval.errors import MagentaImportError
from drumeval.models.magenta_io.tf_files import read_tf_checkpoint
from drumeval.models.music_vae import MusicVAE, MusicVaeConfig

_LSTM_NAME = r"(?:multi_rnn_cell/)?cell_(\d+)/lstm_cell/(kernel|bias)"
_ENCODER_NAME = re.compile(
    r"encoder/cell_(\d+)/bidirectional_rnn/(fw|bw)/multi_rnn_cell/cell_0/lstm_cell/(kernel|bias)$"
)


def import_magenta(checkpoint_dir: str | Path, config: MusicVaeConfig) -> MusicVAE:
    """A `MusicVAE` holding the weights of a Magenta MusicVAE TF1 checkpoint.

    Layer sizes are read from the variable shapes and must match `config` (Magenta does
    not store hparams in checkpoints). Flat decoders use Magenta's names
    (`encoder/cell_0/bidirectional_rnn/fw/...`, `decoder/multi_rnn_cell/...`); for
    hierarchical decoders the conductor is `decoder/hierarchical_level_0/...` and the
    core `core_decoder/decoder/...` (not checked against a real Magenta checkpoint).
    """
    return from_variables(read_tf_checkpoint(checkpoint_dir), config)


def from_variables(variables: dict[str, np.ndarray], config: MusicVaeConfig) -> MusicVAE:
    """`import_magenta` on already-read variables (name → array)."""
    hierarchical = config.decoder == "hierarchical"
    core_prefix = "core_decoder/decoder/" if hierarchical else "decoder/"
    encoder = _encoder_variables(variables)
    decoder = _stack_variables(variables, core_prefix)
    conductor = _stack_variables(variables, "decoder/hierarchical_level_0/") if hierarchical else {}
    found = {
        "enc_rnn_size": [encoder[i]["fw"]["kernel"].shape[1] // 4 for i in sorted(encoder)],
        "dec_rnn_size": [decoder[i]["kernel"].shape[1] // 4 for i in sorted(decoder)],
        "z_size": _require(variables, "encoder/mu/kernel").shape[1],
    }
    expected = {
        "enc_rnn_size": list(config.enc_rnn_size),
        "dec_rnn_size": list(config.dec_rnn_size),
        "z_size": config.z_size,
    }
    if found != expected:
        override = ",".join(f"{k}={v}".replace(" ", "") for k, v in found.items())
        raise MagentaImportError(
            f"checkpoint sizes {found} do not match the config {expected}; use hparams {override}"
        )
    model = MusicVAE(config)
    assignments = []
    for index, (fw, bw) in enumerate(zip(model.encoder_fw, model.encoder_bw, strict=True)):
        assignments += _lstm_assignments(fw, encoder[index]["fw"])
        assignments += _lstm_assignments(bw, encoder[index]["bw"])
    assignments += _dense_assignments(model.mu, variables, "encoder/mu/")
    assignments += _dense_assignments(model.sigma, variables, "encoder/sigma/")
    assignments += _dense_assignments(
        model.decoder_initial_state, variables, core_prefix + "z_to_initial_state/"
    )
    assignments += _dense_assignments(
        model.output_projection, variables, core_prefix + "output_projection/"
    )
    for index, cell in enumerate(model.decoder_cells):
        assignments += _lstm_assignments(cell, decoder[index])
    if hierarchical:
        assignments += _dense_assignments(
            model.conductor_initial_state, variables, "decoder/hierarchical_level_0/initial_state/"
        )
        for index, cell in enumerate(model.conductor_cells):
            assignments += _lstm_assignments(cell, conductor.get(index, {}))
    for variable, value, name in assignments:
        if tuple(variable.shape) != value.shape:
            raise MagentaImportError(
                f"{name} has shape {value.shape}, the model expects {tuple(variable.shape)}"
            )
        variable.assign(value.astype(np.float32))
    return model


def _require(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name not in variables:
        raise MagentaImportError(f"the checkpoint has no variable {name} (is it a MusicVAE?)")
    return variables[name]


def _encoder_variables(variables):
    layers: dict[int, dict[str, dict[str, np.ndarray]]] = {}
    for name, value in variables.items():
        match = _ENCODER_NAME.match(name)
        if match:
            layer, direction, part = match.groups()
            layers.setdefault(int(layer), {}).setdefault(direction, {})[part] = value
    if not layers:
        raise MagentaImportError("no bidirectional LSTM encoder variables in the checkpoint")
    return layers


def _stack_variables(variables, prefix: str):
    pattern = re.compile(re.escape(prefix) + _LSTM_NAME + "$")
    cells: dict[int, dict[str, np.ndarray]] = {}
    for name, value in variables.items():
        match = pattern.match(name)
        if match:
            cells.setdefault(int(match.group(1)), {})[match.group(2)] = value
    if not cells:
        raise MagentaImportError(f"no LSTM variables under {prefix} in the checkpoint")
    return cells


def _lstm_assignments(cell, parts):
    if set(parts) != {"kernel", "bias"}:
        raise MagentaImportError(f"incomplete LSTM weights for {cell.name}")
    return [(cell.kernel, parts["kernel"], cell.name), (cell.bias, parts["bias"], cell.name)]


def _dense_assignments(layer, variables, prefix):
    return [
        (layer.kernel, _require(variables, prefix + "kernel"), prefix + "kernel"),
        (layer.bias, _require(variables, prefix + "bias"), prefix + "bias"),
    ]
