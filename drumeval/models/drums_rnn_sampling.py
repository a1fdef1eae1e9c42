"""DrumsRNN generation: Magenta's sampling rule and beam search, compiled end to end.

Semantics follow `events_rnn_model._generate_events` and `magenta/common/beam_search.py`:
the output starts with the primer (default: one kick, like `drums_rnn_generate`'s
`[(36,)]`), the remaining steps are sampled from `softmax(logits / temperature)` with
NumPy's `RandomState.choice` rule (`cdf = cumsum(p) / sum(p)`, first index with
`cdf > u`), and beam search keeps, every `steps_per_iteration` steps, the `beam_size`
sequences with the highest total log-likelihood out of `beam_size × branch_factor`.

Everything after argument checking is one `jax.jit` program: `lax.scan` over steps,
all samples (and all beam branches) batched. Compiled programs are cached by JAX per
(model config, shapes, beam settings); weights, temperature and uniforms are arguments.
"""

from functools import partial
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from drumeval.data.drum_classes import NUM_DRUM_EVENTS
from drumeval.errors import ModelError
from drumeval.models.drums_rnn_steps import Layout, Prepared, prepare, step_prepared, zero_state

DEFAULT_PRIMER = np.array([1], dtype=np.int32)  # one kick: Magenta's CLI default [(36,)]


class SamplingModel(Protocol):
    """What sampling needs: the Keras `DrumsRNN` or a `light.LightDrumsRNN` (no Keras)."""

    @property
    def config(self) -> Layout: ...

    def params(self) -> dict[str, Any]: ...


def sample(
    model: SamplingModel,
    *,
    num_samples: int = 1,
    num_steps: int = 960,
    temperature: float = 1.0,
    seed: int = 0,
    primer_event_ids: np.ndarray | None = None,
    beam_size: int = 1,
    branch_factor: int = 1,
    steps_per_iteration: int = 1,
) -> np.ndarray:
    """`num_samples` tracks of `num_steps` event ids (primer included), int32.

    Same arguments → identical output. With beam search, each returned track is the best
    of its own beam (samples do not compete with each other).
    """
    primer = _check_primer(primer_event_ids, num_steps)
    _check_positive(
        num_samples=num_samples,
        beam_size=beam_size,
        branch_factor=branch_factor,
        steps_per_iteration=steps_per_iteration,
    )
    if not temperature > 0:
        raise ModelError(f"temperature must be > 0, got {temperature}")
    num_generated = num_steps - len(primer)
    uniforms = jax.random.uniform(
        jax.random.PRNGKey(seed), (num_generated, num_samples, beam_size * branch_factor)
    )
    events, _ = _generate(
        model.params(),
        jnp.asarray(primer),
        uniforms,
        jnp.float32(temperature),
        config=model.config,
        num_steps=num_steps,
        beam_size=beam_size,
        branch_factor=branch_factor,
        steps_per_iteration=steps_per_iteration,
    )
    return np.asarray(events, dtype=np.int32)


def sample_from_uniforms(
    model: SamplingModel,
    uniforms: np.ndarray,
    *,
    primer_event_ids: np.ndarray | None = None,
    temperature: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Plain sampling driven by given uniforms `[num_samples, num_generated]` in [0, 1).

    Replays a Magenta run (`np.random.seed(s)`; one `random_sample()` per generated step)
    when given the same uniforms. Returns (event ids `[num_samples, P + num_generated]`,
    log-likelihood of the generated steps `[num_samples]`).
    """
    uniforms = np.asarray(uniforms, dtype=np.float32)
    if uniforms.ndim != 2 or uniforms.shape[1] < 1:
        raise ModelError(f"uniforms must be [num_samples, steps ≥ 1], got {uniforms.shape}")
    primer_steps = len(DEFAULT_PRIMER if primer_event_ids is None else primer_event_ids)
    primer = _check_primer(primer_event_ids, primer_steps + uniforms.shape[1])
    events, scores = _generate(
        model.params(),
        jnp.asarray(primer),
        jnp.asarray(uniforms.T[:, :, None]),
        jnp.float32(temperature),
        config=model.config,
        num_steps=len(primer) + uniforms.shape[1],
        beam_size=1,
        branch_factor=1,
        steps_per_iteration=1,
    )
    return np.asarray(events, dtype=np.int32), np.asarray(scores)


def _check_primer(primer_event_ids, num_steps: int) -> np.ndarray:
    primer = DEFAULT_PRIMER if primer_event_ids is None else np.asarray(primer_event_ids)
    if primer.ndim != 1 or len(primer) == 0:
        raise ModelError("the primer must be a non-empty 1-D list of event ids")
    if not np.issubdtype(primer.dtype, np.integer) or primer.min() < 0:
        raise ModelError("primer event ids must be integers in 0..511")
    if primer.max() >= NUM_DRUM_EVENTS:
        raise ModelError(f"primer event ids must be < {NUM_DRUM_EVENTS}, got {primer.max()}")
    if len(primer) >= num_steps:
        raise ModelError(
            f"the primer ({len(primer)} steps) must be shorter than num_steps ({num_steps})"
        )
    return primer.astype(np.int32)


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ModelError(f"{name} must be ≥ 1, got {value}")


def _choose(prep: Prepared, state, last_events, position, uniforms, temperature):
    """One step for every sequence: sample the next event, return its log-probability."""
    logits, state = step_prepared(prep, state, last_events, position)
    return (state, *pick_events(logits, uniforms, temperature))


def pick_events(logits: jax.Array, uniforms: jax.Array, temperature) -> tuple[jax.Array, jax.Array]:
    """Magenta's sampling rule on logits `[B, 512]`: (chosen events `[B]`, their log-probs)."""
    log_probs = jax.nn.log_softmax(logits / temperature, axis=-1)
    cdf = jnp.cumsum(jnp.exp(log_probs), axis=-1)
    cdf = cdf / cdf[:, -1:]
    choice = jnp.sum(cdf <= uniforms[:, None], axis=-1).astype(jnp.int32)
    choice = jnp.minimum(choice, NUM_DRUM_EVENTS - 1)
    return choice, jnp.take_along_axis(log_probs, choice[:, None], axis=-1)[:, 0]


def _run_steps(prep, carry, positions, uniforms, temperature):
    """Extend every sequence by `len(positions)` sampled steps (one `lax.scan`)."""

    def body(carry, inputs):
        state, events, last, score = carry
        position, step_uniforms = inputs
        state, choice, log_prob = _choose(prep, state, last, position, step_uniforms, temperature)
        events = jax.lax.dynamic_update_slice_in_dim(events, choice[:, None], position + 1, 1)
        return (state, events, choice, score + log_prob), None

    carry, _ = jax.lax.scan(body, carry, (positions, uniforms))
    return carry


def _prune_and_branch(carry, num_samples: int, beam_size: int, branch_factor: int):
    """Keep each sample's `beam_size` best sequences, then repeat them `branch_factor` times.

    Ties go to the lower index, as `heapq.nlargest`; branch n copies entry n % beam_size
    (Magenta's `beam_entries * branch_factor`).
    """
    width = beam_size * branch_factor
    scores = carry[3].reshape(num_samples, width)
    _, best = jax.lax.top_k(scores, beam_size)
    rows = jnp.tile(best, (1, branch_factor)) + width * jnp.arange(num_samples)[:, None]
    return jax.tree_util.tree_map(lambda leaf: leaf[rows.reshape(-1)], carry)


@partial(
    jax.jit,
    static_argnames=("config", "num_steps", "beam_size", "branch_factor", "steps_per_iteration"),
)
def _generate(
    params,
    primer: jax.Array,
    uniforms: jax.Array,
    temperature: jax.Array,
    *,
    config: Layout,
    num_steps: int,
    beam_size: int,
    branch_factor: int,
    steps_per_iteration: int,
):
    """uniforms `[num_generated, num_samples, beam·branch]` → (events `[S, T]`, scores `[S]`)."""
    prep = prepare(params)
    num_generated, num_samples, width = uniforms.shape
    primer_steps = primer.shape[0]

    def prime_body(state, position):
        events = jnp.full((num_samples,), primer[position], dtype=jnp.int32)
        return step_prepared(prep, state, events, position)[1], None

    state, _ = jax.lax.scan(
        prime_body, zero_state(config, num_samples), jnp.arange(primer_steps - 1)
    )
    state = jax.tree_util.tree_map(lambda leaf: jnp.repeat(leaf, width, axis=0), state)
    events = jnp.zeros((num_samples * width, num_steps), jnp.int32).at[:, :primer_steps].set(primer)
    last = jnp.full((num_samples * width,), primer[-1], dtype=jnp.int32)
    carry = (state, events, last, jnp.zeros(num_samples * width, jnp.float32))
    positions = jnp.arange(primer_steps - 1, num_steps - 1, dtype=jnp.int32)
    uniforms = uniforms.reshape(num_generated, num_samples * width)

    first = (num_generated - 1) % steps_per_iteration + 1
    carry = _run_steps(prep, carry, positions[:first], uniforms[:first], temperature)
    iterations = (num_generated - first) // steps_per_iteration
    if iterations and width > 1:

        def iteration(carry, inputs):
            carry = _prune_and_branch(carry, num_samples, beam_size, branch_factor)
            return _run_steps(prep, carry, *inputs, temperature), None

        shape = (iterations, steps_per_iteration)
        carry, _ = jax.lax.scan(
            iteration,
            carry,
            (positions[first:].reshape(shape), uniforms[first:].reshape(*shape, -1)),
        )
    elif iterations:
        carry = _run_steps(prep, carry, positions[first:], uniforms[first:], temperature)
    _, events, _, scores = carry
    events = events.reshape(num_samples, width, num_steps)
    scores = scores.reshape(num_samples, width)
    best = jnp.argmax(scores, axis=-1)
    return events[jnp.arange(num_samples), best], scores[jnp.arange(num_samples), best]
