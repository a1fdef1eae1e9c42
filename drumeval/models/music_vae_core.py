"""MusicVAE without Keras: hparams, the weight pytree, the encoder and every generation path.

Everything here is pure JAX on a `VaeWeights` pytree, so `drumeval generate` and the app can
sample a MusicVAE whose weights were read straight from its `.keras` file
(`drumeval.models.light.load_music_vae`) without importing Keras (seconds of a cold start).
`drumeval.models.music_vae` holds the Keras model, training and the Magenta import, and
re-exports these names; a model here is anything with `config` and `weight_tree()`.

Generation: `sample`, `encode`, `decode`, `reconstruct`, `interpolate` (slerp between the
posterior means, as `TrainedModel.interpolate`), `latent_walk` (60 bars from the 2-bar model)
— each one compiled `lax.scan`, batched, seeded.
"""

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from drumeval.data.drum_classes import NUM_DRUM_CLASSES, STEPS_PER_BAR
from drumeval.errors import ModelError
from drumeval.models import music_vae_decoders as core
from drumeval.models.hparams import config_from_dict, config_to_dict
from drumeval.models.music_vae_decoders import (
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
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "MusicVaeConfig":
        return config_from_dict(cls, values, "MusicVAE")


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


class VaeWeights(NamedTuple):
    """Every weight of a MusicVAE as arrays (a JAX pytree)."""

    encoder: tuple[tuple[Lstm, Lstm], ...]  # (fw, bw) per layer
    mu: Dense
    sigma: Dense
    decoder: DecoderWeights  # the core decoder for the hierarchical model
    conductor: ConductorWeights | None


class SamplingModel(Protocol):
    """What generation needs of a MusicVAE: the Keras model and `LightMusicVAE` both have it."""

    config: "MusicVaeConfig"

    def weight_tree(self) -> "VaeWeights": ...


# --------------------------------------------------------------------------- encoder


def encoder_inputs(event_ids: jax.Array) -> jax.Array:
    """`music_vae_inputs` in JAX: 9 roll bits + the "no hit" bit, [..., T, 10] float32."""
    ids = jnp.asarray(event_ids, jnp.int32)
    bits = (ids[..., None] >> jnp.arange(NUM_DRUM_CLASSES)) & 1
    return jnp.concatenate([bits, (ids == 0)[..., None]], axis=-1).astype(jnp.float32)


def decoder_inputs(event_ids: jax.Array) -> jax.Array:
    """Teacher-forcing inputs: targets shifted right by one, START_ID first."""
    start = jnp.full((*event_ids.shape[:-1], 1), START_ID, jnp.int32)
    return jnp.concatenate([start, jnp.asarray(event_ids, jnp.int32)[..., :-1]], axis=-1)


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


def _check_generation(model: SamplingModel, num_steps: int, temperature: float) -> None:
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
    model: SamplingModel,
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
    model: SamplingModel,
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


def encode(
    model: SamplingModel, event_ids: np.ndarray, lengths=None
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior (mu, sigma), each [N, Z], of event-id tracks [N, T ≤ max_seq_len]."""
    padded, lengths = _as_batch(event_ids, lengths, model.config.max_seq_len)
    mu, sigma = _posterior_jit(model.weight_tree(), jnp.asarray(padded), jnp.asarray(lengths))
    return np.asarray(mu), np.asarray(sigma)


def reconstruct(
    model: SamplingModel,
    event_ids: np.ndarray,
    lengths=None,
    *,
    temperature: float = 1.0,
    seed: int = 0,
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
    model: SamplingModel, event_ids_a, event_ids_b, *, num_interpolations: int, lengths=None
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
    model: SamplingModel,
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
    model: SamplingModel, *, bars: int, seed: int, anchor_every_bars: int = 8
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
    model: SamplingModel,
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


def sampling_method(segment_steps: int, num_steps: int) -> str:
    """How a MusicVAE samples `num_steps`: one decoder pass covers `segment_steps`
    (`max_seq_len`), so a longer track is a latent walk over segments, else a prior sample."""
    return "latent walk" if segment_steps < num_steps else "prior sample"


def sample_tracks(
    model: SamplingModel, *, num_samples: int, num_steps: int, temperature: float, seed: int
) -> np.ndarray:
    """`[num_samples, num_steps]` event ids by `sampling_method` (walk `i` uses seed + i)."""
    if sampling_method(model.config.max_seq_len, num_steps) == "latent walk":
        return np.stack(
            [
                latent_walk(
                    model,
                    bars=num_steps // STEPS_PER_BAR,
                    seed=seed + index,
                    temperature=temperature,
                )
                for index in range(num_samples)
            ]
        )
    return sample(
        model, num_samples=num_samples, num_steps=num_steps, temperature=temperature, seed=seed
    )
