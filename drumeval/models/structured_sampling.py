"""Sampling the structure-aware DrumsRNN along a song form, compiled end to end.

DrumsRNN's rule (`drums_rnn_sampling`): start from one kick, sample each further step from
`softmax(logits / temperature)` with Magenta's cdf rule; here each step's input also carries
the form's controls for the step being sampled and the reference bar, read from the events
already sampled (`structured_steps`). One `lax.scan` over steps, all samples batched.
"""

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from drumeval.data.forms import SongForm
from drumeval.errors import ModelError
from drumeval.models.drums_rnn_sampling import DEFAULT_PRIMER, SamplingModel, pick_events
from drumeval.models.drums_rnn_steps import Layout, prepare, step_from_gates, zero_state
from drumeval.models.structured_steps import (
    CONTROL_WEIGHT,
    check_form,
    conditioned_gates,
    form_inputs,
    reference_bits,
)


def sample(
    model: SamplingModel,
    *,
    form: SongForm,
    num_samples: int = 1,
    temperature: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """`num_samples` tracks of `form.total_bars` bars as event ids `[S, steps]` (int32).

    The first step is DrumsRNN's default primer (one kick). Same arguments → same output.
    """
    inputs = form_inputs(check_form(form))
    if num_samples < 1:
        raise ModelError(f"num_samples must be ≥ 1, got {num_samples}")
    if not temperature > 0:
        raise ModelError(f"temperature must be > 0, got {temperature}")
    if inputs.num_steps < 2:
        raise ModelError("the form must be longer than one step")
    uniforms = jax.random.uniform(jax.random.PRNGKey(seed), (inputs.num_steps - 1, num_samples))
    events, _ = _generate(
        model.params(),
        jnp.asarray(inputs.controls),
        jnp.asarray(inputs.reference_steps, dtype=jnp.int32),
        uniforms,
        jnp.float32(temperature),
        config=model.config,
    )
    return np.asarray(events, dtype=np.int32)


@partial(jax.jit, static_argnames=("config",))
def _generate(
    params: dict[str, Any],
    controls: jax.Array,
    reference_steps: jax.Array,
    uniforms: jax.Array,
    temperature: jax.Array,
    *,
    config: Layout,
) -> tuple[jax.Array, jax.Array]:
    """controls `[T, F]`, reference steps `[T]`, uniforms `[T − 1, S]` → (events `[S, T]`,
    log-likelihood of the sampled steps `[S]`)."""
    prep = prepare(params)
    control_kernel = params[CONTROL_WEIGHT]
    num_steps, num_samples = controls.shape[0], uniforms.shape[1]
    events = jnp.zeros((num_samples, num_steps), jnp.int32).at[:, 0].set(int(DEFAULT_PRIMER[0]))

    def body(carry, inputs):
        state, events, score = carry
        position, step_uniforms = inputs
        target = position + 1
        source = reference_steps[target]
        reference = jnp.where(source >= 0, events[:, jnp.maximum(source, 0)], -1)
        conditions = jnp.concatenate(
            [
                jnp.broadcast_to(controls[target], (num_samples, controls.shape[1])),
                reference_bits(reference),
            ],
            axis=-1,
        )
        gates = conditioned_gates(prep, control_kernel, events[:, position], position, conditions)
        logits, state = step_from_gates(prep, state, gates, position)
        choice, log_prob = pick_events(logits, step_uniforms, temperature)
        events = jax.lax.dynamic_update_slice_in_dim(events, choice[:, None], target, 1)
        return (state, events, score + log_prob), None

    start = (zero_state(config, num_samples), events, jnp.zeros(num_samples, jnp.float32))
    positions = jnp.arange(num_steps - 1, dtype=jnp.int32)
    (_, events, scores), _ = jax.lax.scan(body, start, (positions, uniforms))
    return events, scores
