"""MusicVAE for drums (Magenta's `cat-drums_2bar_small`) as a Keras 3 model on JAX.

What is ported, and how faithfully:
- Data: Magenta's `DrumsConverter(roll_input=True)`: encoder inputs are the 9-class roll
  plus a "no hit" bit (`drumeval.data.encoding.music_vae_inputs`), decoder targets are
  512-way event ids; long tracks are cut into drum segments at ≥ 1-bar gaps and sliced
  into `max_seq_len` windows with a 1-bar hop, de-duplicated per track (`slice_examples`).
- Model: bidirectional LSTM encoder (final fw/bw h, `sequence_length`-aware), `mu = dense`,
  `sigma = softplus(dense)`, `z = mu + sigma·ε`; a categorical LSTM decoder initialised with
  `tanh(dense(z))`, z concatenated to every input, scheduled sampling in training; or
  Magenta's `HierarchicalLstmDecoder` (a conductor LSTM emits one embedding per bar, each
  bar's core decoder starts from it). The recurrent maths lives in `music_vae_decoders`.
- Loss: `mean(r_loss + β·max(KL − free_bits·ln 2, 0))`, `β = (1 − beta_rate^step)·max_beta`,
  sampling probability from `sampling_schedule`; Adam with Magenta's learning-rate decay and
  global-norm clipping (gradients zeroed above `grad_norm_clip_to_zero`, and, as Magenta's
  `tf.cond` does, when the norm is not finite).

Deliberate deviations from Magenta (issue 18), each for the 60-bar models' training:
- The KL takes log σ from the pre-softplus value (`log_softplus`), not `log(softplus(x))`:
  the latter is −inf with a NaN gradient once softplus underflows in float32. Same value
  wherever Magenta's is finite.
- The eval loss is teacher-forced (sampling probability 0); Magenta evaluates free-running,
  whose 960-step loss is too noisy on a 70-example split to select weights or stop on.
- Generation (`sample`, `encode`, `decode`, `reconstruct`, `interpolate`, `latent_walk`)
  and the hparams live in the Keras-free `music_vae_core` and are re-exported here.

Weights load from Magenta TF1 checkpoints with `drumeval.models.magenta_io.music_vae`.
"""

import functools
import math
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np

from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.data.encoding import MUSIC_VAE_INPUT_SIZE
from drumeval.errors import ModelError
from drumeval.models import music_vae_decoders as core
from drumeval.models.cells import MagentaLSTMCell

# The Keras-free half, re-exported: this module is the MusicVAE family (drumeval.training).
from drumeval.models.music_vae_core import (  # noqa: F401
    CLIP_MODES,
    DECODERS,
    PRESETS,
    SAMPLING_SCHEDULES,
    MusicVaeConfig,
    SamplingModel,
    VaeWeights,
    _posterior_parameters,
    decode,
    decoder_inputs,
    encode,
    encoder_inputs,
    interpolate,
    interpolation_latents,
    latent_walk,
    latent_walk_latents,
    posterior,
    reconstruct,
    sample,
    slerp,
)
from drumeval.models.music_vae_decoders import (
    NUM_CLASSES,
    ConductorWeights,
    DecoderWeights,
    Dense,
    Lstm,
)

# --------------------------------------------------------------------------- schedules


def kl_beta(config: MusicVaeConfig, step):
    """Magenta's KL weight `(1 − beta_rate^step)·max_beta` (0 at step 0 when beta_rate = 0)."""
    step = jnp.asarray(step, jnp.float32)
    return (1.0 - jnp.power(jnp.float32(config.beta_rate), step)) * config.max_beta


def sampling_probability(config: MusicVaeConfig, step, training: bool = True):
    """Scheduled-sampling probability (`lstm_utils.get_sampling_probability`).

    As in Magenta, a model trained with a non-zero schedule is evaluated free-running
    (probability 1) when `training` is False.
    """
    schedule, rate = config.sampling_schedule, config.sampling_rate
    if schedule == "constant" and rate == 0:
        return jnp.float32(0.0)
    if not training:
        return jnp.float32(1.0)
    step = jnp.asarray(step, jnp.float32)
    if schedule == "constant":
        return jnp.float32(rate)
    if schedule == "inverse_sigmoid":
        return 1.0 - rate / (rate + jnp.exp(step / rate))
    return 1.0 - jnp.power(jnp.float32(rate), step)


def reads_samples(config: MusicVaeConfig, training: bool) -> bool:
    """Whether a decoder input can be a sample; if not, the step-by-step pre-pass that
    finds the sampled inputs is skipped (probability 0 would only repeat the forward)."""
    return training and not (config.sampling_schedule == "constant" and config.sampling_rate == 0)


def learning_rate_at(config: MusicVaeConfig, step):
    """`(learning_rate − min_learning_rate)·decay_rate^step + min_learning_rate`."""
    step = jnp.asarray(step, jnp.float32)
    decay = jnp.power(jnp.float32(config.decay_rate), step)
    return (config.learning_rate - config.min_learning_rate) * decay + config.min_learning_rate


# --------------------------------------------------------------------------- data


def drum_segments(
    track: np.ndarray, *, gap_bars: float | None = 1.0, max_bars: int | None = 100
) -> list[np.ndarray]:
    """Magenta's `extract_drum_tracks` on one event-id track.

    A segment starts at the bar holding its first hit, ends after its last hit padded to
    a bar boundary, and is closed by `gap_bars` bars or more without hits; `max_bars`
    truncates. `gap_bars=None` keeps one segment from the first hit's bar to the last.
    """
    track = np.asarray(track)
    hits = np.flatnonzero(track)
    gap_steps = math.inf if gap_bars is None else gap_bars * STEPS_PER_BAR
    segments, index = [], 0
    while index < len(hits):
        start = hits[index] - hits[index] % STEPS_PER_BAR
        last = hits[index]
        index += 1
        while index < len(hits) and hits[index] - (last + 1) < gap_steps:
            last = hits[index]
            index += 1
        end = last + 1 + (-(last + 1) % STEPS_PER_BAR)
        if max_bars is not None:
            end = min(end, start + max_bars * STEPS_PER_BAR)
        segment = np.zeros(end - start, np.int32)
        available = track[start:end]
        segment[: len(available)] = available
        segments.append(segment)
    return segments


def slice_examples(
    event_ids: np.ndarray,
    lengths: np.ndarray,
    max_seq_len: int,
    *,
    hop_steps: int | None = None,
    gap_bars: float | None = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut tracks into `max_seq_len`-step examples as `DrumsConverter(slice_bars=…)` does.

    Each track (its first `length` steps) is split into drum segments (`drum_segments`);
    windows of `max_seq_len` steps end at every `hop_steps` (default one bar) from
    `max_seq_len` to the segment's end; duplicate windows of one track are kept once
    (Magenta de-duplicates per NoteSequence). Returns (event_ids [M, max_seq_len] int32,
    lengths [M] int32, all `max_seq_len`).
    """
    hop = hop_steps or STEPS_PER_BAR
    windows: list[np.ndarray] = []
    for track, length in zip(np.asarray(event_ids), np.asarray(lengths), strict=True):
        seen: set[bytes] = set()
        for segment in drum_segments(track[: int(length)], gap_bars=gap_bars):
            for end in range(max_seq_len, len(segment) + 1, hop):
                window = segment[end - max_seq_len : end]
                if window.tobytes() not in seen:
                    seen.add(window.tobytes())
                    windows.append(window)
    if not windows:
        return np.zeros((0, max_seq_len), np.int32), np.zeros((0,), np.int32)
    stacked = np.stack(windows).astype(np.int32)
    return stacked, np.full(len(stacked), max_seq_len, np.int32)


def prepare_examples(
    event_ids: np.ndarray, lengths: np.ndarray, max_seq_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training examples for a model of `max_seq_len` steps from corpus tracks.

    Models shorter than the tracks (the 2-bar model) get Magenta's sliced windows; models
    as long as the tracks (the 60-bar models) get each whole track, zero-padded, with its
    length (Magenta's converter without `slice_bars`); empty rows are dropped.
    """
    event_ids, lengths = np.asarray(event_ids), np.asarray(lengths)
    if max_seq_len < event_ids.shape[1]:
        return slice_examples(event_ids, lengths, max_seq_len)
    padded = np.zeros((len(event_ids), max_seq_len), np.int32)
    padded[:, : event_ids.shape[1]] = event_ids
    keep = lengths > 0
    return padded[keep], np.minimum(lengths[keep], max_seq_len).astype(np.int32)


Batch = dict[str, np.ndarray]


def _batch(event_ids, lengths, weights) -> Batch:
    return {
        "event_ids": np.ascontiguousarray(event_ids, np.int32),
        "lengths": np.asarray(lengths, np.int32),
        "weights": np.asarray(weights, np.float32),
    }


def training_batches(
    event_ids: np.ndarray,
    lengths: np.ndarray,
    *,
    batch_size: int,
    rng: np.random.Generator,
    max_seq_len: int | None = None,
) -> Iterator[Batch]:
    """Endless shuffled batches of fixed shape {event_ids [B,T], lengths [B], weights [B]}.

    With `max_seq_len`, corpus tracks are first turned into examples (`prepare_examples`).
    Epochs are reshuffled; a batch may span two epochs, so shapes never change.
    """
    if max_seq_len is not None:
        event_ids, lengths = prepare_examples(event_ids, lengths, max_seq_len)
    if len(event_ids) == 0:
        raise ModelError("no MusicVAE training examples (are the tracks shorter than the model?)")
    order = np.zeros(0, np.int64)
    while True:
        while len(order) < batch_size:
            order = np.concatenate([order, rng.permutation(len(event_ids))])
        chosen, order = order[:batch_size], order[batch_size:]
        yield _batch(event_ids[chosen], lengths[chosen], np.ones(batch_size))


def eval_batches(
    event_ids: np.ndarray,
    lengths: np.ndarray,
    *,
    batch_size: int,
    max_seq_len: int | None = None,
) -> list[Batch]:
    """One pass over the examples; the last batch is padded with weight-0 rows."""
    if max_seq_len is not None:
        event_ids, lengths = prepare_examples(event_ids, lengths, max_seq_len)
    batches = []
    for start in range(0, len(event_ids), batch_size):
        ids = event_ids[start : start + batch_size]
        count = len(ids)
        padded = np.zeros((batch_size, event_ids.shape[1]), np.int32)
        padded[:count] = ids
        padded_lengths = np.zeros(batch_size, np.int32)
        padded_lengths[:count] = lengths[start : start + batch_size]
        batches.append(_batch(padded, padded_lengths, np.arange(batch_size) < count))
    return batches


# --------------------------------------------------------------------------- model


def _dense(units: int, input_size: int, name: str, stddev: float | None = None):
    initializer = keras.initializers.RandomNormal(stddev=stddev) if stddev else "glorot_uniform"
    layer = keras.layers.Dense(units, kernel_initializer=initializer, name=name)
    layer.build((None, input_size))
    return layer


@keras.saving.register_keras_serializable(package="drumeval")
class MusicVAE(keras.Model):
    """MusicVAE's weights as Keras layers (Magenta layouts) plus the pure forward passes.

    `call({"event_ids", "lengths"})` returns the posterior and the teacher-forced logits
    with z = μ (deterministic); training and generation go through `weight_tree` and the
    pure functions in this module, which is what `jax.jit`/`jax.grad` see.
    """

    def __init__(self, config: MusicVaeConfig | dict | None = None, **kwargs):
        super().__init__(name=kwargs.pop("name", "music_vae"), **kwargs)
        if config is None:
            config = PRESETS["cat-drums_2bar_small"]
        if isinstance(config, dict):
            config = MusicVaeConfig.from_dict(config)
        self.config = config
        encoder_fw, encoder_bw = [], []
        input_size = MUSIC_VAE_INPUT_SIZE
        for layer, units in enumerate(config.enc_rnn_size):
            encoder_fw.append(MagentaLSTMCell(units, input_size, name=f"encoder_fw_{layer}"))
            encoder_bw.append(MagentaLSTMCell(units, input_size, name=f"encoder_bw_{layer}"))
            input_size = 2 * units
        self.encoder_fw, self.encoder_bw = encoder_fw, encoder_bw
        self.mu = _dense(config.z_size, input_size, "mu", stddev=0.001)
        self.sigma = _dense(config.z_size, input_size, "sigma", stddev=0.001)
        hierarchical = config.decoder == "hierarchical"
        core_z = config.dec_rnn_size[-1] if hierarchical else config.z_size
        self.decoder_initial_state = _dense(
            2 * sum(config.dec_rnn_size), core_z, "z_to_initial_state", stddev=0.001
        )
        self.decoder_cells = _cell_stack(config.dec_rnn_size, NUM_CLASSES + core_z, "decoder")
        self.output_projection = _dense(NUM_CLASSES, config.dec_rnn_size[-1], "output_projection")
        self.conductor_cells, self.conductor_initial_state = [], None
        if hierarchical:
            width = 1 if config.disable_autoregression else 2 * sum(config.dec_rnn_size)
            self.conductor_initial_state = _dense(
                2 * sum(config.dec_rnn_size), config.z_size, "conductor_initial_state", 0.001
            )
            self.conductor_cells = _cell_stack(
                config.dec_rnn_size, width + config.z_size, "conductor"
            )
        self.built = True

    def weight_tree(self, values: list | None = None) -> VaeWeights:
        """The weights as a pytree; `values` (aligned with `trainable_variables`) override."""
        if values is None:
            lookup = _variable_value
        else:
            by_id = {
                id(v): value for v, value in zip(self.trainable_variables, values, strict=True)
            }

            def lookup(variable):
                return by_id[id(variable)]

        def lstm(cell):
            return Lstm(lookup(cell.kernel), lookup(cell.bias))

        def dense(layer):
            return Dense(lookup(layer.kernel), lookup(layer.bias))

        conductor = None
        if self.conductor_initial_state is not None:
            conductor = ConductorWeights(
                dense(self.conductor_initial_state),
                tuple(lstm(cell) for cell in self.conductor_cells),
            )
        return VaeWeights(
            encoder=tuple(
                (lstm(fw), lstm(bw))
                for fw, bw in zip(self.encoder_fw, self.encoder_bw, strict=True)
            ),
            mu=dense(self.mu),
            sigma=dense(self.sigma),
            decoder=DecoderWeights(
                dense(self.decoder_initial_state),
                tuple(lstm(cell) for cell in self.decoder_cells),
                dense(self.output_projection),
            ),
            conductor=conductor,
        )

    def call(self, inputs, training=False):
        event_ids = jnp.asarray(inputs["event_ids"], jnp.int32)
        lengths = jnp.asarray(inputs["lengths"], jnp.int32)
        return _deterministic_forward(self.weight_tree(), event_ids, lengths, config=self.config)

    def loss_fn(self, trainable, non_trainable, batch, rng, step, training):
        """The trainer's `LossFn` for this model (see `make_loss_fn`)."""
        del non_trainable
        return compute_loss(self.weight_tree(trainable), self.config, batch, rng, step, training)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable, **self.config.to_dict()}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        values = dict(config)
        base = {key: values.pop(key) for key in ("name", "trainable", "dtype") if key in values}
        base.pop("dtype", None)
        return cls(MusicVaeConfig.from_dict(values), **base)


def _variable_value(variable):
    return variable.value


def _cell_stack(sizes: tuple[int, ...], input_size: int, prefix: str) -> list[MagentaLSTMCell]:
    cells = []
    for index, units in enumerate(sizes):
        cells.append(MagentaLSTMCell(units, input_size, name=f"{prefix}_cell_{index}"))
        input_size = units
    return cells


def parameter_count(config: MusicVaeConfig) -> int:
    """Number of weights a `MusicVAE(config)` holds (float32: ×4 bytes), without building it."""

    def lstm_stack(sizes, input_size):
        total = 0
        for units in sizes:
            total += (input_size + units) * 4 * units + 4 * units
            input_size = units
        return total

    total, input_size = 0, MUSIC_VAE_INPUT_SIZE
    for units in config.enc_rnn_size:
        total += 2 * lstm_stack((units,), input_size)
        input_size = 2 * units
    total += 2 * (input_size * config.z_size + config.z_size)
    state_size = 2 * sum(config.dec_rnn_size)
    hierarchical = config.decoder == "hierarchical"
    core_z = config.dec_rnn_size[-1] if hierarchical else config.z_size
    total += core_z * state_size + state_size
    total += lstm_stack(config.dec_rnn_size, NUM_CLASSES + core_z)
    total += config.dec_rnn_size[-1] * NUM_CLASSES + NUM_CLASSES
    if hierarchical:
        width = 1 if config.disable_autoregression else state_size
        total += config.z_size * state_size + state_size
        total += lstm_stack(config.dec_rnn_size, width + config.z_size)
    return total


def build_model(config: MusicVaeConfig | str, *, seed: int = 0) -> MusicVAE:
    """A freshly initialised model from a config or a preset name (seeded)."""
    if isinstance(config, str):
        if config not in PRESETS:
            raise ModelError(f"unknown MusicVAE preset {config!r}; choose from {sorted(PRESETS)}")
        config = PRESETS[config]
    keras.utils.set_random_seed(seed)
    return MusicVAE(config)


# --------------------------------------------------------------------------- forward passes


LOG_SOFTPLUS_LINEAR_BELOW = -20.0


def log_softplus(x: jax.Array) -> jax.Array:
    """log(softplus(x)) without underflow: below −20, softplus(x) = eˣ to float precision.

    The inner `maximum` keeps the unused branch finite, so the gradient is never NaN.
    """
    safe = jnp.maximum(x, LOG_SOFTPLUS_LINEAR_BELOW)
    return jnp.where(x > LOG_SOFTPLUS_LINEAR_BELOW, jnp.log(jax.nn.softplus(safe)), x)


def kl_divergence(mu: jax.Array, sigma: jax.Array, log_sigma: jax.Array | None = None) -> jax.Array:
    """KL(N(mu, sigma²) ‖ N(0, I)) in nats, per example (pass a stable `log_sigma` if known)."""
    log_sigma = jnp.log(sigma) if log_sigma is None else log_sigma
    return 0.5 * jnp.sum(mu**2 + sigma**2 - 1.0 - 2.0 * log_sigma, axis=-1)


def decoder_hidden(
    weights: VaeWeights,
    config: MusicVaeConfig,
    z: jax.Array,
    prev_ids: jax.Array,
    *,
    probability=None,
    key: jax.Array | None = None,
    keep_prob: float = 1.0,
) -> jax.Array:
    """Top-layer decoder h [B, T, H] under teacher forcing (optionally scheduled sampling)."""
    if config.decoder == "categorical":
        hs, _ = core.decode_teacher_forced(
            weights.decoder,
            z,
            prev_ids,
            sampling_probability=probability,
            key=key,
            keep_prob=keep_prob,
        )
        return hs
    return core.hierarchical_teacher_forced(
        weights.conductor,
        weights.decoder,
        z,
        prev_ids,
        bar_steps=config.bar_steps,
        autoregressive=not config.disable_autoregression,
        sampling_probability=probability,
        key=key,
        keep_prob=keep_prob,
    )


@functools.partial(jax.jit, static_argnames=("config",))
def _deterministic_forward(weights: VaeWeights, event_ids, lengths, *, config):
    _, mu, sigma = posterior(weights, encoder_inputs(event_ids), lengths)
    hs = decoder_hidden(weights, config, mu, decoder_inputs(event_ids))
    return {"mu": mu, "sigma": sigma, "logits": core.project(weights.decoder, hs)}


def compute_loss(
    weights: VaeWeights, config: MusicVaeConfig, batch: Batch, rng, step, training: bool
):
    """Magenta's MusicVAE loss on one batch; returns (scalar loss, metrics).

    loss = weighted mean over examples of `r_loss + β·max(KL − free_bits·ln 2, 0)`, where
    r_loss sums the per-step cross-entropy over each example's valid steps. Not training,
    the decoder is teacher-forced (see the module docstring). `posterior_second_moment`,
    the mean of mu² + σ² over examples and dimensions, is 1 when the posteriors together
    fill the prior N(0, I); far below 1, prior samples land where the decoder never was.
    """
    # Magenta's `_compute_model_loss` crops longer inputs to max_seq_len.
    event_ids = jnp.asarray(batch["event_ids"], jnp.int32)[:, : config.max_seq_len]
    lengths = jnp.minimum(jnp.asarray(batch["lengths"], jnp.int32), config.max_seq_len)
    example_weights = jnp.asarray(batch["weights"], jnp.float32)
    key_dropout, key_z, key_decoder = jax.random.split(rng, 3)
    keep_prob = config.dropout_keep_prob if training else 1.0
    _, mu, sigma_logits = _posterior_parameters(
        weights, encoder_inputs(event_ids), lengths, keep_prob=keep_prob, key=key_dropout
    )
    sigma = jax.nn.softplus(sigma_logits)
    z = mu + sigma * jax.random.normal(key_z, mu.shape)
    kl = kl_divergence(mu, sigma, log_softplus(sigma_logits))
    probability = sampling_probability(config, step) if training else jnp.float32(0.0)
    hs = decoder_hidden(
        weights,
        config,
        z,
        decoder_inputs(event_ids),
        probability=probability if reads_samples(config, training) else None,
        key=key_decoder,
        keep_prob=keep_prob,
    )
    logits = core.project(weights.decoder, hs)
    log_probs = jax.nn.log_softmax(logits)
    target_log_probs = jnp.take_along_axis(log_probs, event_ids[..., None], axis=-1)[..., 0]
    mask = (jnp.arange(event_ids.shape[1])[None, :] < lengths[:, None]).astype(jnp.float32)
    r_loss = -jnp.sum(target_log_probs * mask, axis=-1)
    free_nats = config.free_bits * math.log(2.0)
    beta = kl_beta(config, step)
    per_example = r_loss + beta * jnp.maximum(kl - free_nats, 0.0)
    total_weight = jnp.maximum(jnp.sum(example_weights), 1.0)

    def mean(values):
        return jnp.sum(values * example_weights) / total_weight

    token_weights = mask * example_weights[:, None]
    correct = (jnp.argmax(logits, axis=-1) == event_ids).astype(jnp.float32)
    loss = mean(per_example)
    metrics = {
        "loss": loss,
        "r_loss": mean(r_loss),
        "kl_nats": mean(kl),
        "kl_bits": mean(kl) / math.log(2.0),
        "posterior_second_moment": mean(jnp.mean(mu**2 + sigma**2, axis=-1)),
        "beta": beta,
        "sampling_probability": jnp.asarray(probability, jnp.float32),
        "accuracy": jnp.sum(correct * token_weights) / jnp.maximum(jnp.sum(token_weights), 1.0),
    }
    return loss, metrics


def make_loss_fn(model: MusicVAE):
    """The trainer's `LossFn(trainable, non_trainable, batch, rng, step, training)`."""
    return model.loss_fn


# --------------------------------------------------------------------------- optimizer


@keras.saving.register_keras_serializable(package="drumeval")
class MagentaLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """`(lr − min_lr)·decay_rate^step + min_lr`, as `MusicVAE.train`."""

    def __init__(self, learning_rate: float, decay_rate: float, min_learning_rate: float):
        self.learning_rate = learning_rate
        self.decay_rate = decay_rate
        self.min_learning_rate = min_learning_rate

    def __call__(self, step):
        decay = keras.ops.power(self.decay_rate, keras.ops.cast(step, "float32"))
        return (self.learning_rate - self.min_learning_rate) * decay + self.min_learning_rate

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "decay_rate": self.decay_rate,
            "min_learning_rate": self.min_learning_rate,
        }


@keras.saving.register_keras_serializable(package="drumeval")
class MagentaAdam(keras.optimizers.Adam):
    """Adam (TF1 epsilon 1e-8) with `music_vae_train`'s gradient clipping.

    global_norm: scale by `grad_clip / max(norm, grad_clip)`, but replace every gradient by
    zeros when the norm reaches `grad_norm_clip_to_zero` (Adam still steps, as in Magenta);
    value: clip each entry to ±grad_clip.
    """

    def __init__(self, *, grad_clip=1.0, clip_mode="global_norm", grad_norm_clip_to_zero=1e4, **kw):
        kw.setdefault("epsilon", 1e-8)
        super().__init__(**kw)
        self.grad_clip = grad_clip
        self.clip_mode = clip_mode
        self.grad_norm_clip_to_zero = grad_norm_clip_to_zero

    def _clip_gradients(self, grads):
        if self.clip_mode == "value":
            return [keras.ops.clip(g, -self.grad_clip, self.grad_clip) for g in grads]
        norm = keras.ops.sqrt(sum(keras.ops.sum(keras.ops.square(g)) for g in grads))
        scale = self.grad_clip / keras.ops.maximum(norm, self.grad_clip)
        # Fresh zeros, not g·0: a NaN/inf norm fails the test and must not leak into Adam.
        keep = norm < self.grad_norm_clip_to_zero
        return [keras.ops.where(keep, g * scale, keras.ops.zeros_like(g)) for g in grads]

    def get_config(self):
        return {
            **super().get_config(),
            "grad_clip": self.grad_clip,
            "clip_mode": self.clip_mode,
            "grad_norm_clip_to_zero": self.grad_norm_clip_to_zero,
        }


def make_optimizer(config: MusicVaeConfig) -> MagentaAdam:
    """Adam with Magenta's decaying learning rate and clipping."""
    return MagentaAdam(
        learning_rate=MagentaLearningRate(
            config.learning_rate, config.decay_rate, config.min_learning_rate
        ),
        grad_clip=config.grad_clip,
        clip_mode=config.clip_mode,
        grad_norm_clip_to_zero=config.grad_norm_clip_to_zero,
    )
