from drumeval.data import drum_classes
from drumeval.errors import DrumevalError, InvalidMidiError, NoDrumsError


def test_drum_classes_cover_gmd_hihat_edges():
    assert drum_classes.PITCH_TO_CLASS[22] == drum_classes.CLOSED_HIHAT
    assert drum_classes.PITCH_TO_CLASS[26] == drum_classes.OPEN_HIHAT
    assert drum_classes.CLASS_TO_PITCH == (36, 38, 42, 46, 45, 48, 50, 49, 51)


def test_drum_classes_match_note_seq():
    from note_seq.drums_encoder_decoder import DEFAULT_DRUM_TYPE_PITCHES

    for ours, theirs in zip(drum_classes.DRUM_TYPE_PITCHES, DEFAULT_DRUM_TYPE_PITCHES, strict=True):
        assert set(ours) <= set(theirs) | {22, 26}
        assert set(theirs) <= set(ours)


def test_error_hierarchy():
    assert issubclass(InvalidMidiError, DrumevalError)
    assert issubclass(NoDrumsError, DrumevalError)
