"""The Woods et al. (2017) anti-phase headphone check, generated with numpy."""

import io
import wave

import numpy as np
import pytest

from drumeval.study import headphone


def _tone_slices(samples: np.ndarray) -> list[np.ndarray]:
    tone = int(headphone.SAMPLE_RATE * headphone.TONE_SECONDS)
    gap = int(headphone.SAMPLE_RATE * headphone.GAP_SECONDS)
    return [samples[i * (tone + gap) : i * (tone + gap) + tone] for i in range(3)]


def test_trials_are_seeded_and_never_put_the_trap_on_the_quiet_tone():
    trials = headphone.make_trials(seed=11)
    assert trials == headphone.make_trials(seed=11)
    assert trials != headphone.make_trials(seed=12)
    assert len(trials) == 6
    assert all(trial.quiet_index != trial.antiphase_index for trial in trials)
    assert {trial.quiet_index for trial in trials} == {0, 1, 2}


def test_one_tone_is_six_db_quieter_and_another_is_in_anti_phase():
    trial = headphone.Trial(quiet_index=2, antiphase_index=0)
    tones = _tone_slices(headphone.trial_samples(trial))
    rms = [np.sqrt(np.mean(tone[:, 0] ** 2)) for tone in tones]
    assert np.isclose(20 * np.log10(rms[2] / rms[1]), -6.0, atol=0.01)
    assert np.isclose(rms[0], rms[1])
    assert np.allclose(tones[0][:, 0], -tones[0][:, 1])  # anti-phase: R = −L
    assert np.allclose(tones[1][:, 0], tones[1][:, 1])
    # Over loudspeakers the anti-phase tone cancels: its mono sum is silent.
    assert np.abs(tones[0].sum(axis=1)).max() < 1e-9
    spectrum = np.abs(np.fft.rfft(tones[1][:, 0]))
    peak_hz = np.argmax(spectrum) * headphone.SAMPLE_RATE / len(tones[1])
    assert abs(peak_hz - headphone.TONE_HZ) < 2


def test_the_wav_is_stereo_16_bit_and_carries_no_answer():
    data = headphone.trial_wav(headphone.Trial(0, 1))
    with wave.open(io.BytesIO(data)) as handle:
        assert handle.getnchannels() == 2 and handle.getsampwidth() == 2
        assert handle.getframerate() == headphone.SAMPLE_RATE
    assert b"LIST" not in data  # no metadata chunk


def test_five_of_six_pass_four_fail():
    trials = headphone.make_trials(seed=5)
    right = [trial.quiet_index for trial in trials]
    assert headphone.score(trials, right) == (6, True)
    one_wrong = [(right[0] + 1) % 3, *right[1:]]
    assert headphone.score(trials, one_wrong) == (5, True)
    two_wrong = [(right[0] + 1) % 3, (right[1] + 1) % 3, *right[2:]]
    assert headphone.score(trials, two_wrong) == (4, False)
    assert headphone.score(trials, [None] * 6) == (0, False)


@pytest.mark.parametrize("seed", range(20))
def test_the_six_trials_are_six_different_sounds(seed):
    """Attentive listeners must not hear repeats: every (quiet, anti-phase) arrangement once."""
    trials = headphone.make_trials(seed)
    assert len(trials) == headphone.TRIALS == 6
    assert len(set(trials)) == 6
    assert len({headphone.trial_wav(trial) for trial in trials}) == 6
