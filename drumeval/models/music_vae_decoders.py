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
a 512-wide matmul inside the loop. Training runs each LSTM layer as one `lstm_sequence`
with a hand-written backward pass (kernel gradients as one matmul after the loop); with
scheduled sampling a gradient-free step-by-step pre-pass first fixes which inputs were
sampled, then the layers run one after another on those inputs (same values, same
gradients: sampled ids carry none). Inside training, sequences stay time-major
([T, B, ·], the layout the loops read), and every projection over a sequence is a
`sequence_dense`, whose kernel gradient is a plain matmul over all T·B rows. Sampling
draws with inverse CDF (one uniform per row and step).
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
    return update_from_activations(gate_activations(gates), c)


def gate_activations(gates: jax.Array) -> jax.Array:
    """σ(i), tanh(j), σ(f + forget_bias), σ(o) side by side, as the gates are laid out.

    Training keeps these (not the pre-activations) for the backward pass, which then
    needs no sigmoid or tanh of its own.
    """
    i, j, f, o = jnp.split(gates, 4, axis=-1)
    return jnp.concatenate(
        [jax.nn.sigmoid(i), jnp.tanh(j), jax.nn.sigmoid(f + FORGET_BIAS), jax.nn.sigmoid(o)], -1
    )


def update_from_activations(activations: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(new c, new h) from `gate_activations`."""
    si, tj, sf, so = jnp.split(activations, 4, axis=-1)
    new_c = sf * c + si * tj
    return new_c, jnp.tanh(new_c) * so


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
    h, new_state, _ = stack_step_recorded(cells, layer0_gates, state, keep_masks)
    return h, new_state


def stack_step_recorded(
    cells: tuple[Lstm, ...], layer0_gates: jax.Array, state: State, keep_masks=None
) -> tuple[jax.Array, State, tuple[jax.Array, ...]]:
    """`stack_step` that also returns each layer's `gate_activations`.

    With the new states they are what `lstm_sequence`'s backward pass keeps, so a
    step-by-step pass can stand in for the layer-by-layer forward (`replayed_lstm_sequence`).
    """
    c, h = state[0]
    units = cell_units(cells[0])
    activations = [gate_activations(layer0_gates + h @ cells[0].kernel[-units:])]
    c, h = update_from_activations(activations[0], c)
    new_state = [(c, h)]
    x = h
    for index, (cell, (c_l, h_l)) in enumerate(zip(cells[1:], state[1:], strict=True)):
        if keep_masks is not None:
            x = x * keep_masks[index]
        acts = gate_activations(jnp.concatenate([x, h_l], -1) @ cell.kernel + cell.bias)
        c_l, h_l = update_from_activations(acts, c_l)
        new_state.append((c_l, h_l))
        activations.append(acts)
        x = h_l
    return x, tuple(new_state), tuple(activations)


# --------------------------------------------------------------------------- sequence LSTM


@jax.custom_vjp
def sequence_dense(x, kernel, bias):
    """`x @ kernel + bias` over every row of a sequence x [..., I] (a time-major layer input).

    The backward pass is written out so the kernel gradient is one plain matmul of the
    transposed (narrow) input with the output gradient: JAX's own transpose rule left XLA
    CPU transposing the (wide) output gradient and using its slow generic dot, which cost
    more than all the encoder's recurrent matmuls together (README, "Benchmarks").
    """
    return x @ kernel + bias


def _sequence_dense_fwd(x, kernel, bias):
    return sequence_dense(x, kernel, bias), (x, kernel)


def _sequence_dense_bwd(residuals, d_out):
    x, kernel = residuals
    rows = x.reshape(-1, x.shape[-1])
    d_rows = d_out.reshape(-1, d_out.shape[-1])
    d_kernel = rows.T @ d_rows
    d_x = (d_rows @ kernel.T).reshape(x.shape)
    return d_x, d_kernel, jnp.sum(d_rows, axis=0)


sequence_dense.defvjp(_sequence_dense_fwd, _sequence_dense_bwd)


@jax.custom_vjp
def lstm_sequence(gates_x, recurrent, c0, h0, valid):
    """LSTM layers over time with the input projections already done, one tuple entry per cell.

    Each entry is an independent cell run over the same steps (the two directions of a
    bidirectional layer, or one decoder layer): gates_x [T, B, 4H] (`x @ W_x + b` for every
    step), recurrent [H, 4H], c0/h0 [B, H]; valid [T, B] (where False the state passes
    through unchanged, as `dynamic_rnn` past a sequence's length). Returns (h states
    [T, B, H] per cell, final c per cell). The cells share one loop (half the sequential
    steps of two) but keep arrays of their own: a stacked direction axis cost copies of the
    [T, 2, B, 4H] gates into and out of that layout, worth 10 % of a 2-bar step at batch
    512 (docs/benchmarks.md).

    The hand-written backward pass is why this exists: JAX's scan transpose adds each
    step's rank-B outer product into the full kernel gradient inside the loop (at batch
    1 that streams the whole kernel through memory every step); here the reverse loop
    only carries dh/dc and the kernel gradient is one matmul over all T·B rows after it.
    """
    hs, _, cs = _lstm_sequence_forward(gates_x, recurrent, c0, h0, valid)
    return hs, tuple(c[-1] for c in cs)


def _lstm_sequence_forward(gates_x, recurrent, c0, h0, valid):
    """(h states, gate activations, c states), each a tuple of [T, B, ·] per cell."""
    mask = valid[:, :, None]

    def body(carry, xs):
        gates_t, valid_t = xs
        new_c, new_h, activations = [], [], []
        for gates, kernel, c, h in zip(gates_t, recurrent, *carry, strict=True):
            acts = gate_activations(gates + h @ kernel)
            c_next, h_next = update_from_activations(acts, c)
            new_c.append(jnp.where(valid_t, c_next, c))
            new_h.append(jnp.where(valid_t, h_next, h))
            activations.append(acts)
        return (tuple(new_c), tuple(new_h)), (tuple(new_h), tuple(activations), tuple(new_c))

    _, (hs, acts, cs) = jax.lax.scan(body, (tuple(c0), tuple(h0)), (tuple(gates_x), mask))
    return hs, acts, cs


def _lstm_sequence_fwd(gates_x, recurrent, c0, h0, valid):
    hs, acts, cs = _lstm_sequence_forward(gates_x, recurrent, c0, h0, valid)
    return (hs, tuple(c[-1] for c in cs)), (hs, acts, cs, recurrent, c0, h0, valid)


def _lstm_sequence_bwd(residuals, cotangents):
    hs, acts, cs, recurrent, c0, h0, valid = residuals
    d_hs, d_c_final = cotangents
    c_prev = tuple(jnp.concatenate([c[None], seq[:-1]], 0) for c, seq in zip(c0, cs, strict=True))
    mask = valid[:, :, None]
    recurrent_t = tuple(kernel.T for kernel in recurrent)  # transposed once, not per step

    def body(carry, xs):
        d_h_t, acts_t, c_t, c_prev_t, valid_t = xs
        dh_prev, dc_prev, d_gates = [], [], []
        for d_h, a, c, c_before, kernel_t, dh_next, dc_next in zip(
            d_h_t, acts_t, c_t, c_prev_t, recurrent_t, *carry, strict=True
        ):
            dh = d_h + dh_next
            si, tj, sf, so = jnp.split(a, 4, axis=-1)
            tc = jnp.tanh(c)
            dc = dc_next + dh * so * (1.0 - tc**2)
            dz = jnp.concatenate(
                [
                    dc * tj * si * (1.0 - si),
                    dc * si * (1.0 - tj**2),
                    dc * c_before * sf * (1.0 - sf),
                    dh * tc * so * (1.0 - so),
                ],
                axis=-1,
            )
            dz = jnp.where(valid_t, dz, 0.0)
            dh_prev.append(jnp.where(valid_t, dz @ kernel_t, dh))
            dc_prev.append(jnp.where(valid_t, dc * sf, dc_next))
            d_gates.append(dz)
        return (tuple(dh_prev), tuple(dc_prev)), tuple(d_gates)

    carry0 = (tuple(jnp.zeros_like(h) for h in h0), tuple(d_c_final))
    xs = (tuple(d_hs), acts, cs, c_prev, mask)
    (dh0, dc0), dzs = jax.lax.scan(body, carry0, xs, reverse=True)
    d_recurrent = []
    for h_first, seq, dz in zip(h0, hs, dzs, strict=True):
        h_prev = jnp.concatenate([h_first[None], seq[:-1]], 0)
        d_recurrent.append(h_prev.reshape(-1, h_prev.shape[-1]).T @ dz.reshape(-1, dz.shape[-1]))
    return dzs, tuple(d_recurrent), dc0, dh0, None


lstm_sequence.defvjp(_lstm_sequence_fwd, _lstm_sequence_bwd)


@jax.custom_vjp
def replayed_lstm_sequence(gates_x, recurrent, c0, h0, valid, recorded):
    """`lstm_sequence` whose forward pass already ran: `recorded` is its (hs, activations, cs).

    Scheduled sampling runs the decoder step by step to find which inputs were sampled;
    that pass computes every layer's states on exactly those inputs, so the layer-by-layer
    pass only needs `lstm_sequence`'s backward, not its forward again (a decoder forward,
    ≈ 12 % of a 2-bar step at batch 512). `recorded` must come without gradient.
    """
    hs, _, cs = recorded
    return hs, tuple(c[-1] for c in cs)


def _replayed_fwd(gates_x, recurrent, c0, h0, valid, recorded):
    hs, acts, cs = recorded
    return (hs, tuple(c[-1] for c in cs)), (hs, acts, cs, recurrent, c0, h0, valid)


def _replayed_bwd(residuals, cotangents):
    return (*_lstm_sequence_bwd(residuals, cotangents), None)


replayed_lstm_sequence.defvjp(_replayed_fwd, _replayed_bwd)


# --------------------------------------------------------------------------- encoder


def bidirectional_layer(
    fw: Lstm, bw: Lstm, inputs: jax.Array, lengths: jax.Array, keep_masks=None
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One `sequence_length`-aware bidirectional LSTM layer over [B, T, D] inputs.

    Returns (outputs [B, T, 2H] in input order, final fw h, final bw h). The backward
    cell reads the *valid part* reversed (`tf.reverse_sequence`), and states stop
    updating after each sequence's length, as `dynamic_rnn` does. Both directions share
    one `lstm_sequence` loop. `keep_masks` [2, B, T, D] (already scaled by 1/keep_prob)
    drop each direction's inputs independently.
    """
    batch, steps, input_size = inputs.shape
    units = cell_units(fw)
    reversed_inputs = reverse_valid(inputs, lengths)
    fw_inputs = inputs
    if keep_masks is not None:
        fw_inputs, reversed_inputs = inputs * keep_masks[0], reversed_inputs * keep_masks[1]
    gates_x = tuple(
        sequence_dense(jnp.swapaxes(x, 0, 1), cell.kernel[:input_size], cell.bias)
        for cell, x in ((fw, fw_inputs), (bw, reversed_inputs))
    )  # [T, B, 4H] each
    recurrent = (fw.kernel[input_size:], bw.kernel[input_size:])
    valid = jnp.arange(steps)[:, None] < lengths[None, :]  # [T, B]
    zeros = jnp.zeros((batch, units), inputs.dtype)
    (h_fw, h_bw), _ = lstm_sequence(gates_x, recurrent, (zeros, zeros), (zeros, zeros), valid)
    mask = valid[:, :, None]
    fw_out = jnp.swapaxes(jnp.where(mask, h_fw, 0.0), 0, 1)
    bw_out = reverse_valid(jnp.swapaxes(jnp.where(mask, h_bw, 0.0), 0, 1), lengths)
    return jnp.concatenate([fw_out, bw_out], axis=-1), h_fw[-1], h_bw[-1]


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
    return sequence_dense(h, weights.output.kernel, weights.output.bias)


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
    if keep_prob < 1.0:
        hs, final, _, _ = _interleaved_decode(
            weights, z, prev_ids, sampling_probability, key, keep_prob
        )
        return hs, final
    if sampling_probability is None:
        return _layerwise_decode(weights, z, prev_ids)
    _, _, inputs_read, recorded = jax.lax.stop_gradient(
        _interleaved_decode(weights, z, prev_ids, sampling_probability, key, 1.0)
    )
    return _layerwise_decode(weights, z, inputs_read, recorded)


def _layerwise_decode(
    weights: DecoderWeights, z: jax.Array, prev_ids: jax.Array, recorded=None
) -> tuple[jax.Array, State]:
    """Teacher forcing on known inputs, one `lstm_sequence` per layer (as cuDNN does).

    With the inputs fixed, layer l+1 only needs layer l's outputs, so every input
    projection is one matmul over all steps and each layer has a cheap backward pass.
    `recorded` (from `_interleaved_decode` on the same inputs) replays each layer's
    forward instead of running it again.
    """
    embedding, z_gates = _layer0_parts(weights, z)
    state0 = initial_state(weights.initial_state, z, weights.cells)
    gates = embedding[_row(prev_ids.T)] + z_gates[None]  # [T, B, 4H]
    valid = jnp.ones(prev_ids.shape[::-1], bool)
    final, x = [], None
    for layer, (cell, (c0, h0)) in enumerate(zip(weights.cells, state0, strict=True)):
        units = cell_units(cell)
        if x is not None:
            gates = sequence_dense(x, cell.kernel[:-units], cell.bias)
        args = ((gates,), (cell.kernel[-units:],), (c0,), (h0,), valid)
        if recorded is None:
            (x,), (c_final,) = lstm_sequence(*args)  # x: [T, B, H]
        else:
            (x,), (c_final,) = replayed_lstm_sequence(*args, recorded[layer])
        final.append((c_final, x[-1]))
    return jnp.swapaxes(x, 0, 1), tuple(final)


def _interleaved_decode(weights, z, prev_ids, sampling_probability, key, keep_prob):
    """All layers step by step, sampling inputs as Magenta's ScheduledOutputTrainingHelper.

    Returns (top h [B, T, H], final state, the inputs actually read [B, T], and per layer
    the forward `replayed_lstm_sequence` takes: ((hs,), (activations,), (cs,)), each
    [T, B, ·]). Used as a gradient-free pre-pass that fixes the scheduled-sampling inputs,
    and (differentiated directly) when input dropout is on.
    """
    embedding, z_gates = _layer0_parts(weights, z)
    forced_gates = embedding[_row(prev_ids.T)]  # [T, B, 4H]
    state0 = initial_state(weights.initial_state, z, weights.cells)
    batch, steps = prev_ids.shape
    dropout = keep_prob < 1.0
    key_bernoulli, key_sample, key_dropout = jax.random.split(key, 3)
    probability = 0.0 if sampling_probability is None else sampling_probability
    use_sample = jax.random.uniform(key_bernoulli, (steps, batch)) < probability
    use_sample = use_sample.at[0].set(False)
    # Step t samples the input of step t+1 only if some sequence will read it.
    sample_next = jnp.concatenate([jnp.any(use_sample[1:], axis=1), jnp.zeros((1,), bool)])
    uniforms = jax.random.uniform(key_sample, (steps, batch))
    drop_keys = jax.random.split(key_dropout, steps)
    z_rows = weights.cells[0].kernel[NUM_CLASSES : NUM_CLASSES + z.shape[-1]]
    output = jax.tree_util.tree_map(jax.lax.stop_gradient, weights.output)

    def body(carry, xs):
        state, sampled_prev = carry
        forced_t, prev_t, use_t, sample_next_t, uniform_t, drop_key_t = xs
        one_hot_gates = jnp.where(use_t[:, None], embedding[sampled_prev], forced_t)
        if dropout:
            one_hot_gates, gates_z, masks = _dropped_layer0(
                drop_key_t, keep_prob, one_hot_gates, z, z_rows, weights
            )
            layer0 = one_hot_gates + gates_z
        else:
            layer0, masks = one_hot_gates + z_gates, None
        h, state, activations = stack_step_recorded(weights.cells, layer0, state, masks)
        sampled = jax.lax.cond(
            sample_next_t,
            lambda: sample_inverse_cdf(
                jax.lax.stop_gradient(h) @ output.kernel + output.bias, uniform_t
            ),
            lambda: jnp.zeros_like(sampled_prev),
        )
        inputs_read = jnp.where(use_t, sampled_prev, prev_t)
        return (state, sampled), (inputs_read, state, activations)

    xs = (
        forced_gates,
        jnp.swapaxes(prev_ids, 0, 1),
        use_sample,
        sample_next,
        uniforms,
        drop_keys,
    )
    start = jnp.zeros((batch,), jnp.int32)
    (final, _), (inputs_read, states, activations) = jax.lax.scan(body, (state0, start), xs)
    recorded = tuple(
        ((h_l,), (acts,), (c_l,)) for (c_l, h_l), acts in zip(states, activations, strict=True)
    )
    top_hs = jnp.swapaxes(states[-1][1], 0, 1)
    return top_hs, final, jnp.swapaxes(inputs_read, 0, 1), recorded


def sample_inverse_cdf(logits: jax.Array, uniforms: jax.Array) -> jax.Array:
    """One categorical draw per row from `softmax(logits)` given one uniform per row.

    Inverse-CDF sampling (as NumPy's `choice`) needs a single random number per row,
    where Gumbel-max needs 512: on a CPU that random-bit generation dominated the loop.
    """
    probabilities = jax.nn.softmax(logits, axis=-1)
    cdf = jnp.cumsum(probabilities, axis=-1)
    threshold = uniforms[:, None] * cdf[:, -1:]
    ids = jnp.sum(cdf <= threshold, axis=-1)
    return jnp.minimum(ids, logits.shape[-1] - 1).astype(jnp.int32)


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
    uniforms = jax.random.uniform(key, (num_steps, z.shape[0]))

    def body(carry, uniform_t):
        state, prev = carry
        h, state = stack_step(weights.cells, embedding[_row(prev)] + z_gates, state)
        logits = project(weights, h)
        if greedy:
            ids = jnp.argmax(logits, axis=-1).astype(jnp.int32)
        else:
            ids = sample_inverse_cdf(logits / temperature, uniform_t)
        return (state, ids), (ids, logits if return_logits else None)

    (final, _), (ids, logits) = jax.lax.scan(body, (state0, start_ids.astype(jnp.int32)), uniforms)
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
