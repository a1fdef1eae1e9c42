import numpy as np
from note_seq import encoder_decoder
from note_seq.drums_encoder_decoder import MultiDrumOneHotEncoding

from drumeval.data import encoding


def test_event_ids_and_rolls_round_trip():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 512, size=(3, 40))
    rolls = encoding.event_ids_to_rolls(ids)
    assert rolls.shape == (3, 40, 9)
    np.testing.assert_array_equal(encoding.rolls_to_event_ids(rolls), ids)


def test_drums_rnn_inputs_equal_note_seq_encoder():
    ids = np.array([1, 0, 5, 511, 0, 2, 4, 0, 1, 1, 3] * 7)
    ours = encoding.drums_rnn_inputs(ids)
    coder = encoder_decoder.LookbackEventSequenceEncoderDecoder(MultiDrumOneHotEncoding(), [], 6)
    assert coder.input_size == ours.shape[-1] == 518
    # Rebuild the note-seq events (sets of pitches) from ids via the decoder.
    events = [coder._one_hot_encoding.decode_event(int(i)) for i in ids]
    for t in (0, 1, 15, 16, 63, 64, len(ids) - 1):
        np.testing.assert_array_equal(ours[t], coder.events_to_input(events, t))


def test_music_vae_inputs_have_nor_bit(magenta_fixtures):
    data = np.load(magenta_fixtures / "music_vae_parity.npz")
    ids = data["target_ids"]
    np.testing.assert_array_equal(encoding.music_vae_inputs(ids), data["encoder_inputs"])

