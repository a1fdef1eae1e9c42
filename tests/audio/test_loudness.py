import math

import numpy as np
import pytest

from drumeval.audio.loudness import (
    apply_fades,
    cut,
    measure_loudness,
    plan_level,
    true_peak_dbtp,
)
from drumeval.errors import AudioError

RATE = 48000


def _sine(amplitude: float, frequency: float, seconds: float, phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    mono = amplitude * np.sin(2 * np.pi * frequency * t + phase)
    return np.stack([mono, mono], axis=1)


def test_loudness_of_a_stereo_997_hz_sine_is_its_level_in_dbfs():
    # BS.1770 is calibrated so that a 997 Hz sine in both channels reads its peak level.
    assert measure_loudness(_sine(0.1, 997.0, 3.0), RATE) == pytest.approx(-20.0, abs=0.1)


def test_silence_and_too_short_clips():
    assert measure_loudness(np.zeros((RATE, 2)), RATE) == -math.inf
    with pytest.raises(AudioError, match="too short"):
        measure_loudness(np.zeros((RATE // 10, 2)), RATE)


def test_true_peak_finds_the_peak_between_samples():
    # fs/4 sine sampled at ±45°: every sample is 0.707, the waveform reaches 1.0.
    samples = _sine(1.0, RATE / 4, 0.1, phase=np.pi / 4)
    assert 20 * np.log10(np.abs(samples).max()) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(samples) == pytest.approx(0.0, abs=0.2)  # ringing at the cut ends
    assert true_peak_dbtp(np.zeros(10)) == -math.inf


def test_plan_reaches_the_target_when_the_peak_allows():
    plan = plan_level(-30.0, -10.0, target_lufs=-23.0, max_true_peak_dbtp=-1.0)
    assert (plan.gain_db, plan.loudness_lufs, plan.true_peak_dbtp) == (7.0, -23.0, -3.0)
    assert not plan.peak_limited


def test_plan_lowers_the_gain_under_the_true_peak_ceiling():
    plan = plan_level(-30.0, -5.0, target_lufs=-23.0, max_true_peak_dbtp=-1.0)
    assert (plan.gain_db, plan.loudness_lufs, plan.true_peak_dbtp) == (4.0, -26.0, -1.0)
    assert plan.peak_limited


def test_plan_refuses_silence():
    with pytest.raises(AudioError, match="silent"):
        plan_level(-math.inf, -math.inf, target_lufs=-23.0, max_true_peak_dbtp=-1.0)


def test_fades_ramp_linearly_and_leave_the_middle_alone():
    faded = apply_fades(np.ones((10, 2)), 10, fade_in_s=0.4, fade_out_s=0.3)
    np.testing.assert_allclose(faded[:, 0], [0, 0.25, 0.5, 0.75, 1, 1, 1, 1, 0.5, 0])
    np.testing.assert_array_equal(faded[:, 0], faded[:, 1])


def test_cut_takes_the_window_and_pads_with_silence():
    samples = np.arange(10.0)[:, None]
    np.testing.assert_array_equal(cut(samples, 10, start_s=0.2, length_s=0.3)[:, 0], [2, 3, 4])
    np.testing.assert_array_equal(cut(samples, 10, start_s=0.8, length_s=0.4)[:, 0], [8, 9, 0, 0])
    with pytest.raises(AudioError, match="excerpt starts"):
        cut(samples, 10, start_s=1.0, length_s=0.1)


def _drum_like(seconds: float, seed: int) -> np.ndarray:
    """Decaying noise bursts and low sines at random onsets, stereo, peaks near 0.5."""
    rng = np.random.default_rng(seed)
    samples = np.zeros((round(seconds * RATE), 2))
    envelope = np.exp(-np.arange(RATE // 4) / (0.03 * RATE))
    for onset in rng.integers(0, samples.shape[0] - RATE // 4, size=40):
        burst = rng.standard_normal((RATE // 4, 2)) * envelope[:, None]
        burst += np.sin(2 * np.pi * 60 * np.arange(RATE // 4) / RATE)[:, None] * envelope[:, None]
        samples[onset : onset + RATE // 4] += rng.uniform(0.05, 0.2) * burst
    return samples.astype(np.float32)


def _full_oversampling_dbtp(samples: np.ndarray) -> float:
    from scipy.signal import resample_poly

    channels = samples.reshape(samples.shape[0], -1)
    peak = max(np.abs(resample_poly(channel, 4, 1)).max() for channel in channels.T)
    return 20 * math.log10(peak)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_true_peak_equals_oversampling_the_whole_clip(seed):
    samples = _drum_like(6.0, seed)
    assert true_peak_dbtp(samples) == pytest.approx(_full_oversampling_dbtp(samples), abs=0.01)
    mono = samples[:, 0]
    assert true_peak_dbtp(mono) == pytest.approx(_full_oversampling_dbtp(mono), abs=0.01)


def test_true_peak_of_an_inter_sample_peak_in_a_short_odd_length_clip():
    samples = _sine(1.0, RATE / 4, 0.01, phase=np.pi / 4)[:-7]  # not a whole block
    full = _full_oversampling_dbtp(samples)
    assert full > -3.0  # above the −3 dB sample peak
    assert true_peak_dbtp(samples) == pytest.approx(full, abs=0.01)


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_loudness_equals_pyloudnorm(rate):
    import pyloudnorm

    samples = _drum_like(5.0, 3)  # resampled in name only: the meter only needs a rate
    expected = pyloudnorm.Meter(rate).integrated_loudness(samples)
    assert measure_loudness(samples, rate) == pytest.approx(expected, abs=1e-3)
    quiet = np.concatenate([samples * np.float32(1e-2), samples * np.float32(3e-4)])
    assert -70.0 < measure_loudness(quiet, rate) < -55.0  # the −90 LUFS half is gated out
    expected = pyloudnorm.Meter(rate).integrated_loudness(quiet)
    assert measure_loudness(quiet, rate) == pytest.approx(expected, abs=1e-3)
