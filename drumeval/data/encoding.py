"""Array encodings of a quantized drum track, as Magenta's models see it.

A drum track is a sequence of steps (16th notes); each step is a set of drum classes.
Canonical in-memory form: `event_ids`, int array [..., T] with values 0..511 where bit k
is set when drum class k (see `drum_classes`) is hit. The same bit layout is used by
note-seq's `MultiDrumOneHotEncoding` (DrumsRNN) and MusicVAE's `DrumsConverter` outputs.
"""

import numpy as np

from drumeval.data.drum_classes import NUM_DRUM_CLASSES, NUM_DRUM_EVENTS

DRUMS_RNN_COUNTER_BITS = 6
DRUMS_RNN_INPUT_SIZE = NUM_DRUM_EVENTS + DRUMS_RNN_COUNTER_BITS  # 518
MUSIC_VAE_INPUT_SIZE = NUM_DRUM_CLASSES + 1  # 9 roll bits + "no hit" bit

_CLASS_BITS = (1 << np.arange(NUM_DRUM_CLASSES)).astype(np.int64)


def rolls_to_event_ids(rolls: np.ndarray) -> np.ndarray:
    """[..., T, 9] 0/1 drum rolls → [..., T] event ids (sum of 2^k over classes hit)."""
    return (np.asarray(rolls, dtype=np.int64) @ _CLASS_BITS).astype(np.int32)


def event_ids_to_rolls(event_ids: np.ndarray) -> np.ndarray:
    """[..., T] event ids → [..., T, 9] uint8 drum rolls."""
    ids = np.asarray(event_ids, dtype=np.int64)[..., None]
    return ((ids & _CLASS_BITS) > 0).astype(np.uint8)


def binary_counters(num_steps: int, bits: int = DRUMS_RNN_COUNTER_BITS) -> np.ndarray:
    """Magenta's lookback binary counters: bit i at input t is ±1 for ((t+1) >> i) & 1.

    The counter encodes the position of the *next* event, so the model knows where in
    the bar it is predicting.
    """
    positions = np.arange(num_steps, dtype=np.int64)[:, None] + 1
    return np.where((positions >> np.arange(bits)) & 1, 1.0, -1.0).astype(np.float32)


def drums_rnn_inputs(event_ids: np.ndarray) -> np.ndarray:
    """[..., T] event ids → [..., T, 518] DrumsRNN `drum_kit` inputs (one-hot + counters).

    Equal to note-seq's `LookbackEventSequenceEncoderDecoder(MultiDrumOneHotEncoding(),
    lookback_distances=[], binary_counter_bits=6).events_to_input(events, t)` for every t.
    """
    ids = np.asarray(event_ids)
    one_hot = np.eye(NUM_DRUM_EVENTS, dtype=np.float32)[ids]
    counters = np.broadcast_to(binary_counters(ids.shape[-1]), (*ids.shape, DRUMS_RNN_COUNTER_BITS))
    return np.concatenate([one_hot, counters], axis=-1)


def music_vae_inputs(event_ids: np.ndarray) -> np.ndarray:
    """[..., T] event ids → [..., T, 10] MusicVAE `roll_input` encoder inputs.

    9 roll bits plus a final bit that is 1 when no drum is hit (Magenta's NOR bit).
    """
    rolls = event_ids_to_rolls(event_ids).astype(np.float32)
    no_hit = (np.asarray(event_ids) == 0).astype(np.float32)[..., None]
    return np.concatenate([rolls, no_hit], axis=-1)

