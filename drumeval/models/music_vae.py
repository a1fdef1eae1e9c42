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
- Generation: `sample`, `encode`, `decode`, `reconstruct`, `interpolate` (slerp between the
  posterior means, as `TrainedModel.interpolate`), `latent_walk` (60 bars from the 2-bar
  model) — each one compiled `lax.scan`, batched, seeded.

Weights load from Magenta TF1 checkpoints with `import_magenta`.
"""

import dataclasses
import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import keras
import numpy as np

from drumeval.data.drum_classes import NUM_DRUM_CLASSES, STEPS_PER_BAR
from drumeval.data.encoding import MUSIC_VAE_INPUT_SIZE
from drumeval.errors import MagentaImportError, ModelError
from drumeval.models import music_vae_decoders as core
from drumeval.models.cells import MagentaLSTMCell
from drumeval.models.music_vae_decoders import (
    NUM_CLASSES,
    START_ID,
    ConductorWeights,
    DecoderWeights,
    Dense,
    Lstm,
)

DECODERS = ("categorical", "hierarchical")
SAMPLING_SCHEDULES = ("constant", "exponential", "inverse_sigmoid")
CLIP_MODES = ("global_norm", "value")


@dataclass(frozen=True)
class MusicVaeConfig:
    """Magenta's MusicVAE hparams (same names), plus the decoder kind.

    `decoder="hierarchical"` uses `level_lengths = (bars, steps_per_bar)` (their product is
    `max_seq_len`); the conductor has `dec_rnn_size` cells like the core decoder, as in
    Magenta. `disable_autoregression=True` (Magenta's hierdec configs) feeds the conductor
    zeros instead of the previous bar's final core state.
    """

    max_seq_len: int = 32
    z_size: int = 256
    enc_rnn_size: tuple[int, ...] = (512,)
    dec_rnn_size: tuple[int, ...] = (256, 256)
    free_bits: float = 48.0
    max_beta: float = 0.2
    beta_rate: float = 0.0
    batch_size: int = 512
    grad_clip: float = 1.0
    clip_mode: str = "global_norm"
    grad_norm_clip_to_zero: float = 10000.0
    learning_rate: float = 0.001
    decay_rate: float = 0.9999
    min_learning_rate: float = 0.00001
    dropout_keep_prob: float = 1.0
    sampling_schedule: str = "inverse_sigmoid"
    sampling_rate: float = 1000.0
    decoder: str = "categorical"
    level_lengths: tuple[int, ...] = ()
    disable_autoregression: bool = True

    def __post_init__(self) -> None:
        for name in ("enc_rnn_size", "dec_rnn_size", "level_lengths"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        problems = _config_problems(self)
        if problems:
            raise ModelError(f"invalid MusicVAE hparams: {'; '.join(problems)}")

    @property
    def bar_steps(self) -> int:
        """Steps per core-decoder segment (one bar for the hierarchical decoder)."""
        return self.level_lengths[-1] if self.decoder == "hierarchical" else self.max_seq_len

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in _fields(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "MusicVaeConfig":
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ModelError(f"unknown MusicVAE hparam(s): {', '.join(unknown)}")
        return cls(**values)


def _fields(config: MusicVaeConfig) -> dict[str, Any]:
    return {field.name: getattr(config, field.name) for field in dataclasses.fields(config)}


def _config_problems(config: MusicVaeConfig) -> list[str]:
    problems = []
    if config.max_seq_len < 1 or config.z_size < 1 or config.batch_size < 1:
        problems.append("max_seq_len, z_size and batch_size must be ≥ 1")
    if not config.enc_rnn_size or not config.dec_rnn_size:
        problems.append("enc_rnn_size and dec_rnn_size need at least one layer")
    if min(config.enc_rnn_size + config.dec_rnn_size, default=1) < 1:
        problems.append("layer sizes must be ≥ 1")
    if config.decoder not in DECODERS:
        problems.append(f"decoder must be one of {DECODERS}, got {config.decoder!r}")
    if config.decoder == "hierarchical" and (
        len(config.level_lengths) != 2 or math.prod(config.level_lengths) != config.max_seq_len
    ):
        problems.append(
            "the hierarchical decoder needs level_lengths=[bars, steps_per_bar] whose product "
            f"is max_seq_len ({config.max_seq_len}), got {list(config.level_lengths)}"
        )
    if config.sampling_schedule not in SAMPLING_SCHEDULES:
        problems.append(f"sampling_schedule must be one of {SAMPLING_SCHEDULES}")
    elif config.sampling_schedule == "constant" and not 0 <= config.sampling_rate <= 1:
        problems.append("a constant sampling_rate must be in [0, 1]")
    elif config.sampling_schedule == "inverse_sigmoid" and config.sampling_rate < 1:
        problems.append("an inverse_sigmoid sampling_rate must be ≥ 1")
    elif config.sampling_schedule == "exponential" and not 0 < config.sampling_rate < 1:
        problems.append("an exponential sampling_rate must be in (0, 1)")
    if config.clip_mode not in CLIP_MODES:
        problems.append(f"clip_mode must be one of {CLIP_MODES}")
    if not 0 < config.dropout_keep_prob <= 1:
        problems.append("dropout_keep_prob must be in (0, 1]")
    return problems


_MAGENTA_2BAR = MusicVaeConfig()
PRESETS: dict[str, MusicVaeConfig] = {
    "cat-drums_2bar_small": _MAGENTA_2BAR,
    # The thesis' flat 60-bar variant: one z for a whole 2-minute track, trained at batch 1.
    "thesis-longbar": dataclasses.replace(
        _MAGENTA_2BAR, max_seq_len=960, z_size=128, dec_rnn_size=(128, 128), batch_size=1
    ),
    # Conductor over 60 bars → per-bar core decoder; ≈ 1.9 M parameters (7.5 MB).
    "hier-60bar": dataclasses.replace(
        _MAGENTA_2BAR,
        max_seq_len=960,
        z_size=128,
        enc_rnn_size=(256,),
        dec_rnn_size=(128, 128),
        batch_size=4,
        decoder="hierarchical",
        level_lengths=(60, STEPS_PER_BAR),
    ),
}


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


def encoder_inputs(event_ids: jax.Array) -> jax.Array:
    """`music_vae_inputs` in JAX: 9 roll bits + the "no hit" bit, [..., T, 10] float32."""
    ids = jnp.asarray(event_ids, jnp.int32)
    bits = (ids[..., None] >> jnp.arange(NUM_DRUM_CLASSES)) & 1
    return jnp.concatenate([bits, (ids == 0)[..., None]], axis=-1).astype(jnp.float32)


def decoder_inputs(event_ids: jax.Array) -> jax.Array:
    """Teacher-forcing inputs: targets shifted right by one, START_ID first."""
    start = jnp.full((*event_ids.shape[:-1], 1), START_ID, jnp.int32)
    return jnp.concatenate([start, jnp.asarray(event_ids, jnp.int32)[..., :-1]], axis=-1)


# --------------------------------------------------------------------------- model


class VaeWeights(NamedTuple):
    """Every weight of a MusicVAE as arrays (a JAX pytree)."""

    encoder: tuple[tuple[Lstm, Lstm], ...]  # (fw, bw) per layer
    mu: Dense
    sigma: Dense
    decoder: DecoderWeights  # the core decoder for the hierarchical model
    conductor: ConductorWeights | None


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


def _posterior_parameters(
    weights: VaeWeights,
    inputs: jax.Array,
    lengths: jax.Array,
    *,
    keep_prob: float = 1.0,
    key: jax.Array | None = None,
):
    """Encoder output, mu and the pre-softplus sigma ("sigma logits")."""
    x = inputs
    for fw, bw in weights.encoder:
        masks = None
        if keep_prob < 1.0:
            key, key_layer = jax.random.split(key)
            masks = jax.random.bernoulli(key_layer, keep_prob, (2, *x.shape)) / keep_prob
        x, h_fw, h_bw = core.bidirectional_layer(fw, bw, x, lengths, keep_masks=masks)
    encoder_output = jnp.concatenate([h_fw, h_bw], axis=-1)
    mu = encoder_output @ weights.mu.kernel + weights.mu.bias
    sigma_logits = encoder_output @ weights.sigma.kernel + weights.sigma.bias
    return encoder_output, mu, sigma_logits


def posterior(
    weights: VaeWeights,
    inputs: jax.Array,
    lengths: jax.Array,
    *,
    keep_prob: float = 1.0,
    key: jax.Array | None = None,
):
    """Encoder: returns (encoder output [B, 2H], mu [B, Z], sigma [B, Z]).

    With `keep_prob` < 1, each cell's inputs get their own dropout mask per step
    (Magenta wraps every encoder cell, fw and bw alike, in `DropoutWrapper`).
    """
    encoder_output, mu, sigma_logits = _posterior_parameters(
        weights, inputs, lengths, keep_prob=keep_prob, key=key
    )
    return encoder_output, mu, jax.nn.softplus(sigma_logits)


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
        probability=probability,
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


# --------------------------------------------------------------------------- Magenta import

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
    from drumeval.models.magenta_io import read_tf_checkpoint

    return load_magenta_variables(read_tf_checkpoint(checkpoint_dir), config)


def load_magenta_variables(variables: dict[str, np.ndarray], config: MusicVaeConfig) -> MusicVAE:
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


# --------------------------------------------------------------------------- generation


@functools.partial(jax.jit, static_argnames=("config", "num_steps", "greedy"))
def _decode_ids(weights: VaeWeights, z, key, temperature, *, config, num_steps, greedy):
    if config.decoder == "categorical":
        start = jnp.full((z.shape[0],), START_ID, jnp.int32)
        ids, _, _ = core.decode_sampled(
            weights.decoder, z, start, key, temperature, num_steps=num_steps, greedy=greedy
        )
        return ids
    return core.hierarchical_sampled(
        weights.conductor,
        weights.decoder,
        z,
        key,
        temperature,
        num_bars=num_steps // config.bar_steps,
        bar_steps=config.bar_steps,
        autoregressive=not config.disable_autoregression,
        greedy=greedy,
    )


@jax.jit
def _posterior_jit(weights: VaeWeights, event_ids, lengths):
    _, mu, sigma = posterior(weights, encoder_inputs(event_ids), lengths)
    return mu, sigma


def _check_generation(model: MusicVAE, num_steps: int, temperature: float) -> None:
    if temperature <= 0:
        raise ModelError(f"temperature must be > 0, got {temperature} (use greedy=True for argmax)")
    if num_steps < 1:
        raise ModelError(f"num_steps must be ≥ 1, got {num_steps}")
    if model.config.decoder == "hierarchical" and num_steps % model.config.bar_steps:
        raise ModelError(
            f"the hierarchical decoder generates whole bars: num_steps must be a multiple of "
            f"{model.config.bar_steps}, got {num_steps}"
        )


def decode(
    model: MusicVAE,
    z: np.ndarray,
    *,
    num_steps: int | None = None,
    temperature: float = 1.0,
    seed: int = 0,
    greedy: bool = False,
) -> np.ndarray:
    """Decode latent vectors [N, Z] into event ids [N, num_steps] (TrainedModel.decode).

    Each step samples `categorical(logits / temperature)` and feeds it back; `greedy`
    takes the argmax instead (temperature is then ignored).
    """
    num_steps = num_steps or model.config.max_seq_len
    _check_generation(model, num_steps, 1.0 if greedy else temperature)
    z = jnp.asarray(np.asarray(z, np.float32).reshape(-1, model.config.z_size))
    ids = _decode_ids(
        model.weight_tree(),
        z,
        jax.random.PRNGKey(seed),
        jnp.float32(temperature),
        config=model.config,
        num_steps=num_steps,
        greedy=greedy,
    )
    return np.asarray(ids, np.int32)


def sample(
    model: MusicVAE,
    *,
    num_samples: int,
    num_steps: int | None = None,
    temperature: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """`num_samples` tracks from the prior: z ~ N(0, I), then `decode` (TrainedModel.sample)."""
    if num_samples < 1:
        raise ModelError(f"num_samples must be ≥ 1, got {num_samples}")
    key_z, key_decode = jax.random.split(jax.random.PRNGKey(seed))
    z = jax.random.normal(key_z, (num_samples, model.config.z_size))
    num_steps = num_steps or model.config.max_seq_len
    _check_generation(model, num_steps, temperature)
    ids = _decode_ids(
        model.weight_tree(),
        z,
        key_decode,
        jnp.float32(temperature),
        config=model.config,
        num_steps=num_steps,
        greedy=False,
    )
    return np.asarray(ids, np.int32)


def _as_batch(event_ids, lengths, max_seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    event_ids = np.atleast_2d(np.asarray(event_ids, np.int32))
    if event_ids.shape[1] > max_seq_len:
        raise ModelError(
            f"inputs have {event_ids.shape[1]} steps but the model encodes at most "
            f"{max_seq_len}; crop them first"
        )
    if lengths is None:
        lengths = np.full(len(event_ids), event_ids.shape[1], np.int32)
    lengths = np.atleast_1d(np.asarray(lengths, np.int32))
    if len(lengths) != len(event_ids):
        raise ModelError(f"{len(event_ids)} inputs but {len(lengths)} lengths")
    padded = np.zeros((len(event_ids), max_seq_len), np.int32)
    padded[:, : event_ids.shape[1]] = event_ids
    return padded, lengths


def encode(model: MusicVAE, event_ids: np.ndarray, lengths=None) -> tuple[np.ndarray, np.ndarray]:
    """Posterior (mu, sigma), each [N, Z], of event-id tracks [N, T ≤ max_seq_len]."""
    padded, lengths = _as_batch(event_ids, lengths, model.config.max_seq_len)
    mu, sigma = _posterior_jit(model.weight_tree(), jnp.asarray(padded), jnp.asarray(lengths))
    return np.asarray(mu), np.asarray(sigma)


def reconstruct(
    model: MusicVAE, event_ids: np.ndarray, lengths=None, *, temperature: float = 1.0, seed: int = 0
) -> np.ndarray:
    """Encode, then decode from z = mu (the posterior mean, so only decoding is random)."""
    mu, _ = encode(model, event_ids, lengths)
    return decode(model, mu, temperature=temperature, seed=seed)


def slerp(p0: np.ndarray, p1: np.ndarray, t: float) -> np.ndarray:
    """Spherical linear interpolation, as `TrainedModel.interpolate` (linear if parallel)."""
    p0, p1 = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    cosine = np.dot(p0 / np.linalg.norm(p0), p1 / np.linalg.norm(p1))
    omega = np.arccos(np.clip(cosine, -1.0, 1.0))
    if np.sin(omega) < 1e-8:
        return (1.0 - t) * p0 + t * p1
    return (np.sin((1.0 - t) * omega) * p0 + np.sin(t * omega) * p1) / np.sin(omega)


def interpolation_latents(
    model: MusicVAE, event_ids_a, event_ids_b, *, num_interpolations: int, lengths=None
) -> np.ndarray:
    """The z path of `interpolate`: slerp between the two posterior means, endpoints included."""
    if num_interpolations < 2:
        raise ModelError(f"num_interpolations must be ≥ 2, got {num_interpolations}")
    a = np.asarray(event_ids_a).reshape(-1)
    b = np.asarray(event_ids_b).reshape(-1)
    length = max(len(a), len(b))
    both = np.zeros((2, length), np.int32)
    both[0, : len(a)], both[1, : len(b)] = a, b
    mu, _ = encode(model, both, lengths if lengths is not None else [len(a), len(b)])
    path = [slerp(mu[0], mu[1], t) for t in np.linspace(0.0, 1.0, num_interpolations)]
    return np.stack(path).astype(np.float32)


def interpolate(
    model: MusicVAE,
    event_ids_a: np.ndarray,
    event_ids_b: np.ndarray,
    *,
    num_interpolations: int = 8,
    temperature: float = 1.0,
    seed: int = 0,
    lengths=None,
) -> np.ndarray:
    """`num_interpolations` tracks morphing from a to b (TrainedModel.interpolate).

    Both inputs are encoded to their posterior means, the path between them is spherical
    (slerp, endpoints included: the first and last tracks are reconstructions), and the
    whole path is decoded as one batch. Returns [num_interpolations, max_seq_len].
    """
    z = interpolation_latents(
        model, event_ids_a, event_ids_b, num_interpolations=num_interpolations, lengths=lengths
    )
    return decode(model, z, temperature=temperature, seed=seed)


def latent_walk_latents(
    model: MusicVAE, *, bars: int, seed: int, anchor_every_bars: int = 8
) -> np.ndarray:
    """z for each segment of `latent_walk`: slerp between random anchors [segments, Z]."""
    segment_bars = model.config.max_seq_len // STEPS_PER_BAR
    if segment_bars < 1 or model.config.max_seq_len % STEPS_PER_BAR:
        raise ModelError("latent_walk needs a model whose max_seq_len is whole bars")
    if bars < 1 or anchor_every_bars < 1:
        raise ModelError("bars and anchor_every_bars must be ≥ 1")
    num_segments = math.ceil(bars / segment_bars)
    start_bars = np.arange(num_segments) * segment_bars
    num_anchors = int(start_bars[-1] // anchor_every_bars) + 2
    anchors = np.random.default_rng(seed).standard_normal((num_anchors, model.config.z_size))
    path = []
    for start in start_bars:
        index, offset = divmod(int(start), anchor_every_bars)
        path.append(slerp(anchors[index], anchors[index + 1], offset / anchor_every_bars))
    return np.stack(path).astype(np.float32)


def latent_walk(
    model: MusicVAE,
    *,
    bars: int = 60,
    seed: int = 0,
    temperature: float = 1.0,
    anchor_every_bars: int = 8,
) -> np.ndarray:
    """A `bars`-bar track from a short (e.g. 2-bar) model by walking smoothly through z.

    Method: draw random anchors z_0, z_1, … ~ N(0, I), one every `anchor_every_bars` bars.
    The track is cut into consecutive segments of the model's length (2 bars); the segment
    starting at bar b gets z = slerp(z_k, z_k+1, (b mod A)/A) with k = b // A, A =
    `anchor_every_bars`, so neighbouring segments have nearby codes (the groove evolves
    gradually) and each anchor is hit exactly every A bars. All segments are decoded as
    one batch, each from the model's usual zero start input (the 2-bar model never saw
    any other), and concatenated. Returns int32 [bars·16].
    """
    z = latent_walk_latents(model, bars=bars, seed=seed, anchor_every_bars=anchor_every_bars)
    segments = decode(model, z, temperature=temperature, seed=seed)
    return segments.reshape(-1)[: bars * STEPS_PER_BAR].astype(np.int32)


def near_empty(event_ids: np.ndarray, *, min_hits_per_bar: float = 1.0):
    """Whether a track has fewer than `min_hits_per_bar` drum hits per bar on average.

    Counts every class hit (a step with kick + hi-hat counts 2). The thesis found MusicVAE
    samples "lacking in drum content"; this flags them. [T] → bool; [N, T] → bool [N].
    """
    ids = np.asarray(event_ids, np.int64)
    hits = np.zeros(ids.shape, np.int64)
    for drum_class in range(NUM_DRUM_CLASSES):
        hits += (ids >> drum_class) & 1
    bars = max(ids.shape[-1] / STEPS_PER_BAR, 1e-9)
    flags = hits.sum(axis=-1) / bars < min_hits_per_bar
    return bool(flags) if flags.ndim == 0 else flags
