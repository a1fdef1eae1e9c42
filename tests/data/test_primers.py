import numpy as np
import pytest

from drumeval.data.primers import InvalidPrimerError, parse_primer, primer_from_pitches


def test_magenta_primer_syntax_maps_pitches_to_event_bits():
    np.testing.assert_array_equal(primer_from_pitches("[(36,),(),(36, 42),(26,)]"), [1, 0, 5, 8])


def test_no_primer_gives_none():
    assert parse_primer() is None


@pytest.mark.parametrize("text", ["[(36,", "[]", "[(12,)]", "'kick'"])
def test_bad_primers_are_named_errors(text):
    with pytest.raises(InvalidPrimerError):
        primer_from_pitches(text)


def test_primer_text_and_file_are_exclusive(tmp_path):
    with pytest.raises(InvalidPrimerError, match="not both"):
        parse_primer(primer="[(36,)]", primer_midi=tmp_path / "x.mid")
