"""DrumsRNN's generation step as pure JAX, importable without Keras.

Sampling (`drums_rnn_sampling`) needs only these functions and a weight pytree, so keeping
them free of Keras lets `drumeval generate` start without importing Keras (≈3 s, it pulls
in scikit-learn). The maths is the one of `drums_rnn.py`'s pure core — the same step, kept
equal by the tests that compare sampled tracks' scores with `drums_rnn.log_likelihood`.
`drums_rnn.py` imports them for its training scans (one definition of the step).
"""

from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from drumeval.data.drum_classes import NUM_DRUM_EVENTS
from drumeval.data.encoding import DRUMS_RNN_COUNTER_BITS, DRUMS_RNN_INPUT_SIZE

FORGET_BIAS = 1.0
# `MagentaAttention` creates its weights in this order (`attention/vars/0…7`).
ATTENTION_WEIGHTS = (
    "input_kernel",
    "input_bias",
    "query_kernel",
    "query_bias",
    "attn_w",
    "attn_v",
    "output_kernel",
    "output_bias",
)


class Layout(Protocol):
    """What the step needs of a config: `DrumsRnnConfig` and `StepLayout` both have it."""

    @property
    def rnn_layer_sizes(self) -> tuple[int, ...]: ...

    @property
    def attn_length(self) -> int: ...


@dataclass(frozen=True)
class StepLayout:
    """The shape-defining hparams of a DrumsRNN (hashable: a static `jit` argument)."""

    rnn_layer_sizes: tuple[int, ...]
    attn_length: int


class Prepared(NamedTuple):
    """Weights rearranged once per call so that each RNN step does the least work."""

    event_table: jax.Array  # [512, 4·u0]: gate pre-activations of layer 0 per input event
    counter_weights: jax.Array  # [6, 4·u0]: gate contribution of the binary counters
    layer0: dict[str, jax.Array]  # "recurrent" on [attns, h] (or h) + the attention weights
    upper: tuple[dict[str, jax.Array], ...]  # "kernel_x", "kernel_h", "bias" of layers ≥ 1
    logits_kernel: jax.Array
    logits_bias: jax.Array


def prepare(params: dict[str, Any]) -> Prepared:
    """Fold the input side of layer 0 into lookup tables (the maths is unchanged).

    With attention, Magenta computes `x' = [x, attns] @ W_in + b_in` then `x' @ K_x + b`;
    x is one-hot + 6 counters, so `x @ W_in` is a row of W_in plus a counter term, and the
    product with K_x distributes over the three parts.
    """
    first = params["cells"][0]
    kernel, bias = first["kernel"], first["bias"]
    kernel_x, kernel_h = kernel[:DRUMS_RNN_INPUT_SIZE], kernel[DRUMS_RNN_INPUT_SIZE:]
    attention = params["attention"]
    if attention is not None:
        w_in = attention["input_kernel"]
        event_table = (w_in[:NUM_DRUM_EVENTS] + attention["input_bias"]) @ kernel_x + bias
        counter_weights = w_in[NUM_DRUM_EVENTS:DRUMS_RNN_INPUT_SIZE] @ kernel_x
        recurrent = jnp.concatenate([w_in[DRUMS_RNN_INPUT_SIZE:] @ kernel_x, kernel_h], axis=0)
        names = ("query_kernel", "query_bias", "attn_w", "attn_v", "output_kernel", "output_bias")
        layer0 = {"recurrent": recurrent, **{name: attention[name] for name in names}}
    else:
        event_table = kernel_x[:NUM_DRUM_EVENTS] + bias
        counter_weights = kernel_x[NUM_DRUM_EVENTS:]
        layer0 = {"recurrent": kernel_h}
    upper = []
    for cell in params["cells"][1:]:
        size = cell["kernel"].shape[0] - cell["kernel"].shape[1] // 4
        upper.append(
            {
                "kernel_x": cell["kernel"][:size],
                "kernel_h": cell["kernel"][size:],
                "bias": cell["bias"],
            }
        )
    return Prepared(
        event_table=event_table,
        counter_weights=counter_weights,
        layer0=layer0,
        upper=tuple(upper),
        logits_kernel=params["logits"]["kernel"],
        logits_bias=params["logits"]["bias"],
    )


def counters_at(positions: jax.Array) -> jax.Array:
    """Binary counters (±1) for input positions t: bit i of t + 1 (see `binary_counters`)."""
    bits = ((positions[..., None] + 1) >> jnp.arange(DRUMS_RNN_COUNTER_BITS)) & 1
    return jnp.where(bits == 1, 1.0, -1.0).astype(jnp.float32)


def _lstm(gates: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array]:
    """BasicLSTMCell update from pre-activations (gate order i, j, f, o)."""
    i, j, f, o = jnp.split(gates, 4, axis=-1)
    new_c = jax.nn.sigmoid(f + FORGET_BIAS) * c + jax.nn.sigmoid(i) * jnp.tanh(j)
    return jnp.tanh(new_c) * jax.nn.sigmoid(o), new_c


def zero_state(config: Layout, batch_size: int) -> tuple:
    """Magenta's zero state; layer 0 with attention is `(c, h, attns, window, window_keys)`.

    `window[:, t % attn_length]` holds the attention output of step t (a ring buffer) and
    `window_keys` the same slots times `attn_w`.
    """
    sizes = config.rnn_layer_sizes

    def zeros(*shape):
        return jnp.zeros((batch_size, *shape), dtype=jnp.float32)

    first = (zeros(sizes[0]), zeros(sizes[0]))
    if config.attn_length:
        window = zeros(config.attn_length, sizes[0])
        first = (*first, zeros(sizes[0]), window, window)
    return (first, *((zeros(units), zeros(units)) for units in sizes[1:]))


def _attend(weights, small_state, input_gates, window, keys, probes=None):
    """Attention-wrapped LSTM step given its window; `small_state` is `(c, h, attns)`.

    `probes` (zeros added to the three matmul outputs) let the backward pass take those
    weights' gradients after the loop (see `_attention_scan`). Returns (output, small state).
    """

    def dense(name, x):
        y = x @ weights[name]
        return y if probes is None else y + probes[name]

    c, h, attns = small_state
    h, c = _lstm(input_gates + dense("recurrent", jnp.concatenate([attns, h], -1)), c)
    query = dense("query_kernel", jnp.concatenate([c, h], -1)) + weights["query_bias"]
    scores = jnp.sum(weights["attn_v"] * jnp.tanh(keys + query[:, None, :]), axis=-1)
    attns = jnp.einsum("bl,bla->ba", jax.nn.softmax(scores, axis=-1), window)
    output = dense("output_kernel", jnp.concatenate([h, attns], -1)) + weights["output_bias"]
    return output, (c, h, attns)


def _layer0_step(weights, state, input_gates, position):
    """One step of layer 0 (with the attention wrapper when the state has a window)."""
    if len(state) == 2:
        return _lstm_step(weights["recurrent"], state, input_gates)
    window, keys = state[3:]
    output, small = _attend(weights, state[:3], input_gates, window, keys)
    slot = position % window.shape[1]
    window = jax.lax.dynamic_update_slice_in_dim(window, output[:, None], slot, axis=1)
    new_keys = (output @ weights["attn_w"])[:, None]
    keys = jax.lax.dynamic_update_slice_in_dim(keys, new_keys, slot, axis=1)
    return output, (*small, window, keys)


def _lstm_step(kernel_h, state, input_gates):
    """One step of a plain LSTM layer given `x @ W_x + b`; returns (h, (c, h))."""
    c, h = state
    h, c = _lstm(input_gates + h @ kernel_h, c)
    return h, (c, h)


def input_gates(prep: Prepared, event_ids: jax.Array, positions: jax.Array) -> jax.Array:
    """Layer 0's gate pre-activations from the events and their binary counters `[..., 4·u0]`."""
    return prep.event_table[event_ids] + counters_at(positions) @ prep.counter_weights


def step_prepared(prep: Prepared, state: tuple, event_ids: jax.Array, position: jax.Array):
    """One generation step: input events `[B]` at `position` → (logits `[B, 512]`, state)."""
    return step_from_gates(prep, state, input_gates(prep, event_ids, position), position)


def step_from_gates(prep: Prepared, state: tuple, gates: jax.Array, position: jax.Array):
    """`step_prepared` given layer 0's input gates `[B, 4·u0]`: a conditioned model
    (`structured`) adds its controls' share to them first."""
    output, first = _layer0_step(prep.layer0, state[0], gates, position)
    new_state = [first]
    for weights, layer_state in zip(prep.upper, state[1:], strict=True):
        gates = output @ weights["kernel_x"] + weights["bias"]
        output, layer_state = _lstm_step(weights["kernel_h"], layer_state, gates)
        new_state.append(layer_state)
    return output @ prep.logits_kernel + prep.logits_bias, tuple(new_state)
