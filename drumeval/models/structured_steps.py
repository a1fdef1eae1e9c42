"""The structure-aware DrumsRNN's conditioning as pure JAX/NumPy, importable without Keras.

The model is DrumsRNN with per-step control inputs concatenated to its event inputs, as
Magenta's conditional models do (`ConditionalEventSequenceEncoderDecoder`: the input at step
t is `[control_{t+1}, event_t]`, so the controls describe the step being predicted). Two
groups of controls:

- the song form's `control_features` (`drumeval.data.forms`: position in bar and in 4/8/16-bar
  phrases, section label, bars to the next boundary, section progress, target density,
  "is a repeat");
- a reference bar: the 9-class multi-hot of the event at the same offset in the latest earlier
  section with the same label (`repeat_source_steps`), zeros where there is none. That step is
  always in the past, so generation reads it from what it has already sampled and the model
  learns when to copy it and when to vary it ("drop" 2 recalls "drop" 1).

A concatenated input enters an LSTM only through `[x, c] @ W`, i.e. as `c @ W_c` added to the
gate pre-activations, so the conditioning is one `control_kernel` `[CONDITION_SIZE, 4·u0]` added
to layer 0's input gates; everything else is DrumsRNN's step (`drums_rnn_steps`).
"""

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np

from drumeval.data.drum_classes import NUM_DRUM_CLASSES, STEPS_PER_BAR
from drumeval.data.forms import (
    CONTROL_FEATURES,
    FORM_PRESETS,
    Section,
    SongForm,
    control_features,
    repeat_source_steps,
)
from drumeval.errors import ModelError, ParameterError
from drumeval.models.drums_rnn_steps import Prepared, StepLayout, input_gates

CONDITION_SIZE = CONTROL_FEATURES + NUM_DRUM_CLASSES  # form controls + the reference bar
CONTROL_WEIGHT = "controls"  # the control kernel's key in the weight pytree
_CLASS_SHIFTS = np.arange(NUM_DRUM_CLASSES)


@dataclass(frozen=True)
class FormInputs:
    """A form as the model reads it, one row per step: controls and reference steps."""

    controls: np.ndarray  # [steps, CONTROL_FEATURES] float32
    reference_steps: np.ndarray  # [steps] int: step whose event a repeat recalls, −1 none

    @property
    def num_steps(self) -> int:
        return len(self.reference_steps)


def check_form(form: Any) -> SongForm:
    """A `SongForm` (ParameterError otherwise: the form is a request parameter)."""
    if not isinstance(form, SongForm):
        raise ParameterError("form", f"must be a SongForm (see forms.parse_form), got {form!r}")
    return form


@functools.lru_cache(maxsize=512)
def form_inputs(form: SongForm) -> FormInputs:
    """The form's per-step controls and reference steps (cached: corpora share few forms)."""
    check_form(form)
    controls = control_features(form, STEPS_PER_BAR)
    controls.setflags(write=False)
    sources = repeat_source_steps(form, STEPS_PER_BAR)
    sources.setflags(write=False)
    return FormInputs(controls, sources)


def default_form(genre: str | None, bars: int) -> SongForm:
    """The genre's first preset form (any genre's for an unknown one), fitted to `bars`: its
    sections repeated from the start and the last one cut, so that a request for another
    length still plays a form."""
    presets = FORM_PRESETS.get(genre or "") or next(iter(FORM_PRESETS.values()))
    form = next(iter(presets.values()))
    if bars < 1:
        raise ParameterError("bars", f"must be ≥ 1, got {bars}")
    sections, total = [], 0
    for section in itertools.cycle(form.sections):
        if total >= bars:
            break
        sections.append(Section(section.label, min(section.bars, bars - total)))
        total += sections[-1].bars
    return SongForm(tuple(sections))


def reference_bits(reference_ids):
    """Event ids `[...]` (−1: no reference) → float32 multi-hot of the 9 drum classes `[..., 9]`.

    Written with operators only, so it serves NumPy batches and JAX sampling alike.
    """
    ids = reference_ids[..., None]
    return (((ids >> _CLASS_SHIFTS) & 1) * (ids >= 0)).astype(np.float32)


def conditioned_gates(
    prep: Prepared,
    control_kernel: jax.Array,
    event_ids: jax.Array,
    positions: jax.Array,
    conditions: jax.Array,
) -> jax.Array:
    """DrumsRNN's layer-0 input gates plus the conditions' share `conditions @ control_kernel`."""
    return input_gates(prep, event_ids, positions) + conditions @ control_kernel


@dataclass(frozen=True)
class LightStructuredRNN:
    """A structured model's layout and weight pytree, enough for sampling (no Keras model)."""

    config: StepLayout
    weights: dict[str, Any]

    def params(self) -> dict[str, Any]:
        return self.weights


def load_light(directory: str | Path) -> tuple[LightStructuredRNN, dict[str, Any]]:
    """`(model, card)` of a structured checkpoint, read without Keras.

    The weights are DrumsRNN's (read and shape-checked by `light`) plus the control kernel,
    which the Keras model creates after DrumsRNN's logits (`vars/2`), times its scale.
    """
    from drumeval.models.checkpoints import checkpoint_files
    from drumeval.models.light import KerasFile, drums_rnn_from_keras_file, read_keras_file

    model_file, card = checkpoint_files(directory)
    saved = read_keras_file(model_file)
    if saved.class_name != "StructuredRNN":
        raise ModelError(f"{model_file} holds a {saved.class_name}, not a StructuredRNN")
    weights = dict(saved.weights)
    control_kernel = weights.pop("vars/2", None)
    config = {key: value for key, value in saved.config.items() if key != "control_scale"}
    core = drums_rnn_from_keras_file(KerasFile("DrumsRNN", config, weights), model_file)
    expected = (CONDITION_SIZE, 4 * core.config.rnn_layer_sizes[0])
    if control_kernel is None or control_kernel.shape != expected:
        shape = None if control_kernel is None else control_kernel.shape
        raise ModelError(f"{model_file}: control kernel has shape {shape}, expected {expected}")
    scale = float(saved.config.get("control_scale", 1.0))
    weights = {**core.params(), CONTROL_WEIGHT: scale * control_kernel}
    return LightStructuredRNN(core.config, weights), card
