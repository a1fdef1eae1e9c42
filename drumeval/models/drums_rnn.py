"""Magenta's DrumsRNN (`drum_kit` configuration) as a Keras 3 model on the JAX backend.

The graph is Magenta's `events_rnn_graph` for `drum_kit`: a stack of `BasicLSTMCell`s, the
first wrapped in `contrib.rnn.AttentionCellWrapper`, each followed by output dropout, and a
linear layer to 512 logits (one per set of the 9 drum classes). Weights keep Magenta's
layouts, so a real Magenta checkpoint (`drumeval.models.magenta_io`) gives Magenta's probabilities.

Speed comes from restructuring, not from changing the maths:
- the one-hot input times the first kernels is a row lookup in a precomputed table;
- the attention wrapper's input projection is folded into the LSTM kernel, so a step
  multiplies only `[attns, h]`;
- the attention window is a ring buffer (attention is order-free over its slots) and each
  slot's `attn_w` projection is computed once, when the slot is written;
- dropout only touches layer *outputs*, never the recurrence, so teacher forcing runs one
  `lax.scan` per layer and does every input projection for the whole sequence at once.
Sampling and beam search live in `drumeval.models.drums_rnn_sampling`.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np

from drumeval.data.drum_classes import NUM_DRUM_EVENTS
from drumeval.data.encoding import DRUMS_RNN_INPUT_SIZE
from drumeval.errors import DatasetError, ModelError
from drumeval.models.cells import MagentaLSTMCell
from drumeval.models.drums_rnn_steps import (  # noqa: F401  (re-exported: the step's home)
    ATTENTION_WEIGHTS,
    FORGET_BIAS,
    Prepared,
    _attend,
    _layer0_step,
    _lstm,
    _lstm_step,
    counters_at,
    input_gates,
    prepare,
    step_prepared,
    zero_state,
)
from drumeval.models.hparams import config_from_dict, config_to_dict

NO_EVENT = 0  # Magenta's `default_event_label` for drum_kit: the empty drum set


@dataclass(frozen=True)
class DrumsRnnConfig:
    """Magenta's DrumsRNN hparams (names as in `drums_rnn_model.default_configs`)."""

    batch_size: int = 128
    rnn_layer_sizes: tuple[int, ...] = (256, 256, 256)
    attn_length: int = 32
    dropout_keep_prob: float = 0.5
    clip_norm: float = 3.0
    learning_rate: float = 1e-3
    residual_connections: bool = False

    def __post_init__(self) -> None:
        sizes = self.rnn_layer_sizes
        if not isinstance(sizes, list | tuple) or not sizes:
            raise ModelError(f"rnn_layer_sizes must be a non-empty list, got {sizes!r}")
        if not all(isinstance(s, int | np.integer) and s > 0 for s in sizes):
            raise ModelError(f"rnn_layer_sizes must be positive integers, got {sizes!r}")
        object.__setattr__(self, "rnn_layer_sizes", tuple(int(s) for s in sizes))
        _check(self.batch_size >= 1, f"batch_size must be ≥ 1, got {self.batch_size}")
        _check(self.attn_length >= 0, f"attn_length must be ≥ 0, got {self.attn_length}")
        _check(
            0.0 < self.dropout_keep_prob <= 1.0,
            f"dropout_keep_prob must be in (0, 1], got {self.dropout_keep_prob}",
        )
        _check(self.clip_norm >= 0, f"clip_norm must be ≥ 0 (0: no clipping), got {self.clip_norm}")
        _check(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
        _check(
            not self.residual_connections,
            "residual_connections=True is not supported (Magenta's drum_kit does not use it)",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (lists instead of tuples) for Keras configs and model cards."""
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "DrumsRnnConfig":
        """The inverse of `to_dict`; an unknown hparam is an error, not silently dropped."""
        return config_from_dict(cls, values, "DrumsRNN")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ModelError(message)


PRESETS: dict[str, DrumsRnnConfig] = {
    "magenta_drum_kit": DrumsRnnConfig(),
    "thesis": DrumsRnnConfig(
        batch_size=1,
        rnn_layer_sizes=(64, 64),
        attn_length=64,
        dropout_keep_prob=0.5,
        clip_norm=3.0,
        learning_rate=1e-3,
    ),
}


# --------------------------------------------------------------------------- layers


@keras.saving.register_keras_serializable(package="drumeval")
class MagentaAttention(keras.layers.Layer):
    """The weights `contrib.rnn.AttentionCellWrapper` adds around the first LSTM.

    Shapes follow Magenta (attn_size = attn_vec_size = the wrapped cell's units):
    input projection `[x, attns] → x'`, query projection of `concat(c, h)`, the 1×1 conv
    `attn_w` over window slots, the score vector `attn_v`, and the output projection
    `[h, attns] → output`, which is also appended to the window.
    """

    def __init__(self, units: int, input_size: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.input_size = input_size
        glorot = "glorot_uniform"
        self.input_kernel = self.add_weight(
            name="input_kernel", shape=(input_size + units, input_size), initializer=glorot
        )
        self.input_bias = self.add_weight(
            name="input_bias", shape=(input_size,), initializer="zeros"
        )
        self.query_kernel = self.add_weight(
            name="query_kernel", shape=(2 * units, units), initializer=glorot
        )
        self.query_bias = self.add_weight(name="query_bias", shape=(units,), initializer="zeros")
        self.attn_w = self.add_weight(name="attn_w", shape=(units, units), initializer=glorot)
        limit = float(np.sqrt(3.0 / units))  # TF's glorot for a 1-D variable
        self.attn_v = self.add_weight(
            name="attn_v",
            shape=(units,),
            initializer=keras.initializers.RandomUniform(-limit, limit),
        )
        self.output_kernel = self.add_weight(
            name="output_kernel", shape=(2 * units, units), initializer=glorot
        )
        self.output_bias = self.add_weight(name="output_bias", shape=(units,), initializer="zeros")
        self.built = True

    def params(self) -> dict[str, Any]:
        return {name: getattr(self, name).value for name in ATTENTION_WEIGHTS}

    def get_config(self):
        return {**super().get_config(), "units": self.units, "input_size": self.input_size}


@keras.saving.register_keras_serializable(package="drumeval")
class DrumsRNN(keras.Model):
    """DrumsRNN `drum_kit`: event ids `[B, T]` → next-event logits `[B, T, 512]`.

    `call(event_ids, training=False, dropout_key=None)`: with `training=True` the output
    dropout masks come from `dropout_key` (a JAX PRNG key), so the trainer's loss stays pure.
    """

    def __init__(self, config: DrumsRnnConfig | None = None, **kwargs):
        super().__init__(**kwargs)
        if keras.backend.backend() != "jax":
            raise ModelError("DrumsRNN needs the JAX backend: set KERAS_BACKEND=jax")
        self.config = config or PRESETS["thesis"]
        sizes = self.config.rnn_layer_sizes
        self.attention = (
            MagentaAttention(sizes[0], DRUMS_RNN_INPUT_SIZE, name="attention")
            if self.config.attn_length
            else None
        )
        input_sizes = (DRUMS_RNN_INPUT_SIZE, *sizes[:-1])
        self.cells = [
            MagentaLSTMCell(units, input_size, FORGET_BIAS, name=f"cell_{index}")
            for index, (units, input_size) in enumerate(zip(sizes, input_sizes, strict=True))
        ]
        for cell in self.cells:
            cell.built = True  # its weights exist from __init__ (keeps `summary()` accurate)
        self.logits_kernel = self.add_weight(
            name="logits_kernel", shape=(sizes[-1], NUM_DRUM_EVENTS), initializer="glorot_uniform"
        )
        self.logits_bias = self.add_weight(
            name="logits_bias", shape=(NUM_DRUM_EVENTS,), initializer="zeros"
        )
        self.built = True

    def params(self) -> dict[str, Any]:
        """The weights as a pytree of arrays (inside `stateless_call`, the substituted ones)."""
        return {
            "attention": self.attention.params() if self.attention is not None else None,
            "cells": [{"kernel": c.kernel.value, "bias": c.bias.value} for c in self.cells],
            "logits": {"kernel": self.logits_kernel.value, "bias": self.logits_bias.value},
        }

    def call(self, event_ids, training=False, dropout_key=None):
        use_dropout = bool(training) and self.config.dropout_keep_prob < 1.0
        if use_dropout and dropout_key is None:
            raise ModelError("DrumsRNN(training=True) needs dropout_key (a jax.random key)")
        logits, _ = forward_sequence(
            self.params(),
            self.config,
            jnp.asarray(event_ids, dtype=jnp.int32),
            dropout_key=dropout_key if use_dropout else None,
        )
        return logits

    def loss_fn(self, trainable, non_trainable, batch, rng, step, training):
        """The trainer's `LossFn`, bound to this model (see `make_loss_fn`)."""
        return make_loss_fn(self)(trainable, non_trainable, batch, rng, step, training)

    def get_config(self):
        return {**self.config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config):
        values = dict(config)
        base = {key: values.pop(key) for key in ("name", "trainable", "dtype") if key in values}
        base.pop("dtype", None)
        return cls(DrumsRnnConfig.from_dict(values), **base)


# ------------------------------------------------------------------ pure core (jittable)
# The generation step lives in `drums_rnn_steps` (importable without Keras); training adds the
# sequence scans, loss and hand-written attention backward below.


@jax.jit
def step(params: dict[str, Any], state: tuple, event_ids: jax.Array, position) -> tuple:
    """`step_prepared` from raw params, compiled once per shape (for step-by-step callers)."""
    return step_prepared(prepare(params), state, jnp.asarray(event_ids), jnp.asarray(position))


def _scan_layer(step_fn, init, input_gates):
    """Run `step_fn(state, gates_t, t) -> (y, state)` over time; (final state, ys `[T, ...]`)."""

    def body(state, inputs):
        output, state = step_fn(state, *inputs)
        return state, output

    positions = jnp.arange(input_gates.shape[0], dtype=jnp.int32)
    return jax.lax.scan(body, init, (input_gates, positions))


def _attention_scan(weights: dict, init: tuple, input_gates: jax.Array):
    """Layer 0 with attention over a whole sequence, with a hand-written backward pass.

    Autodiff of the ring-buffer scan stores the window and its keys at every step; on CPU
    that backward pass ran 8–12× the forward and grew faster than T. Here the backward
    pass keeps only the outputs: step t's window is the slice `history[t : t + L]` of the
    (zero-padded) output history — attention does not depend on slot order — the step is
    replayed under `jax.vjp`, and the window's cotangent is added into a pending buffer
    over the history, which becomes output t's cotangent when the reverse scan reaches t.
    The three big matrices get their gradients after the loop, as one matmul each over all
    steps (`Σ_t x_tᵀ · dy_t`), instead of a matrix-sized update per step: the replay adds
    zero "probes" to their outputs and differentiates w.r.t. the probes.
    Same maths as autodiff (tested), about a third of its time.
    Returns (final state, outputs `[T, B, A]`).
    """
    num_steps = input_gates.shape[0]
    length = init[3].shape[1]

    def forward_scan(weights, init, input_gates):
        def step_fn(state, gates, position):
            output, state = _layer0_step(weights, state, gates, position)
            return (output, state[:3]), state

        return _scan_layer(step_fn, init, input_gates)

    @jax.custom_vjp
    def layer(weights, init, input_gates):
        final, (outputs, _) = forward_scan(weights, init, input_gates)
        return final, outputs

    def forward(weights, init, input_gates):
        final, (outputs, small) = forward_scan(weights, init, input_gates)
        return (final, outputs), (weights, init, input_gates, outputs, small)

    def backward(residuals, cotangents):
        weights, init, input_gates, outputs, small = residuals
        d_final, d_outputs = cotangents
        attn_w = weights["attn_w"]
        hoisted = ("recurrent", "query_kernel", "output_kernel")
        local = {name: w for name, w in weights.items() if name not in (*hoisted, "attn_w")}
        batch_size = outputs.shape[1]
        zero_probes = {
            name: jnp.zeros((batch_size, weights[name].shape[1]), outputs.dtype) for name in hoisted
        }

        def replay(local, probes, prev, gates, window, keys):
            merged = {**local, **{name: weights[name] for name in hoisted}}
            return _attend(merged, prev, gates, window, keys, probes)

        history = jnp.concatenate([jnp.swapaxes(init[3], 0, 1), outputs], axis=0)
        key_history = jnp.concatenate([jnp.swapaxes(init[4], 0, 1), outputs @ attn_w], axis=0)
        previous = jax.tree_util.tree_map(
            lambda first, seq: jnp.concatenate([first[None], seq[:-1]], axis=0), init[:3], small
        )

        def accumulate(buffer, position, update):
            block = jax.lax.dynamic_slice_in_dim(buffer, position, length, axis=0)
            block = block + jnp.swapaxes(update, 0, 1)
            return jax.lax.dynamic_update_slice_in_dim(buffer, block, position, axis=0)

        def body(carry, inputs):
            d_local, d_small, pending, pending_keys = carry
            position, d_output, gates, prev = inputs
            row = position + length  # output t's row in the history
            d_key = jax.lax.dynamic_index_in_dim(pending_keys, row, 0, keepdims=False)
            d_output = d_output + d_key @ attn_w.T
            d_output = d_output + jax.lax.dynamic_index_in_dim(pending, row, 0, keepdims=False)
            window = jax.lax.dynamic_slice_in_dim(history, position, length, axis=0)
            keys = jax.lax.dynamic_slice_in_dim(key_history, position, length, axis=0)
            _, pullback = jax.vjp(
                replay,
                local,
                zero_probes,
                prev,
                gates,
                jnp.swapaxes(window, 0, 1),
                jnp.swapaxes(keys, 0, 1),
            )
            d_local_t, d_probes, d_prev, d_gates, d_window, d_keys = pullback((d_output, d_small))
            carry = (
                jax.tree_util.tree_map(jnp.add, d_local, d_local_t),
                d_prev,
                accumulate(pending, position, d_window),
                accumulate(pending_keys, position, d_keys),
            )
            return carry, (d_gates, d_probes)

        # the final window's slot j holds the latest output s ≡ j (mod L): history row s + L
        rows = num_steps - 1 - (num_steps - 1 - jnp.arange(length)) % length + length
        empty = jnp.zeros((num_steps + length, *outputs.shape[1:]), outputs.dtype)
        start = (
            jax.tree_util.tree_map(jnp.zeros_like, local),
            tuple(d_final[:3]),
            empty.at[rows].add(jnp.swapaxes(d_final[3], 0, 1)),
            empty.at[rows].add(jnp.swapaxes(d_final[4], 0, 1)),
        )
        positions = jnp.arange(num_steps, dtype=jnp.int32)
        (d_local, d_small, pending, pending_keys), (d_gates, d_probes) = jax.lax.scan(
            body, start, (positions, d_outputs, input_gates, previous), reverse=True
        )
        (_, prev_h, prev_attns), (c, h, attns) = previous, small
        operands = {
            "recurrent": jnp.concatenate([prev_attns, prev_h], -1),
            "query_kernel": jnp.concatenate([c, h], -1),
            "output_kernel": jnp.concatenate([h, attns], -1),
            "attn_w": outputs,
        }
        d_probes["attn_w"] = pending_keys[length:]
        d_weights = {
            **d_local,
            **{
                name: jnp.einsum("tbi,tbo->io", operand, d_probes[name])
                for name, operand in operands.items()
            },
        }
        d_init = (
            *d_small,
            jnp.swapaxes(pending[:length], 0, 1),
            jnp.swapaxes(pending_keys[:length], 0, 1),
        )
        return d_weights, d_init, d_gates

    layer.defvjp(forward, backward)
    return layer(weights, init, input_gates)


def _dropout(outputs: jax.Array, key: jax.Array | None, keep_prob: float) -> jax.Array:
    """TF1 `DropoutWrapper(output_keep_prob)`: a fresh mask per step and unit, scaled 1/keep."""
    if key is None or keep_prob >= 1.0:
        return outputs
    mask = jax.random.bernoulli(key, keep_prob, outputs.shape)
    return jnp.where(mask, outputs / keep_prob, 0.0)


@partial(jax.jit, static_argnames="config")
def forward_sequence(
    params: dict[str, Any],
    config: DrumsRnnConfig,
    event_ids: jax.Array,
    *,
    dropout_key: jax.Array | None = None,
) -> tuple[jax.Array, tuple]:
    """Teacher forcing from the zero state: ids `[B, T]` → (logits `[B, T, 512]`, final state).

    The final state is in our ring-buffer form; `magenta_flat_state` reorders it. Compiled
    per (config, shape); inside an outer `jit` (the trainer) it is simply inlined.
    """
    prep = prepare(params)
    positions = jnp.arange(event_ids.shape[1], dtype=jnp.int32)
    gates = input_gates(prep, event_ids.T, positions[:, None])
    return forward_from_gates(prep, config, gates, dropout_key=dropout_key)


def forward_from_gates(
    prep: Prepared,
    config: DrumsRnnConfig,
    gates: jax.Array,
    *,
    dropout_key: jax.Array | None = None,
) -> tuple[jax.Array, tuple]:
    """`forward_sequence` from layer 0's input gates `[T, B, 4·u0]`: a conditioned model
    (`structured`) adds its controls' share to the events' gates and runs the same layers."""
    batch_size = gates.shape[1]
    state = zero_state(config, batch_size)
    num_layers = len(config.rnn_layer_sizes)
    keys = jax.random.split(dropout_key, num_layers) if dropout_key is not None else None
    if config.attn_length:
        first, outputs = _attention_scan(prep.layer0, state[0], gates)
    else:
        first, outputs = _scan_layer(partial(_layer0_step, prep.layer0), state[0], gates)
    outputs = _dropout(outputs, keys[0] if keys is not None else None, config.dropout_keep_prob)
    final = [first]
    for index, weights in enumerate(prep.upper, start=1):
        gates = outputs @ weights["kernel_x"] + weights["bias"]
        layer_final, outputs = _scan_layer(
            lambda state, g, _t, kernel_h=weights["kernel_h"]: _lstm_step(kernel_h, state, g),
            state[index],
            gates,
        )
        key = keys[index] if keys is not None else None
        outputs = _dropout(outputs, key, config.dropout_keep_prob)
        final.append(layer_final)
    logits = outputs @ prep.logits_kernel + prep.logits_bias
    return jnp.swapaxes(logits, 0, 1), tuple(final)


def magenta_flat_state(state: tuple, num_steps_done: int) -> np.ndarray:
    """Flatten a state in `tf.nest.flatten` order, attention window oldest slot first.

    Layer 0: c, h[, attns, window]; then c, h of each further layer. `[B, total]`.
    """
    parts = []
    for index, layer in enumerate(state):
        if index == 0 and len(layer) == 5:
            c, h, attns, window, _ = (np.asarray(x) for x in layer)
            ordered = np.roll(window, -(num_steps_done % window.shape[1]), axis=1)
            parts += [c, h, attns, ordered.reshape(len(ordered), -1)]
        else:
            parts += [np.asarray(x) for x in layer]
    return np.concatenate(parts, axis=-1)


# ------------------------------------------------------------------------ training


def sequence_loss(
    logits: jax.Array, targets: jax.Array, mask: jax.Array
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Magenta's training loss and metrics over the real (mask = 1) steps of a batch.

    loss = mean softmax cross-entropy per step; event accuracy counts steps whose target
    has at least one drum hit, no-event accuracy the silent ones (as Magenta reports).
    """
    mask = mask.astype(jnp.float32)
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    nll = -jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    real_steps = jnp.maximum(jnp.sum(mask), 1.0)
    loss = jnp.sum(nll * mask) / real_steps
    correct = (jnp.argmax(logits, axis=-1) == targets).astype(jnp.float32) * mask
    event = (targets != NO_EVENT).astype(jnp.float32) * mask
    no_event = mask - event
    metrics = {
        "perplexity": jnp.exp(loss),
        "accuracy": jnp.sum(correct) / real_steps,
        "event_accuracy": jnp.sum(correct * event) / jnp.maximum(jnp.sum(event), 1.0),
        "no_event_accuracy": jnp.sum(correct * no_event) / jnp.maximum(jnp.sum(no_event), 1.0),
    }
    return loss, metrics


def make_loss_fn(model: DrumsRNN):
    """The trainer's pure `LossFn` for `model`; dropout masks come from the step's rng key."""

    def loss_fn(trainable, non_trainable, batch, rng, step, training):
        logits, _ = model.stateless_call(
            trainable, non_trainable, batch["inputs"], training=training, dropout_key=rng
        )
        return sequence_loss(logits, batch["targets"], batch["mask"])

    return loss_fn


def make_optimizer(config: DrumsRnnConfig) -> keras.optimizers.Optimizer:
    """Adam(learning_rate) with gradients clipped by global norm, as `tf_slim.create_train_op`.

    epsilon 1e-8 is TF1 `AdamOptimizer`'s default (Keras' is 1e-7); clip_norm 0 = no clipping.
    """
    return keras.optimizers.Adam(
        learning_rate=config.learning_rate,
        epsilon=1e-8,
        global_clipnorm=config.clip_norm or None,
    )


Batch = dict[str, np.ndarray]


def _usable(event_ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    event_ids, lengths = np.asarray(event_ids), np.asarray(lengths)
    if event_ids.ndim != 2 or len(event_ids) != len(lengths):
        raise DatasetError(
            f"expected event_ids [N, T] and lengths [N], got {event_ids.shape} and {lengths.shape}"
        )
    keep = lengths >= 2
    if not keep.any():
        raise DatasetError("no example has 2 or more steps: nothing to train on")
    return event_ids[keep], np.minimum(lengths[keep], event_ids.shape[1])


def make_batch(event_ids: np.ndarray, lengths: np.ndarray, num_steps: int) -> Batch:
    """Inputs e_0..e_{T-1}, targets e_1..e_T, mask over the `length - 1` real steps."""
    padded = np.zeros((len(event_ids), num_steps + 1), dtype=np.int32)
    width = min(num_steps + 1, event_ids.shape[1])
    padded[:, :width] = event_ids[:, :width]
    mask = np.arange(num_steps)[None, :] < (lengths[:, None] - 1)
    return {
        "inputs": padded[:, :-1],
        "targets": np.where(mask, padded[:, 1:], 0).astype(np.int32),
        "mask": mask.astype(np.float32),
    }


def training_batches(
    event_ids: np.ndarray,
    lengths: np.ndarray,
    *,
    batch_size: int,
    rng: np.random.Generator,
    num_steps: int | None = None,
) -> Iterator[Batch]:
    """Endless shuffled batches of fixed shape `[batch_size, num_steps]` (one compile).

    `num_steps` defaults to the longest example minus one (e.g. 959 for 960-step tracks).
    """
    event_ids, lengths = _usable(event_ids, lengths)
    num_steps = num_steps or int(lengths.max()) - 1
    queue = np.empty(0, dtype=np.int64)
    while True:
        while len(queue) < batch_size:
            queue = np.concatenate([queue, rng.permutation(len(event_ids))])
        chosen, queue = queue[:batch_size], queue[batch_size:]
        yield make_batch(event_ids[chosen], lengths[chosen], num_steps)


def eval_batches(
    event_ids: np.ndarray,
    lengths: np.ndarray,
    *,
    batch_size: int,
    num_steps: int | None = None,
) -> list[Batch]:
    """One pass in order; the last batch is filled with fully masked rows."""
    event_ids, lengths = _usable(event_ids, lengths)
    num_steps = num_steps or int(lengths.max()) - 1
    batches = []
    for start in range(0, len(event_ids), batch_size):
        ids, lens = event_ids[start : start + batch_size], lengths[start : start + batch_size]
        missing = batch_size - len(ids)
        ids = np.concatenate([ids, np.zeros((missing, ids.shape[1]), ids.dtype)])
        lens = np.concatenate([lens, np.zeros(missing, lens.dtype)])
        batches.append(make_batch(ids, lens, num_steps))
    return batches


# ---------------------------------------------------------------------- evaluation


def log_likelihood(
    model: DrumsRNN, event_ids: np.ndarray, *, temperature: float = 1.0, start: int = 1
) -> np.ndarray:
    """Σ_{t ≥ start} log p(e_t | e_<t) per track `[N]` (Magenta's `evaluate_log_likelihood`).

    `start = len(primer)` scores only the generated part, as beam search ranks it.
    """
    ids = jnp.asarray(np.atleast_2d(event_ids), dtype=jnp.int32)
    logits, _ = forward_sequence(model.params(), model.config, ids[:, :-1])
    log_probs = jax.nn.log_softmax(logits / temperature, axis=-1)
    chosen = jnp.take_along_axis(log_probs, ids[:, 1:, None], axis=-1)[..., 0]
    return np.asarray(jnp.sum(chosen[:, start - 1 :], axis=-1))
