import numpy as np
import pytest
import soundfile

from drumeval.audio.encode import encode
from drumeval.errors import AudioError

RATE = 44100


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((RATE, 2))).astype(np.float32)


@pytest.mark.parametrize(
    ("audio_format", "container", "subtype", "rate"),
    [
        ("ogg", "OGG", "VORBIS", RATE),
        ("opus", "OGG", "OPUS", 48000),
        ("mp3", "MP3", "MPEG_LAYER_III", RATE),
        ("wav", "WAV", "PCM_16", RATE),
    ],
)
def test_formats_decode_and_carry_no_title_or_comment(
    noise, tmp_path, audio_format, container, subtype, rate
):
    path = encode(noise, RATE, tmp_path / f"clip.{audio_format}", audio_format)
    with soundfile.SoundFile(path) as handle:
        assert (handle.format, handle.subtype, handle.samplerate) == (container, subtype, rate)
        assert handle.frames == pytest.approx(rate, rel=0.05)
        assert not {"title", "comment", "artist", "album"} & set(handle.copy_metadata())
    assert [p.name for p in tmp_path.iterdir()] == [f"clip.{audio_format}"]  # no partial left


def test_unknown_format(noise, tmp_path):
    with pytest.raises(AudioError, match="choose one of ogg, opus, mp3, wav"):
        encode(noise, RATE, tmp_path / "clip.aiff", "aiff")
