"""The headphone checks, generated with numpy: Woods et al. (2017) anti-phase and Milne et
al. (2021) Huggins pitch, and a study's choice of them."""

import io
import wave

import numpy as np
import pytest

from drumeval.errors import StudyError
from drumeval.study import headphone, huggins


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


# --- the Huggins-pitch screen (Milne et al. 2021) ---------------------------------------------


def _bursts(samples: np.ndarray) -> list[np.ndarray]:
    length = int(huggins.SAMPLE_RATE * huggins.BURST_SECONDS)
    step = length + int(huggins.SAMPLE_RATE * huggins.GAP_SECONDS)
    return [samples[index * step : index * step + length] for index in range(3)]


def _band_energy(signal: np.ndarray) -> tuple[float, float]:
    """Energy within the Huggins band and the mean energy per bin outside it."""
    spectrum = np.abs(np.fft.rfft(signal)) ** 2
    hertz = np.fft.rfftfreq(len(signal), 1 / huggins.SAMPLE_RATE)
    band = np.abs(hertz - huggins.CENTRE_HZ) <= huggins.BANDWIDTH * huggins.CENTRE_HZ * 0.8
    return float(spectrum[band].mean()), float(spectrum[~band & (hertz > 100)].mean())


def test_huggins_trials_are_seeded_each_position_twice_each_noise_new():
    trials = huggins.make_trials(seed=4)
    assert trials == huggins.make_trials(seed=4) != huggins.make_trials(seed=5)
    assert sorted(trial.target_index for trial in trials) == [0, 0, 1, 1, 2, 2]
    assert len({trial.noise_seed for trial in trials}) == huggins.TRIALS
    sounds = {huggins.trial_wav(trial) for trial in trials}
    assert len(sounds) == huggins.TRIALS  # six different sounds


def test_only_the_target_burst_inverts_the_band_in_one_ear():
    trial = huggins.HugginsTrial(target_index=1, noise_seed=99)
    samples = huggins.trial_samples(trial)
    assert samples.shape == (int(huggins.TRIAL_SECONDS * huggins.SAMPLE_RATE), 2)
    for index, burst in enumerate(_bursts(samples)):
        left, right = burst[:, 0], burst[:, 1]
        if index != trial.target_index:
            np.testing.assert_array_equal(left, right)  # diotic noise: no pitch anywhere
            continue
        # Over loudspeakers the ears' signals mix: the inverted band cancels (a notch, no
        # tone); over headphones each ear gets the whole noise, the band in opposite phase.
        mixed_band, mixed_rest = _band_energy(left + right)
        assert mixed_band < 1e-2 * mixed_rest  # > 20 dB down (the onset ramps leak a little)
        difference_band, difference_rest = _band_energy(left - right)
        assert difference_band > 100 * difference_rest
        for ear in (left, right):
            ear_band, ear_rest = _band_energy(ear)
            assert 0.3 < ear_band / ear_rest < 3  # each ear alone: flat white noise
    assert np.abs(samples).max() <= 1.0


def test_the_study_screen_chooses_antiphase_huggins_or_both():
    assert len(headphone.screen_trials("antiphase", 3)) == headphone.TRIALS
    assert all(isinstance(t, huggins.HugginsTrial) for t in headphone.screen_trials("huggins", 3))
    both = headphone.screen_trials("both", 3)
    assert len(both) == 12 and isinstance(both[0], headphone.Trial)
    right = [trial.answer for trial in both]
    correct, passed = headphone.screen_score(both, right)
    assert passed and correct == {"woods2017-antiphase": 6, "milne2021-huggins": 6}
    one_off = [*right[:6], *((answer + 1) % 3 for answer in right[6:8]), *right[8:]]
    correct, passed = headphone.screen_score(both, one_off)  # Huggins 4 of 6: fails the pair
    assert not passed and correct["milne2021-huggins"] == 4
    _, passed = headphone.screen_score(both[6:], [*right[6:8], None, *right[9:]])
    assert passed  # 5 of 6 passes a test
    with pytest.raises(StudyError, match="headphone_screen must be one of"):
        headphone.screen_trials("loud", 3)


def test_each_test_of_a_both_screen_is_read_back_with_its_own_pass():
    details = {
        "passed": False,
        "test": "woods2017-antiphase+milne2021-huggins",
        "correct": 10,
        "correct_per_test": {"woods2017-antiphase": 6, "milne2021-huggins": 4},
    }
    assert headphone.results_per_test(details) == {"antiphase": (6, True), "huggins": (4, False)}
    # stored before per-test counts: one test, its total
    old = {"passed": True, "test": "woods2017-antiphase", "correct": 5}
    assert headphone.results_per_test(old) == {"antiphase": (5, True)}
    assert headphone.results_per_test({"passed": True, "correct": 6}) == {}  # no test named
    assert headphone.results_per_test(None) == {}


def test_the_short_names_are_the_exports_column_prefixes():
    from drumeval.analysis.schema import HEADPHONE_TEST_DTYPES, HEADPHONE_TESTS

    assert [wording.short for wording in headphone.WORDING.values()] == list(HEADPHONE_TESTS)
    assert list(HEADPHONE_TEST_DTYPES) == [
        "antiphase_correct", "antiphase_passed", "huggins_correct", "huggins_passed",
    ]  # fmt: skip
