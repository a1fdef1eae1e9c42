"""DrumsRNN weights from a Magenta `drum_kit` `.mag` bundle or TF checkpoint.

Weights keep Magenta's layouts in `drumeval.models.drums_rnn`, so this is a name map plus
the two hparams that are not weight shapes (the attention window, read from the graph).
"""

import dataclasses
from pathlib import Path

import numpy as np

from drumeval.errors import MagentaImportError
from drumeval.models.drums_rnn import PRESETS, DrumsRNN, DrumsRnnConfig
from drumeval.models.hparams import apply_overrides, parse_overrides
from drumeval.models.magenta_io import tf_files

_PREFIX = "rnn/multi_rnn_cell/cell_{}/"
_ATTENTION = "rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/"


def import_magenta(path: str | Path, *, hparams: str | dict | None = None) -> DrumsRNN:
    """A DrumsRNN holding the weights of a Magenta `drum_kit` `.mag` bundle or TF checkpoint.

    Layer sizes come from the variable shapes. The attention window length is not a
    weight shape: it is read from the bundle's (or checkpoint's `.meta`) graph, or must be
    given as `hparams="attn_length=64"`. Other hparams (dropout, lr…) only matter for
    fine-tuning and may be overridden the same way.
    """
    path = Path(path)
    if path.is_file() and path.suffix == ".mag":
        bundle = tf_files.read_mag_bundle(path)
        if bundle.generator_id != "drum_kit":
            raise MagentaImportError(
                f"{path.name} is a {bundle.generator_id!r} generator; only drum_kit is supported"
            )
        variables, metagraph = bundle.variables, _bundle_metagraph(path)
    else:
        variables, metagraph = tf_files.read_tf_checkpoint(path), _checkpoint_metagraph(path)
    sizes = _layer_sizes(variables)
    overrides = parse_overrides(hparams) if isinstance(hparams, str) else dict(hparams or {})
    attn_length = _attn_length(variables, sizes, metagraph, overrides.get("attn_length"))
    if "rnn_layer_sizes" in overrides and tuple(overrides["rnn_layer_sizes"]) != sizes:
        raise MagentaImportError(
            f"hparams say rnn_layer_sizes={list(overrides['rnn_layer_sizes'])} but the "
            f"checkpoint's weights have {list(sizes)}"
        )
    base = dataclasses.replace(PRESETS["magenta_drum_kit"], rnn_layer_sizes=sizes)
    config = apply_overrides(
        dataclasses.replace(base, attn_length=attn_length),
        {k: v for k, v in overrides.items() if k not in {"attn_length", "rnn_layer_sizes"}},
    )
    model = DrumsRNN(config)
    _assign(model, variables)
    return model


def _layer_sizes(variables: dict[str, np.ndarray]) -> tuple[int, ...]:
    sizes = []
    while True:
        index = len(sizes)
        bias = next(
            (
                value
                for name, value in variables.items()
                if name.startswith(_PREFIX.format(index)) and name.endswith("basic_lstm_cell/bias")
            ),
            None,
        )
        if bias is None:
            break
        if bias.ndim != 1 or bias.shape[0] % 4:
            raise MagentaImportError(f"layer {index} LSTM bias has shape {bias.shape}")
        sizes.append(bias.shape[0] // 4)
    if not sizes:
        raise MagentaImportError(
            "no DrumsRNN LSTM variables (rnn/multi_rnn_cell/cell_0/…/basic_lstm_cell) found; "
            "is this a Magenta drums_rnn drum_kit checkpoint?"
        )
    return tuple(sizes)


def _attn_length(variables, sizes, metagraph: bytes | None, given) -> int:
    if _ATTENTION + "attention/attn_w" not in variables:
        if given:
            raise MagentaImportError("attn_length given but the checkpoint has no attention")
        return 0
    from_graph = _attn_length_from_metagraph(metagraph, sizes[0]) if metagraph else None
    if given is not None and from_graph is not None and int(given) != from_graph:
        raise MagentaImportError(
            f"hparams say attn_length={given} but the checkpoint's graph uses {from_graph}"
        )
    length = from_graph if from_graph is not None else given
    if length is None:
        raise MagentaImportError(
            "the attention window length is not stored in checkpoint weights and no graph "
            "(.meta) was found: pass hparams 'attn_length=N' (drum_kit default 32)"
        )
    if int(length) < 1:
        raise MagentaImportError(f"attn_length must be ≥ 1 for this checkpoint, got {length}")
    return int(length)


def _bundle_metagraph(path: Path) -> bytes | None:
    from note_seq.protobuf import generator_pb2

    bundle = generator_pb2.GeneratorBundle()
    bundle.ParseFromString(path.read_bytes())
    return bundle.metagraph_file or None


def _checkpoint_metagraph(path: Path) -> bytes | None:
    candidates = sorted(path.glob("*.meta")) if path.is_dir() else [Path(f"{path}.meta")]
    existing = [candidate for candidate in candidates if candidate.is_file()]
    return existing[-1].read_bytes() if existing else None


def _attn_length_from_metagraph(metagraph: bytes, attn_size: int) -> int | None:
    """The window length from the zero-state tensor of the attention states `[B, L·A]`."""
    from tensorflow.core.protobuf import meta_graph_pb2

    graph = meta_graph_pb2.MetaGraphDef()
    try:
        graph.ParseFromString(metagraph)
    except Exception as error:  # protobuf DecodeError
        raise MagentaImportError(f"cannot parse the checkpoint's graph: {error}") from error
    names = list(graph.collection_def["initial_state"].node_list.value)
    nodes = {node.name: node for node in graph.graph_def.node}
    attention_states = [name for name in names if "AttentionCellWrapperZeroState" in name]
    if len(attention_states) < 4:
        return None
    node = nodes.get(attention_states[3].split(":")[0])
    if node is None or "_output_shapes" not in node.attr:
        return None
    width = node.attr["_output_shapes"].list.shape[0].dim[-1].size
    return width // attn_size if width > 0 and width % attn_size == 0 else None


def _magenta_names(config: DrumsRnnConfig) -> list[tuple[str, str]]:
    """(Magenta variable name, our weight key) for every weight of the model."""
    pairs = []
    if config.attn_length:
        pairs += [
            (_ATTENTION + "kernel", "attention.input_kernel"),
            (_ATTENTION + "bias", "attention.input_bias"),
            (_ATTENTION + "basic_lstm_cell/kernel", "cell_0.kernel"),
            (_ATTENTION + "basic_lstm_cell/bias", "cell_0.bias"),
            (_ATTENTION + "attention/kernel", "attention.query_kernel"),
            (_ATTENTION + "attention/bias", "attention.query_bias"),
            (_ATTENTION + "attention/attn_w", "attention.attn_w"),
            (_ATTENTION + "attention/attn_v", "attention.attn_v"),
            (_ATTENTION + "attn_output_projection/kernel", "attention.output_kernel"),
            (_ATTENTION + "attn_output_projection/bias", "attention.output_bias"),
        ]
    first_upper = 1 if config.attn_length else 0
    for index in range(first_upper, len(config.rnn_layer_sizes)):
        prefix = _PREFIX.format(index) + "basic_lstm_cell/"
        pairs += [
            (prefix + "kernel", f"cell_{index}.kernel"),
            (prefix + "bias", f"cell_{index}.bias"),
        ]
    pairs += [
        ("fully_connected/weights", "logits_kernel"),
        ("fully_connected/biases", "logits_bias"),
    ]
    return pairs


def _weight(model: DrumsRNN, key: str):
    owner, _, name = key.rpartition(".")
    if not owner:
        return getattr(model, name)
    layer = model.attention if owner == "attention" else model.cells[int(owner.split("_")[1])]
    return getattr(layer, name)


def _assign(model: DrumsRNN, variables: dict[str, np.ndarray]) -> None:
    pairs = _magenta_names(model.config)
    missing = [name for name, _ in pairs if name not in variables]
    if missing:
        raise MagentaImportError(f"checkpoint lacks DrumsRNN variables: {', '.join(missing)}")
    unexpected = sorted(set(variables) - {name for name, _ in pairs})
    if unexpected:
        raise MagentaImportError(
            f"checkpoint has variables this drum_kit port does not use: {', '.join(unexpected)}"
        )
    for name, key in pairs:
        variable = _weight(model, key)
        value = np.asarray(variables[name], dtype=np.float32)
        if name.endswith("attn_w"):
            value = value.reshape(value.shape[-2:]) if value.ndim == 4 else value
        if tuple(value.shape) != tuple(variable.shape):
            raise MagentaImportError(
                f"{name} has shape {value.shape}, expected {tuple(variable.shape)} "
                f"for rnn_layer_sizes={list(model.config.rnn_layer_sizes)}"
            )
        variable.assign(value)
