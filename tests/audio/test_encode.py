import io

import numpy as np
import pytest
import soundfile

from drumeval.audio.encode import encode, wav_bytes
from drumeval.audio.opus import ogg_crc, ogg_page
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
        ("opus", "OGG", "OPUS", 48000),  # through ffmpeg, which resamples
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


@pytest.mark.browser
def test_chromium_plays_the_default_opus(noise, browser, tmp_path):
    import base64

    from tests.browser_support import fresh_page

    path = encode(_at_48k(noise), 48000, tmp_path / "clip.opus", "opus")
    uri = "data:audio/ogg;base64," + base64.b64encode(path.read_bytes()).decode()
    with fresh_page(browser) as page:
        page.set_content("<audio></audio>")
        state = page.evaluate(
            """async (uri) => {
              const audio = document.querySelector("audio");
              audio.muted = true;
              audio.src = uri;
              await new Promise((ok, bad) => {
                audio.onloadedmetadata = ok;
                audio.onerror = () => bad(new Error("media error " + audio.error.code));
              });
              await audio.play();
              const started = Date.now();  // a loaded machine may take a while
              while (audio.currentTime === 0 && Date.now() - started < 10000) {
                await new Promise((done) => setTimeout(done, 20));
              }
              return {duration: audio.duration, time: audio.currentTime};
            }""",
            uri,
        )
    assert state["duration"] == pytest.approx(1.0, abs=0.02)
    assert state["time"] > 0.0  # it played


def _at_48k(samples: np.ndarray) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(samples, 160, 147, axis=0).astype(np.float32)


@pytest.mark.parametrize("frames", [48000, 48000 * 3 + 1234])
def test_in_process_opus_decodes_to_the_exact_length_without_tags(tmp_path, frames):
    time = np.arange(frames)[:, None] / 48000
    samples = (0.2 * np.sin(2 * np.pi * np.array([[220.0, 330.0]]) * time)).astype(np.float32)
    path = encode(samples, 48000, tmp_path / "clip.opus", "opus")
    decoded, rate = soundfile.read(path, dtype="float32")
    assert rate == 48000 and decoded.shape == samples.shape
    with soundfile.SoundFile(path) as handle:
        assert handle.copy_metadata() == {}  # not even an encoder tag
    error = decoded - samples
    assert 10 * np.log10(np.sum(samples**2) / np.sum(error**2)) > 20.0  # in time, aligned
    mono = encode(samples[:, :1], 48000, tmp_path / "mono.opus", "opus")
    assert soundfile.info(mono).channels == 1


def test_ogg_crc_is_the_msb_first_crc32_of_the_spec():
    def reference(data: bytes) -> int:
        crc = 0
        for byte in data:
            crc ^= byte << 24
            for _ in range(8):
                crc = (crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1
                crc &= 0xFFFFFFFF
        return crc

    for data in (b"", b"OggS", bytes(range(256)) * 3):
        assert ogg_crc(data) == reference(data)
    header = ogg_page([b"x" * 600], granule=5, sequence=2, first=False, last=True)
    assert header[:4] == b"OggS" and header[5] == 4 and header[26] == 3  # EOS, 3 laces
    assert list(header[27:30]) == [255, 255, 90]


@pytest.mark.parametrize("channels", [1, 2])
def test_wav_bytes_hold_the_samples_as_16_bit_pcm(channels):
    rng = np.random.default_rng(channels)
    samples = rng.uniform(-1.2, 1.2, (4000, channels))  # beyond full scale: clipped
    data = wav_bytes(samples if channels == 2 else samples[:, 0], 16000)
    decoded, rate = soundfile.read(io.BytesIO(data), dtype="int16", always_2d=True)
    assert (rate, decoded.shape) == (16000, (4000, channels))
    expected = np.round(np.clip(samples, -1, 1) * 32767).astype(np.int16)
    np.testing.assert_array_equal(decoded, expected)
    assert wav_bytes(samples if channels == 2 else samples[:, 0], 16000) == data  # no metadata
    assert b"LIST" not in data
