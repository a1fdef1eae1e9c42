"""`drumeval render` and `drumeval plot` on short files (commands registered on a fresh app)."""

import pretty_midi
import pytest
import soundfile
import typer
from typer.testing import CliRunner

from drumeval.cli import audio_commands
from drumeval.errors import AudioError, NoDrumsError
from tests.audio.conftest import simple_beat

runner = CliRunner()


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    audio_commands.register(app)
    return app


@pytest.fixture(scope="module")
def beats(tmp_path_factory) -> list:
    folder = tmp_path_factory.mktemp("midi")
    paths = [folder / "a.mid", folder / "b.mid"]
    for bars, path in zip((2, 3), paths, strict=True):
        simple_beat(bars).write(str(path))
    return paths


def test_render_one_file_with_the_genre_kit(cli, beats, tmp_path):
    out = tmp_path / "a.wav"
    args = ["render", str(beats[0]), "--genre", "techno-house", "--out", str(out),
            "--lufs", "-20", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "-20.0 LUFS" in result.output
    assert soundfile.info(out).duration == pytest.approx(4.0)  # 2 bars, format from suffix
    assert next((tmp_path / "cache").glob("*.json")).read_text().count('"kit": "tr808"') == 1


def test_render_a_batch_into_a_folder(cli, beats, tmp_path):
    args = ["render", *map(str, beats), "--out-dir", str(tmp_path / "out"), "--kit", "brush",
            "--start", "1", "--length", "2", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for name in ("a.opus", "b.opus"):  # no --format and no suffix to go by: the app's Opus
        info = soundfile.info(tmp_path / "out" / name)
        assert info.subtype == "OPUS" and info.duration == pytest.approx(2.0, abs=0.01)


def test_render_with_the_fluidsynth_engine_and_an_unknown_one(cli, beats, tmp_path):
    args = ["render", str(beats[0]), "--kit", "jazz", "--cache-dir", str(tmp_path / "cache")]
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "a.wav"), "--engine", "fluidsynth"])
    assert result.exit_code == 0, result.output
    assert soundfile.info(tmp_path / "a.wav").duration == pytest.approx(4.0)
    assert '"engine": "fluidsynth"' in next((tmp_path / "cache").glob("*.json")).read_text()
    assert not (tmp_path / "cache" / "oneshots").exists()  # the fast engine did not run
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "b.wav"), "--engine", "timidity"])
    assert isinstance(result.exception, AudioError)


def test_render_names_a_missing_input_without_a_traceback(beats, tmp_path, capsys):
    from drumeval.cli import main

    missing = tmp_path / "gone.mid"
    with pytest.raises(SystemExit) as exit_info:
        main(["render", str(beats[0]), str(missing), "--out-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "gone.mid" in err and "Traceback" not in err


def test_render_needs_an_output(cli, beats):
    result = runner.invoke(cli, ["render", *map(str, beats), "--out", "x.ogg"])
    assert result.exit_code == 2 and "--out-dir" in result.output


def test_plot_grid_and_density(cli, beats, tmp_path):
    grid, density = tmp_path / "grid.png", tmp_path / "density.png"
    args = ["plot", str(beats[1]), "--out", str(grid), "--density", str(density)]
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert grid.read_bytes()[:4] == density.read_bytes()[:4] == b"\x89PNG"


def test_plot_refuses_a_file_without_drums(cli, tmp_path):
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes.append(pretty_midi.Note(velocity=90, pitch=60, start=0.0, end=1.0))
    midi.instruments.append(piano)
    midi.write(str(tmp_path / "piano.mid"))
    result = runner.invoke(cli, ["plot", str(tmp_path / "piano.mid"), "--out", "g.png"])
    assert isinstance(result.exception, NoDrumsError)
