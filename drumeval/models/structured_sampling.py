"""Sampling the structure-aware DrumsRNN along a song form, compiled end to end.

DrumsRNN's rule (`drums_rnn_sampling`): start from one kick, sample each further step from
`softmax(logits / temperature)` with Magenta's cdf rule; here each step's input also carries
the form's controls for the step being sampled and the reference bar, read from the events
already sampled (`structured_steps`). One `lax.scan` over a step schedule, all samples batched.

Copy-or-vary at sampling time. The shipped models learned to use the reference bar only
weakly (800 warm-start steps): a repeated "drop" was barely closer to the first one than to
other sections. Two sampling-side mechanisms make a repeat recall its earlier instance
without retraining:

- **priming** (`prime_bars`): right before a repeated section, the first bars of its earlier
  instance are fed through the RNN again (teacher forcing, outputs discarded), so its state and
  attention window hold that section when the repeat starts;
- **copy strength** (`copy_strength` = c): each step of a repeat is drawn from
  `(1 − c) · softmax(logits / temperature) + c · δ(reference event)` — it keeps the earlier
  section's event at that offset with probability at least c and otherwise varies with the
  model's own distribution at the requested temperature. c = 0 with no priming is the plain
  sampler, step for step.
"""

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from drumeval.data.drum_classes import NUM_DRUM_EVENTS, STEPS_PER_BAR
from drumeval.data.forms import SongForm
from drumeval.errors import ModelError, ParameterError
from drumeval.models.drums_rnn_sampling import DEFAULT_PRIMER, SamplingModel, pick_events
from drumeval.models.drums_rnn_steps import Layout, prepare, step_from_gates, zero_state
from drumeval.models.structured_steps import (
    CONTROL_WEIGHT,
    check_form,
    conditioned_gates,
    form_inputs,
    reference_bits,
)

# Chosen by measurement on the report's forms (docs/models.md, "Copy-or-vary"), seeds 100–115 of
# the four shipped models: with c = 0.2 and 4 primed bars a techno repeat's bars differ from
# their earlier instance about as much as the corpus's own repeats do (repeat distance
# 0.24 / 0.17 against the eval split's 0.25 / 0.26; 0.49 / 0.45 without), no more windows are
# copied from the train split; c = 0.5 drives it to 0.12 / 0.06, close to a copy.
DEFAULT_COPY_STRENGTH = 0.2
DEFAULT_PRIME_BARS = 4


def sample(
    model: SamplingModel,
    *,
    form: SongForm,
    num_samples: int = 1,
    temperature: float = 1.0,
    seed: int = 0,
    copy_strength: float = DEFAULT_COPY_STRENGTH,
    prime_bars: int = DEFAULT_PRIME_BARS,
) -> np.ndarray:
    """`num_samples` tracks of `form.total_bars` bars as event ids `[S, steps]` (int32).

    The first step is DrumsRNN's default primer (one kick). A repeated section is primed with
    up to `prime_bars` bars of its earlier instance and keeps each earlier event with
    probability ≥ `copy_strength` (see the module). Same arguments → same output.
    """
    inputs = form_inputs(check_form(form))
    if num_samples < 1:
        raise ModelError(f"num_samples must be ≥ 1, got {num_samples}")
    if not temperature > 0:
        raise ModelError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= copy_strength <= 1.0:
        raise ParameterError("copy_strength", f"must be in [0, 1], got {copy_strength}")
    if isinstance(prime_bars, bool) or not isinstance(prime_bars, int) or prime_bars < 0:
        raise ParameterError("prime_bars", f"must be a whole number ≥ 0, got {prime_bars!r}")
    if inputs.num_steps < 2:
        raise ModelError("the form must be longer than one step")
    uniforms = jax.random.uniform(jax.random.PRNGKey(seed), (inputs.num_steps - 1, num_samples))
    events, _ = _generate(
        model.params(),
        jnp.asarray(inputs.controls),
        jnp.asarray(inputs.reference_steps, dtype=jnp.int32),
        jnp.asarray(step_schedule(form, prime_bars)),
        uniforms,
        jnp.float32(temperature),
        jnp.float32(copy_strength),
        config=model.config,
    )
    return np.asarray(events, dtype=np.int32)


def step_schedule(form: SongForm, prime_bars: int = 0) -> np.ndarray:
    """`[K, 4]` int32 rows (fed step, position, conditioned step, written step) of the scan.

    Plain sampling is one row per step p: feed event p at position p, condition on and write
    step p + 1. Before a repeat that starts at step s, the row at position s − 1 becomes P =
    16 · min(`prime_bars`, earlier bars) rows that feed the earlier instance's first P events
    (starting at step a) at positions s − P … s − 1, each conditioned as under teacher forcing
    (step a + j + 1); only the last writes, predicting step s from the primed state.
    Written step −1: the output is discarded.
    """
    num_steps = form.total_bars * STEPS_PER_BAR
    starts = form.start_bars()
    primes: dict[int, tuple[int, int]] = {}
    for index in range(len(form.sections)):
        earlier = form.previous_same_label(index)
        bars = min(prime_bars, form.sections[earlier].bars) if earlier is not None else 0
        if bars:
            primes[starts[index] * STEPS_PER_BAR] = (starts[earlier] * STEPS_PER_BAR, bars)
    rows = []
    for position in range(num_steps - 1):
        start = position + 1
        if start not in primes:
            rows.append((position, position, start, start))
            continue
        source, bars = primes[start]
        length = bars * STEPS_PER_BAR
        for j in range(length - 1):
            rows.append((source + j, start - length + j, source + j + 1, -1))
        rows.append((source + length - 1, position, start, start))
    return np.asarray(rows, dtype=np.int32).reshape(-1, 4)


def copy_or_vary_logits(logits, reference, copy_strength, temperature):
    """Logits whose `pick_events` distribution at `temperature` is `(1 − c) · softmax(logits /
    temperature) + c · δ(reference)` per row, c = `copy_strength` where `reference` ≥ 0 and
    c > 0; other rows are returned unchanged (so c = 0 samples exactly as before)."""
    log_probs = jax.nn.log_softmax(logits / temperature, axis=-1)
    is_reference = jnp.arange(NUM_DRUM_EVENTS) == reference[:, None]
    copied = jnp.where(is_reference, jnp.log(copy_strength), -jnp.inf)
    mixed = jnp.logaddexp(jnp.log1p(-copy_strength) + log_probs, copied)
    recall = (reference >= 0) & (copy_strength > 0)
    return jnp.where(recall[:, None], temperature * mixed, logits)


@partial(jax.jit, static_argnames=("config",))
def _generate(
    params: dict[str, Any],
    controls: jax.Array,
    reference_steps: jax.Array,
    schedule: jax.Array,
    uniforms: jax.Array,
    temperature: jax.Array,
    copy_strength: jax.Array,
    *,
    config: Layout,
) -> tuple[jax.Array, jax.Array]:
    """controls `[T, F]`, reference steps `[T]`, schedule `[K, 4]` (`step_schedule`),
    uniforms `[T − 1, S]` → (events `[S, T]`, log-likelihood of the written steps `[S]`)."""
    prep = prepare(params)
    control_kernel = params[CONTROL_WEIGHT]
    num_steps, num_samples = controls.shape[0], uniforms.shape[1]
    events = jnp.zeros((num_samples, num_steps), jnp.int32).at[:, 0].set(int(DEFAULT_PRIMER[0]))

    def body(carry, row):
        state, events, score = carry
        fed, position, conditioned, written = row[0], row[1], row[2], row[3]
        source = reference_steps[conditioned]
        reference = jnp.where(source >= 0, events[:, jnp.maximum(source, 0)], -1)
        conditions = jnp.concatenate(
            [
                jnp.broadcast_to(controls[conditioned], (num_samples, controls.shape[1])),
                reference_bits(reference),
            ],
            axis=-1,
        )
        gates = conditioned_gates(prep, control_kernel, events[:, fed], position, conditions)
        logits, state = step_from_gates(prep, state, gates, position)
        logits = copy_or_vary_logits(logits, reference, copy_strength, temperature)
        keep = written >= 0
        choice, log_prob = pick_events(logits, uniforms[jnp.maximum(written - 1, 0)], temperature)
        target = jnp.maximum(written, 0)
        choice = jnp.where(keep, choice, events[:, target])
        events = jax.lax.dynamic_update_slice_in_dim(events, choice[:, None], target, 1)
        return (state, events, score + jnp.where(keep, log_prob, 0.0)), None

    start = (zero_state(config, num_samples), events, jnp.zeros(num_samples, jnp.float32))
    (_, events, scores), _ = jax.lax.scan(body, start, schedule)
    return events, scores
