"""The fast engine against FluidSynth itself: same MIDI, both engines, compared as heard.

A 4-bar groove (kick, snare with ghost notes, accented hats, choked open hats, crash,
ride, a tom fill; velocities 45–120) at 48 kHz on the TR-808, Jazz and Standard kits.
Tolerances, with the values measured on FluidR3_GM:
- onsets: the sharpest level rise (256-sample energy, hop 64 = 1.3 ms, on the first
  difference of the signal) near each notated onset; where FluidSynth's render shows
  an onset (≥ 2 dB rise: 65–85 % of the notes, the rest are masked by louder hits) the
  fast render shows one too, at most 2 hops (2.7 ms) apart (measured ≤ 1 hop);
- spectra: energy in 9 octave bands (31 Hz–8 kHz centres) per 50 ms frame; each
  band's envelope (dB) correlates ≥ 0.9 between engines (measured ≥ 0.97) and the
  bands' average levels differ by ≤ 1 dB (measured ≤ 0.73 dB, TR-808 500 Hz band);
- loudness: BS.1770 integrated loudness within 0.5 LU (measured ≤ 0.04 LU);
- chokes: an open hi-hat cut by a closed one decays like FluidSynth's in the 180 ms
  after the cut (energy within 2 dB, measured 0.55 dB) and, like FluidSynth's, ≥ 15 dB
  under the same hat left ringing (measured 30 dB; FluidSynth 24 dB: its reverb of
  the cut hat rings on, ours is faded with it).
"""

import numpy as np
import pytest

from drumeval.audio import oneshots
from drumeval.audio.kits import DRUM_BANK, kit_program
from drumeval.audio.loudness import measure_loudness
from drumeval.audio.mixer import (
    ShotKey,
    mix,
    plan_hits,
    quantise_duration_ms,
    velocity_bucket_top,
)
from drumeval.audio.oneshots import load_oneshots, oneshot_dir, soundfont_sha256
from drumeval.audio.pipeline import DrumScore, score_to_midi_bytes, synthesize_fast
from drumeval.audio.sf2 import KitZones, kit_zones
from drumeval.audio.synth import find_soundfont, synthesize

RATE = 48000
STEP_S = 0.125  # 16th notes at 120 qpm
HOP = 64  # onset analysis hop: 1.3 ms
ONSET_DB = 2.0  # a level rise of ≥ 2 dB within one hop is an onset
BAND_CENTRES_HZ = 31.25 * 2.0 ** np.arange(9)


def _groove(bars: int = 4) -> DrumScore:
    """Kick, snare with ghost notes, closed hats with accents, open hats choked by the
    next closed hat, toms, crash and ride, at several velocities."""
    notes = []
    for step in range(bars * 16):
        start = step * STEP_S

        def hit(pitch: int, velocity: int, start: float = start) -> None:
            notes.append((start, start + STEP_S, pitch, velocity))

        if step % 16 in (0, 10):
            hit(36, 112)
        if step % 8 == 4:
            hit(38, 100)
        if step % 16 in (7, 15):
            hit(38, 45)  # ghost note: another velocity layer
        if step % 2 == 0 and step % 16 != 14:
            hit(42, 90 if step % 4 == 0 else 64)
        if step % 16 == 14:
            hit(46, 96)  # open hat, choked by the closed hat two steps later
        if step % 32 == 0:
            hit(49, 120)
        if step % 4 == 2 and step >= 32:
            hit(51, 80)
        if step // 16 == bars - 1 and step % 16 >= 12:
            hit((50, 48, 45, 41)[step % 4], 110)
    return DrumScore(tuple(sorted(notes)), ((0.0, 120.0),), 4.0)


@pytest.fixture(scope="module")
def shot_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("oneshots")


def _both_engines(score: DrumScore, kit: str, cache) -> tuple[np.ndarray, np.ndarray]:
    soundfont = find_soundfont()
    length = round((score.notes[-1][0] + 1.0) * RATE)
    fast = synthesize_fast(
        score, kit=kit, soundfont=soundfont, sample_rate=RATE, length=length, cache_dir=cache
    )
    reference = synthesize(
        score_to_midi_bytes(score, kit_program(kit)), soundfont=soundfont, sample_rate=RATE
    )[:length]
    return fast, reference


@pytest.fixture(scope="module", params=["tr808", "jazz", "standard"])
def renders(request, shot_cache):
    return _both_engines(_groove(), request.param, shot_cache)


def _onset_strength(samples: np.ndarray, frame: int = 256) -> np.ndarray:
    """Rise of the short-time energy (dB) per hop: largest at a drum's attack.

    On the first difference of the signal (a +6 dB/octave tilt), so the level ripple of
    a low tom's cycles does not outweigh the attacks.
    """
    mono = np.diff(samples.mean(axis=1), prepend=0.0)
    frames = np.lib.stride_tricks.sliding_window_view(mono, frame)[::HOP]
    energy = np.mean(frames**2, axis=1)
    level_db = 10.0 * np.log10(energy + 1e-4 * energy.max())  # floor: 40 dB under the peak
    return np.concatenate([[0.0], np.diff(level_db)])


def _onsets(samples: np.ndarray, note_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(time, strength in dB) of the sharpest level rise near each notated onset.

    Peak picking guided by the score (−20..+40 ms around each note): a free-running
    detector on dense cymbals flips on marginal peaks, which says nothing about timing.
    """
    strength = _onset_strength(samples)
    frame_times = (np.arange(strength.size) * HOP + 256) / RATE  # window ends
    times, strengths = [], []
    for time in note_times:
        window = np.flatnonzero((frame_times >= time - 0.02) & (frame_times <= time + 0.04))
        peak = window[np.argmax(strength[window])]
        times.append(frame_times[peak])
        strengths.append(strength[peak])
    return np.asarray(times), np.asarray(strengths)


def _band_levels_db(samples: np.ndarray, frame_s: float = 0.05) -> np.ndarray:
    """[frames, bands] log energy in octave bands per `frame_s` (power spectrum sums)."""
    frame = round(frame_s * RATE)
    mono = samples.mean(axis=1)[: samples.shape[0] // frame * frame].reshape(-1, frame)
    power = np.abs(np.fft.rfft(mono, axis=1)) ** 2
    frequencies = np.fft.rfftfreq(frame, 1 / RATE)
    bands = [
        power[:, (frequencies >= centre / np.sqrt(2)) & (frequencies < centre * np.sqrt(2))]
        for centre in BAND_CENTRES_HZ
    ]
    return 10.0 * np.log10(np.stack([band.sum(axis=1) for band in bands], axis=1) + 1e-12)


def test_onsets_are_the_same(renders):
    fast, reference = renders
    note_times = np.unique([start for start, *_ in _groove().notes])
    reference_times, reference_strength = _onsets(reference, note_times)
    fast_times, fast_strength = _onsets(fast, note_times)
    audible = reference_strength >= ONSET_DB  # notes not masked by louder ones
    assert audible.mean() >= 0.6
    assert np.all(fast_strength[audible] >= ONSET_DB / 2)  # an onset in the fast render too
    assert np.max(np.abs(fast_times - reference_times)[audible]) <= 2 * HOP / RATE  # 2.7 ms
    assert np.max(np.abs(reference_times - note_times)[audible]) <= 0.01  # the detector works


def test_spectra_are_close(renders):
    fast, reference = renders
    fast_bands, reference_bands = _band_levels_db(fast), _band_levels_db(reference)
    for band in range(len(BAND_CENTRES_HZ)):
        correlation = np.corrcoef(fast_bands[:, band], reference_bands[:, band])[0, 1]
        assert correlation >= 0.9, (BAND_CENTRES_HZ[band], correlation)
    fast_power = 10 * np.log10(np.mean(10 ** (fast_bands / 10), axis=0))
    reference_power = 10 * np.log10(np.mean(10 ** (reference_bands / 10), axis=0))
    assert np.max(np.abs(fast_power - reference_power)) <= 1.0


def test_loudness_is_the_same(renders):
    fast, reference = renders
    assert measure_loudness(fast, RATE) == pytest.approx(measure_loudness(reference, RATE), abs=0.5)


def _hat_choke(closed_at_s: float | None) -> DrumScore:
    notes = [(0.0, 0.125, 46, 100)]  # open hi-hat, rings for ~3 s on its own
    if closed_at_s is not None:
        notes.append((closed_at_s, closed_at_s + 0.125, 42, 1))  # near-silent closed hat
    return DrumScore(tuple(notes), ((0.0, 120.0),), 4.0)


def _energy_db(samples: np.ndarray, start_s: float, end_s: float) -> float:
    segment = samples[round(start_s * RATE) : round(end_s * RATE)]
    return float(10 * np.log10(np.sum(segment.astype(np.float64) ** 2) + 1e-20))


def test_closed_hat_chokes_the_open_hat_like_fluidsynth(shot_cache):
    choked_fast, choked_reference = _both_engines(_hat_choke(0.25), "standard", shot_cache)
    ringing_fast, ringing_reference = _both_engines(_hat_choke(None), "standard", shot_cache)
    cut = (0.27, 0.45)  # the kill release, while the dry hat dominates
    assert _energy_db(choked_fast, *cut) == pytest.approx(
        _energy_db(choked_reference, *cut), abs=2.0
    )
    after = (0.45, 1.25)
    for choked, ringing in ((choked_fast, ringing_fast), (choked_reference, ringing_reference)):
        assert _energy_db(ringing, *after) >= _energy_db(choked, *after) + 15.0
    before = (0.0, 0.25)  # the choke does not touch the hat before the closed one
    assert _energy_db(choked_fast, *before) == pytest.approx(
        _energy_db(ringing_fast, *before), abs=0.1
    )


def test_kit_zones_of_fluid_r3():
    soundfont = find_soundfont()
    standard = kit_zones(soundfont, DRUM_BANK, kit_program("standard"))
    assert {standard.exclusive_class[key] for key in (42, 44, 46)} == {1}  # one hi-hat class
    assert 36 not in standard.exclusive_class
    assert standard.velocity_splits[36] == (81, 89, 97, 105, 113, 121)  # kick layers
    assert standard.velocity_splits[42] == ()
    tr808 = kit_zones(soundfont, DRUM_BANK, kit_program("tr808"))
    assert 46 not in tr808.exclusive_class  # FluidR3's TR-808 hats ring on


def test_velocity_buckets_stay_inside_a_layer():
    assert velocity_bucket_top(100) == 104
    assert velocity_bucket_top(127) == 127
    assert velocity_bucket_top(1) == 8
    assert velocity_bucket_top(80, (81, 100)) == 80
    assert velocity_bucket_top(98, (81, 100)) == 99  # a layer starting at 100 splits 97..104
    assert velocity_bucket_top(100, (81, 100)) == 104


def test_durations_are_quantised_on_a_log_grid():
    assert quantise_duration_ms(0.125) == 125  # a 16th note at 120 qpm is exact
    assert quantise_duration_ms(0.25) == 250
    assert quantise_duration_ms(0.13) == 125
    assert quantise_duration_ms(0.0) == 9  # FluidSynth's 10 ms minimum, on the grid
    assert quantise_duration_ms(60.0) == 8000


ZONES = KitZones(exclusive_class={42: 1, 46: 1}, velocity_splits={36: (81,)})


def test_plan_chokes_retriggers_and_scales():
    notes = [
        (0.0, 0.5, 46, 104),  # open hat, cut by the closed hat at 0.25 s
        (0.25, 0.375, 42, 104),  # closed hat, cut by nothing after it
        (0.5, 2.0, 36, 52),  # kick held 1.5 s but retriggered at 1.0 s
        (1.0, 1.125, 36, 104),
        (1.0, 1.125, 49, 104),  # crash: no exclusive class
    ]
    plan = plan_hits(notes, rate=RATE, zones=ZONES, length=10 * RATE)
    keys = [plan.keys[index] for index in plan.key_index]
    assert keys == [
        ShotKey(46, 104, 500),
        ShotKey(42, 104, 125),
        ShotKey(36, 56, 500),  # played until the retrigger; velocity 52 in bucket 49..56
        ShotKey(36, 104, 125),
        ShotKey(49, 104, 125),
    ]
    assert plan.onset.tolist() == [0, 12032, 24000, 48000, 48000]  # on 64-frame blocks
    assert plan.choke.tolist() == [12032, -1, -1, -1, -1]
    np.testing.assert_allclose(plan.gain, [1, 1, (52 / 56) ** 2, 1, 1], rtol=1e-6)


def test_plan_simultaneous_hats_higher_pitch_wins_and_notes_past_the_end_drop():
    notes = [(0.0, 0.1, 46, 100), (0.0, 0.1, 42, 100), (5.0, 5.1, 42, 100)]
    plan = plan_hits(notes, rate=RATE, zones=ZONES, length=RATE)
    # pretty_midi writes the 42 first, so the open hat (46) kills it after 10 ms.
    assert [plan.keys[i].pitch for i in plan.key_index] == [42, 46]
    assert plan.choke.tolist() == [512, -1]  # 10 ms = 480 frames → next block


def test_mix_adds_scaled_one_shots_and_fades_choked_ones():
    shot = np.ones((1000, 2), dtype=np.float32)
    plan = plan_hits(
        [(0.0, 0.125, 46, 100), (0.01, 0.125, 42, 100)],
        rate=RATE, zones=ZONES, length=2000,
    )  # fmt: skip
    shots = {key: shot for key in plan.keys}
    mixed = mix(plan, shots, length=2000, rate=RATE)
    gain = (100 / 104) ** 2
    np.testing.assert_allclose(mixed[:512, 0], gain, rtol=1e-6)  # open hat alone
    assert mixed[600, 0] == pytest.approx(gain + gain * 10 ** (-96 / 20 * 88 / 42768), rel=1e-4)
    assert mixed.shape == (2000, 2) and mixed[1600, 0] == 0.0  # both one-shots ended


def test_one_shots_are_rendered_once_and_read_back(tmp_path, monkeypatch):
    soundfont = find_soundfont()
    keys = [ShotKey(36, 104, 125), ShotKey(42, 64, 125)]
    first = load_oneshots(
        keys, kit="tr808", soundfont=soundfont, sample_rate=22050, cache_dir=tmp_path
    )
    assert first[keys[0]].shape[1] == 2 and 0.1 * 22050 < first[keys[0]].shape[0] < 12.8 * 22050

    def fail(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(oneshots, "synthesize", fail)
    again = load_oneshots(
        keys, kit="tr808", soundfont=soundfont, sample_rate=22050, cache_dir=tmp_path
    )
    for key in keys:
        np.testing.assert_array_equal(again[key], first[key])
    folder = oneshot_dir(tmp_path, soundfont=soundfont, kit="tr808", sample_rate=22050)
    assert sorted(path.name for path in folder.iterdir()) == ["36-104-125.npy", "42-64-125.npy"]
    assert folder != oneshot_dir(tmp_path, soundfont=soundfont, kit="tr808", sample_rate=44100)


def test_sound_font_hash_is_remembered_on_disk_until_the_file_changes(tmp_path):
    import hashlib
    import json
    import os

    font = tmp_path / "tiny.sf2"
    font.write_bytes(b"not really a sound font")
    cache = tmp_path / "cache"
    assert soundfont_sha256(font, cache) == hashlib.sha256(font.read_bytes()).hexdigest()
    memo = cache / "oneshots" / "soundfont-sha256.json"
    (identity,) = json.loads(memo.read_text())
    memo.write_text(json.dumps({identity: "remembered"}))
    oneshots._sha256_cached.cache_clear()  # as in a new process
    assert soundfont_sha256(font, cache) == "remembered"
    os.utime(font, ns=(0, 1))  # a new file version is hashed again
    assert soundfont_sha256(font, cache) == hashlib.sha256(font.read_bytes()).hexdigest()


def test_threads_hashing_and_encoding_at_once_do_not_collide(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from drumeval.audio.encode import encode

    font = tmp_path / "big.sf2"
    font.write_bytes(bytes(8 << 20))  # hashing takes long enough for the threads to overlap
    oneshots._sha256_cached.cache_clear()
    samples = np.zeros((RATE, 2), dtype=np.float32)
    with ThreadPoolExecutor(4) as pool:
        digests = list(pool.map(lambda _: soundfont_sha256(font, tmp_path / "cache"), range(4)))
        paths = list(
            pool.map(lambda _: encode(samples, RATE, tmp_path / "same.wav", "wav"), range(4))
        )
    assert len(set(digests)) == 1 and len(set(paths)) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["big.sf2", "cache", "same.wav"]
