"""Real renders with the installed FluidSynth: one full 2-minute clip, short clips elsewhere."""

import re

import numpy as np
import pretty_midi
import pytest
import soundfile

from drumeval.audio import pipeline
from drumeval.audio.loudness import measure_loudness
from drumeval.audio.pipeline import (
    DrumScore,
    RenderedClip,
    RenderSettings,
    common_target_lufs,
    load_score,
    musical_end_s,
    render,
    render_many,
    render_track,
    resolve_cache_dir,
    score_to_midi_bytes,
)
from drumeval.audio.synth import find_fluidsynth, find_soundfont, synthesize
from drumeval.errors import (
    AudioError,
    FileTooLargeError,
    MissingDependencyError,
    NoDrumsError,
)
from tests.audio.conftest import simple_beat

SETTINGS = RenderSettings()


@pytest.fixture(scope="module")
def full_clip(audio_cache):
    """60 bars at 120 qpm, TR-808, default settings (fast engine, Opus, −23 LUFS)."""
    return render(simple_beat(60), kit="tr808", settings=SETTINGS, cache_dir=audio_cache)


def _spectral_centroid_hz(samples: np.ndarray, rate: int) -> float:
    power = np.abs(np.fft.rfft(samples.mean(axis=1))) ** 2
    frequencies = np.fft.rfftfreq(samples.shape[0], 1 / rate)
    return float((power * frequencies).sum() / power.sum())


def test_sixty_bars_at_120_qpm_last_120_seconds(full_clip):
    # The length rule: end of the last bar with a hit; the reverb tail is cut.
    assert full_clip.duration_s == pytest.approx(120.0, abs=0.05)
    info = soundfile.info(full_clip.path)
    assert info.frames / info.samplerate == pytest.approx(120.0, abs=0.05)


def test_loudness_is_on_target_and_the_peak_under_the_ceiling(full_clip):
    assert full_clip.loudness_lufs == pytest.approx(-23.0, abs=0.5)
    assert full_clip.true_peak_dbtp <= -1.0 + 1e-9
    decoded, rate = soundfile.read(full_clip.path, dtype="float32")
    assert measure_loudness(decoded, rate) == pytest.approx(-23.0, abs=0.5)
    assert np.abs(decoded).max() < 1.0


def test_file_is_named_by_content_hash_and_carries_no_tags(full_clip):
    assert re.fullmatch(r"[0-9a-f]{64}", full_clip.sha256)
    assert full_clip.path.name == f"{full_clip.sha256}.opus"
    with soundfile.SoundFile(full_clip.path) as handle:
        assert (handle.format, handle.subtype, handle.samplerate) == ("OGG", "OPUS", 48000)
        assert handle.copy_metadata() == {}


def test_second_render_is_a_cache_hit(full_clip, audio_cache, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(pipeline, "synthesize", fail)
    monkeypatch.setattr(pipeline, "synthesize_fast", fail)
    mtime = full_clip.path.stat().st_mtime_ns
    again = render(simple_beat(60), kit="tr808", settings=SETTINGS, cache_dir=audio_cache)
    assert again.from_cache and again.path == full_clip.path
    assert again.loudness_lufs == full_clip.loudness_lufs
    assert full_clip.path.stat().st_mtime_ns == mtime


def test_kits_sound_different(audio_cache):
    excerpt = RenderSettings(format="wav")
    centroids = {}
    for kit in ("tr808", "jazz", "standard"):
        clip = render(simple_beat(4), kit=kit, settings=excerpt, cache_dir=audio_cache)
        samples, rate = soundfile.read(clip.path)
        centroids[kit] = _spectral_centroid_hz(samples, rate)
    # Measured with FluidR3_GM: TR-808 ≈ 1000 Hz, Standard ≈ 600 Hz, Jazz ≈ 380 Hz.
    assert centroids["tr808"] > 1.5 * centroids["jazz"]
    assert centroids["standard"] > 1.2 * centroids["jazz"]  # Jazz is not the Standard fallback


@pytest.mark.parametrize("engine", ["fast", "fluidsynth"])
def test_excerpt_has_exactly_the_requested_length(audio_cache, engine):
    settings = RenderSettings(
        start_s=2.0, length_s=3.0, format="wav", sample_rate=44100, engine=engine
    )
    clip = render(simple_beat(4), kit="standard", settings=settings, cache_dir=audio_cache)
    assert clip.duration_s == 3.0
    assert soundfile.info(clip.path).frames == 3 * 44100
    assert clip.loudness_lufs == pytest.approx(-23.0, abs=0.5)


def test_excerpt_past_the_music_is_refused(audio_cache):
    settings = RenderSettings(start_s=9.0, length_s=3.0)
    with pytest.raises(AudioError, match="after the music ends"):
        render(simple_beat(4), settings=settings, cache_dir=audio_cache)


def test_render_many_reports_each_finished_clip_once(audio_cache, tmp_path):
    paths = [tmp_path / "a.mid", tmp_path / "b.mid"]
    for bars, path in enumerate(paths, start=1):
        simple_beat(bars).write(str(path))
    reports = []
    clips = render_many(
        [*paths, simple_beat(3)],
        settings=RenderSettings(format="wav"),
        cache_dir=audio_cache,
        workers=2,
        progress=lambda *report: reports.append(report),
    )
    assert [clip.duration_s for clip in clips] == [2.0, 4.0, 6.0]  # in input order
    assert [(done, total) for _, done, total in reports] == [(1, 3), (2, 3), (3, 3)]
    assert sorted(label for label, _, _ in reports) == ["a.mid", "b.mid", "clip 3"]


def test_track_with_silent_last_bars_keeps_its_full_length(audio_cache):
    event_ids = np.zeros(64, dtype=np.int32)
    event_ids[:32:4] = 1
    clip = render_track(event_ids, kit="jazz", settings=RenderSettings(format="wav"),
                        cache_dir=audio_cache)  # fmt: skip
    assert clip.duration_s == 8.0  # 4 bars at 120 qpm, though the last hit is in bar 2


def test_musical_end_is_the_end_of_the_bar_with_the_last_onset():
    def score(onset_s: float, tempos=((0.0, 120.0),)) -> DrumScore:
        return DrumScore(((0.0, 0.1, 36, 100), (onset_s, onset_s + 0.1, 36, 100)), tempos, 4.0)

    assert musical_end_s(score(119.875)) == pytest.approx(120.0)
    assert musical_end_s(score(118.0)) == pytest.approx(120.0)  # first beat of bar 60
    assert musical_end_s(score(120.0)) == pytest.approx(122.0)
    # 2 bars at 120 qpm (4 s), then 60 qpm: bar 3 lasts 4 s, a hit in it ends at 8 s.
    assert musical_end_s(score(5.0, ((0.0, 120.0), (4.0, 60.0)))) == pytest.approx(8.0)


def test_missing_sound_font_names_the_package(tmp_path):
    with pytest.raises(MissingDependencyError, match="fluid-soundfont-gm"):
        render(simple_beat(1), soundfont=tmp_path / "nope.sf2", cache_dir=tmp_path)


def test_missing_fluidsynth_names_the_package():
    with pytest.raises(MissingDependencyError, match="apt-get install fluidsynth"):
        find_fluidsynth("no-such-fluidsynth-program")


def test_fluidsynth_kit_substitution_is_detected():
    _, score = load_score(simple_beat(1))
    with pytest.raises(AudioError, match="substituted"):
        synthesize(score_to_midi_bytes(score, 99), soundfont=find_soundfont(), sample_rate=22050)


def test_midi_without_drums_is_refused(tmp_path):
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes.append(pretty_midi.Note(velocity=90, pitch=60, start=0.0, end=1.0))
    midi.instruments.append(piano)
    with pytest.raises(NoDrumsError):
        render(midi, cache_dir=tmp_path)
    path = tmp_path / "piano.mid"
    midi.write(str(path))
    with pytest.raises(NoDrumsError, match="channel 10"):
        render(path, cache_dir=tmp_path)


def test_too_long_is_refused_before_rendering(tmp_path):
    midi = simple_beat(1)
    midi.instruments[0].notes.append(pretty_midi.Note(velocity=90, pitch=36, start=700, end=701))
    with pytest.raises(FileTooLargeError, match="capped at 10 minutes"):
        render(midi, cache_dir=tmp_path)


def test_raw_bytes_render_like_the_file(audio_cache, tmp_path):
    path = tmp_path / "beat.mid"
    simple_beat(2).write(str(path))
    settings = RenderSettings(format="wav")
    from_path = render(path, settings=settings, cache_dir=audio_cache)
    from_bytes = render(path.read_bytes(), settings=settings, cache_dir=audio_cache)
    assert from_bytes.path == from_path.path and from_bytes.from_cache
    assert from_path.duration_s == 4.0


def test_settings_are_validated():
    with pytest.raises(AudioError, match="unknown audio format"):
        RenderSettings(format="flac")
    with pytest.raises(AudioError, match="would clip"):
        RenderSettings(max_true_peak_dbtp=0.5)
    with pytest.raises(AudioError, match="excerpt length"):
        RenderSettings(length_s=0)
    with pytest.raises(AudioError, match="unknown engine 'timidity'; choose one of fast"):
        RenderSettings(engine="timidity")


def test_cache_dir_comes_from_argument_then_environment_then_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("DRUMEVAL_CACHE_DIR", raising=False)
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    assert resolve_cache_dir() == tmp_path / "home" / "cache" / "audio"
    monkeypatch.setenv("DRUMEVAL_CACHE_DIR", str(tmp_path))
    assert resolve_cache_dir() == tmp_path / "audio"
    assert resolve_cache_dir(tmp_path / "x") == tmp_path / "x"


def test_a_too_loud_target_is_peak_limited_and_reported(audio_cache):
    settings = RenderSettings(target_lufs=-6.0, format="wav")
    clip = render(simple_beat(2), kit="jazz", settings=settings, cache_dir=audio_cache)
    assert clip.peak_limited
    assert clip.true_peak_dbtp == pytest.approx(-1.0)
    assert clip.loudness_lufs < -6.0
    assert clip.max_loudness_lufs == pytest.approx(clip.loudness_lufs)
    samples, _ = soundfile.read(clip.path)
    assert np.abs(samples).max() < 1.0


def test_common_target_is_the_quietest_clip_ceiling(tmp_path):
    def clip(max_loudness: float) -> RenderedClip:
        return RenderedClip(tmp_path, "ogg", 1.0, -23.0, -3.0, "jazz", "0" * 64,
                            max_loudness_lufs=max_loudness)  # fmt: skip

    assert common_target_lufs([clip(-20.0), clip(-24.5)]) == -24.5
    assert common_target_lufs([clip(-20.0)]) == -23.0
    assert common_target_lufs([], target_lufs=-16.0) == -16.0
