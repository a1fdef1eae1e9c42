"""`drumeval generate --audio` and `drumeval render` share the app's kit through provenance."""

import json

import numpy as np
import pytest
import soundfile

from drumeval.cli import main
from drumeval.data.midi import write_midi
from drumeval.generate import META_DIR, recorded_genre


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return exit_info.value.code


def _words(output: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(output.split())


def _generated_file(folder, sidecar: dict | None):
    """A 2-bar beat written as `drumeval generate` would, with or without its sidecar."""
    bar = np.zeros(16, dtype=np.int32)
    bar[::4] = 1
    bar[4::8] |= 2
    path = write_midi(np.tile(bar, 2), folder / "track-000.mid")
    if sidecar is not None:
        (folder / META_DIR).mkdir()
        (folder / META_DIR / "track-000.json").write_text(json.dumps(sidecar))
    return path


@pytest.mark.parametrize(
    ("sidecar", "kit"),
    [
        ({"genre": "jazz-soul", "corpus": "jazz-soul-700"}, "jazz"),
        ({"corpus": "techno-house-1500"}, "tr808"),  # sidecars from before the genre field
        (None, "standard"),
        ({"corpus": "my-own-data"}, "standard"),
    ],
)
def test_render_without_genre_uses_the_kit_of_the_recorded_genre(tmp_path, capsys, sidecar, kit):
    path = _generated_file(tmp_path, sidecar)
    out = tmp_path / "out.wav"
    cache = tmp_path / "cache"
    assert _run(["render", str(path), "--out", str(out), "--cache-dir", str(cache)]) == 0
    assert f"({kit} kit)" in _words(capsys.readouterr().out)
    assert json.loads(next(cache.glob("*.json")).read_text())["kit"] == kit
    assert soundfile.info(out).duration == pytest.approx(4.0)


def test_explicit_genre_wins_over_the_sidecar(tmp_path, capsys):
    path = _generated_file(tmp_path, {"genre": "jazz-soul"})
    args = ["render", str(path), "--genre", "techno-house", "--out", str(tmp_path / "o.wav"),
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert _run(args) == 0
    assert "(tr808 kit)" in _words(capsys.readouterr().out)


def test_damaged_sidecar_is_no_provenance(tmp_path):
    path = _generated_file(tmp_path, None)
    (tmp_path / META_DIR).mkdir()
    (tmp_path / META_DIR / "track-000.json").write_text("{not json")
    assert recorded_genre(path) is None


def test_generate_with_audio_renders_in_the_genre_kit_like_the_app(tmp_path, monkeypatch):
    from drumeval import clips
    from drumeval.data.midi import load_drum_track

    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    args = ["generate", "--corpus", "jazz-soul-700", "--bars", "4", "--seed", "11", "--out",
            str(out), "--audio"]  # fmt: skip
    assert _run(args) == 0
    sidecar = json.loads((out / META_DIR / "track-000.json").read_text())
    assert sidecar["genre"] == "jazz-soul"
    [audio] = [path for path in out.glob("track-000.*") if path.suffix != ".mid"]
    condition = clips.Condition("drums_rnn", "thesis", "jazz-soul", 700, 1.0, 4, 11)
    app_clip = clips.make_clip(condition, cache_dir=tmp_path / "app-cache")
    assert audio.read_bytes() == app_clip.audio_bytes
    np.testing.assert_array_equal(
        load_drum_track(out / "track-000.mid").event_ids[:64], app_clip.event_ids
    )
