"""Pure-JAX recurrent cores of MusicVAE: LSTM stacks, the flat and the hierarchical decoder.

Everything here is a pure function of weight pytrees (NamedTuples of arrays) so that the
same code serves training (`jax.grad` through the loss), parity checks and compiled
generation. Weights keep Magenta's layouts (`LSTMBlockCell`: kernel rows `[input, h]`,
gate columns i, j, f, o, forget bias 1.0 added inside the cell; decoder initial state
`tanh(dense(z))` split as `[c0, h0, c1, h1]`), which is what lets a TF1 checkpoint load
without re-ordering.

Speed: every time loop is one `lax.scan`; whatever does not depend on the loop carry is
computed outside it. The decoder's layer-0 input is `[one-hot previous output, z]`, so its
input projection is a row gather from the kernel plus a per-sequence `z @ W_z + b`, never
a 512-wide matmul inside the loop.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

NUM_CLASSES = 512  # 2^9 drum-class combinations: the categorical output and the input one-hot
START_ID = -1  # "previous output" id of the first step: an all-zero input vector
FORGET_BIAS = 1.0


class Dense(NamedTuple):
    kernel: jax.Array
    bias: jax.Array


class Lstm(NamedTuple):
    """One `LSTMBlockCell`: kernel [input + units, 4·units], bias [4·units]."""

    kernel: jax.Array
    bias: jax.Array


class DecoderWeights(NamedTuple):
    """A categorical LSTM decoder (Magenta's `CategoricalLstmDecoder`)."""

    initial_state: Dense  # z (or a conductor embedding) → tanh → [c0, h0, c1, h1, …]
    cells: tuple[Lstm, ...]
    output: Dense  # top h → 512 logits


class ConductorWeights(NamedTuple):
    """The upper level of `HierarchicalLstmDecoder`: one LSTM step per bar."""

    initial_state: Dense
    cells: tuple[Lstm, ...]


State = tuple[tuple[jax.Array, jax.Array], ...]  # ((c, h) per layer)


def lstm_update(gates: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`LSTMBlockCell` without the matmul: gates i, j, f, o → (new c, new h)."""
    i, j, f, o = jnp.split(gates, 4, axis=-1)
    new_c = jax.nn.sigmoid(f + FORGET_BIAS) * c + jax.nn.sigmoid(i) * jnp.tanh(j)
    return new_c, jnp.tanh(new_c) * jax.nn.sigmoid(o)


def cell_units(cell: Lstm) -> int:
    return cell.kernel.shape[1] // 4


def initial_state(dense: Dense, embedding: jax.Array, cells: tuple[Lstm, ...]) -> State:
    """Magenta's `initial_cell_state_from_embedding`: `tanh(dense(e))` split [c0, h0, c1, h1…]."""
    flat = jnp.tanh(embedding @ dense.kernel + dense.bias)
    sizes = [cell_units(cell) for cell in cells for _ in (0, 1)]
    parts = jnp.split(flat, list(_cumulative(sizes))[:-1], axis=-1)
    return tuple((parts[2 * k], parts[2 * k + 1]) for k in range(len(cells)))


def flatten_state(state: State) -> jax.Array:
    """`tf.nest.flatten` order of a MultiRNNCell state: c0, h0, c1, h1, …"""
    return jnp.concatenate([part for pair in state for part in pair], axis=-1)


def _cumulative(sizes: list[int]) -> list[int]:
    total, out = 0, []
    for size in sizes:
        total += size
        out.append(total)
    return out


def stack_step(
    cells: tuple[Lstm, ...], layer0_gates: jax.Array, state: State, keep_masks=None
) -> tuple[jax.Array, State]:
    """One step of a MultiRNNCell whose layer-0 input projection (`x @ W_x + b`) is given.

    `keep_masks` (optional, one per layer above 0) are input-dropout masks already scaled
    by 1/keep_prob, as TF's `DropoutWrapper(input_keep_prob)`.
    """
    c, h = state[0]
    units = cell_units(cells[0])
    c, h = lstm_update(layer0_gates + h @ cells[0].kernel[-units:], c)
    new_state = [(c, h)]
    x = h
    for index, (cell, (c_l, h_l)) in enumerate(zip(cells[1:], state[1:], strict=True)):
        if keep_masks is not None:
            x = x * keep_masks[index]
        c_l, h_l = lstm_update(jnp.concatenate([x, h_l], -1) @ cell.kernel + cell.bias, c_l)
        new_state.append((c_l, h_l))
        x = h_l
    return x, tuple(new_state)


# --------------------------------------------------------------------------- encoder


def bidirectional_layer(
    fw: Lstm, bw: Lstm, inputs: jax.Array, lengths: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One `sequence_length`-aware bidirectional LSTM layer over [B, T, D] inputs.

    Returns (outputs [B, T, 2H] in input order, final fw h, final bw h). The backward
    cell reads the *valid part* reversed (`tf.reverse_sequence`), and states stop
    updating after each sequence's length, as `dynamic_rnn` does. Both directions share
    one scan (a batched matmul over the direction axis) to halve the sequential steps.
    """
    batch, steps, _ = inputs.shape
    units = cell_units(fw)
    reversed_inputs = reverse_valid(inputs, lengths)
    input_size = inputs.shape[-1]
    gates_x = jnp.stack(
        [
            inputs @ fw.kernel[:input_size] + fw.bias,
            reversed_inputs @ bw.kernel[:input_size] + bw.bias,
        ]
    )  # [2, B, T, 4H]
    recurrent = jnp.stack([fw.kernel[input_size:], bw.kernel[input_size:]])  # [2, H, 4H]
    valid = (jnp.arange(steps)[:, None] < lengths[None, :])[:, None, :, None]  # [T,1,B,1]

    def body(carry, xs):
        c, h = carry
        gates_t, valid_t = xs
        new_c, new_h = lstm_update(gates_t + jnp.einsum("dbh,dhk->dbk", h, recurrent), c)
        c = jnp.where(valid_t, new_c, c)
        h = jnp.where(valid_t, new_h, h)
        return (c, h), jnp.where(valid_t, new_h, 0.0)

    zeros = jnp.zeros((2, batch, units), inputs.dtype)
    (_, h_final), outputs = jax.lax.scan(body, (zeros, zeros), (jnp.moveaxis(gates_x, 2, 0), valid))
    outputs = jnp.moveaxis(outputs, 0, 2)  # [2, B, T, H]
    both = jnp.concatenate([outputs[0], reverse_valid(outputs[1], lengths)], axis=-1)
    return both, h_final[0], h_final[1]


def reverse_valid(sequences: jax.Array, lengths: jax.Array) -> jax.Array:
    """`tf.reverse_sequence`: reverse the first `length` steps of each row, keep the rest."""
    steps = sequences.shape[1]
    t = jnp.arange(steps)[None, :]
    index = jnp.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return jnp.take_along_axis(sequences, index[..., None], axis=1)


# --------------------------------------------------------------------------- flat decoder


def _layer0_parts(weights: DecoderWeights, z: jax.Array):
    """Split the layer-0 kernel into the one-hot rows (with a zero row for START_ID)."""
    kernel = weights.cells[0].kernel
    embedding = kernel[:NUM_CLASSES]
    embedding = jnp.concatenate([embedding, jnp.zeros_like(embedding[:1])], axis=0)
    z_size = z.shape[-1]
    z_gates = z @ kernel[NUM_CLASSES : NUM_CLASSES + z_size] + weights.cells[0].bias
    return embedding, z_gates


def _row(ids: jax.Array) -> jax.Array:
    """Event id → row of the extended embedding (START_ID → the zero row)."""
    return jnp.where(ids < 0, NUM_CLASSES, ids)


def project(weights: DecoderWeights, h: jax.Array) -> jax.Array:
    return h @ weights.output.kernel + weights.output.bias


def decode_teacher_forced(
    weights: DecoderWeights,
    z: jax.Array,
    prev_ids: jax.Array,
    *,
    sampling_probability=None,
    key: jax.Array | None = None,
    keep_prob: float = 1.0,
) -> tuple[jax.Array, State]:
    """Run the decoder over known previous outputs; returns (top-layer h [B,T,H], final state).

    `prev_ids` [B, T] are the teacher-forcing inputs (START_ID = the zero vector).
    With a `sampling_probability` (Magenta's `ScheduledOutputTrainingHelper`), the input
    of step t+1 is, with that probability and independently per sequence, a one-hot
    sample from `softmax(logits_t)` instead of the target; step 0 always reads
    `prev_ids[:, 0]`. `None` means plain teacher forcing (no sampling code in the loop).
    The sampled ids carry no gradient (they are discrete); the logits used for the loss
    are recomputed outside the loop from the returned h.
    """
    embedding, z_gates = _layer0_parts(weights, z)
    forced_gates = embedding[_row(prev_ids)]  # [B, T, 4H]
    state0 = initial_state(weights.initial_state, z, weights.cells)
    steps = prev_ids.shape[1]
    batch = prev_ids.shape[0]
    dropout = keep_prob < 1.0
    if sampling_probability is None and not dropout:

        def forced_body(state, gates_t):
            h, state = stack_step(weights.cells, gates_t + z_gates, state)
            return state, h

        final, hs = jax.lax.scan(forced_body, state0, jnp.swapaxes(forced_gates, 0, 1))
        return jnp.swapaxes(hs, 0, 1), final

    key_bernoulli, key_sample, key_dropout = jax.random.split(key, 3)
    probability = 0.0 if sampling_probability is None else sampling_probability
    use_sample = jax.random.uniform(key_bernoulli, (steps, batch)) < probability
    use_sample = use_sample.at[0].set(False)
    step_keys = jax.random.split(key_sample, steps)
    drop_keys = jax.random.split(key_dropout, steps)
    z_rows = weights.cells[0].kernel[NUM_CLASSES : NUM_CLASSES + z.shape[-1]]
    output = jax.tree_util.tree_map(jax.lax.stop_gradient, weights.output)

    def body(carry, xs):
        state, sampled_prev = carry
        forced_t, use_t, key_t, drop_key_t = xs
        one_hot_gates = jnp.where(use_t[:, None], embedding[sampled_prev], forced_t)
        if dropout:
            one_hot_gates, gates_z, masks = _dropped_layer0(
                drop_key_t, keep_prob, one_hot_gates, z, z_rows, weights
            )
            layer0 = one_hot_gates + gates_z
        else:
            layer0, masks = one_hot_gates + z_gates, None
        h, state = stack_step(weights.cells, layer0, state, masks)
        logits = jax.lax.stop_gradient(h) @ output.kernel + output.bias
        return (state, jax.random.categorical(key_t, logits).astype(jnp.int32)), h

    xs = (jnp.swapaxes(forced_gates, 0, 1), use_sample, step_keys, drop_keys)
    start = jnp.zeros((batch,), jnp.int32)
    (final, _), hs = jax.lax.scan(body, (state0, start), xs)
    return jnp.swapaxes(hs, 0, 1), final


def _dropped_layer0(key, keep_prob, one_hot_gates, z, z_rows, weights):
    """Input dropout of every layer for one step (TF `DropoutWrapper(input_keep_prob)`).

    For the one-hot part only the mask entry at the hot index matters, so it scales the
    gathered kernel row; the z part needs a real (small) matmul.
    """
    keys = jax.random.split(key, 1 + len(weights.cells))
    batch = z.shape[0]
    keep_hot = jax.random.bernoulli(keys[0], keep_prob, (batch, 1)) / keep_prob
    keep_z = jax.random.bernoulli(keys[1], keep_prob, z.shape) / keep_prob
    gates_z = (z * keep_z) @ z_rows + weights.cells[0].bias
    masks = [
        jax.random.bernoulli(k, keep_prob, (batch, cell_units(cell))) / keep_prob
        for k, cell in zip(keys[2:], weights.cells[:-1], strict=True)
    ]
    return one_hot_gates * keep_hot, gates_z, masks


def decode_sampled(
    weights: DecoderWeights,
    z: jax.Array,
    start_ids: jax.Array,
    key: jax.Array,
    temperature,
    *,
    num_steps: int,
    greedy: bool = False,
    return_logits: bool = False,
):
    """Free-running decode (Magenta's `sample`): each step's output is the next input.

    Sampling is `categorical(logits / temperature)` (or argmax when `greedy`). Returns
    (ids [B, T] int32, logits [B, T, 512] or None, final state).
    """
    embedding, z_gates = _layer0_parts(weights, z)
    state0 = initial_state(weights.initial_state, z, weights.cells)
    step_keys = jax.random.split(key, num_steps)

    def body(carry, key_t):
        state, prev = carry
        h, state = stack_step(weights.cells, embedding[_row(prev)] + z_gates, state)
        logits = project(weights, h)
        if greedy:
            ids = jnp.argmax(logits, axis=-1).astype(jnp.int32)
        else:
            ids = jax.random.categorical(key_t, logits / temperature).astype(jnp.int32)
        return (state, ids), (ids, logits if return_logits else None)

    (final, _), (ids, logits) = jax.lax.scan(body, (state0, start_ids.astype(jnp.int32)), step_keys)
    logits = None if logits is None else jnp.swapaxes(logits, 0, 1)
    return jnp.swapaxes(ids, 0, 1), logits, final


# --------------------------------------------------------------------------- hierarchical


def _conductor_layer0_gates(conductor: ConductorWeights, z, lower_state_flat):
    """Layer-0 input projection of the conductor: input = [previous-bar input, z]."""
    kernel, bias = conductor.cells[0].kernel, conductor.cells[0].bias
    width = lower_state_flat.shape[-1]
    z_rows = kernel[width : width + z.shape[-1]]
    return lower_state_flat @ kernel[:width] + z @ z_rows + bias


def conductor_input_width(weights: DecoderWeights, autoregressive: bool) -> int:
    """Magenta: the core decoder's flattened state size, or 1 (zeros) without autoregression."""
    if not autoregressive:
        return 1
    return 2 * sum(cell_units(cell) for cell in weights.cells)


def conductor_embeddings(conductor: ConductorWeights, z: jax.Array, num_bars: int) -> jax.Array:
    """Non-autoregressive conductor: its input is `[0, z]` each bar; returns [B, bars, H]."""
    gates = _conductor_layer0_gates(conductor, z, jnp.zeros((z.shape[0], 1), z.dtype))
    state0 = initial_state(conductor.initial_state, z, conductor.cells)

    def body(state, _):
        h, state = stack_step(conductor.cells, gates, state)
        return state, h

    _, hs = jax.lax.scan(body, state0, None, length=num_bars)
    return jnp.swapaxes(hs, 0, 1)


def hierarchical_teacher_forced(
    conductor: ConductorWeights,
    core: DecoderWeights,
    z: jax.Array,
    prev_ids: jax.Array,
    *,
    bar_steps: int,
    autoregressive: bool,
    sampling_probability=None,
    key: jax.Array | None = None,
    keep_prob: float = 1.0,
) -> jax.Array:
    """Training pass of `HierarchicalLstmDecoder`; returns the core's top h [B, T, H].

    `prev_ids` are the global teacher-forcing inputs (targets shifted right by one over
    the whole track), so bar k's first input is bar k−1's last target, as in Magenta.
    Without autoregression the conductor runs first and all bars decode in parallel
    (bars folded into the batch); with it, each conductor step reads the previous bar's
    final core state and the bars run one after another.
    """
    batch, steps = prev_ids.shape
    num_bars = steps // bar_steps
    bar_ids = prev_ids.reshape(batch, num_bars, bar_steps)
    if key is None:
        key = jax.random.PRNGKey(0)
    if not autoregressive:
        embeddings = conductor_embeddings(conductor, z, num_bars)
        hs, _ = decode_teacher_forced(
            core,
            embeddings.reshape(batch * num_bars, -1),
            bar_ids.reshape(batch * num_bars, bar_steps),
            sampling_probability=sampling_probability,
            key=key,
            keep_prob=keep_prob,
        )
        return hs.reshape(batch, steps, -1)

    width = conductor_input_width(core, True)

    def body(carry, xs):
        conductor_state, lower = carry
        ids_bar, key_bar = xs
        gates = _conductor_layer0_gates(conductor, z, lower)
        embedding, conductor_state = stack_step(conductor.cells, gates, conductor_state)
        hs, final = decode_teacher_forced(
            core,
            embedding,
            ids_bar,
            sampling_probability=sampling_probability,
            key=key_bar,
            keep_prob=keep_prob,
        )
        return (conductor_state, flatten_state(final)), hs

    state0 = initial_state(conductor.initial_state, z, conductor.cells)
    lower0 = jnp.zeros((batch, width), z.dtype)
    keys = jax.random.split(key, num_bars)
    _, hs = jax.lax.scan(body, (state0, lower0), (jnp.swapaxes(bar_ids, 0, 1), keys))
    return jnp.swapaxes(hs, 0, 1).reshape(batch, steps, -1)


def hierarchical_sampled(
    conductor: ConductorWeights,
    core: DecoderWeights,
    z: jax.Array,
    key: jax.Array,
    temperature,
    *,
    num_bars: int,
    bar_steps: int,
    autoregressive: bool,
    greedy: bool = False,
) -> jax.Array:
    """Generation with `HierarchicalLstmDecoder.sample`: bar by bar, [B, bars·bar_steps] ids.

    Each bar's core decoder starts from `tanh(dense(embedding))` and its first input is
    the previous bar's last sampled output (`start_inputs`); the first bar starts from
    the zero vector.
    """
    batch = z.shape[0]
    width = conductor_input_width(core, autoregressive)

    def body(carry, key_bar):
        conductor_state, lower, last = carry
        gates = _conductor_layer0_gates(conductor, z, lower)
        embedding, conductor_state = stack_step(conductor.cells, gates, conductor_state)
        ids, _, final = decode_sampled(
            core, embedding, last, key_bar, temperature, num_steps=bar_steps, greedy=greedy
        )
        lower = flatten_state(final) if autoregressive else lower
        return (conductor_state, lower, ids[:, -1]), ids

    state0 = initial_state(conductor.initial_state, z, conductor.cells)
    carry0 = (
        state0,
        jnp.zeros((batch, width), z.dtype),
        jnp.full((batch,), START_ID, jnp.int32),
    )
    _, ids = jax.lax.scan(body, carry0, jax.random.split(key, num_bars))
    return jnp.swapaxes(ids, 0, 1).reshape(batch, num_bars * bar_steps)
